//! Inference firmware for the 2-layer model (`LSTM(10) -> LSTM(10) -> Dense(1)`) trained on
//! the host by `lstm-harness train --layers 2` and embedded from its generated Rust source
//! (in flash): stateful step by step over the 200 validation sequences the host evaluated,
//! with exact and fast activations (`fw_common::variants::STACKED_VARIANTS`). Prints every
//! sequence's 20 logits (hex bits) and the accuracy as `stack2 ...` lines; CI compares them
//! with the host reference (`fw-common` example `host_ref`). First measures one step's
//! stack (painted) and instructions (`insn_marker` + the QEMU plugin) for each variant, and
//! checks that a run-time import of the binary file (format v2, two layers) into RAM is the
//! same model, bit for bit.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use fw_common::report::{Sink, validation_report};
use fw_common::trained_stack::{MODEL, MODEL_BIN, MODEL_FAST, VAL_X, VAL_Y};
use fw_common::variants::STACKED_VARIANTS;
use fw_common::{StackedModel, StackedState, same_bits};
use lstm_kernel::{Dense, Model, io};
use panic_semihosting as _;
use qemu_fw::{Semihosting, count_steps, step_stack};

qemu_fw::fault_handlers!();

fn model_for(fast: bool) -> &'static StackedModel {
    black_box(if fast { &MODEL_FAST } else { &MODEL })
}

#[entry]
fn main() -> ! {
    let mut out = Semihosting;
    let mut stacks = [0usize; STACKED_VARIANTS.len()];
    for (s, (_, fast, step)) in stacks.iter_mut().zip(STACKED_VARIANTS) {
        *s = step_stack(model_for(fast), &VAL_X[0][0], step);
    }
    // Instruction counts: the 20 steps of validation sequence 0 for each variant.
    count_steps(&STACKED_VARIANTS, model_for, &VAL_X[0]);

    // The flash copy (generated source) and a run-time import of the binary file into RAM
    // must be the same model, bit for bit.
    let mut runtime: StackedModel = Model::new(Default::default(), Dense::zeroed());
    let imported = io::decode_into(black_box(MODEL_BIN), &mut runtime);
    let runtime_eq = imported.is_ok() && same_bits(&runtime, &MODEL);
    let mut ok = runtime_eq;
    out.line(format_args!(
        "check stack2 model runtime-import {}",
        match imported {
            Ok(()) if runtime_eq => "equal",
            Ok(()) => "DIFFERENT",
            Err(_) => "FAILED",
        }
    ));

    let mut tag_buf: heapless::String<32> = heapless::String::new();
    for (name, fast, step) in STACKED_VARIANTS {
        let model = model_for(fast);
        tag_buf.clear();
        let _ = core::fmt::Write::write_fmt(&mut tag_buf, format_args!("stack2 {name}"));
        let acc = validation_report(&mut out, &tag_buf, &VAL_X, &VAL_Y, |x, s| step(model, x, s));
        // The harness's bar for "learned" (LEARNS_AT); CI also requires equality with the host.
        ok &= acc.per_step() >= 0.99;
    }

    for ((name, _, _), s) in STACKED_VARIANTS.iter().zip(stacks) {
        out.line(format_args!("measure stack step {name} {s}"));
    }
    out.line(format_args!(
        "measure bytes state {} model {}",
        core::mem::size_of::<StackedState>(),
        core::mem::size_of::<StackedModel>()
    ));
    out.line(format_args!(
        "measure stack whole-program {}",
        qemu_fw::stack_top() - qemu_fw::stack_low_water()
    ));
    qemu_fw::exit(ok)
}
