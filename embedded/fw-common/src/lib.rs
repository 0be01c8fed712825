//! `no_std` code shared by the QEMU firmware (`qemu-fw`) and its host-side checks, so the
//! host runs exactly the code the microcontroller runs:
//!
//! - [`rng`]: a seeded `no_std` PRNG (SplitMix64) for on-device data and initialisation.
//! - [`task`]: the blog post's task (20 steps, the target is the first input).
//! - [`infer`]: stateful step-by-step validation of a model over stored sequences.
//! - [`train`]: learning on the device: per-step Adam updates (`stateful-per-step`).
//! - [`sizes`]: the step at the README's three sizes, f32 exact, f32 fast and int8.
//! - [`variants`]: the step functions (kernels x activation policy) measured and compared.
//! - [`report`]: the text lines both sides print, so CI can compare them.
//! - `trained` (feature `trained`): the model trained and exported by `lstm-harness`.
//! - `trained_stack` (feature `trained`): the same task trained by `lstm-harness train
//!   --layers 2`: two stacked `LSTM(10)` layers.
//! - `trained_gru` (feature `trained`): the same task trained by `lstm-harness train
//!   --cell gru`: a `GRU(10)` (PyTorch / Keras reset-after semantics).
//!
//! The model is the post's `LSTM(10) + Dense(1)`: `LstmModel<1, 10, 1>` ([`DeviceModel`]);
//! its 2-layer version is [`StackedModel`].
#![no_std]
#![deny(missing_docs)]

pub mod infer;
pub mod report;
pub mod rng;
pub mod sizes;
pub mod task;
pub mod train;
#[cfg(feature = "trained")]
pub mod trained;
#[cfg(feature = "trained")]
pub mod trained_fit;
#[cfg(feature = "trained")]
pub mod trained_fit_q;
#[cfg(feature = "trained")]
pub mod trained_gru;
#[cfg(feature = "trained")]
pub mod trained_stack;
pub mod variants;

/// Inputs per step of the post's model.
pub const IN: usize = 1;
/// Hidden units of the post's `LSTM(10)`.
pub const H: usize = 10;
/// Head outputs (one logit).
pub const OUT: usize = 1;

/// The post's model, `LstmModel<IN = 1, H = 10, OUT = 1>` (`f32`, 491 parameters).
pub type DeviceModel = lstm_kernel::LstmModel<IN, H, OUT>;

/// The 2-layer version: `LSTM(10) -> LSTM(10) -> Dense(1)` (`f32`, 1,331 parameters), PyTorch
/// `nn.LSTM(1, 10, num_layers=2)` + `nn.Linear(10, 1)`.
pub type StackedModel = lstm_kernel::Model<lstm_kernel::Lstm2<IN, H, H>, IN, H, OUT>;

/// One stream's state of [`StackedModel`]: both layers' `(h, c)`.
pub type StackedState = <lstm_kernel::Lstm2<IN, H, H> as lstm_kernel::Recurrent<IN, H, f32>>::State;

/// The post's model with a `GRU(10)`: `Model<Gru<1, 10>, 1, 10, 1>` (`f32`, 381 parameters),
/// PyTorch `nn.GRU(1, 10)` + `nn.Linear(10, 1)`.
pub type GruModel = lstm_kernel::Model<lstm_kernel::Gru<IN, H>, IN, H, OUT>;

/// One stream's state of [`GruModel`]: `h` alone.
pub type GruDeviceState = lstm_kernel::GruState<H>;

/// True if `a` and `b` hold the same bits in every weight and the same settings in every
/// layer (a stricter test than `==`, which equates `0.0` and `-0.0`).
pub fn same_bits<R: lstm_kernel::Recurrent<IN, H, f32>>(
    a: &lstm_kernel::Model<R, IN, H, OUT>,
    b: &lstm_kernel::Model<R, IN, H, OUT>,
) -> bool {
    use lstm_kernel::Tensors;
    (0..R::LAYERS).all(|l| a.rnn.settings(l) == b.rnn.settings(l) && a.rnn.kind(l) == b.rnn.kind(l))
        && (0..<lstm_kernel::Model<R, IN, H, OUT> as Tensors<f32>>::COUNT).all(|t| {
            let (x, y) = (a.tensor(t), b.tensor(t));
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        })
}
