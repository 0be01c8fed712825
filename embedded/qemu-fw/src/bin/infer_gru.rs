//! Inference firmware for the GRU version of the post's model (`GRU(10) -> Dense(1)`,
//! reset-after) trained on the host by `lstm-harness train --cell gru` and embedded from its
//! generated Rust source (in flash): stateful step by step over the 200 validation
//! sequences the host evaluated, exact and fast activations (`GRU_VARIANTS`), as `gru ...`
//! lines CI compares with `host_ref`; step stack and instructions measured, and a run-time
//! import of the binary file (layer kind GRU) checked against the flash copy.
#![no_std]
#![no_main]

use fw_common::trained_gru::{MODEL, MODEL_BIN, MODEL_FAST, VAL_X, VAL_Y};
use fw_common::variants::GRU_VARIANTS;
use qemu_fw::entry;

qemu_fw::fault_handlers!();

#[entry]
fn main() -> ! {
    qemu_fw::inference_firmware(
        "gru",
        &MODEL,
        &MODEL_FAST,
        MODEL_BIN,
        &VAL_X,
        &VAL_Y,
        &GRU_VARIANTS,
    )
}
