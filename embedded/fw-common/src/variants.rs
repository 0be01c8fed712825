//! The inference variants the firmware measures and CI compares with the host: the
//! kernel's default `f32` kernels with exact and with fast activations, for the post's
//! model ([`VARIANTS`]), its 2-layer version ([`STACKED_VARIANTS`]) and its GRU version
//! ([`GRU_VARIANTS`]).
//!
//! On Cortex-M the default kernels are [`Scalar`] (`lstm_kernel::backend::DefaultBackend`: `wide` has no vector
//! registers there, and the register-blocked `Simd` step would cost ~70 KB of flash and
//! 3 KB of stack to run lane by lane on arrays). This crate enables the kernel's
//! `scalar-reference` feature, so a host build of the same code (`host_ref`, `host_train`,
//! the tests) runs the same scalar kernels too, not the x86 default `Simd`: that is what
//! makes the host a bit-exact reference for the firmware. The test
//! `default_kernels_are_scalar` below holds that.

use lstm_kernel::LstmState;

use crate::{DeviceModel, GruDeviceState, GruModel, H, IN, OUT, StackedModel, StackedState};

/// A streaming step: `(model, x_t, state) -> logits`.
pub type StepFn = fn(&DeviceModel, &[f32; IN], &mut LstmState<H>) -> [f32; OUT];

/// The default step (`model.step`: scalar kernels here), activations as the model's
/// `maths` says.
#[inline(never)]
pub fn step_scalar(model: &DeviceModel, x: &[f32; IN], state: &mut LstmState<H>) -> [f32; OUT] {
    model.step(x, state)
}

/// `(name, uses fast maths, step)`, in the order the firmware runs them.
pub const VARIANTS: [(&str, bool, StepFn); 2] = [
    ("scalar-exact", false, step_scalar),
    ("scalar-fast", true, step_scalar),
];

/// A streaming step of the 2-layer model.
pub type StackedStepFn = fn(&StackedModel, &[f32; IN], &mut StackedState) -> [f32; OUT];

/// The default step of the 2-layer model (`model.step`: layer 0, layer 1, then the head),
/// activations as each layer's `maths` says.
#[inline(never)]
pub fn step_stacked(model: &StackedModel, x: &[f32; IN], state: &mut StackedState) -> [f32; OUT] {
    model.step(x, state)
}

/// `(name, uses fast maths, step)` of the 2-layer model, in the order the firmware runs them.
pub const STACKED_VARIANTS: [(&str, bool, StackedStepFn); 2] = [
    ("scalar-exact", false, step_stacked),
    ("scalar-fast", true, step_stacked),
];

/// A streaming step of the GRU model.
pub type GruStepFn = fn(&GruModel, &[f32; IN], &mut GruDeviceState) -> [f32; OUT];

/// The default step of the GRU model (`model.step`: scalar kernels here), activations as
/// the layer's `maths` says.
#[inline(never)]
pub fn step_gru(model: &GruModel, x: &[f32; IN], state: &mut GruDeviceState) -> [f32; OUT] {
    model.step(x, state)
}

/// `(name, uses fast maths, step)` of the GRU model, in the order the firmware runs them.
pub const GRU_VARIANTS: [(&str, bool, GruStepFn); 2] = [
    ("scalar-exact", false, step_gru),
    ("scalar-fast", true, step_gru),
];

#[cfg(test)]
mod tests {
    use core::any::TypeId;

    use lstm_kernel::backend::{DefaultBackend, Scalar};

    /// The host reference must run the firmware's kernels: `Scalar` (see the module docs).
    #[test]
    fn default_kernels_are_scalar() {
        assert_eq!(TypeId::of::<DefaultBackend>(), TypeId::of::<Scalar>());
    }
}
