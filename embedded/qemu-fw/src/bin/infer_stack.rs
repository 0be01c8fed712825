//! Inference firmware for the 2-layer model (`LSTM(10) -> LSTM(10) -> Dense(1)`) trained on
//! the host by `lstm-harness train --layers 2` and embedded from its generated Rust source
//! (in flash): stateful step by step over the 200 validation sequences the host evaluated,
//! with exact and fast activations (`fw_common::variants::STACKED_VARIANTS`), as `stack2 ...`
//! lines CI compares with the host reference (`fw-common` example `host_ref`); step stack
//! and instructions measured, and a run-time import of the binary file (format v2, two
//! layers) checked against the flash copy (`qemu_fw::inference_firmware`).
#![no_std]
#![no_main]

use fw_common::trained_stack::{MODEL, MODEL_BIN, MODEL_FAST, VAL_X, VAL_Y};
use fw_common::variants::STACKED_VARIANTS;
use qemu_fw::entry;

qemu_fw::fault_handlers!();

#[entry]
fn main() -> ! {
    qemu_fw::inference_firmware(
        "stack2",
        &MODEL,
        &MODEL_FAST,
        MODEL_BIN,
        &VAL_X,
        &VAL_Y,
        &STACKED_VARIANTS,
    )
}
