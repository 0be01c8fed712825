//! Lock-step mini-batches (`Model::forward_batch`, `Model::backward_batch`) against each
//! row run alone (`forward_window`, `backward_sequence_with`), for an LSTM (the grouped
//! override: 4H = 40 has an odd number of 8-lane blocks; also (8, 64) and (16, 128)), a GRU and a 2-layer stack (the
//! trait's row-by-row defaults), on both kernels, with rows of lengths 0 to 9 (groups of
//! 4, 3, 2 and 1 rows at different steps) and both many-to-one and many-to-many losses.
//!
//! The tapes are reused (another batch first). Exact: every record and final state (and
//! every state of `stream_batch`, against `step`) of the forward pass, and every row's initial-state
//! gradient (each row's own operations, in its own order). Tolerance
//! `|batch - alone| <= 1e-6 + 1e-5·|alone|` for the weight gradients: the same products
//! summed step-major instead of row-major (7 rows × <= 9 steps of terms below 1), so only
//! rounding differs (f32 eps 6e-8 per addition); a term lost or counted twice moves a
//! gradient by O(0.01).

use lstm_kernel::backend::{Kernels, Scalar, Simd};
use lstm_kernel::{
    BatchError, Grads, Gru, GruVariant, LayerKind, Lstm, Lstm2, Model, Recurrent, StreamState,
    Tape, Tensors,
};

use crate::common::{Compare, Rand};

const T: usize = 12;
const LENGTHS: [usize; 7] = [5, 0, 9, 1, 9, 3, 7];

fn random_model<R: Recurrent<IN, H, f32> + Default, const IN: usize, const H: usize>(
    seed: u64,
) -> Model<R, IN, H, 2> {
    let mut m = Model {
        rnn: R::default(),
        head: lstm_kernel::Dense::zeroed(),
    };
    let mut rand = Rand::new(seed);
    for i in 0..Model::<R, IN, H, 2>::COUNT {
        rand.fill(m.tensor_mut(i), 0.5);
    }
    m
}

fn check<R, K, const IN: usize, const H: usize>(
    label: &str,
    seed: u64,
    many_to_many: bool,
    kind: Option<LayerKind>,
) where
    R: Recurrent<IN, H, f32> + Default,
    R::Grads: Default,
    K: Kernels<f32>,
{
    let mut model = random_model::<R, IN, H>(seed);
    if let Some(kind) = kind {
        assert!(model.rnn.set_kind(0, kind), "{label}: {kind:?}");
    }
    let mut rand = Rand::new(seed + 1);
    let xs: Vec<Vec<[f32; IN]>> = LENGTHS
        .iter()
        .map(|&n| (0..n).map(|_| rand.array(1.0)).collect())
        .collect();
    let dl: Vec<Vec<[f32; 2]>> = LENGTHS
        .iter()
        .map(|&n| {
            let rows = if many_to_many { n } else { n.min(1) };
            (0..rows).map(|_| rand.array(1.0)).collect()
        })
        .collect();
    let init: Vec<R::State> = LENGTHS
        .iter()
        .map(|_| {
            let mut s = R::State::zeroed();
            // A nonzero initial state for every row: a stateful batch continues its streams.
            let mut probe = [0.0f32; IN];
            rand.fill(&mut probe, 1.0);
            model.rnn.step_with::<K>(&probe, &mut s);
            s
        })
        .collect();

    // Each row alone.
    let mut alone_grads: Grads<R::Grads, H, 2> = Grads::zeroed();
    let mut alone_tapes = Vec::new();
    let mut alone_states = init.clone();
    let mut alone_d = Vec::new();
    for ((x, s), dl) in xs.iter().zip(&mut alone_states).zip(&dl) {
        let mut tape = Tape::<T, R::Record>::new();
        model.forward_window_with::<K, T>(x, s, &mut tape).unwrap();
        let d =
            model.backward_sequence_with::<K, T>(&tape, dl, &R::State::zeroed(), &mut alone_grads);
        alone_tapes.push(tape);
        alone_d.push(d);
    }

    // The batch in lock step.
    let mut tapes: Vec<Tape<T, R::Record>> = (0..LENGTHS.len()).map(|_| Tape::new()).collect();
    let mut states = init.clone();
    // The tapes first hold another batch (other lengths and values): a reused tape must
    // record exactly what a fresh one does.
    let other: Vec<Vec<[f32; IN]>> = LENGTHS
        .iter()
        .rev()
        .map(|&n| (0..n + 2).map(|_| rand.array(3.0)).collect())
        .collect();
    let refs: Vec<&[[f32; IN]]> = other.iter().map(Vec::as_slice).collect();
    model
        .forward_batch_with::<K, T>(&refs, &mut states, &mut tapes)
        .unwrap();
    states.clone_from(&init);
    let refs: Vec<&[[f32; IN]]> = xs.iter().map(Vec::as_slice).collect();
    model
        .forward_batch_with::<K, T>(&refs, &mut states, &mut tapes)
        .unwrap();
    assert_eq!(states, alone_states, "{label}: final states");
    for (b, (tb, ta)) in tapes.iter().zip(&alone_tapes).enumerate() {
        assert_eq!(tb.steps().len(), ta.steps().len(), "{label}: row {b} steps");
        for (t, (rb, ra)) in tb.steps().iter().zip(ta.steps()).enumerate() {
            assert_eq!(
                format!("{rb:?}"),
                format!("{ra:?}"),
                "{label}: row {b} step {t}"
            );
        }
    }
    // Streaming inference in lock step: every row's state after every step, as `step`.
    let mut streamed = init.clone();
    let mut seen = vec![Vec::new(); LENGTHS.len()];
    model
        .stream_batch_with::<K>(&refs, &mut streamed, |b, t, s| seen[b].push((t, *s)))
        .unwrap();
    assert_eq!(streamed, alone_states, "{label}: streamed final states");
    for (b, (x, seen)) in xs.iter().zip(&seen).enumerate() {
        let mut s = init[b];
        let alone: Vec<_> = x
            .iter()
            .enumerate()
            .map(|(t, x)| {
                model.rnn.step_with::<K>(x, &mut s);
                (t, s)
            })
            .collect();
        assert_eq!(seen, &alone, "{label}: row {b} streamed states");
    }
    let mut grads: Grads<R::Grads, H, 2> = Grads::zeroed();
    let mut d = vec![R::State::zeroed(); LENGTHS.len()];
    let dls: Vec<&[[f32; 2]]> = dl.iter().map(Vec::as_slice).collect();
    model
        .backward_batch_with::<K, T>(&tapes, &dls, &mut d, &mut grads)
        .unwrap();
    assert_eq!(d, alone_d, "{label}: initial-state gradients");
    let mut cmp = Compare::new(format!("{label} weight gradients"), 1e-6, 1e-5);
    let mut moved = 0.0f64;
    for i in 0..Grads::<R::Grads, 10, 2>::COUNT {
        for (j, (&a, &b)) in grads
            .tensor(i)
            .iter()
            .zip(alone_grads.tensor(i))
            .enumerate()
        {
            cmp.value(format!("tensor {i}[{j}]"), f64::from(a), f64::from(b));
            moved += f64::from(b).abs();
        }
    }
    assert!(moved > 1.0, "{label}: the gradients are not all zero");
    cmp.finish();
}

fn all<R, const IN: usize, const H: usize>(name: &str)
where
    R: Recurrent<IN, H, f32> + Default,
    R::Grads: Default,
{
    all_kind::<R, IN, H>(name, None);
}

fn all_kind<R, const IN: usize, const H: usize>(name: &str, kind: Option<LayerKind>)
where
    R: Recurrent<IN, H, f32> + Default,
    R::Grads: Default,
{
    for many in [false, true] {
        let loss = if many { "many-to-many" } else { "many-to-one" };
        check::<R, Simd, IN, H>(&format!("{name} simd {loss}"), 7, many, kind);
        check::<R, Scalar, IN, H>(&format!("{name} scalar {loss}"), 7, many, kind);
    }
}

#[test]
fn a_lockstep_lstm_batch_equals_each_row_alone() {
    all::<Lstm<3, 10>, 3, 10>("lstm (3, 10)");
    // The sizes the fused single-stream steps tile differently (AVX-512 keeps (8, 64) in
    // registers): the grouped step must still give their bits.
    all::<Lstm<8, 64>, 8, 64>("lstm (8, 64)");
    all::<Lstm<16, 128>, 16, 128>("lstm (16, 128)");
}

#[test]
fn a_lockstep_gru_batch_equals_each_row_alone() {
    all::<Gru<3, 10>, 3, 10>("gru");
    all_kind::<Gru<3, 10>, 3, 10>(
        "gru reset-before",
        Some(LayerKind::Gru(GruVariant::ResetBefore)),
    );
}

#[test]
fn a_lockstep_stack_batch_equals_each_row_alone() {
    all::<Lstm2<3, 8, 10>, 3, 10>("lstm2");
}

#[test]
fn a_lockstep_batch_refuses_mismatched_slices_and_long_rows() {
    let model = random_model::<Lstm<3, 10>, 3, 10>(3);
    let x = vec![[0.5f32; 3]; 5];
    let long = vec![[0.5f32; 3]; T + 1];
    let mut tapes: Vec<Tape<T, _>> = vec![Tape::new(), Tape::new()];
    let mut states = vec![StreamState::zeroed(); 2];
    let one: Vec<&[[f32; 3]]> = vec![&x];
    assert_eq!(
        model.forward_batch(&one, &mut states, &mut tapes),
        Err(BatchError::Rows {
            data: 1,
            states: 2,
            tapes: 2
        })
    );
    let two: Vec<&[[f32; 3]]> = vec![&x, &long];
    let err = model
        .forward_batch(&two, &mut states, &mut tapes)
        .unwrap_err();
    assert!(matches!(err, BatchError::TooLong { row: 1, .. }), "{err}");
    assert!(tapes.iter().all(Tape::is_empty), "nothing recorded");
    let mut grads = Grads::zeroed();
    let dl: Vec<&[[f32; 2]]> = vec![&[[1.0, 0.0]]];
    let err = model
        .backward_batch(&tapes, &dl, &mut states, &mut grads)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a batch needs one entry per row in each slice: 1 data rows, 2 states, 2 tapes"
    );
}
