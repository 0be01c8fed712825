//! The step at three sizes, `(IN, H)` = (1, 10), (1, 32) and (8, 64) (the sizes of the
//! instruction table in the README, where ARM's CMSIS-NN is measured the same way): f32
//! exact, f32 fast and int8 ([`lstm_kernel::quant`]) on one `LSTM(H) -> Dense(1)` model per
//! size.
//!
//! The float models are built at compile time ([`random_model`], a `const fn`: the weights
//! are a `static` in flash, as a firmware would hold them) from PyTorch's initialisation,
//! `U(-1/sqrt(H), 1/sqrt(H))` for every weight and bias, drawn from [`SplitMix64`] with a
//! fixed seed per size. The int8 models are quantized from them at run time
//! ([`quantize`]: a [`Calibration`] over [`CALIBRATION_SEQUENCES`] sequences of
//! [`inputs`], then [`QModel::quantize_into`], `f64` arithmetic, which is software on every
//! Cortex-M and bit-identical to the host's). On the M4F and M55 every step of a size costs
//! the same instructions (the int8 step's only data-dependent paths are saturation and
//! table interpolation; f32 runs in hardware), so random weights measure what trained ones
//! would; on the M0, soft-float f32 varies with the values (and int8 by a few
//! instructions), so the figures are means over 20 steps.
//!
//! [`report`] prints, per size, every step's outputs (`sizes <size> <variant> step <t> ..`,
//! f32 bits or the int8 model's `i32` outputs in hex) so CI compares the firmware with the
//! host (`host_sizes`) line by line: int8 must be bit-identical.

use lstm_kernel::quant::{Calibration, QLstm, QLstmState, QModel, QModelError};
use lstm_kernel::{Dense, Lstm, LstmModel, LstmState, LstmWeights, Maths, RecurrentActivation};

use crate::report::{Hex, Sink};
use crate::rng::SplitMix64;

/// Steps per measured (and compared) sequence.
pub const STEPS: usize = 20;
/// Sequences the calibration runs through the float model before quantizing.
pub const CALIBRATION_SEQUENCES: u64 = 8;

/// A uniform draw in `[-k, k)` from the top 24 bits of `g` (`const`, so it runs in a
/// `static`'s initialiser).
const fn draw(g: &mut SplitMix64, k: f32) -> f32 {
    let u = (g.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0);
    (2.0 * u - 1.0) * k
}

/// `LSTM(H) -> Dense(1)` over `IN` inputs, every weight and bias `U(-k, k)` (PyTorch's
/// `nn.LSTM` and `nn.Linear` initialisation with `k = 1/sqrt(H)`), sigmoid gates, drawn
/// in the kernel's walk order from `SplitMix64::new(seed)`; `maths` for the activations.
pub const fn random_model<const IN: usize, const H: usize>(
    seed: u64,
    k: f32,
    maths: Maths,
) -> LstmModel<IN, H, 1> {
    let mut g = SplitMix64::new(seed);
    let mut w = LstmWeights::<IN, H, f32>::zeroed();
    let mut gate = 0;
    while gate < 4 {
        let mut j = 0;
        while j < H {
            let mut i = 0;
            while i < IN {
                w.w_ih[i][gate][j] = draw(&mut g, k);
                i += 1;
            }
            let mut i = 0;
            while i < H {
                w.w_hh[i][gate][j] = draw(&mut g, k);
                i += 1;
            }
            w.b[gate][j] = draw(&mut g, k);
            j += 1;
        }
        gate += 1;
    }
    let mut head = Dense::<H, 1, f32>::zeroed();
    let mut j = 0;
    while j < H {
        head.w[0][j] = draw(&mut g, k);
        j += 1;
    }
    head.b[0] = draw(&mut g, k);
    lstm_kernel::Model {
        rnn: Lstm::new(w, RecurrentActivation::Sigmoid).with_maths(maths),
        head,
    }
}

/// Input `t` of sequence `seq`: every channel `U(-1, 1)` from a generator of its own.
pub fn inputs<const IN: usize>(seq: u64) -> [[f32; IN]; STEPS] {
    let mut g = SplitMix64::stream(seq, 0x51_7E5);
    core::array::from_fn(|_| core::array::from_fn(|_| draw_runtime(&mut g)))
}

fn draw_runtime(g: &mut SplitMix64) -> f32 {
    draw(g, 1.0)
}

/// Writes into `out` the int8 model of `model`, calibrated over sequences `1..=CALIBRATION_SEQUENCES` of
/// [`inputs`] (sequence 0, the measured one, is not among them).
///
/// # Errors
/// [`QModelError`] from [`QModel::quantize`].
#[inline(never)]
pub fn quantize<const IN: usize, const H: usize>(
    model: &LstmModel<IN, H, 1>,
    out: &mut QModel<QLstm<IN, H>, IN, H, 1>,
) -> Result<(), QModelError> {
    let mut cal = Calibration::<IN>::new();
    for seq in 1..=CALIBRATION_SEQUENCES {
        cal.observe_sequence(model, &inputs::<IN>(seq));
    }
    out.quantize_into(model, &cal)
}

/// A measured step: called once per step, between the instruction markers.
pub trait Probe {
    /// Runs `step` once (the firmware wraps it in markers; the host just calls it).
    fn measure<T>(&mut self, step: impl FnOnce() -> T) -> T;
    /// The most stack, in bytes, one step measured since the previous call used, or `None`
    /// if this probe does not measure stack (the host's does not; the firmware paints).
    fn take_stack(&mut self) -> Option<usize> {
        None
    }
}

/// One f32 step (not inlined: the code-size figure finds it by name, as [`step_int8`]).
#[inline(never)]
pub fn step_f32<const IN: usize, const H: usize>(
    model: &LstmModel<IN, H, 1>,
    x: &[f32; IN],
    state: &mut LstmState<H>,
) -> [f32; 1] {
    model.step(x, state)
}

/// One int8 step (not inlined: the no-panic check and the code-size figure find it by name).
#[inline(never)]
pub fn step_int8<const IN: usize, const H: usize>(
    q: &Quantized<IN, H>,
    x: &[i16; IN],
    state: &mut QLstmState<H>,
) -> [i32; 1] {
    q.step(x, state)
}

/// Runs sequence 0 through the three variants of one size, printing each step's outputs:
/// `sizes <name> f32-exact step <t> <hex f32>`, the same for `f32-fast`, and `sizes <name>
/// int8 step <t> <hex i32>`; after each variant, if the probe measures stack, `measure stack
/// step <name> <variant> <bytes>` (the most of its 20 steps). Returns false if the
/// quantization failed or an output was not finite.
#[inline(never)]
pub fn run_size<const IN: usize, const H: usize>(
    sink: &mut impl Sink,
    probe: &mut impl Probe,
    name: &str,
    exact: &LstmModel<IN, H, 1>,
    fast: &LstmModel<IN, H, 1>,
    q: &mut Quantized<IN, H>,
) -> bool {
    let xs = inputs::<IN>(0);
    let mut ok = true;
    for (variant, model) in [("f32-exact", exact), ("f32-fast", fast)] {
        let mut state = LstmState::<H>::zeroed();
        for (t, x) in xs.iter().enumerate() {
            let y = probe.measure(|| step_f32(model, core::hint::black_box(x), &mut state));
            ok &= y[0].is_finite();
            sink.line(format_args!("sizes {name} {variant} step {t}{}", Hex(&y)));
        }
        stack_line(sink, probe, name, variant);
    }
    if let Err(e) = quantize(exact, q) {
        sink.line(format_args!("sizes {name} int8 quantization failed: {e}"));
        return false;
    }
    let q = &*q;
    let mut state = <QLstm<IN, H> as lstm_kernel::quant::QRecurrent<IN, H>>::zero_state();
    for (t, x) in xs.iter().enumerate() {
        let Some(xq) = q.quantize_input(x) else {
            sink.line(format_args!(
                "sizes {name} int8 step {t}: an input is not finite"
            ));
            return false;
        };
        let y = probe.measure(|| step_int8(q, core::hint::black_box(&xq), &mut state));
        sink.line(format_args!(
            "sizes {name} int8 step {t} {:08x}",
            y[0] as u32
        ));
    }
    stack_line(sink, probe, name, "int8");
    ok
}

fn stack_line(sink: &mut impl Sink, probe: &mut impl Probe, name: &str, variant: &str) {
    if let Some(bytes) = probe.take_stack() {
        sink.line(format_args!("measure stack step {name} {variant} {bytes}"));
    }
}

/// `LSTM(10)` over 1 input (the post's sizes), exact activations.
pub static EXACT_1_10: LstmModel<1, 10, 1> = random_model(110, 0.316_227_77, Maths::Exact);
/// The same model, fast activations.
pub static FAST_1_10: LstmModel<1, 10, 1> = random_model(110, 0.316_227_77, Maths::Fast);
/// `LSTM(32)` over 1 input, exact activations.
pub static EXACT_1_32: LstmModel<1, 32, 1> = random_model(132, 0.176_776_7, Maths::Exact);
/// The same model, fast activations.
pub static FAST_1_32: LstmModel<1, 32, 1> = random_model(132, 0.176_776_7, Maths::Fast);
/// `LSTM(64)` over 8 inputs, exact activations.
pub static EXACT_8_64: LstmModel<8, 64, 1> = random_model(864, 0.125, Maths::Exact);
/// The same model, fast activations.
pub static FAST_8_64: LstmModel<8, 64, 1> = random_model(864, 0.125, Maths::Fast);

/// The int8 model of one size.
pub type Quantized<const IN: usize, const H: usize> = QModel<QLstm<IN, H>, IN, H, 1>;

/// Storage for a [`Quantized`] model, every bit zero, as a `const` (so a firmware places it
/// in `.bss` and quantizes into it: the (8, 64) model is 25 KB, more than a by-value
/// quantization should put on a 64 KB device's stack). Not a model until [`quantize`]
/// has written it (its input scales are 0).
pub const fn zeroed<const IN: usize, const H: usize>() -> Quantized<IN, H> {
    QModel {
        rnn: QLstm::zeroed(),
        head: lstm_kernel::quant::QLinear::zeroed(),
        input_scale: [0.0; IN],
    }
}

/// Where the int8 models are quantized into: (1, 10) always, the larger two if given
/// (a part with 16 KiB of RAM has no room for them).
pub struct Storage<'a> {
    /// (1, 10).
    pub q1x10: &'a mut Quantized<1, 10>,
    /// (1, 32) and (8, 64), or `None` to run (1, 10) alone.
    pub large: Option<(&'a mut Quantized<1, 32>, &'a mut Quantized<8, 64>)>,
}

/// The sizes in order (see [`Storage`]).
pub fn report(sink: &mut impl Sink, probe: &mut impl Probe, storage: Storage<'_>) -> bool {
    let mut ok = run_size(sink, probe, "1x10", &EXACT_1_10, &FAST_1_10, storage.q1x10);
    if let Some((q32, q864)) = storage.large {
        ok &= run_size(sink, probe, "1x32", &EXACT_1_32, &FAST_1_32, q32);
        ok &= run_size(sink, probe, "8x64", &EXACT_8_64, &FAST_8_64, q864);
    }
    ok
}
