//! Stateful step-by-step validation: every sequence starts from the zero state, is fed one
//! step at a time (the state carries from step to step), and every step's logit is scored
//! against the sequence's target, like the harness's `eval_per_step` (Keras
//! `test_on_batch` per step, then `reset_states()` per sequence).

use lstm_kernel::StreamState;
use lstm_kernel::loss::binary_accuracy;

use crate::task::STEPS;
use crate::{IN, OUT};

/// Correct predictions of a validation run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accuracy {
    /// Steps whose logit is on the right side of 0 (Keras `binary_accuracy`).
    pub correct_steps: u32,
    /// Steps scored (`sequences · STEPS`).
    pub steps: u32,
    /// Sequences whose last step is right.
    pub correct_last: u32,
    /// Sequences scored.
    pub sequences: u32,
}

impl Accuracy {
    /// Per-step accuracy in `[0, 1]` (the harness's validation accuracy); 0 if empty.
    pub fn per_step(&self) -> f64 {
        if self.steps == 0 {
            0.0
        } else {
            f64::from(self.correct_steps) / f64::from(self.steps)
        }
    }
}

/// Runs `step` over every sequence of `xs` (`[sequences][STEPS][IN]`) with targets
/// `labels` (`[sequences]`, `0.0`/`1.0`; extra entries of the longer slice are ignored),
/// resetting the state between sequences. `on_sequence(i, logits)` receives each
/// sequence's 20 logits. `step` is the model's streaming step (so callers choose the kernels
/// and the model: one layer with `LstmState`, a stack with its nested state `St`).
pub fn validate<St, S, R>(
    xs: &[[[f32; IN]; STEPS]],
    labels: &[f32],
    mut step: S,
    mut on_sequence: R,
) -> Accuracy
where
    St: StreamState,
    S: FnMut(&[f32; IN], &mut St) -> [f32; OUT],
    R: FnMut(usize, &[f32; STEPS]),
{
    let mut acc = Accuracy::default();
    for (i, (seq, &y)) in xs.iter().zip(labels).enumerate() {
        let mut state = St::zeroed();
        let mut logits = [0.0; STEPS];
        for (x, z) in seq.iter().zip(logits.iter_mut()) {
            *z = step(x, &mut state)[0];
            acc.correct_steps += binary_accuracy(*z, y) as u32;
        }
        acc.correct_last += binary_accuracy(logits[STEPS - 1], y) as u32;
        acc.steps += STEPS as u32;
        acc.sequences += 1;
        on_sequence(i, &logits);
    }
    acc
}
