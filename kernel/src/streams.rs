//! Many independent streams of a layer or a stack stepped together: [`StepStreams`], with
//! the states stream-minor ([`LstmStreams`]: unit `j` of every stream contiguous), so the
//! SIMD kernels put the streams in the vector lanes (`cell/lstm/simd/streams.rs`). Every
//! stream gets the bits [`crate::Recurrent::step`] gives it alone on the same kernels.
//!
//! Implemented by [`Lstm`] and by any [`Stack`] of implementors (the lower part's `h`
//! lanes are the upper part's input lanes, as they are, no copy). Layer: above the layers
//! and stacks, beside [`crate::lockstep`].

use crate::backend::{Float, Kernels};
use crate::lstm::Lstm;
use crate::stack::Stack;
use crate::state::LstmStreams;

/// A recurrent layer or stack (`IN` inputs, output `H` wide) that steps `B` independent
/// streams at once, Keras stateful semantics per stream (stream `b`'s final state is its
/// initial state at the next step, until reset).
///
/// ```
/// use lstm_kernel::{Lstm, LstmState, LstmStreams, LstmWeights, Recurrent};
/// use lstm_kernel::{RecurrentActivation, StepStreams};
/// let mut w = LstmWeights::<1, 10>::zeroed();
/// w.b[0][3] = 0.5; // some gate biases, so the state moves
/// w.b[2][3] = 0.7;
/// let lstm = Lstm::new(w, RecurrentActivation::Sigmoid);
/// let mut streams = LstmStreams::<10, 3>::zeroed();
/// lstm.step_streams(&[[0.1, 0.2, 0.3]], &mut streams);
/// let mut alone = LstmState::<10>::zeroed();
/// lstm.step(&[0.2], &mut alone);
/// assert_eq!(streams.stream(1), Some(alone));
/// ```
pub trait StepStreams<const IN: usize, const H: usize, const B: usize, F: Float> {
    /// The `B` streams' states (for an LSTM layer [`LstmStreams<H, B>`]; for a stack, a
    /// [`Stack`] of its parts' streams).
    type Streams: Copy;

    /// Every stream zero.
    fn zeroed_streams() -> Self::Streams;

    /// The streams' outputs `h_t`, `[H][B]` (unit-major, stream-minor).
    fn streams_output(streams: &Self::Streams) -> &[[F; B]; H];

    /// [`Self::step_streams_with`] on the default backend.
    #[inline]
    fn step_streams(&self, xs: &[[F; B]; IN], streams: &mut Self::Streams) {
        self.step_streams_with::<F::Kernels>(xs, streams);
    }

    /// One step of every stream: stream `b` reads `xs[k][b]` (`xs`: `[IN][B]`,
    /// stream-minor like the states) and advances its state, with the bits
    /// [`crate::Recurrent::step_with`] on the same kernels gives that stream alone (NaN
    /// payloads aside). With the [`crate::primitives::Simd`] kernels (the default where the
    /// table in [`crate::backend`] says so) the `f32` LSTM streams run in SIMD lanes, 8 per
    /// vector, each weight broadcast once per 8 (SSE2) or 16 (AVX, AVX-512) streams;
    /// with [`crate::primitives::Scalar`], and for `f64`, one stream after another.
    fn step_streams_with<K: Kernels<F>>(&self, xs: &[[F; B]; IN], streams: &mut Self::Streams);
}

impl<const IN: usize, const H: usize, const B: usize, F: Float> StepStreams<IN, H, B, F>
    for Lstm<IN, H, F>
{
    type Streams = LstmStreams<H, B, F>;

    fn zeroed_streams() -> Self::Streams {
        LstmStreams::zeroed()
    }

    #[inline]
    fn streams_output(streams: &Self::Streams) -> &[[F; B]; H] {
        &streams.h
    }

    #[inline]
    fn step_streams_with<K: Kernels<F>>(&self, xs: &[[F; B]; IN], streams: &mut Self::Streams) {
        let () = Self::NONZERO_H;
        K::cell_step_streams(self.activation, self.maths, &self.weights, xs, streams);
    }
}

/// The lower part's streams, then the upper part's, fed by the lower part's `h` lanes.
impl<const IN: usize, const MID: usize, const H: usize, const B: usize, F, L, U>
    StepStreams<IN, H, B, F> for Stack<L, U, MID>
where
    F: Float,
    L: StepStreams<IN, MID, B, F>,
    U: StepStreams<MID, H, B, F>,
{
    type Streams = Stack<L::Streams, U::Streams, MID>;

    fn zeroed_streams() -> Self::Streams {
        Stack::new(L::zeroed_streams(), U::zeroed_streams())
    }

    #[inline]
    fn streams_output(streams: &Self::Streams) -> &[[F; B]; H] {
        U::streams_output(&streams.upper)
    }

    #[inline]
    fn step_streams_with<K: Kernels<F>>(&self, xs: &[[F; B]; IN], streams: &mut Self::Streams) {
        self.lower.step_streams_with::<K>(xs, &mut streams.lower);
        self.upper
            .step_streams_with::<K>(L::streams_output(&streams.lower), &mut streams.upper);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::{Scalar, Simd};
    use crate::{Lstm2, LstmState, LstmWeights, Maths, Recurrent, RecurrentActivation};

    /// A 2-layer stack's streams against each stream stepped alone through the stack, on the
    /// SIMD and the scalar kernels, both maths policies: every stream's states bit for bit.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "two kernels x two policies x 5 steps of 13 streams: slow under Miri"
    )]
    fn a_stacks_streams_give_each_stream_its_own_bits() {
        const B: usize = 13;
        let mut s = 0x1234_5677_u32;
        let mut uniform = move || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1 << 24) as f32
        };
        let (mut w0, mut w1) = (
            LstmWeights::<3, 12>::zeroed(),
            LstmWeights::<12, 9>::zeroed(),
        );
        w0.init_pytorch(&mut uniform);
        w1.init_pytorch(&mut uniform);
        for maths in [Maths::Exact, Maths::Fast] {
            let act = RecurrentActivation::Sigmoid;
            let stack: Lstm2<3, 12, 9> = Stack::new(
                Lstm::new(w0, act).with_maths(maths),
                Lstm::new(w1, act).with_maths(maths),
            );
            let mut lanes = [<Lstm2<3, 12, 9> as StepStreams<3, 9, B, f32>>::zeroed_streams(); 2];
            let zero = Stack::new(LstmState::<12>::zeroed(), LstmState::<9>::zeroed());
            let mut alone = [[zero; B]; 2];
            for t in 0..5 {
                let xs: [[f32; B]; 3] = core::array::from_fn(|k| {
                    core::array::from_fn(|b| libm::sinf(0.3 * t as f32 + 0.7 * k as f32 + b as f32))
                });
                stack.step_streams_with::<Simd>(&xs, &mut lanes[0]);
                stack.step_streams_with::<Scalar>(&xs, &mut lanes[1]);
                for b in 0..B {
                    let x: [f32; 3] = core::array::from_fn(|k| xs[k][b]);
                    stack.step_with::<Simd>(&x, &mut alone[0][b]);
                    stack.step_with::<Scalar>(&x, &mut alone[1][b]);
                    for k in 0..2 {
                        let (lo, up) = (
                            lanes[k].lower.stream(b).unwrap(),
                            lanes[k].upper.stream(b).unwrap(),
                        );
                        let want = alone[k][b];
                        let bits = |s: &[f32]| -> [u32; 12] {
                            core::array::from_fn(|i| s.get(i).map_or(0, |v| v.to_bits()))
                        };
                        assert_eq!(
                            bits(&lo.h),
                            bits(&want.lower.h),
                            "{maths:?} t={t} b={b} k={k}"
                        );
                        assert_eq!(
                            bits(&lo.c),
                            bits(&want.lower.c),
                            "{maths:?} t={t} b={b} k={k}"
                        );
                        assert_eq!(
                            bits(&up.h),
                            bits(&want.upper.h),
                            "{maths:?} t={t} b={b} k={k}"
                        );
                        assert_eq!(
                            bits(&up.c),
                            bits(&want.upper.c),
                            "{maths:?} t={t} b={b} k={k}"
                        );
                    }
                }
            }
            let out = <Lstm2<3, 12, 9> as StepStreams<3, 9, B, f32>>::streams_output(&lanes[0]);
            assert_eq!(out, &lanes[0].upper.h);
        }
    }
}
