//! Mini-batches of sequences in lock step: [`Model::forward_batch`] runs `B` sequences of
//! their own lengths step by step together, [`Model::backward_batch`] runs BPTT over all of
//! them newest step first, so every weight is read (and every weight gradient written)
//! once per group of [`GROUP`] rows instead of once per row, as PyTorch's and Keras'
//! batched kernels do across a mini-batch.
//!
//! At step `t` the rows whose sequence is longer than `t` are advanced, in groups of
//! [`GROUP`] (the rows of a short last group one by one); a row that has ended is left alone,
//! so no padding reaches any state or gradient. The forward pass gives each row the bits
//! it gets alone ([`Recurrent::step_record_rows_with`] is bit-identical to single-row
//! steps); the backward pass gives each row's state gradients the bits they get alone,
//! while the weight gradients are the same sums taken step-major (every row's step `t`
//! before any row's step `t - 1`) instead of row-major, so they differ from row-by-row
//! training by rounding only.
//!
//! Layer: above [`crate::model`] (it adds methods to [`Model`]); no allocation, the caller
//! owns the tapes and states.

use heapless::Vec;

use crate::backend::{Float, Kernels};
use crate::error::{BatchError, WindowTooLong};
use crate::model::{Grads, Model};
use crate::recurrent::{Recurrent, Tape};

/// Rows advanced together: each weight vector is loaded once per this many rows (4: with
/// 2 column vectors per row, 8 accumulators, half of AVX2's 16 vector registers).
pub const GROUP: usize = 4;

/// The array of `G` values if every one is `Some` (no panic path: a short iterator gives
/// `None`).
fn all_some<X, const G: usize>(a: [Option<X>; G]) -> Option<[X; G]> {
    let v: Vec<X, G> = a.into_iter().flatten().collect();
    v.into_array().ok()
}

/// Calls `f(group)` for the rows `b` with `active(b)`, in index order, `GROUP` at a time
/// (the last call may hold fewer), as a fixed-size index array.
fn for_groups(rows: usize, active: impl Fn(usize) -> bool, mut f: impl FnMut(&[usize])) {
    let mut idx = [0usize; GROUP];
    let mut n = 0;
    for b in (0..rows).filter(|&b| active(b)) {
        if let Some(slot) = idx.get_mut(n) {
            *slot = b;
        }
        n += 1;
        if n == GROUP {
            f(&idx);
            n = 0;
        }
    }
    if let Some(rest) = idx.get(..n).filter(|r| !r.is_empty()) {
        f(rest);
    }
}

// The full-group pattern below names GROUP's four rows.
const _: () = assert!(GROUP == 4);

/// Runs `$body` with `$g` bound to the group as a const-size index array: the whole group
/// (`[usize; GROUP]`) when it is full, else each of its rows alone (`[usize; 1]`). Two
/// sizes per call site, not `GROUP`: the row kernels are compiled for every model type a
/// program uses (the harness's size menu has 72), so each extra size costs build time,
/// while a short last group is rare (the rows of a step beyond a multiple of `GROUP`).
macro_rules! with_group_size {
    ($group:expr, |$g:ident| $body:expr) => {
        match *$group {
            [a, b, c, d] => {
                let $g = [a, b, c, d];
                $body
            }
            ref rest => {
                for &a in rest {
                    let $g = [a];
                    $body
                }
            }
        }
    };
}

impl<R, const IN: usize, const H: usize, const OUT: usize, F> Model<R, IN, H, OUT, F>
where
    R: Recurrent<IN, H, F>,
    F: Float,
{
    /// Forward through `B` sequences in lock step: row `b` runs `xs[b]` (`[steps_b][IN]`,
    /// any `steps_b <= T`, `0` allowed) from `states[b]`, recording on `tapes[b]` (whatever
    /// it held before is replaced); `states[b]` ends as that sequence's final state. `B = xs.len()`. The head is
    /// not run: read the logits with [`Self::logits_at`] or from the final states.
    ///
    /// Each row's records and states are bit for bit those of
    /// [`Self::forward_window`] on that row alone.
    ///
    /// # Errors
    /// [`BatchError::Rows`] if `states` or `tapes` do not have `B` entries,
    /// [`BatchError::TooLong`] for the first sequence longer than `T`; nothing is changed.
    pub fn forward_batch<const T: usize>(
        &self,
        xs: &[&[[F; IN]]],
        states: &mut [R::State],
        tapes: &mut [Tape<T, R::Record>],
    ) -> Result<(), BatchError> {
        self.forward_batch_with::<F::Kernels, T>(xs, states, tapes)
    }

    /// [`Self::forward_batch`] with explicit kernels.
    pub fn forward_batch_with<K: Kernels<F>, const T: usize>(
        &self,
        xs: &[&[[F; IN]]],
        states: &mut [R::State],
        tapes: &mut [Tape<T, R::Record>],
    ) -> Result<(), BatchError> {
        let rows = xs.len();
        if states.len() != rows || tapes.len() != rows {
            return Err(BatchError::Rows {
                data: rows,
                states: states.len(),
                tapes: tapes.len(),
            });
        }
        if let Some((row, x)) = xs.iter().enumerate().find(|(_, x)| x.len() > T) {
            return Err(BatchError::TooLong {
                row,
                window: WindowTooLong {
                    steps: x.len(),
                    capacity: T,
                },
            });
        }
        for (tape, x) in tapes.iter_mut().zip(xs) {
            tape.resize(x.len(), R::zero_record());
        }
        let steps = xs.iter().map(|x| x.len()).max().unwrap_or(0);
        let zero_x = [F::ZERO; IN];
        for t in 0..steps {
            let active = |b: usize| xs.get(b).is_some_and(|x| t < x.len());
            for_groups(rows, active, |group| {
                with_group_size!(group, |g| {
                    let x = g.map(|b| xs.get(b).and_then(|x| x.get(t)).unwrap_or(&zero_x));
                    let (Ok(s), Ok(tp)) = (states.get_disjoint_mut(g), tapes.get_disjoint_mut(g))
                    else {
                        return;
                    };
                    if let Some(rec) = all_some(tp.map(|tape| tape.step_mut(t))) {
                        self.rnn.step_record_rows_with::<K, _>(x, s, rec);
                    }
                })
            });
        }
        Ok(())
    }

    /// Streaming inference over `B` sequences in lock step, without a tape: row `b` runs
    /// `xs[b]` (`[steps_b][IN]`) from `states[b]`, and after each of its steps `t`,
    /// `after(b, t, &states[b])` sees the new state (read the logits with
    /// [`Self::head`]`.forward(R::output(state))` where the caller scores them). Each row's
    /// states are bit for bit those of [`Self::step`] on that row alone.
    ///
    /// # Errors
    /// [`BatchError::Rows`] if `states` does not have one entry per sequence (`tapes` in the
    /// error is 0); nothing is changed.
    pub fn stream_batch(
        &self,
        xs: &[&[[F; IN]]],
        states: &mut [R::State],
        after: impl FnMut(usize, usize, &R::State),
    ) -> Result<(), BatchError> {
        self.stream_batch_with::<F::Kernels>(xs, states, after)
    }

    /// [`Self::stream_batch`] with explicit kernels.
    pub fn stream_batch_with<K: Kernels<F>>(
        &self,
        xs: &[&[[F; IN]]],
        states: &mut [R::State],
        mut after: impl FnMut(usize, usize, &R::State),
    ) -> Result<(), BatchError> {
        let rows = xs.len();
        if states.len() != rows {
            return Err(BatchError::Rows {
                data: rows,
                states: states.len(),
                tapes: 0,
            });
        }
        let steps = xs.iter().map(|x| x.len()).max().unwrap_or(0);
        let zero_x = [F::ZERO; IN];
        for t in 0..steps {
            let active = |b: usize| xs.get(b).is_some_and(|x| t < x.len());
            for_groups(rows, active, |group| {
                with_group_size!(group, |g| {
                    let x = g.map(|b| xs.get(b).and_then(|x| x.get(t)).unwrap_or(&zero_x));
                    if let Ok(s) = states.get_disjoint_mut(g) {
                        self.rnn.step_rows_with::<K, _>(x, s);
                    }
                    for b in g {
                        if let Some(s) = states.get(b) {
                            after(b, t, s);
                        }
                    }
                })
            });
        }
        Ok(())
    }

    /// BPTT through a lock-step batch recorded by [`Self::forward_batch`], accumulating
    /// (`+=`) into `grads`. Row `b` is [`Self::backward_sequence_with`] of `tapes[b]` with
    /// `dlogits[b]` (`dL/dlogits` of its **last** `dlogits[b].len()` steps, `[rows][OUT]`;
    /// one row for a many-to-one loss) and `d[b]`: on entry the gradient w.r.t. that row's
    /// final state (zeros unless chaining windows), on exit w.r.t. its initial state.
    ///
    /// # Errors
    /// [`BatchError::Rows`] if `dlogits` and `d` do not have one entry per tape; nothing
    /// is changed.
    pub fn backward_batch<const T: usize>(
        &self,
        tapes: &[Tape<T, R::Record>],
        dlogits: &[&[[F; OUT]]],
        d: &mut [R::State],
        grads: &mut Grads<R::Grads, H, OUT, F>,
    ) -> Result<(), BatchError> {
        self.backward_batch_with::<F::Kernels, T>(tapes, dlogits, d, grads)
    }

    /// [`Self::backward_batch`] with explicit kernels.
    pub fn backward_batch_with<K: Kernels<F>, const T: usize>(
        &self,
        tapes: &[Tape<T, R::Record>],
        dlogits: &[&[[F; OUT]]],
        d: &mut [R::State],
        grads: &mut Grads<R::Grads, H, OUT, F>,
    ) -> Result<(), BatchError> {
        let rows = tapes.len();
        if dlogits.len() != rows || d.len() != rows {
            return Err(BatchError::Rows {
                data: dlogits.len(),
                states: d.len(),
                tapes: rows,
            });
        }
        let steps = tapes.iter().map(Tape::len).max().unwrap_or(0);
        let head = &self.head;
        for t in (0..steps).rev() {
            let active = |b: usize| tapes.get(b).is_some_and(|tp| t < tp.len());
            for_groups(rows, active, |group| {
                with_group_size!(group, |g| {
                    let rec = g.map(|b| tapes.get(b).and_then(|tp| tp.steps().get(t)));
                    let Some(rec) = all_some(rec) else {
                        return;
                    };
                    // dL/dh_t from the head at the row's scored steps (its last ones).
                    let mut dh = [[F::ZERO; H]; { GROUP }];
                    let mut scored = [false; GROUP];
                    for (((&b, r), dh), scored) in
                        g.iter().zip(&rec).zip(dh.iter_mut()).zip(scored.iter_mut())
                    {
                        let (Some(tp), Some(dl)) = (tapes.get(b), dlogits.get(b)) else {
                            continue;
                        };
                        let skip = tp.len().saturating_sub(dl.len());
                        let first = dl.len().saturating_sub(tp.len());
                        if let Some(dl) = t.checked_sub(skip).and_then(|i| dl.get(first + i)) {
                            head.backward(&R::record_output(r), dl, &mut grads.head, dh);
                            *scored = true;
                        }
                    }
                    let Ok(dg) = d.get_disjoint_mut(g) else {
                        return;
                    };
                    let mut i = 0;
                    let dh_rows = g.map(|_| {
                        let row = scored
                            .get(i)
                            .copied()
                            .unwrap_or(false)
                            .then(|| dh.get(i))
                            .flatten();
                        i += 1;
                        row
                    });
                    let dx = g.map(|_| None);
                    self.rnn
                        .backward_step_rows_with::<K, _>(rec, dh_rows, dg, &mut grads.rnn, dx);
                })
            });
        }
        Ok(())
    }
}
