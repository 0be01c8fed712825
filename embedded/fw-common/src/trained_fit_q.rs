//! The `fit` model of [`crate::trained_fit`] quantized to int8 by `lstm-harness quantize`
//! (calibrated on the same training split) and exported with `lstm-harness export --out
//! modelq.rs`: [`MODEL`] (a `lstm_kernel::quant::QModel`) in flash with its normalisation
//! ([`SCALING`]) and head ([`HEAD`]). The firmware's Q19.12 outputs on
//! [`crate::trained_fit::FIT_X`] must equal `lstm-harness predict --logits` of the int8
//! file bit for bit. [`MODEL_BIN`] is that int8 file, for a run-time import check with
//! `lstm_kernel::quant::file::decode_scaled_into`.

include!(concat!(env!("OUT_DIR"), "/modelq.rs"));

/// The bytes of the int8 model file for [`MODEL`] (`lstm_kernel::quant::file`).
pub static MODEL_BIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/modelq.bin"));
