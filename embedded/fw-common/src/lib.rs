//! `no_std` code shared by the QEMU firmware (`qemu-fw`) and its host-side checks, so the
//! host runs exactly the code the microcontroller runs:
//!
//! - [`rng`]: a seeded `no_std` PRNG (SplitMix64) for on-device data and initialisation.
//! - [`task`]: the blog post's task (20 steps, the target is the first input).
//! - [`infer`]: stateful step-by-step validation of a model over stored sequences.
//! - [`train`]: learning on the device: per-step Adam updates (`stateful-per-step`).
//! - [`variants`]: the step functions (kernels x activation policy) measured and compared.
//! - [`report`]: the text lines both sides print, so CI can compare them.
//! - `trained` (feature `trained`): the model trained and exported by `lstm-harness`.
//!
//! The model is the post's `LSTM(10) + Dense(1)`: `LstmModel<1, 10, 1>` ([`DeviceModel`]).
#![no_std]
#![deny(missing_docs)]

pub mod infer;
pub mod report;
pub mod rng;
pub mod task;
pub mod train;
#[cfg(feature = "trained")]
pub mod trained;
pub mod variants;

/// Inputs per step of the post's model.
pub const IN: usize = 1;
/// Hidden units of the post's `LSTM(10)`.
pub const H: usize = 10;
/// Head outputs (one logit).
pub const OUT: usize = 1;

/// The post's model, `LstmModel<IN = 1, H = 10, OUT = 1>` (`f32`, 491 parameters).
pub type DeviceModel = lstm_kernel::LstmModel<IN, H, OUT>;

/// True if `a` and `b` hold the same bits in every weight and the same activation (a
/// stricter test than `==`, which equates `0.0` and `-0.0`).
pub fn same_bits(a: &DeviceModel, b: &DeviceModel) -> bool {
    use lstm_kernel::Tensors;
    a.rnn.activation == b.rnn.activation
        && (0..<DeviceModel as Tensors<f32>>::COUNT).all(|t| {
            let (x, y) = (a.tensor(t), b.tensor(t));
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        })
}
