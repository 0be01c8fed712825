//! A model: a recurrent layer or stack ([`Recurrent`]) followed by a dense head on its
//! output, trained with a [`Loss`] on the last step (many-to-one) or on every step
//! (many-to-many).

use crate::activation::RecurrentActivation;
use crate::backend::{Float, Kernels};
use crate::dense::Dense;
use crate::error::WindowTooLong;
use crate::loss::{Loss, SampleLoss};
use crate::lstm::Lstm;
use crate::real::Real;
use crate::recurrent::{Recurrent, Tape};
use crate::tensors::{TensorInfo, Tensors};
use crate::weights::LstmWeights;

/// `R` (a layer or a [`crate::Stack`], `IN -> H`) then `Dense(H -> OUT)` producing logits
/// (or, for MSE, predictions). With `R = Lstm<1, 10>`, `OUT = 1` and BCE on the logit this
/// is the blog post's `LSTM(10) + Dense(1, sigmoid)` ([`LstmModel`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Model<R, const IN: usize, const H: usize, const OUT: usize, F = f32> {
    /// The recurrent layer or stack.
    pub rnn: R,
    /// The head producing logits.
    pub head: Dense<H, OUT, F>,
}

/// One LSTM layer and a dense head (the model of the post, and of format version 1 files).
pub type LstmModel<const IN: usize, const H: usize, const OUT: usize, F = f32> =
    Model<Lstm<IN, H, F>, IN, H, OUT, F>;

/// Gradients (and optimizer moments) of a [`Model`] whose recurrent part has gradients
/// `G`: same tensors, same order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grads<G, const H: usize, const OUT: usize, F = f32> {
    /// Gradients of the recurrent layers.
    pub rnn: G,
    /// `dL/d(W, b)` of the head.
    pub head: Dense<H, OUT, F>,
}

/// Gradients of an [`LstmModel`].
pub type LstmGrads<const IN: usize, const H: usize, const OUT: usize, F = f32> =
    Grads<LstmWeights<IN, H, F>, H, OUT, F>;

impl<G: Default, const H: usize, const OUT: usize, F: Real> Default for Grads<G, H, OUT, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<G: Default, const H: usize, const OUT: usize, F: Real> Grads<G, H, OUT, F> {
    /// All zeros.
    pub fn zeroed() -> Self {
        Self {
            rnn: G::default(),
            head: Dense::zeroed(),
        }
    }
    /// Sets every gradient to zero (backward passes only accumulate).
    pub fn zero(&mut self) {
        *self = Self::zeroed();
    }
}

impl<R, const IN: usize, const H: usize, const OUT: usize, F: Real> Model<R, IN, H, OUT, F> {
    const NONZERO_OUT: () = assert!(OUT > 0, "a model needs at least one output (OUT >= 1)");

    /// A model from its recurrent part and its head.
    pub const fn new(rnn: R, head: Dense<H, OUT, F>) -> Self {
        let () = Self::NONZERO_OUT;
        Self { rnn, head }
    }
}

impl<const IN: usize, const H: usize, const OUT: usize, F: Real> LstmModel<IN, H, OUT, F> {
    /// Zero weights with the given recurrent activation.
    pub const fn zeroed(activation: RecurrentActivation) -> Self {
        Self::new(Lstm::zeroed(activation), Dense::zeroed())
    }
}

impl<R, const IN: usize, const H: usize, const OUT: usize, F> Model<R, IN, H, OUT, F>
where
    R: Recurrent<IN, H, F>,
    F: Float,
{
    /// Keras' default initialisation of the layers (bottom first) and then the head (see
    /// [`LstmWeights::init_keras`], [`Dense::init_keras`]).
    pub fn init_keras(&mut self, uniform: &mut impl FnMut() -> F, normal: &mut impl FnMut() -> F) {
        self.rnn.init_keras(uniform, normal);
        self.head.init_keras(uniform);
    }

    /// Streaming inference: one step from `state`, returns the head's logits `[OUT]`.
    #[inline]
    pub fn step(&self, x: &[F; IN], state: &mut R::State) -> [F; OUT] {
        self.step_with::<F::Kernels>(x, state)
    }

    /// [`Self::step`] with explicit kernels.
    #[inline]
    pub fn step_with<K: Kernels<F>>(&self, x: &[F; IN], state: &mut R::State) -> [F; OUT] {
        let () = Self::NONZERO_OUT;
        self.rnn.step_with::<K>(x, state);
        self.head.forward_with::<K>(R::output(state))
    }

    /// Forward through a window (recorded on `tape`), returning the logits of the last
    /// step (of the state's output if the window is empty).
    ///
    /// # Errors
    /// [`WindowTooLong`] if `xs.len() > T`; nothing is changed.
    pub fn forward_window<const T: usize>(
        &self,
        xs: &[[F; IN]],
        state: &mut R::State,
        tape: &mut Tape<T, R::Record>,
    ) -> Result<[F; OUT], WindowTooLong> {
        self.forward_window_with::<F::Kernels, T>(xs, state, tape)
    }

    /// [`Self::forward_window`] with explicit kernels.
    pub fn forward_window_with<K: Kernels<F>, const T: usize>(
        &self,
        xs: &[[F; IN]],
        state: &mut R::State,
        tape: &mut Tape<T, R::Record>,
    ) -> Result<[F; OUT], WindowTooLong> {
        let () = Self::NONZERO_OUT;
        self.rnn.forward_window_with::<K, T>(xs, state, tape)?;
        Ok(self.head.forward_with::<K>(R::output(state)))
    }

    /// The head's outputs at recorded step `t` of `tape` (`None` past its end): the logits
    /// of every step, for many-to-many losses.
    pub fn logits_at<const T: usize>(
        &self,
        tape: &Tape<T, R::Record>,
        t: usize,
    ) -> Option<[F; OUT]> {
        tape.steps()
            .get(t)
            .map(|r| self.head.forward(&R::record_output(r)))
    }

    /// Backward from `dlogits = dL/dlogits` (`[OUT]`) at the window's last step through the
    /// head and BPTT through every recorded step and layer. `d_final` is the gradient w.r.t.
    /// the window's final state (zeros unless chaining windows). Returns the gradient w.r.t.
    /// the window's initial state. Accumulates into `grads`.
    pub fn backward_window<const T: usize>(
        &self,
        tape: &Tape<T, R::Record>,
        dlogits: &[F; OUT],
        d_final: &R::State,
        grads: &mut Grads<R::Grads, H, OUT, F>,
    ) -> R::State {
        self.backward_window_with::<F::Kernels, T>(tape, dlogits, d_final, grads)
    }

    /// [`Self::backward_window`] with explicit kernels.
    pub fn backward_window_with<K: Kernels<F>, const T: usize>(
        &self,
        tape: &Tape<T, R::Record>,
        dlogits: &[F; OUT],
        d_final: &R::State,
        grads: &mut Grads<R::Grads, H, OUT, F>,
    ) -> R::State {
        self.backward_sequence_with::<K, T>(tape, core::slice::from_ref(dlogits), d_final, grads)
    }

    /// Many-to-many backward: `dlogits[i]` (`[OUT]`) is `dL/dlogits` of the `i`-th of the
    /// **last** `dlogits.len()` recorded steps (extra leading rows are ignored); the head's
    /// backward runs at each of those steps inside BPTT. Otherwise as
    /// [`Self::backward_window_with`].
    pub fn backward_sequence_with<K: Kernels<F>, const T: usize>(
        &self,
        tape: &Tape<T, R::Record>,
        dlogits: &[[F; OUT]],
        d_final: &R::State,
        grads: &mut Grads<R::Grads, H, OUT, F>,
    ) -> R::State {
        let steps = tape.len();
        let skip = steps.saturating_sub(dlogits.len());
        let rows = dlogits
            .get(dlogits.len().saturating_sub(steps)..)
            .unwrap_or(&[]);
        let head = &self.head;
        let head_grads = &mut grads.head;
        self.rnn.backward_by_with::<K, T>(
            tape,
            |t, record| {
                let dl = t.checked_sub(skip).and_then(|i| rows.get(i))?;
                let mut dh = [F::ZERO; H];
                head.backward(&R::record_output(record), dl, head_grads, &mut dh);
                Some(dh)
            },
            d_final,
            &mut grads.rnn,
            &mut [],
        )
    }

    /// One many-to-one training sample: forward through `xs` from `state`, `loss` of the
    /// last step's outputs against `targets` (`[OUT]`), backward with the loss gradient
    /// multiplied by `grad_scale` (e.g. `1/B` for a batch mean), accumulating into `grads`.
    /// `state` ends as the window's final state; gradients do not flow into earlier
    /// windows (Keras `stateful` / truncated BPTT semantics).
    ///
    /// # Errors
    /// [`WindowTooLong`] if `xs.len() > T`; nothing is changed.
    #[allow(clippy::too_many_arguments)]
    pub fn train_sample<const T: usize>(
        &self,
        loss: Loss,
        xs: &[[F; IN]],
        targets: &[F; OUT],
        grad_scale: F,
        state: &mut R::State,
        tape: &mut Tape<T, R::Record>,
        grads: &mut Grads<R::Grads, H, OUT, F>,
    ) -> Result<SampleLoss<F>, WindowTooLong> {
        let outputs = self.forward_window(xs, state, tape)?;
        let (sample, grad) = loss.evaluate(&outputs, targets);
        let dlogits = grad.map(|g| g * grad_scale);
        self.backward_window(
            tape,
            &dlogits,
            &<R::State as crate::StreamState>::zeroed(),
            grads,
        );
        Ok(sample)
    }

    /// [`Self::train_sample`] with BCE on logits (targets in `[0, 1]`).
    ///
    /// # Errors
    /// [`WindowTooLong`] if `xs.len() > T`; nothing is changed.
    #[allow(clippy::too_many_arguments)]
    pub fn train_sample_bce<const T: usize>(
        &self,
        xs: &[[F; IN]],
        targets: &[F; OUT],
        grad_scale: F,
        state: &mut R::State,
        tape: &mut Tape<T, R::Record>,
        grads: &mut Grads<R::Grads, H, OUT, F>,
    ) -> Result<SampleLoss<F>, WindowTooLong> {
        self.train_sample(Loss::Bce, xs, targets, grad_scale, state, tape, grads)
    }

    /// One many-to-many training sample: forward through `xs`, `loss` at each of the last
    /// `targets.len()` steps (`targets[i]` for the `i`-th of them; all steps when the
    /// lengths match), their mean as the sample's loss and accuracy, and its gradient
    /// times `grad_scale` back through every step (so `grad_scale = 1/B` gives PyTorch's
    /// and Keras' mean over batch, steps and outputs). An empty `targets` gives a zero loss
    /// and no gradient.
    ///
    /// # Errors
    /// [`WindowTooLong`] if `xs.len() > T`; nothing is changed.
    #[allow(clippy::too_many_arguments)]
    pub fn train_sequence<const T: usize>(
        &self,
        loss: Loss,
        xs: &[[F; IN]],
        targets: &[[F; OUT]],
        grad_scale: F,
        state: &mut R::State,
        tape: &mut Tape<T, R::Record>,
        grads: &mut Grads<R::Grads, H, OUT, F>,
    ) -> Result<SampleLoss<F>, WindowTooLong> {
        self.rnn.forward_window(xs, state, tape)?;
        let steps = tape.len();
        let used = targets.len().min(steps);
        let targets = targets.get(targets.len() - used..).unwrap_or(&[]);
        let mut total = SampleLoss {
            loss: F::ZERO,
            accuracy: F::ZERO,
        };
        if used == 0 {
            return Ok(total);
        }
        let per_step = F::ONE / F::from_f64(used as f64);
        let head = &self.head;
        let head_grads = &mut grads.head;
        let first = steps - used;
        self.rnn.backward_by_with::<F::Kernels, T>(
            tape,
            |t, record| {
                let y = t.checked_sub(first).and_then(|i| targets.get(i))?;
                let h = R::record_output(record);
                let (s, g) = loss.evaluate(&head.forward(&h), y);
                total.loss += s.loss * per_step;
                total.accuracy += s.accuracy * per_step;
                let dl = g.map(|g| g * per_step * grad_scale);
                let mut dh = [F::ZERO; H];
                head.backward(&h, &dl, head_grads, &mut dh);
                Some(dh)
            },
            &<R::State as crate::StreamState>::zeroed(),
            &mut grads.rnn,
            &mut [],
        );
        Ok(total)
    }
}

/// The recurrent part's tensors, then head `W`, head `b`.
impl<G: Tensors<F> + Default + Clone + Send + Sync, const H: usize, const OUT: usize, F: Real>
    Tensors<F> for Grads<G, H, OUT, F>
{
    type Grads = Self;
    const COUNT: usize = G::COUNT + 2;
    const LAYERS: usize = G::LAYERS;
    fn info(i: usize) -> Option<TensorInfo> {
        model_info::<G, H, OUT, F>(i)
    }
    fn tensor(&self, i: usize) -> &[F] {
        if i < G::COUNT {
            self.rnn.tensor(i)
        } else {
            self.head.tensor(i - G::COUNT)
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        if i < G::COUNT {
            self.rnn.tensor_mut(i)
        } else {
            self.head.tensor_mut(i - G::COUNT)
        }
    }
}

/// The model's parameters, in the same order as its [`Grads`].
impl<R: Tensors<F>, const IN: usize, const H: usize, const OUT: usize, F: Real> Tensors<F>
    for Model<R, IN, H, OUT, F>
{
    type Grads = Grads<R::Grads, H, OUT, F>;
    const COUNT: usize = R::COUNT + 2;
    const LAYERS: usize = R::LAYERS;
    fn info(i: usize) -> Option<TensorInfo> {
        model_info::<R, H, OUT, F>(i)
    }
    fn tensor(&self, i: usize) -> &[F] {
        if i < R::COUNT {
            self.rnn.tensor(i)
        } else {
            self.head.tensor(i - R::COUNT)
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        if i < R::COUNT {
            self.rnn.tensor_mut(i)
        } else {
            self.head.tensor_mut(i - R::COUNT)
        }
    }
}

/// The walk of a model whose recurrent tensors are `R`'s: those, then the head's (whose
/// layer index is the number of recurrent layers).
fn model_info<R: Tensors<F>, const H: usize, const OUT: usize, F: Real>(
    i: usize,
) -> Option<TensorInfo> {
    if i < R::COUNT {
        R::info(i)
    } else {
        <Dense<H, OUT, F> as Tensors<F>>::info(i - R::COUNT).map(|t| t.shifted(R::LAYERS))
    }
}
