//! Learning on the device: the `stateful-per-step` experiment run by the kernel on the
//! microcontroller (fw-common's `learn_on_device`: Keras init from a seed, 1000 sequences
//! from a seeded `no_std` PRNG, one epoch = 20,000 per-step Adam updates, validation on 200
//! further sequences), no heap, for the post's `LSTM(10) + Dense(1)`. Prints the `train ...`
//! lines the host check (`fw-common` example `host_train`) prints too, after measuring one
//! training step (window 1, as trained here) and one window-20 step (full BPTT) for stack
//! and instructions (`qemu_fw::training_firmware`).
#![no_std]
#![no_main]

use qemu_fw::entry;

qemu_fw::fault_handlers!();

#[entry]
fn main() -> ! {
    qemu_fw::training_firmware::<fw_common::train::Trainer>("train", cfg!(feature = "force-fail"))
}
