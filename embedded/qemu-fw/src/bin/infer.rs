//! Inference firmware: the model trained on the host (embedded from the generated Rust
//! source, in flash) runs stateful step by step over the 200 validation sequences the host
//! evaluated, for every variant of `fw_common::variants` (the default kernels, `Scalar` on
//! Cortex-M, with exact and fast activations). Prints every sequence's 20 logits (hex bits) and
//! the accuracy; CI compares them with the host reference (`fw-common` example `host_ref`).
//! First measures one step's stack (painted) and instructions (`insn_marker` + the QEMU
//! plugin) for each variant.
#![no_std]
#![no_main]

use core::hint::black_box;

use fw_common::report::{Sink, validation_report};
use fw_common::trained::{MODEL, MODEL_BIN, MODEL_FAST, MODEL_FROM_BIN, VAL_X, VAL_Y};
use fw_common::variants::VARIANTS;
use fw_common::{DeviceModel, H, IN, OUT, same_bits};
use lstm_kernel::{LstmState, io};
use qemu_fw::entry;
use qemu_fw::{Semihosting, count_steps, step_stack};

qemu_fw::fault_handlers!();

fn model_for(fast: bool) -> &'static DeviceModel {
    black_box(if fast { &MODEL_FAST } else { &MODEL })
}

#[entry]
fn main() -> ! {
    let mut out = Semihosting;
    let mut stacks = [0usize; VARIANTS.len()];
    for (s, (_, fast, step)) in stacks.iter_mut().zip(VARIANTS) {
        *s = step_stack(model_for(fast), &VAL_X[0][0], step);
    }
    // Instruction counts: the 20 steps of validation sequence 0 for each variant.
    count_steps(&VARIANTS, model_for, &VAL_X[0]);

    // The two flash copies (generated source, compile-time decoded binary) and a run-time
    // import into RAM must be the same model, bit for bit.
    let source_eq_bin = same_bits(&MODEL, &MODEL_FROM_BIN);
    let runtime = io::decode::<IN, H, OUT>(black_box(MODEL_BIN));
    let runtime_eq = matches!(&runtime, Ok(m) if same_bits(m, &MODEL));
    let mut ok = source_eq_bin && runtime_eq;
    out.line(format_args!(
        "check model source==bin {source_eq_bin} runtime-import {}",
        match runtime {
            Ok(_) if runtime_eq => "equal",
            Ok(_) => "DIFFERENT",
            Err(_) => "FAILED",
        }
    ));

    let mut tag_buf: heapless::String<32> = heapless::String::new();
    for (name, fast, step) in VARIANTS {
        let model = model_for(fast);
        tag_buf.clear();
        let _ = core::fmt::Write::write_fmt(&mut tag_buf, format_args!("infer {name}"));
        let acc = validation_report(&mut out, &tag_buf, &VAL_X, &VAL_Y, |x, s| step(model, x, s));
        // The harness's bar for "learned" (LEARNS_AT); CI also requires equality with the host.
        ok &= acc.per_step() >= 0.99;
    }

    for ((name, _, _), s) in VARIANTS.iter().zip(stacks) {
        out.line(format_args!("measure stack step {name} {s}"));
    }
    out.line(format_args!(
        "measure bytes state {} model {}",
        core::mem::size_of::<LstmState<H>>(),
        core::mem::size_of::<DeviceModel>()
    ));
    out.line(format_args!(
        "measure stack whole-program {}",
        qemu_fw::stack_top() - qemu_fw::stack_low_water()
    ));
    if cfg!(feature = "force-panic") {
        panic!("forced panic (CI self-test of the exit status)");
    }
    if cfg!(feature = "force-fail") {
        ok = false;
    }
    qemu_fw::exit(ok)
}
