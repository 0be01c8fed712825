//! Learning on the device: the harness's `stateful-per-step` experiment (the post's
//! `train_on_batch` loop) with the kernel alone, no heap.
//!
//! For every training sequence: state reset to zero, then for each of its 20 steps one Adam
//! update on the 1-step window (forward from the carried state, BCE on the logit against
//! the sequence's target, BPTT through that one step, Keras Adam). Gradients do not flow
//! into earlier steps (Keras `stateful=True` with `batch_input_shape=(1, 1, 1)`).
//!
//! Memory: everything lives in one [`Trainer`] value (the caller puts it on the stack or in
//! a `static`): for the post's LSTM, model + gradients + Adam's two moments are
//! 4 × 1,964 bytes and the 1-step tape 292 bytes; see [`Trainer::BYTES`]. The same code
//! trains the GRU version ([`GruTrainer`]).

use core::fmt;

use lstm_kernel::{
    Adam, AdamConfig, Dense, Grads, Gru, Lstm, Model, NonFiniteGradient, Recurrent, SampleLoss,
    StreamState, Tape, Tensors, WindowTooLong,
};

use crate::infer::{Accuracy, validate};
use crate::rng::SplitMix64;
use crate::task::{DeviceData, STEPS, input};
use crate::{H, IN, OUT};

/// The seed of the on-device training run (firmware `train`, its host check and the
/// `host_train` reference all use it).
pub const DEVICE_SEED: u64 = 2024;

/// BPTT window of one training step (the post's `batch_input_shape=(1, 1, 1)`).
pub const WINDOW: usize = 1;

/// Why a training step failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepError {
    /// The window is longer than the tape (cannot happen with [`WINDOW`]-step windows).
    Window(WindowTooLong),
    /// A gradient was NaN or infinite; the model was left unchanged.
    NonFinite(NonFiniteGradient),
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Window(e) => write!(f, "training step: {e}"),
            Self::NonFinite(e) => write!(f, "training step: {e}"),
        }
    }
}

impl core::error::Error for StepError {}

/// The gradients (and Adam moments) of a device model on layers `R`.
pub type DeviceGrads<R> = Grads<<R as Tensors<f32>>::Grads, H, OUT>;

/// The model with everything training needs, in one value: the post's `LSTM(10) + Dense(1)`
/// by default, [`GruTrainer`] for its GRU version. `R` is any recurrent layer (or stack) from
/// `IN` inputs to `H` outputs whose [`Default`] has zero weights ([`Lstm`] and [`Gru`] do).
pub struct Trainer<R: Recurrent<IN, H, f32> = Lstm<IN, H>> {
    /// The model being trained.
    pub model: Model<R, IN, H, OUT>,
    /// Gradient accumulator of the current step.
    pub grads: DeviceGrads<R>,
    /// Keras Adam (`lr 1e-3, β1 0.9, β2 0.999, eps 1e-7`) and its moments.
    pub adam: Adam<DeviceGrads<R>>,
    /// The 1-step tape BPTT reads.
    pub tape: Tape<WINDOW, R::Record>,
}

/// The trainer of the GRU version of the post's model (`GRU(10) + Dense(1)`, reset-after).
pub type GruTrainer = Trainer<Gru<IN, H>>;

impl<R: Recurrent<IN, H, f32> + Default> Trainer<R> {
    /// Bytes of a `Trainer` (model, gradients, two Adam moments, tape, counters).
    pub const BYTES: usize = core::mem::size_of::<Self>();
    /// The training state fits a 16 KiB-RAM part (a build error otherwise).
    const FITS: () = assert!(Self::BYTES <= 10 * 1024, "Trainer outgrew 10 KiB");

    /// A fresh trainer whose model has Keras' default initialisation (Glorot-uniform
    /// kernels, orthogonal recurrent kernel, zero biases but the LSTM's forget-gate bias 1)
    /// drawn from two [`SplitMix64`] streams of `seed` (purposes 1: uniform, 2: normal),
    /// sigmoid gates (the layers' defaults).
    pub fn keras_init(seed: u64) -> Self {
        let () = Self::FITS;
        let mut model = Model::new(R::default(), Dense::zeroed());
        let mut uniform = SplitMix64::stream(seed, 1);
        let mut normal = SplitMix64::stream(seed, 2);
        model.init_keras(&mut || uniform.uniform(), &mut || normal.normal());
        Self {
            model,
            grads: Grads::zeroed(),
            adam: Adam::new(AdamConfig::keras(), Grads::zeroed()),
            tape: Tape::new(),
        }
    }

    /// One per-step update: forward `x` from `state` (which advances), BCE against `y`,
    /// backward through this step, one Adam step. Returns the step's loss and accuracy
    /// (before the update).
    ///
    /// # Errors
    /// [`StepError::NonFinite`] if the gradient is not finite (the model is unchanged).
    #[inline(never)]
    pub fn train_step(
        &mut self,
        x: &[f32; IN],
        y: f32,
        state: &mut R::State,
    ) -> Result<SampleLoss, StepError> {
        self.grads.zero();
        let loss = self
            .model
            .train_sample_bce(
                core::slice::from_ref(x),
                &[y],
                1.0,
                state,
                &mut self.tape,
                &mut self.grads,
            )
            .map_err(StepError::Window)?;
        self.adam
            .step(&mut self.model, &self.grads)
            .map_err(StepError::NonFinite)?;
        Ok(loss)
    }

    /// One training sequence of the post: zero state, [`STEPS`] per-step updates.
    /// Returns the summed loss and accuracy of its steps.
    ///
    /// # Errors
    /// The first failing step's error.
    pub fn train_sequence(&mut self, label: f32) -> Result<SampleLoss, StepError> {
        let mut state = R::State::zeroed();
        let mut sum = SampleLoss::default();
        for t in 0..STEPS {
            let s = self.train_step(&input(label, t), label, &mut state)?;
            sum.loss += s.loss;
            sum.accuracy += s.accuracy;
        }
        Ok(sum)
    }
}

/// What [`learn_on_device`] reports (the trained model stays in the caller's trainer).
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Mean training BCE over all updates of the epoch (nats).
    pub train_loss: f32,
    /// Training accuracy over all updates of the epoch (per step, before each update).
    pub train_accuracy: f32,
    /// Adam updates taken (`train_sequences · STEPS`).
    pub updates: u32,
    /// Validation result on the next `val_sequences` sequences of the same label stream.
    pub val: Accuracy,
}

/// The whole on-device experiment: `trainer` is reset to the Keras init of `seed`, trained
/// for one epoch of per-step updates over `train_sequences` sequences drawn from the
/// device's label stream of `seed`, then validated (stateful, per step) on the next
/// `val_sequences` sequences of that stream. The caller owns the trainer (stack or
/// `static`), so nothing large is moved or copied.
///
/// # Errors
/// A training step failed (see [`StepError`]).
pub fn learn_on_device<R: Recurrent<IN, H, f32> + Default>(
    trainer: &mut Trainer<R>,
    seed: u64,
    train_sequences: u32,
    val_sequences: u32,
) -> Result<Outcome, StepError> {
    *trainer = Trainer::keras_init(seed);
    let mut data = DeviceData::new(seed);
    let (mut loss, mut accuracy) = (0.0_f32, 0.0_f32);
    for _ in 0..train_sequences {
        let s = trainer.train_sequence(data.next_label())?;
        loss += s.loss;
        accuracy += s.accuracy;
    }
    let updates = train_sequences * STEPS as u32;
    let n = updates.max(1) as f32;
    let mut val = Accuracy::default();
    let model = &trainer.model;
    for _ in 0..val_sequences {
        let y = data.next_label();
        let xs: [[f32; IN]; STEPS] = core::array::from_fn(|t| input(y, t));
        let a = validate(&[xs], &[y], |x, s| model.step(x, s), |_, _| {});
        val.correct_steps += a.correct_steps;
        val.steps += a.steps;
        val.correct_last += a.correct_last;
        val.sequences += a.sequences;
    }
    Ok(Outcome {
        train_loss: loss / n,
        train_accuracy: accuracy / n,
        updates,
        val,
    })
}

/// One many-to-one training step over a whole window of `T` steps (BPTT through all of
/// them), from the zero state, with one Adam update: the cost of learning with window `T`
/// (tape `T` records + 8 bytes; an LSTM record is `(IN + 7H) · 4` bytes, a GRU's
/// `(IN + 5H) · 4`). Used for the firmware's measurements.
///
/// # Errors
/// As [`Trainer::train_step`].
#[inline(never)]
pub fn train_window<const T: usize, R: Recurrent<IN, H, f32> + Default>(
    trainer: &mut Trainer<R>,
    tape: &mut Tape<T, R::Record>,
    xs: &[[f32; IN]],
    y: f32,
) -> Result<SampleLoss, StepError> {
    trainer.grads.zero();
    let mut state = R::State::zeroed();
    let loss = trainer
        .model
        .train_sample_bce(xs, &[y], 1.0, &mut state, tape, &mut trainer.grads)
        .map_err(StepError::Window)?;
    trainer
        .adam
        .step(&mut trainer.model, &trainer.grads)
        .map_err(StepError::NonFinite)?;
    Ok(loss)
}

/// The trainers of the device models whose training code this crate compiles: the post's
/// LSTM ([`Trainer`]) and its GRU version ([`GruTrainer`]). The methods are concrete
/// functions of this crate (not generics instantiated by the firmware), so they are built at
/// this crate's opt-level 3 like the inference steps (`variants`), and the firmware's
/// reachability and stack checks have named roots (`<... as DeviceTraining>::step`).
pub trait DeviceTraining: Sized {
    /// One stream's state of the model.
    type State: StreamState;
    /// What one recorded step keeps for BPTT.
    type Record;

    /// [`Trainer::keras_init`].
    fn keras_init(seed: u64) -> Self;

    /// [`Trainer::train_step`].
    ///
    /// # Errors
    /// As [`Trainer::train_step`].
    fn step(
        &mut self,
        x: &[f32; IN],
        y: f32,
        state: &mut Self::State,
    ) -> Result<SampleLoss, StepError>;

    /// [`train_window`] over a window of up to [`STEPS`] steps.
    ///
    /// # Errors
    /// As [`train_window`].
    fn window(
        &mut self,
        tape: &mut Tape<STEPS, Self::Record>,
        xs: &[[f32; IN]],
        y: f32,
    ) -> Result<SampleLoss, StepError>;

    /// [`learn_on_device`].
    ///
    /// # Errors
    /// As [`learn_on_device`].
    fn learn(
        &mut self,
        seed: u64,
        train_sequences: u32,
        val_sequences: u32,
    ) -> Result<Outcome, StepError>;

    /// [`crate::report::training_lines`] for this trainer's model.
    fn report<S: crate::report::Sink>(&self, sink: &mut S, tag: &str, o: &Outcome) -> Option<u32>;
}

macro_rules! device_training {
    ($layer:ty) => {
        impl DeviceTraining for Trainer<$layer> {
            type State = <$layer as Recurrent<IN, H, f32>>::State;
            type Record = <$layer as Recurrent<IN, H, f32>>::Record;
            fn keras_init(seed: u64) -> Self {
                Trainer::keras_init(seed)
            }
            #[inline(never)]
            fn step(
                &mut self,
                x: &[f32; IN],
                y: f32,
                state: &mut Self::State,
            ) -> Result<SampleLoss, StepError> {
                self.train_step(x, y, state)
            }
            #[inline(never)]
            fn window(
                &mut self,
                tape: &mut Tape<STEPS, Self::Record>,
                xs: &[[f32; IN]],
                y: f32,
            ) -> Result<SampleLoss, StepError> {
                train_window(self, tape, xs, y)
            }
            #[inline(never)]
            fn learn(
                &mut self,
                seed: u64,
                train_sequences: u32,
                val_sequences: u32,
            ) -> Result<Outcome, StepError> {
                learn_on_device(self, seed, train_sequences, val_sequences)
            }
            fn report<S: crate::report::Sink>(
                &self,
                sink: &mut S,
                tag: &str,
                o: &Outcome,
            ) -> Option<u32> {
                crate::report::training_lines(sink, tag, o, &self.model)
            }
        }
    };
}

device_training!(Lstm<IN, H>);
device_training!(Gru<IN, H>);
