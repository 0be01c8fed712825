//! The inference variants the firmware measures and CI compares with the host: the
//! kernel's default `f32` kernels (`Simd`; on Cortex-M `wide` runs them on `[f32; 4]`
//! arrays) and the scalar reference kernels, each with exact and fast activations.

use lstm_kernel::LstmState;
use lstm_kernel::kernels::{Scalar, Simd};

use crate::{DeviceModel, H, IN, OUT};

/// A streaming step: `(model, x_t, state) -> logits`.
pub type StepFn = fn(&DeviceModel, &[f32; IN], &mut LstmState<H>) -> [f32; OUT];

/// Default kernels (`Simd`), activations as the model's `maths` says.
#[inline(never)]
pub fn step_simd(model: &DeviceModel, x: &[f32; IN], state: &mut LstmState<H>) -> [f32; OUT] {
    model.step_with::<Simd>(x, state)
}

/// Scalar reference kernels, activations as the model's `maths` says.
#[inline(never)]
pub fn step_scalar(model: &DeviceModel, x: &[f32; IN], state: &mut LstmState<H>) -> [f32; OUT] {
    model.step_with::<Scalar>(x, state)
}

/// `(name, uses fast maths, step)`, in the order the firmware runs them.
pub const VARIANTS: [(&str, bool, StepFn); 4] = [
    ("simd-exact", false, step_simd),
    ("simd-fast", true, step_simd),
    ("scalar-exact", false, step_scalar),
    ("scalar-fast", true, step_scalar),
];
