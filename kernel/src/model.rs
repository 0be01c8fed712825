//! The post's model: an LSTM layer followed by a dense head, trained with BCE on logits.

use crate::activation::RecurrentActivation;
use crate::backend::{Float, Kernels};
use crate::dense::Dense;
use crate::error::WindowTooLong;
use crate::loss::{bce_with_logits, bce_with_logits_grad, binary_accuracy};
use crate::lstm::{Lstm, Tape};
use crate::optim::Tensors;
use crate::real::Real;
use crate::state::LstmState;
use crate::weights::LstmWeights;

/// `LSTM(IN -> H)` then `Dense(H -> OUT)` on the last hidden state (Keras
/// `return_sequences=False`). With `OUT = 1` and BCE on the logit this is the blog post's
/// `LSTM(10) + Dense(1, sigmoid)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Model<const IN: usize, const H: usize, const OUT: usize, F = f32> {
    /// The recurrent layer.
    pub lstm: Lstm<IN, H, F>,
    /// The head producing logits.
    pub head: Dense<H, OUT, F>,
}

/// Gradients (and optimizer moments) of a [`Model`]: same tensors, same order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grads<const IN: usize, const H: usize, const OUT: usize, F = f32> {
    /// `dL/d(W_ih, W_hh, b)`.
    pub lstm: LstmWeights<IN, H, F>,
    /// `dL/d(W, b)` of the head.
    pub head: Dense<H, OUT, F>,
}

/// Loss and accuracy of one sample, averaged over the `OUT` outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SampleLoss<F = f32> {
    /// Mean BCE over outputs (nats).
    pub loss: F,
    /// Mean binary accuracy over outputs, in `[0, 1]`.
    pub accuracy: F,
}

impl<const IN: usize, const H: usize, const OUT: usize, F: Real> Grads<IN, H, OUT, F> {
    /// All zeros.
    pub const fn zeroed() -> Self {
        Self {
            lstm: LstmWeights::zeroed(),
            head: Dense::zeroed(),
        }
    }
    /// Sets every gradient to zero (backward passes only accumulate).
    pub fn zero(&mut self) {
        *self = Self::zeroed();
    }
}

impl<const IN: usize, const H: usize, const OUT: usize, F: Real> Default for Grads<IN, H, OUT, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<const IN: usize, const H: usize, const OUT: usize, F: Float> Model<IN, H, OUT, F> {
    const NONZERO_OUT: () = assert!(OUT > 0, "a model needs at least one output (OUT >= 1)");

    /// Zero weights with the given recurrent activation.
    pub const fn zeroed(activation: RecurrentActivation) -> Self {
        let () = Self::NONZERO_OUT;
        Self {
            lstm: Lstm::new(LstmWeights::zeroed(), activation),
            head: Dense::zeroed(),
        }
    }

    /// Keras' default initialisation of `LSTM` + `Dense` (see
    /// [`LstmWeights::init_keras`], [`Dense::init_keras`]); the LSTM draws first.
    pub fn init_keras(&mut self, uniform: &mut impl FnMut() -> F, normal: &mut impl FnMut() -> F) {
        self.lstm.weights.init_keras(uniform, normal);
        self.head.init_keras(uniform);
    }

    /// Streaming inference: one step from `state`, returns the head's logits `[OUT]`.
    #[inline]
    pub fn step(&self, x: &[F; IN], state: &mut LstmState<H, F>) -> [F; OUT] {
        self.lstm.step(x, state);
        self.head.forward(&state.h)
    }

    /// [`Self::step`] with explicit kernels.
    #[inline]
    pub fn step_with<K: Kernels<F>>(&self, x: &[F; IN], state: &mut LstmState<H, F>) -> [F; OUT] {
        let () = Self::NONZERO_OUT;
        self.lstm.step_with::<K>(x, state);
        self.head.forward_with::<K>(&state.h)
    }

    /// Forward through a window (recorded on `tape`), returning the logits of the last
    /// step (of `state.h` if the window is empty).
    ///
    /// # Errors
    /// [`WindowTooLong`] if `xs.len() > T`; nothing is changed.
    pub fn forward_window<const T: usize>(
        &self,
        xs: &[[F; IN]],
        state: &mut LstmState<H, F>,
        tape: &mut Tape<T, IN, H, F>,
    ) -> Result<[F; OUT], WindowTooLong> {
        self.forward_window_with::<F::Kernels, T>(xs, state, tape)
    }

    /// [`Self::forward_window`] with explicit kernels.
    pub fn forward_window_with<K: Kernels<F>, const T: usize>(
        &self,
        xs: &[[F; IN]],
        state: &mut LstmState<H, F>,
        tape: &mut Tape<T, IN, H, F>,
    ) -> Result<[F; OUT], WindowTooLong> {
        let () = Self::NONZERO_OUT;
        self.lstm.forward_window_with::<K, T>(xs, state, tape)?;
        Ok(self.head.forward_with::<K>(&state.h))
    }

    /// Backward from `dlogits = dL/dlogits` (`[OUT]`) at the window's last step through the
    /// head and BPTT through the tape; accumulates into `grads` and returns
    /// `(dL/dh_0, dL/dc_0)`. `d_final` is the gradient arriving at the final state from a
    /// later window (zeros otherwise). An empty tape changes nothing and returns `d_final`.
    pub fn backward_window<const T: usize>(
        &self,
        tape: &Tape<T, IN, H, F>,
        dlogits: &[F; OUT],
        d_final: &LstmState<H, F>,
        grads: &mut Grads<IN, H, OUT, F>,
    ) -> LstmState<H, F> {
        self.backward_window_with::<F::Kernels, T>(tape, dlogits, d_final, grads)
    }

    /// [`Self::backward_window`] with explicit kernels.
    pub fn backward_window_with<K: Kernels<F>, const T: usize>(
        &self,
        tape: &Tape<T, IN, H, F>,
        dlogits: &[F; OUT],
        d_final: &LstmState<H, F>,
        grads: &mut Grads<IN, H, OUT, F>,
    ) -> LstmState<H, F> {
        let Some(last) = tape.steps().last() else {
            return *d_final;
        };
        let mut dh = [F::ZERO; H];
        self.head
            .backward(&last.h(), dlogits, &mut grads.head, &mut dh);
        self.lstm
            .backward_window_with::<K, T>(tape, &[dh], d_final, &mut grads.lstm)
    }

    /// One many-to-one training sample with BCE: forward through `xs` from `state`, loss
    /// against `targets` (`[OUT]`, each in `[0, 1]`), backward with the loss gradient
    /// multiplied by `grad_scale` (e.g. `1/B` for a batch mean), accumulating into `grads`.
    /// `state` ends as the window's final state; gradients do not flow into earlier
    /// windows (Keras `stateful` / truncated BPTT semantics).
    ///
    /// # Errors
    /// [`WindowTooLong`] if `xs.len() > T`; nothing is changed.
    #[allow(clippy::too_many_arguments)]
    pub fn train_sample_bce<const T: usize>(
        &self,
        xs: &[[F; IN]],
        targets: &[F; OUT],
        grad_scale: F,
        state: &mut LstmState<H, F>,
        tape: &mut Tape<T, IN, H, F>,
        grads: &mut Grads<IN, H, OUT, F>,
    ) -> Result<SampleLoss<F>, WindowTooLong> {
        let logits = self.forward_window(xs, state, tape)?;
        let out_scale = grad_scale / F::from_f64(OUT as f64);
        let dlogits: [F; OUT] =
            core::array::from_fn(|o| bce_with_logits_grad(logits[o], targets[o]) * out_scale);
        self.backward_window(tape, &dlogits, &LstmState::zeroed(), grads);
        Ok(bce_loss(&logits, targets))
    }
}

/// Mean BCE and binary accuracy of `logits` against `targets` (both `[OUT]`).
pub fn bce_loss<F: Real, const OUT: usize>(logits: &[F; OUT], targets: &[F; OUT]) -> SampleLoss<F> {
    let mut s = SampleLoss {
        loss: F::ZERO,
        accuracy: F::ZERO,
    };
    for (&z, &y) in logits.iter().zip(targets) {
        s.loss += bce_with_logits(z, y);
        s.accuracy += binary_accuracy(z, y);
    }
    let n = F::from_f64(OUT as f64);
    s.loss = s.loss / n;
    s.accuracy = s.accuracy / n;
    s
}

impl<const IN: usize, const H: usize, F: Real> Tensors<F> for LstmWeights<IN, H, F> {
    type Grads = Self;
    const COUNT: usize = 3;
    fn tensor(&self, i: usize) -> &[F] {
        match i {
            0 => self.w_ih_flat(),
            1 => self.w_hh_flat(),
            2 => self.b_flat(),
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        match i {
            0 => self.w_ih_flat_mut(),
            1 => self.w_hh_flat_mut(),
            2 => self.b_flat_mut(),
            _ => &mut [],
        }
    }
}

impl<const H: usize, const OUT: usize, F: Real> Tensors<F> for Dense<H, OUT, F> {
    type Grads = Self;
    const COUNT: usize = 2;
    fn tensor(&self, i: usize) -> &[F] {
        match i {
            0 => self.w.as_flattened(),
            1 => &self.b,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        match i {
            0 => self.w.as_flattened_mut(),
            1 => &mut self.b,
            _ => &mut [],
        }
    }
}

/// Tensor order: `W_ih`, `W_hh`, `b`, head `W`, head `b`.
impl<const IN: usize, const H: usize, const OUT: usize, F: Real> Tensors<F>
    for Grads<IN, H, OUT, F>
{
    type Grads = Self;
    const COUNT: usize = 5;
    fn tensor(&self, i: usize) -> &[F] {
        if i < 3 {
            self.lstm.tensor(i)
        } else {
            self.head.tensor(i - 3)
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        if i < 3 {
            self.lstm.tensor_mut(i)
        } else {
            self.head.tensor_mut(i - 3)
        }
    }
}

/// The model's parameters, in the same order as [`Grads`].
impl<const IN: usize, const H: usize, const OUT: usize, F: Real> Tensors<F>
    for Model<IN, H, OUT, F>
{
    type Grads = Grads<IN, H, OUT, F>;
    const COUNT: usize = 5;
    fn tensor(&self, i: usize) -> &[F] {
        if i < 3 {
            self.lstm.weights.tensor(i)
        } else {
            self.head.tensor(i - 3)
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        if i < 3 {
            self.lstm.weights.tensor_mut(i)
        } else {
            self.head.tensor_mut(i - 3)
        }
    }
}
