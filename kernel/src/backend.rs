//! The one place that maps the target to the default backend.
//!
//! A backend is a marker type ([`Scalar`], [`Simd`]) that implements every kernel trait:
//! the slice [`Primitives`] and each cell's kernels ([`LstmKernels`], [`GruKernels`]). [`Kernels`] names
//! that whole set; [`DefaultBackend`] is the backend the entry points without a `_with` suffix run
//! (`Lstm::step`, `Model::forward_window`, `Adam::step`, ...):
//!
//! | target | `DefaultBackend` |
//! |---|---|
//! | x86 / x86-64 (SSE2 and up), AArch64 / Arm with NEON, WebAssembly with `simd128` | [`Simd`] (`f32` on vectors; `f64` forwarded to the scalar kernels) |
//! | anything else (Cortex-M, RISC-V without V), or the `scalar-reference` feature | [`Scalar`] (`wide` would fall back to plain arrays there: the vector code would only cost flash, stack and instructions) |
//!
//! Layer: above the cells ([`crate::cell`]), below the layers. Adding a cell type adds its
//! kernel trait to [`Kernels`] (and to [`Simd`]'s `f64` forwarding below).

use crate::activation::{Activate, Maths, RecurrentActivation};
use crate::cell::gru::GruKernels;
use crate::cell::lstm::LstmKernels;
use crate::gru_weights::GruVariant;
use crate::gru_weights::GruWeights;
pub use crate::primitives::{AdamUpdate, Primitives, Scalar, Simd};
use crate::real::Real;
use crate::state::LstmState;
use crate::weights::LstmWeights;

/// Every kernel a backend provides for the scalar type `F` (a blanket trait: any type with
/// all of them has it).
pub trait Kernels<F: Real + Activate>: Primitives<F> + LstmKernels<F> + GruKernels<F> {}

impl<F: Real + Activate, K: Primitives<F> + LstmKernels<F> + GruKernels<F>> Kernels<F> for K {}

/// The default backend on this target (table in the [module docs](self)).
#[cfg(all(
    not(feature = "scalar-reference"),
    any(
        target_feature = "sse2",
        target_feature = "neon",
        target_feature = "simd128"
    )
))]
pub type DefaultBackend = Simd;

/// The default backend on this target (table in the [module docs](self)).
#[cfg(not(all(
    not(feature = "scalar-reference"),
    any(
        target_feature = "sse2",
        target_feature = "neon",
        target_feature = "simd128"
    )
)))]
pub type DefaultBackend = Scalar;

/// The instructions the [`DefaultBackend`]'s `f32` kernels were compiled to (chosen at
/// compile time by the target and `-C target-feature`/`-C target-cpu`, e.g. `RUSTFLAGS="-C
/// target-cpu=x86-64-v3"` for AVX2 + FMA): `"AVX2 + FMA"` (8-lane vectors, fused
/// multiply-add; also on AVX-512 CPUs, whose 16-lane registers these kernels do not use),
/// `"AVX"`, `"SSE2"` (the x86-64 default: each 8-lane vector is two 4-lane halves),
/// `"NEON"`, `"WebAssembly simd128"`, or `"scalar"` (no vector kernels, or the
/// `scalar-reference` feature). Reports print it beside timings.
pub const VECTOR_ISA: &str = if cfg!(feature = "scalar-reference")
    || !cfg!(any(
        target_feature = "sse2",
        target_feature = "neon",
        target_feature = "simd128"
    )) {
    "scalar"
} else if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
    "AVX2 + FMA"
} else if cfg!(target_feature = "avx") {
    "AVX"
} else if cfg!(target_feature = "sse2") {
    "SSE2"
} else if cfg!(target_feature = "neon") {
    "NEON"
} else {
    "WebAssembly simd128"
};

/// `f64` has no vector kernels: the SIMD backend runs the scalar ones, so [`DefaultBackend`] serves
/// both scalar types (the `f64` gradient checks run the same code as `Scalar`).
impl Primitives<f64> for Simd {
    #[inline]
    fn gemv_t_acc(z: &mut [f64], w: &[f64], v: &[f64]) {
        Scalar::gemv_t_acc(z, w, v);
    }
    #[inline]
    fn gemv_acc(out: &mut [f64], w: &[f64], dz: &[f64]) {
        Scalar::gemv_acc(out, w, dz);
    }
    #[inline]
    fn ger_acc(dw: &mut [f64], v: &[f64], dz: &[f64]) {
        Scalar::ger_acc(dw, v, dz);
    }
    #[inline]
    fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
        Scalar::axpy(y, a, x);
    }
}

/// See the `Primitives<f64>` forwarding above.
impl LstmKernels<f64> for Simd {
    #[inline(always)]
    fn cell_step<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, f64>,
        x: &[f64; IN],
        state: &mut LstmState<H, f64>,
        gates: &mut [[f64; H]; 4],
        tanh_c: &mut [f64; H],
    ) {
        <Scalar as LstmKernels<f64>>::cell_step(act, maths, w, x, state, gates, tanh_c);
    }
    #[inline(always)]
    fn cell_step_state<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, f64>,
        x: &[f64; IN],
        state: &mut LstmState<H, f64>,
    ) {
        <Scalar as LstmKernels<f64>>::cell_step_state(act, maths, w, x, state);
    }
    fn cell_forward_maths(
        act: RecurrentActivation,
        maths: Maths,
        gates: &mut [f64],
        c: &mut [f64],
        h: &mut [f64],
        tanh_c: &mut [f64],
    ) {
        <Scalar as LstmKernels<f64>>::cell_forward_maths(act, maths, gates, c, h, tanh_c);
    }
    fn cell_backward(
        act: RecurrentActivation,
        gates: &[f64],
        c_prev: &[f64],
        tanh_c: &[f64],
        dh: &[f64],
        dc: &mut [f64],
        dz: &mut [f64],
    ) {
        <Scalar as LstmKernels<f64>>::cell_backward(act, gates, c_prev, tanh_c, dh, dc, dz);
    }
}

/// See the `Primitives<f64>` forwarding above: the scalar GRU cell (its fused steps; the
/// element-wise map and the backward are the trait's, on the forwarded primitives).
impl GruKernels<f64> for Simd {
    #[inline(always)]
    fn gru_step<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        variant: GruVariant,
        w: &GruWeights<IN, H, f64>,
        x: &[f64; IN],
        h_prev: &[f64; H],
        h: &mut [f64; H],
        gates: &mut [[f64; H]; 3],
        hn: &mut [f64; H],
    ) {
        <Scalar as GruKernels<f64>>::gru_step(act, maths, variant, w, x, h_prev, h, gates, hn);
    }
    #[inline(always)]
    fn gru_step_state<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        variant: GruVariant,
        w: &GruWeights<IN, H, f64>,
        x: &[f64; IN],
        h: &mut [f64; H],
    ) {
        <Scalar as GruKernels<f64>>::gru_step_state(act, maths, variant, w, x, h);
    }
}

/// The scalar types the kernel's layers run on: [`Real`] numerics, [`Activate`] maths, and
/// every kernel on the [`DefaultBackend`] backend. Implemented for `f32` and `f64`, so generic
/// code writes one bound instead of three.
pub trait Float: Real + Activate {
    /// [`DefaultBackend`], seen as the kernels of `Self` (always the same type; the associated type
    /// only carries the bound `DefaultBackend: Kernels<Self>` into generic code).
    type Kernels: Kernels<Self>;
}

impl Float for f32 {
    type Kernels = DefaultBackend;
}

impl Float for f64 {
    type Kernels = DefaultBackend;
}
