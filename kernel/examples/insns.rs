//! Guest instructions per forward step under a QEMU TCG plugin: the step at the four
//! reference sizes (IN, H) = (1, 10), (1, 32), (8, 64), (32, 128), exact and fast
//! activations, and 110 streams of `LSTM(1 -> 10)` in SIMD lanes (`StepStreams`),
//! each bracketed by calls to [`insn_marker`]; `scripts/arm64.sh` runs it under
//! `qemu-aarch64` with QEMU's block logs and `scripts/arm64_count.py` counts the guest
//! instructions between the calls (wall time under emulation means nothing). On the host
//! it only runs the steps.
//!
//! Output (stdout): `marker <address>` (where [`insn_marker`] was loaded), then one
//! `variant <name>` line per variant, in order; for each variant the
//! binary calls the marker twice with nothing between (the empty pair: the marker's own
//! cost) and then before and after each of 20 steps (after 3 warm-up steps): 21 pairs per
//! variant. Same models as the benches: PyTorch-style random weights from a
//! fixed seed, sigmoid gates.

use std::hint::black_box;

use lstm_kernel::{Lstm, backend::VECTOR_ISA};
use lstm_kernel::{
    LstmState, LstmStreams, LstmWeights, Maths, Recurrent, RecurrentActivation, StepStreams,
};

/// The function whose executions bracket each measured step; `scripts/arm64_count.py` finds
/// it by the address `main` prints. `tag` keeps the calls distinct.
#[inline(never)]
pub fn insn_marker(tag: u32) {
    black_box(tag);
}

/// Steps measured per variant, after [`WARM`] unmeasured ones.
const STEPS: u32 = 20;
const WARM: u32 = 3;

/// `U[0, 1)` from a xorshift stream (deterministic).
fn uniform(seed: u32) -> impl FnMut() -> f32 {
    let mut s = seed.max(1);
    move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (s >> 8) as f32 / (1 << 24) as f32
    }
}

fn layer<const IN: usize, const H: usize>(maths: Maths) -> Box<Lstm<IN, H>> {
    let mut w = LstmWeights::<IN, H>::zeroed();
    w.init_pytorch(&mut uniform(42));
    Box::new(Lstm::new(w, RecurrentActivation::Sigmoid).with_maths(maths))
}

/// Brackets `WARM + STEPS` calls of `f(t)`: the empty pair, then one pair per measured step.
fn measure(name: &str, mut f: impl FnMut(u32)) {
    println!("variant {name}");
    insn_marker(0);
    insn_marker(1);
    for t in 0..WARM {
        f(t);
    }
    for t in 0..STEPS {
        insn_marker(2 * t + 2);
        f(WARM + t);
        insn_marker(2 * t + 3);
    }
}

fn size<const IN: usize, const H: usize>() {
    for (v, maths) in [("exact", Maths::Exact), ("fast", Maths::Fast)] {
        let lstm = layer::<IN, H>(maths);
        let mut s = LstmState::<H>::zeroed();
        measure(&format!("IN{IN}_H{H}/{v}"), |t| {
            let x: [f32; IN] = core::array::from_fn(|k| input_pattern(t, k));
            lstm.step(black_box(&x), &mut s);
            black_box(&s);
        });
    }
}

/// A bounded input in `[-1, 1)`, a fixed pattern of `t` and `k` (plain integer arithmetic,
/// so the marker pairs count the step, not an input function).
fn input_pattern(t: u32, k: usize) -> f32 {
    ((t as usize * 7 + k * 13) % 17) as f32 / 8.0 - 1.0
}

fn main() {
    println!("kernels: {VECTOR_ISA}");
    // Where the marker was loaded (a position-independent executable): the plugin needs
    // this address, which qemu-user keeps the same from run to run (no address
    // randomisation of the guest image).
    println!("marker {:#x}", insn_marker as *const () as usize);
    size::<1, 10>();
    size::<1, 32>();
    size::<8, 64>();
    size::<32, 128>();
    const B: usize = 110;
    for (v, maths) in [("exact", Maths::Exact), ("fast", Maths::Fast)] {
        let lstm = layer::<1, 10>(maths);
        let mut s = Box::new(LstmStreams::<10, B>::zeroed());
        measure(&format!("streams_B110_IN1_H10/{v}"), |t| {
            let xs: [[f32; B]; 1] = [core::array::from_fn(|b| input_pattern(t, b))];
            lstm.step_streams(black_box(&xs), &mut s);
            black_box(&s);
        });
    }
}
