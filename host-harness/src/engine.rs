//! The training and evaluation passes the experiments are made of.
//!
//! - **Batched, many-to-one** ([`train_batched`], [`eval_batched`]): samples in order,
//!   in batches of `B` rows; the loss of a batch is the mean BCE over its rows (so each
//!   row's gradient is scaled by `1 / rows`), one optimizer update per batch, BPTT through
//!   every step of each sample. Stateless: every row starts from the zero state.
//!   Stateful: row `i` of batch `b + 1` starts from row `i`'s final state of batch `b`
//!   (Keras `stateful=True`); gradients do not flow across batches.
//! - **Per step** ([`train_per_step`], [`eval_per_step`]): batch 1, each sequence fed
//!   one step at a time with the sequence's target at every step, one optimizer update
//!   per step (a 1-step tape), the state carried across the sequence's steps
//!   ([`Carry::Stateful`]) or reset before every step ([`Carry::Stateless`]), and reset
//!   after each sequence.
//!
//! Every pass returns the sample-weighted mean loss and accuracy over what it processed,
//! which is what Keras reports for an epoch.

use anyhow::{Context, Result, bail};
use lstm_kernel::{BatchState, Recurrent, SampleLoss, StreamState, Tape, bce_loss};

use crate::data::{SEQ_LEN, Sample, Sequence, Step};
use crate::model::{HIDDEN, PostAdam, PostGrads, PostLayers, PostModel};

/// Sample-weighted running mean of per-sample loss (nats) and accuracy (`[0, 1]`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mean {
    loss_sum: f64,
    accuracy_sum: f64,
    count: u64,
    correct: u64,
}

impl Mean {
    /// Adds one sample's result.
    pub fn add(&mut self, s: SampleLoss<f32>) {
        self.loss_sum += f64::from(s.loss);
        self.accuracy_sum += f64::from(s.accuracy);
        self.count += 1;
        self.correct += u64::from(s.accuracy >= 1.0);
    }
    /// Number of samples (or steps) with every output correct (accuracy 1), counted as an
    /// integer rather than recovered from the floating-point mean.
    pub fn correct(&self) -> u64 {
        self.correct
    }
    /// Mean BCE in nats; NaN if nothing was added.
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.count as f64
    }
    /// Mean binary accuracy in `[0, 1]`; NaN if nothing was added.
    pub fn accuracy(&self) -> f64 {
        self.accuracy_sum / self.count as f64
    }
    /// Number of samples (or steps) added.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Work counters of training passes, for throughput figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Optimizer updates (Adam steps) taken.
    pub updates: u64,
    /// LSTM time steps processed in training (each forward and backward once).
    pub lstm_steps: u64,
}

/// Whether the per-step passes keep the state across a sequence's steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carry {
    /// The state flows from step to step within a sequence (reset after the sequence).
    Stateful,
    /// The state is reset to zero before every step.
    Stateless,
}

/// The longest window a training pass records (a whole sequence) for layers `R`.
type SeqTape<R> = Tape<SEQ_LEN, <R as Recurrent<1, HIDDEN, f32>>::Record>;

/// One stream's state of layers `R` (every layer's `(h, c)` for LSTMs).
type State<R> = <R as Recurrent<1, HIDDEN, f32>>::State;

/// One training pass over `samples` (each at most [`SEQ_LEN`] steps) in order, in batches
/// of `B` (the last one partial if `samples.len()` is not a multiple of `B`).
///
/// `carry = None` is stateless; `Some(states)` is stateful: row `i` of each batch starts
/// from `states.rows[i]` and leaves its final state there. `on_batch(rows)` is called after
/// each update. Adds to `counters`.
///
/// # Errors
/// `B == 0`; stateful with `samples.len()` not a multiple of `B` (Keras refuses this too);
/// a sample longer than [`SEQ_LEN`]; a non-finite gradient (training diverged; the model is
/// left as it was before that batch).
pub fn train_batched<R: PostLayers, const B: usize>(
    model: &mut PostModel<R>,
    adam: &mut PostAdam<R>,
    samples: &[Sample<'_>],
    mut carry: Option<&mut BatchState<B, State<R>>>,
    counters: &mut Counters,
    on_batch: &mut dyn FnMut(usize),
) -> Result<Mean> {
    check_batching::<B>(samples.len(), carry.is_some())?;
    let mut tape = SeqTape::<R>::new();
    let mut grads = PostGrads::<R>::zeroed();
    let mut mean = Mean::default();
    for batch in samples.chunks(B) {
        grads.zero();
        let scale = 1.0 / batch.len() as f32;
        for (row, sample) in batch.iter().enumerate() {
            let mut state = match carry.as_deref() {
                Some(states) => states.rows[row],
                None => State::<R>::zeroed(),
            };
            let loss = model.train_sample_bce(
                sample.xs,
                &[sample.y],
                scale,
                &mut state,
                &mut tape,
                &mut grads,
            )?;
            if let Some(states) = carry.as_deref_mut() {
                states.rows[row] = state;
            }
            mean.add(loss);
            counters.lstm_steps += sample.xs.len() as u64;
        }
        adam.step(model, &grads)
            .context("training diverged (non-finite gradient)")?;
        counters.updates += 1;
        on_batch(batch.len());
    }
    Ok(mean)
}

/// The evaluation pass matching [`train_batched`]: same order, batching and carry, no
/// training. Returns the mean loss and accuracy over `samples`.
///
/// # Errors
/// `B == 0`; stateful with `samples.len()` not a multiple of `B`.
pub fn eval_batched<R: PostLayers, const B: usize>(
    model: &PostModel<R>,
    samples: &[Sample<'_>],
    mut carry: Option<&mut BatchState<B, State<R>>>,
) -> Result<Mean> {
    check_batching::<B>(samples.len(), carry.is_some())?;
    let mut mean = Mean::default();
    for batch in samples.chunks(B) {
        for (row, sample) in batch.iter().enumerate() {
            let mut state = match carry.as_deref() {
                Some(states) => states.rows[row],
                None => State::<R>::zeroed(),
            };
            let logits = forward(model, sample.xs, &mut state);
            if let Some(states) = carry.as_deref_mut() {
                states.rows[row] = state;
            }
            mean.add(bce_loss(&logits, &[sample.y]));
        }
    }
    Ok(mean)
}

/// Streams `xs` from `state` (which ends as the final state) and returns the head's logit
/// after the last step (of the state's output `h` if `xs` is empty).
pub fn forward<R: PostLayers>(model: &PostModel<R>, xs: &[Step], state: &mut State<R>) -> [f32; 1] {
    for x in xs {
        model.rnn.step(x, state);
    }
    model.head.forward(R::output(state))
}

fn check_batching<const B: usize>(samples: usize, stateful: bool) -> Result<()> {
    if B == 0 {
        bail!("the batch size must be at least 1");
    }
    if stateful && !samples.is_multiple_of(B) {
        bail!(
            "a stateful pass needs the sample count ({samples}) to be a multiple of the batch \
             size ({B}) so that every row continues the same row of the previous batch"
        );
    }
    Ok(())
}

/// One per-step training pass (the post's `train_on_batch` loop): for every sequence and
/// every step `t`, one update on the 1-step window `xs[t]` with target `y`, the state
/// handled per `carry` and reset after the sequence. `on_sequence(steps)` is called after
/// each sequence. Adds `SEQ_LEN` updates and LSTM steps per sequence to `counters`.
///
/// # Errors
/// A non-finite gradient (training diverged; the model keeps its last finite update).
pub fn train_per_step<R: PostLayers>(
    model: &mut PostModel<R>,
    adam: &mut PostAdam<R>,
    sequences: &[Sequence],
    carry: Carry,
    counters: &mut Counters,
    on_sequence: &mut dyn FnMut(usize),
) -> Result<Mean> {
    let mut tape = Tape::<1, _>::new();
    let mut grads = PostGrads::<R>::zeroed();
    let mut mean = Mean::default();
    for s in sequences {
        let mut state = State::<R>::zeroed();
        for x in s.xs.chunks(1) {
            if carry == Carry::Stateless {
                state.reset();
            }
            grads.zero();
            let loss = model.train_sample_bce(x, &[s.y], 1.0, &mut state, &mut tape, &mut grads)?;
            adam.step(model, &grads)
                .context("training diverged (non-finite gradient)")?;
            mean.add(loss);
            counters.updates += 1;
            counters.lstm_steps += 1;
        }
        on_sequence(SEQ_LEN);
    }
    Ok(mean)
}

/// The evaluation pass matching [`train_per_step`] (the post's `test_on_batch` loop): the
/// loss and accuracy of every step's output against the sequence's target, averaged over
/// all steps of all sequences.
pub fn eval_per_step<R: PostLayers>(
    model: &PostModel<R>,
    sequences: &[Sequence],
    carry: Carry,
) -> Mean {
    let mut mean = Mean::default();
    for s in sequences {
        let mut state = State::<R>::zeroed();
        for x in &s.xs {
            if carry == Carry::Stateless {
                state.reset();
            }
            let logits = model.step(x, &mut state);
            mean.add(bce_loss(&logits, &[s.y]));
        }
    }
    mean
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, WINDOW_LEN, windows};
    use crate::model::{HarnessModel, keras_adam, keras_model};
    use lstm_kernel::{LstmState, RecurrentActivation};

    fn model() -> HarnessModel {
        keras_model(9, RecurrentActivation::Sigmoid)
    }

    #[test]
    fn a_mean_counts_fully_correct_samples_as_an_integer() {
        let mut m = Mean::default();
        for accuracy in [1.0, 0.0, 1.0, 0.5, 1.0] {
            m.add(SampleLoss {
                loss: 0.1,
                accuracy,
            });
        }
        assert_eq!((m.correct(), m.count()), (3, 5));
    }

    #[test]
    fn stateless_windows_make_171_full_batches_of_64_and_one_of_56() {
        let d = Dataset::generate(1);
        let train = windows(d.train(), WINDOW_LEN);
        let (mut m, mut adam, mut counters) = (model(), keras_adam(), Counters::default());
        let mut sizes = Vec::new();
        train_batched::<_, 64>(&mut m, &mut adam, &train, None, &mut counters, &mut |n| {
            sizes.push(n)
        })
        .unwrap();
        assert_eq!(sizes.len(), 172);
        assert!(sizes[..171].iter().all(|&n| n == 64));
        assert_eq!(sizes[171], 56);
        assert_eq!(counters.updates, 172);
        assert_eq!(counters.lstm_steps, 110_000);
        assert_eq!(adam.t, 172);
    }

    #[test]
    fn stateful_windows_make_100_batches_of_110() {
        let d = Dataset::generate(1);
        let train = windows(d.train(), WINDOW_LEN);
        let (mut m, mut adam, mut counters) = (model(), keras_adam(), Counters::default());
        let mut states = Box::new(BatchState::<110, LstmState<HIDDEN>>::zeroed());
        let mut sizes = Vec::new();
        train_batched(
            &mut m,
            &mut adam,
            &train,
            Some(&mut states),
            &mut counters,
            &mut |n| sizes.push(n),
        )
        .unwrap();
        assert_eq!(sizes, vec![110; 100]);
    }

    #[test]
    fn row_i_of_the_second_stateful_batch_continues_from_window_i() {
        // Row i of batch 1 is window 110 + i and starts from row i's state after window i.
        let d = Dataset::generate(2);
        let train = windows(d.train(), WINDOW_LEN);
        let m = model();
        let mut states = Box::new(BatchState::<110, LstmState<HIDDEN>>::zeroed());
        eval_batched(&m, &train[..220], Some(&mut states)).unwrap();
        for i in 0..110 {
            let mut expected = LstmState::zeroed();
            forward(&m, train[i].xs, &mut expected);
            forward(&m, train[110 + i].xs, &mut expected);
            assert_eq!(states.rows[i], expected, "row {i}");
        }
    }

    #[test]
    fn carrying_the_state_changes_the_result_compared_with_resetting_it() {
        let d = Dataset::generate(2);
        let train = windows(d.train(), WINDOW_LEN);
        let m = model();
        let mut carried = Box::new(BatchState::<110, LstmState<HIDDEN>>::zeroed());
        eval_batched(&m, &train[..220], Some(&mut carried)).unwrap();
        // The same batch 1 from zero states (a stateless pass over it).
        let mut reset = Box::new(BatchState::<110, LstmState<HIDDEN>>::zeroed());
        eval_batched(&m, &train[110..220], Some(&mut reset)).unwrap();
        let max_diff = carried
            .rows
            .iter()
            .zip(&reset.rows)
            .flat_map(|(a, b)| a.c.iter().zip(&b.c))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0_f32, f32::max);
        // Rows whose batch-0 window started with the 1 carry a non-zero state into batch 1;
        // it decays over the zero inputs, leaving ~2e-3 (seed 2, Keras init) in the final
        // cell state. 1e-5 is ~100x above f32 rounding of these values (|c| < 1, ulp ~1e-7)
        // and ~200x below the measured difference.
        assert!(max_diff > 1e-5, "max |c_carried - c_reset| = {max_diff}");
        // Batch 0 itself starts from zeros either way.
        let stateless = eval_batched::<_, 110>(&m, &train[..110], None).unwrap();
        let mut fresh = Box::new(BatchState::<110, LstmState<HIDDEN>>::zeroed());
        assert_eq!(
            eval_batched(&m, &train[..110], Some(&mut fresh)).unwrap(),
            stateless
        );
    }

    #[test]
    fn stateful_passes_refuse_a_partial_last_batch() {
        let d = Dataset::generate(2);
        let train = windows(d.train(), WINDOW_LEN);
        let mut states = Box::new(BatchState::<64, LstmState<HIDDEN>>::zeroed());
        let err = eval_batched(&model(), &train, Some(&mut states)).unwrap_err();
        assert!(
            err.to_string().contains("multiple of the batch size"),
            "{err}"
        );
    }

    #[test]
    fn per_step_training_takes_one_update_per_step() {
        let d = Dataset::generate(3);
        let (mut m, mut adam, mut counters) = (model(), keras_adam(), Counters::default());
        let mut seen = 0;
        let mean = train_per_step(
            &mut m,
            &mut adam,
            &d.train()[..5],
            Carry::Stateful,
            &mut counters,
            &mut |n| seen += n,
        )
        .unwrap();
        assert_eq!(counters.updates, 100);
        assert_eq!(seen, 100);
        assert_eq!(mean.count(), 100);
    }

    #[test]
    fn per_step_evaluation_with_carry_differs_from_resetting_every_step() {
        let d = Dataset::generate(3);
        let m = model();
        let carried = eval_per_step(&m, d.val(), Carry::Stateful);
        let reset = eval_per_step(&m, d.val(), Carry::Stateless);
        assert_eq!(carried.count(), 4000);
        assert!((carried.loss() - reset.loss()).abs() > 1e-6);
    }

    #[test]
    fn an_empty_mean_is_nan_and_a_mean_weights_every_sample_equally() {
        let mut m = Mean::default();
        assert!(m.loss().is_nan());
        m.add(SampleLoss {
            loss: 1.0,
            accuracy: 1.0,
        });
        m.add(SampleLoss {
            loss: 0.0,
            accuracy: 0.0,
        });
        m.add(SampleLoss {
            loss: 0.5,
            accuracy: 1.0,
        });
        assert!((m.loss() - 0.5).abs() < 1e-12);
        assert!((m.accuracy() - 2.0 / 3.0).abs() < 1e-12);
    }
}
