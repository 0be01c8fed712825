//! Fuzz target `read_npy`: "any three byte strings given as the NumPy trio (X, lengths, y)
//! are read or refused with a message, never a panic or an allocation the files do not
//! back". The input is split in three: two little-endian `u16` lengths, then X, lengths
//! and y (the rest).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lstm_harness::sequences::npy;

fuzz_target!(|bytes: &[u8]| {
    if bytes.len() < 4 {
        return;
    }
    let a = usize::from(u16::from_le_bytes([bytes[0], bytes[1]]));
    let b = usize::from(u16::from_le_bytes([bytes[2], bytes[3]]));
    let rest = &bytes[4..];
    let (x, rest) = rest.split_at(a.min(rest.len()));
    let (lengths, y) = rest.split_at(b.min(rest.len()));
    if let Ok(set) = npy::parse("fuzz", [("X", x), ("lengths", lengths), ("y", y)]) {
        let f = set.feature_count();
        for s in &set.sequences {
            assert!(s.steps() >= 1);
            assert_eq!(s.x.len(), s.steps() * f);
            assert!(s.x.iter().all(|v| v.is_finite()));
            assert!(s.labels.iter().all(|v| v.is_finite()));
        }
    }
});
