//! Learning on the device, GRU version: the same `stateful-per-step` run as bin `train`
//! (same seed, data and Adam) on `GRU(10) + Dense(1)` (reset-after, Keras initialisation),
//! printing `gru-train ...` lines (host check: `host_train gru`).
#![no_std]
#![no_main]

use qemu_fw::entry;

qemu_fw::fault_handlers!();

#[entry]
fn main() -> ! {
    qemu_fw::training_firmware::<fw_common::train::GruTrainer>(
        "gru-train",
        cfg!(feature = "force-fail"),
    )
}
