//! Fuzz target `read_csv`: "any byte string given as a long-format CSV or as a series CSV
//! is read or refused with a message, never a panic", and what is read holds the
//! documented shape: every sequence has at least one step, `F` values per step, one label
//! per step, all finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lstm_harness::sequences::{csv_long, series};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(set) = csv_long::parse("fuzz.csv", bytes) {
        let f = set.feature_count();
        assert!(f >= 1 && !set.sequences.is_empty());
        for s in &set.sequences {
            assert!(s.steps() >= 1);
            assert_eq!(s.x.len(), s.steps() * f);
            assert!(s.x.iter().all(|v| v.is_finite()));
            assert!(s.labels.iter().all(|v| v.is_finite()));
        }
        let _ = set.sequence_labels();
        let _ = set.classes(16);
    }
    for column in [None, Some("passengers")] {
        if let Ok(s) = series::parse("fuzz.csv", bytes, column) {
            assert!(s.values.len() >= 2 && s.values.iter().all(|v| v.is_finite()));
        }
    }
});
