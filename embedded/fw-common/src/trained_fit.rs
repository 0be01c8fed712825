//! A model of the user's sizes trained by `lstm-harness fit` (on BasicMotions' training
//! split in the host-harness testdata: 6 channels, 4 classes, `LSTM(16)`), exported with
//! `lstm-harness export --out modelf.rs`: [`MODEL`] in flash, with the input normalisation
//! and head activation the fit learnt ([`SCALING`], [`HEAD`]) and [`predict_step`], which
//! applies them around a step. [`FIT_X`] holds raw (un-normalised) input sequences from the
//! long-format CSV `train-first2.csv`, written by scripts/embedded.sh; the firmware's
//! outputs must equal `lstm-harness predict` on that CSV.
//!
//! [`MODEL_BIN`] is the `fit` binary file (format v3 with a scaling block) for a run-time
//! import check with `lstm_kernel::io::decode_scaled_into`.

include!(concat!(env!("OUT_DIR"), "/modelf.rs"));
include!(concat!(env!("OUT_DIR"), "/inputf.rs"));

/// The bytes of the `fit` model file for [`MODEL`] (`lstm_kernel::io` format, version 3).
pub static MODEL_BIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/modelf.bin"));
