//! Learning on the device: the `stateful-per-step` experiment run by the kernel on the
//! microcontroller (fw-common's `learn_on_device`: Keras init from a seed, 1000 sequences
//! from a seeded `no_std` PRNG, one epoch = 20,000 per-step Adam updates, validation on 200
//! further sequences), no heap. Prints the `train ...` lines the host check
//! (`fw-common` example `host_train`) prints too, after measuring one training step
//! (window 1, as trained here) and one window-20 step (full BPTT) for stack and instructions.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use fw_common::report::{Sink, training_lines};
use fw_common::task::{STEPS, input};
use fw_common::train::{DEVICE_SEED, Trainer, learn_on_device, train_window};
use fw_common::{H, IN};
use lstm_kernel::{LstmState, LstmTape};
use panic_semihosting as _;
use qemu_fw::{Semihosting, insn_marker, paint_below_sp, stack_used_below};

qemu_fw::fault_handlers!();

#[entry]
fn main() -> ! {
    let mut out = Semihosting;
    let mut ok = true;

    // Measurements first, on the trainer the real run below resets to its initial state.
    let mut scratch = Trainer::keras_init(DEVICE_SEED);
    let mut state = LstmState::<H>::zeroed();
    let sp = cortex_m::register::msp::read() as usize;
    paint_below_sp();
    ok &= scratch
        .train_step(black_box(&input(1.0, 0)), 1.0, &mut state)
        .is_ok();
    let stack_t1 = stack_used_below(sp);
    let mut tape20 = LstmTape::<STEPS, IN, H>::new();
    let xs: [[f32; IN]; STEPS] = core::array::from_fn(|t| input(1.0, t));
    paint_below_sp();
    ok &= train_window(&mut scratch, &mut tape20, black_box(&xs), 1.0).is_ok();
    let stack_t20 = stack_used_below(sp);
    // Instructions: empty pair (overhead), 20 per-step updates (one sequence), 1 window-20 update.
    insn_marker(0);
    insn_marker(1);
    state = LstmState::zeroed();
    let mut tag = 2;
    for t in 0..STEPS {
        insn_marker(tag);
        ok &= scratch
            .train_step(black_box(&input(0.0, t)), 0.0, &mut state)
            .is_ok();
        insn_marker(tag + 1);
        tag += 2;
    }
    insn_marker(tag);
    ok &= train_window(&mut scratch, &mut tape20, black_box(&xs), 1.0).is_ok();
    insn_marker(tag + 1);

    let trainer = &mut scratch;
    match learn_on_device(trainer, DEVICE_SEED, 1000, 200) {
        Ok(o) => {
            ok &= training_lines(&mut out, &o, &trainer.model).is_some();
            // The bar: validation accuracy >= 0.99 after one epoch.
            ok &= o.val.per_step() >= 0.99;
        }
        Err(e) => {
            out.line(format_args!("train failed: {e}"));
            ok = false;
        }
    }
    out.line(format_args!("measure stack train-step T=1 {stack_t1}"));
    out.line(format_args!("measure stack train-step T=20 {stack_t20}"));
    out.line(format_args!(
        "measure bytes trainer {} tape T=1 {} tape T=20 {}",
        Trainer::BYTES,
        core::mem::size_of::<LstmTape<1, IN, H>>(),
        core::mem::size_of::<LstmTape<STEPS, IN, H>>()
    ));
    out.line(format_args!(
        "measure stack whole-program {}",
        qemu_fw::stack_top() - qemu_fw::stack_low_water()
    ));
    if cfg!(feature = "force-fail") {
        ok = false;
    }
    qemu_fw::exit(ok)
}
