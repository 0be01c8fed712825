//! Integer inference (`lstm_kernel::quant`) of the blog post's own models, trained here the
//! post's way (`stateful-per-step`, 2 epochs) and quantized with a calibration over the
//! training split: on the 200 validation sequences, streamed step by step from the zero
//! state, the int8 model keeps the float model's per-step accuracy (1.0) and its logits stay
//! within a stated bound of the float ones. One LSTM(10), two stacked, and a GRU(10).

use lstm_harness::data::{Dataset, Sequence};
use lstm_harness::experiment::{Experiment, ExperimentConfig, Quiet, run};
use lstm_harness::model::{OneGru, OneLayer, PostLayers, PostModel, TwoLayers};
use lstm_kernel::quant::{Calibration, QModel, QRecurrent, Quantize};
use lstm_kernel::{GruVariant, LayerKind, StreamState};

/// Per-step accuracy of the float and the int8 model over `val`, and the largest
/// |logit_q - logit_f| and |logit_f| over every step.
fn compare<R>(model: &PostModel<R>, calib: &[Sequence], val: &[Sequence]) -> [f32; 4]
where
    R: PostLayers + Quantize<1, 10>,
{
    let mut c = Calibration::new();
    for s in calib {
        c.observe_sequence(model, &s.xs);
    }
    let q: QModel<R::Quantized, 1, 10, 1> = QModel::quantize(model, &c).unwrap();
    let (mut right_f, mut right_q, mut steps) = (0u32, 0u32, 0u32);
    let (mut worst, mut peak) = (0.0f32, 0.0f32);
    for s in val {
        let mut sf = <R as lstm_kernel::Recurrent<1, 10, f32>>::State::zeroed();
        let mut sq = R::Quantized::zero_state();
        for x in &s.xs {
            let [f] = model.step(x, &mut sf);
            let [o] = q.step(&q.quantize_input(x).unwrap(), &mut sq);
            let o = QModel::<R::Quantized, 1, 10, 1>::output_value(o);
            right_f += u32::from((f > 0.0) == (s.y > 0.5));
            right_q += u32::from((o > 0.0) == (s.y > 0.5));
            steps += 1;
            worst = worst.max((o - f).abs());
            peak = peak.max(f.abs());
        }
    }
    [
        right_f as f32 / steps as f32,
        right_q as f32 / steps as f32,
        worst,
        peak,
    ]
}

fn trained<R: PostLayers>(cell: LayerKind, data: &Dataset) -> PostModel<R> {
    let config = ExperimentConfig {
        epochs: 2,
        cell,
        ..ExperimentConfig::new(Experiment::StatefulPerStep, 7)
    };
    run::<R>(&config, data, &mut Quiet).unwrap().1
}

/// Per-step validation accuracy 1.0 for both, and the int8 logits within 3 % of the
/// largest float logit (measured on AMD EPYC, AVX-512: LSTM 0.016 of 27.3, 0.06 %; 2 x LSTM
/// 0.39 of 25.9, 1.5 %; GRU 0.025 of 23.3, 0.1 %; printed). Where the stack's larger error
/// comes from is not measured yet (a candidate: gate pre-activations beyond Q3.12's `±8`,
/// where `σ` saturates at `1 - 3.4e-4` as in TFLite, compounding over 20 steps); the
/// logits' distance from 0 is far larger. The bound leaves room for training to land a
/// little differently on another ISA (float sums in another order).
#[test]
fn the_posts_models_keep_their_accuracy_in_int8() {
    let data = Dataset::generate(7);
    let lstm = LayerKind::Lstm;
    let gru = LayerKind::Gru(GruVariant::ResetAfter);
    for (name, [acc_f, acc_q, worst, peak]) in [
        (
            "lstm(10)",
            compare(&trained::<OneLayer>(lstm, &data), data.train(), data.val()),
        ),
        (
            "2 x lstm(10)",
            compare(&trained::<TwoLayers>(lstm, &data), data.train(), data.val()),
        ),
        (
            "gru(10)",
            compare(&trained::<OneGru>(gru, &data), data.train(), data.val()),
        ),
    ] {
        println!(
            "{name}: per-step accuracy f32 {acc_f:.4} int8 {acc_q:.4}; max |logit_q - \
             logit_f| {worst:.4} (max |logit_f| {peak:.2})"
        );
        assert_eq!((acc_f, acc_q), (1.0, 1.0), "{name}");
        assert!(worst <= 0.03 * peak, "{name}: {worst} > 3 % of {peak}");
    }
}
