//! The 2-layer model trained on the host by `lstm-harness train --layers 2`
//! (`stateful-per-step`, two stacked `LSTM(10)` layers), embedded from the generated Rust
//! source (`lstm-harness export --layers 2 --format rust`): [`MODEL`] is a `static` built
//! by `const fn`s, so its weights are in flash (`.rodata`). The source also holds the
//! validation sequences ([`VAL_X`], [`VAL_Y`]) the host evaluated.
//!
//! [`MODEL_BIN`] is the binary file (format v2, a two-entry layer table) for a run-time
//! import check with `lstm_kernel::io::decode_into` (that copy is made in RAM).

use crate::StackedModel;

include!(concat!(env!("OUT_DIR"), "/model2.rs"));

/// [`MODEL`] with `Maths::Fast` activations in both layers (a second flash copy, so both
/// policies can be measured in one firmware).
pub static MODEL_FAST: StackedModel = {
    let mut m = build_model();
    m.rnn.lower.maths = lstm_kernel::Maths::Fast;
    m.rnn.upper.maths = lstm_kernel::Maths::Fast;
    m
};

/// The bytes of the harness's binary model file for [`MODEL`] (`lstm_kernel::io` format).
pub static MODEL_BIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model2.bin"));
