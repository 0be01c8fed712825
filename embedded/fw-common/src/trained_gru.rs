//! The GRU model trained on the host by `lstm-harness train --cell gru`
//! (`stateful-per-step`, one `GRU(10)`, reset-after), embedded from the generated Rust
//! source (`lstm-harness export --format rust`): [`MODEL`] is a `static` built by
//! `const fn`s, so its weights are in flash (`.rodata`). The source also holds the
//! validation sequences ([`VAL_X`], [`VAL_Y`]) the host evaluated.
//!
//! [`MODEL_BIN`] is the binary file (format v2, layer kind GRU) for a run-time import check
//! with `lstm_kernel::io::decode_into` (that copy is made in RAM).

use crate::GruModel;

include!(concat!(env!("OUT_DIR"), "/modelg.rs"));

/// [`MODEL`] with `Maths::Fast` activations (a second flash copy, so both policies can be
/// measured in one firmware).
pub static MODEL_FAST: GruModel = {
    let mut m = build_model();
    m.rnn.maths = lstm_kernel::Maths::Fast;
    m
};

/// The bytes of the harness's binary model file for [`MODEL`] (`lstm_kernel::io` format).
pub static MODEL_BIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/modelg.bin"));
