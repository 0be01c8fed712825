//! The model trained on the host by `lstm-harness train` (`stateful-per-step`), embedded
//! two ways, both in flash:
//!
//! - [`MODEL`]: the `static` of the generated Rust source (`lstm-harness export --format
//!   rust`), built by a `const fn` from float literals, so it is `.rodata`.
//! - [`MODEL_FROM_BIN`]: `lstm_kernel::io::decode` of `include_bytes!("model.bin")`
//!   evaluated at compile time (a bad file, CRC included, fails the build), also `.rodata`.
//!
//! [`MODEL_BIN`] is the binary file itself, for a run-time import check (that copy of the
//! model is made in RAM). The generated source also holds the validation sequences
//! ([`VAL_X`], [`VAL_Y`]) the host evaluated, so both sides score the same data.

use crate::DeviceModel;

include!(concat!(env!("OUT_DIR"), "/model.rs"));

/// [`MODEL`] with `Maths::Fast` activations (a second flash copy, so both policies can be
/// measured in one firmware).
pub static MODEL_FAST: DeviceModel = {
    let mut m = build_model();
    m.rnn.maths = lstm_kernel::Maths::Fast;
    m
};

/// The bytes of the harness's binary model file (`lstm_kernel::io` format).
pub static MODEL_BIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model.bin"));

/// [`MODEL_BIN`] decoded at compile time.
pub static MODEL_FROM_BIN: DeviceModel =
    match lstm_kernel::io::decode(include_bytes!(concat!(env!("OUT_DIR"), "/model.bin"))) {
        Ok(m) => m,
        Err(_) => panic!("model.bin is not a valid LstmModel<1, 10, 1> file (lstm_kernel::io)"),
    };
