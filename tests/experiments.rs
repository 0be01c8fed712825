//! The post's outcomes, reproduced on the kernel with the harness's default seed.
//!
//! "Learns" means validation accuracy `>= LEARNS_AT` (0.99): the target is a deterministic
//! function of step 0, so a model that carries it forward is right everywhere; 0.99 allows
//! 2 slips in 200 sequences. "Stays near chance" means `<= CHANCE_AT_MOST` (0.70): without
//! carrying step 0 forward, the best possible validation accuracy is about 0.53-0.6 (only
//! 1 of 11 windows, or 1 of 20 steps, sees step 0, plus the class imbalance of the 200
//! validation sequences; a constant guess scores 0.5545 on this seed's data).
//!
//! The epoch counts are the post's, except `stateful-per-step`, which is judged after its
//! first epoch as the post reports 1.0 there. Over seeds 0..20 and all three recurrent
//! activations the same outcomes held (measured with `lstm-harness experiments --seed S`);
//! these tests pin the default seed so they are deterministic. Two stacked layers reach
//! the same outcomes (seed 42; `experiments --layers 2`), and so does the GRU, in both
//! variants (`experiments --cell gru|gru-reset-before`).

use lstm_harness::cli::experiments::DEFAULT_SEED;
use lstm_harness::data::Dataset;
use lstm_harness::experiment::{
    CHANCE_AT_MOST, Experiment, ExperimentConfig, ExperimentReport, LEARNS_AT, Quiet, run_layers,
    train_stateful_per_step,
};
use lstm_harness::model::HarnessModel;
use lstm_kernel::{GruVariant, LayerKind, LstmState, RecurrentActivation};

fn run_experiment(
    experiment: Experiment,
    epochs: usize,
    activation: RecurrentActivation,
) -> ExperimentReport {
    run_stacked(experiment, epochs, activation, 1)
}

/// [`run_experiment`] with `layers` stacked `LSTM(10)` layers.
fn run_stacked(
    experiment: Experiment,
    epochs: usize,
    activation: RecurrentActivation,
    layers: usize,
) -> ExperimentReport {
    run_cell(experiment, epochs, activation, layers, LayerKind::Lstm)
}

/// [`run_stacked`] with `layers` stacked layers of `cell`.
fn run_cell(
    experiment: Experiment,
    epochs: usize,
    activation: RecurrentActivation,
    layers: usize,
    cell: LayerKind,
) -> ExperimentReport {
    let data = Dataset::generate(DEFAULT_SEED);
    let config = ExperimentConfig {
        epochs,
        activation,
        cell,
        ..ExperimentConfig::new(experiment, DEFAULT_SEED)
    };
    match run_layers(&config, layers, &data, &mut Quiet) {
        Ok(report) => report,
        Err(e) => panic!("{} failed: {e:#}", experiment.name()),
    }
}

fn last_val_acc(report: &ExperimentReport) -> f64 {
    report.last().map_or(f64::NAN, |e| e.val_acc)
}

fn assert_learns(report: &ExperimentReport) {
    let acc = last_val_acc(report);
    assert!(
        acc >= LEARNS_AT,
        "{} ({} {}, {} layers) should learn: val_acc {acc:.4} < {LEARNS_AT}; epochs: {:#?}",
        report.name,
        report.cell,
        report.recurrent_activation,
        report.layers,
        report.epochs
    );
}

fn assert_stays_near_chance(report: &ExperimentReport) {
    let acc = last_val_acc(report);
    assert!(
        acc <= CHANCE_AT_MOST,
        "{} ({} {}, {} layers) should not learn: val_acc {acc:.4} > {CHANCE_AT_MOST}",
        report.name,
        report.cell,
        report.recurrent_activation,
        report.layers
    );
}

#[test]
fn stateful_per_step_training_learns_the_task_in_its_first_epoch() {
    let r = run_experiment(Experiment::StatefulPerStep, 1, RecurrentActivation::Sigmoid);
    assert_learns(&r);
    assert_eq!(
        r.train_steps, 20_000,
        "one update per step of 1000 sequences"
    );
}

#[test]
fn the_stateless_full_sequence_control_learns_the_task_in_fifteen_epochs() {
    let r = run_experiment(
        Experiment::StatelessFullSequence,
        15,
        RecurrentActivation::Sigmoid,
    );
    assert_learns(&r);
}

#[test]
fn stateless_per_step_training_stays_near_chance() {
    let r = run_experiment(
        Experiment::StatelessPerStep,
        3,
        RecurrentActivation::Sigmoid,
    );
    assert_stays_near_chance(&r);
}

#[test]
fn stateless_windows_of_ten_stay_near_chance() {
    let r = run_experiment(
        Experiment::StatelessWindows,
        15,
        RecurrentActivation::Sigmoid,
    );
    assert_stays_near_chance(&r);
    assert_eq!(
        r.train_steps,
        15 * 172,
        "171 full batches of 64 and one of 56"
    );
}

#[test]
fn stateful_windows_of_ten_stay_near_chance() {
    let r = run_experiment(
        Experiment::StatefulWindows,
        15,
        RecurrentActivation::Sigmoid,
    );
    assert_stays_near_chance(&r);
    assert_eq!(r.train_steps, 15 * 100, "100 batches of 110");
}

#[test]
fn every_outcome_also_holds_with_the_posts_keras2_hard_sigmoid() {
    let act = RecurrentActivation::HardSigmoidKeras2;
    assert_learns(&run_experiment(Experiment::StatefulPerStep, 1, act));
    assert_learns(&run_experiment(Experiment::StatelessFullSequence, 15, act));
    assert_stays_near_chance(&run_experiment(Experiment::StatelessPerStep, 3, act));
    assert_stays_near_chance(&run_experiment(Experiment::StatelessWindows, 15, act));
    assert_stays_near_chance(&run_experiment(Experiment::StatefulWindows, 15, act));
}

/// The post's conclusions do not depend on depth: a stack of two `LSTM(10)` layers learns
/// exactly where the single layer does (stateful per step, whole sequences) and stays near
/// chance where it does (windows of 10, stateless per step). Same seed, epochs and bars.
#[test]
fn every_outcome_also_holds_with_two_stacked_layers() {
    let act = RecurrentActivation::Sigmoid;
    let two = |e, epochs| {
        let r = run_stacked(e, epochs, act, 2);
        assert_eq!(r.layers, 2);
        r
    };
    assert_learns(&two(Experiment::StatefulPerStep, 1));
    assert_learns(&two(Experiment::StatelessFullSequence, 15));
    assert_stays_near_chance(&two(Experiment::StatelessPerStep, 3));
    assert_stays_near_chance(&two(Experiment::StatelessWindows, 15));
    assert_stays_near_chance(&two(Experiment::StatefulWindows, 15));
}

/// The post's conclusions hold for the GRU too (both variants, one layer and a stack of
/// two; measured with `lstm-harness experiments --cell gru|gru-reset-before --layers 1|2`,
/// seed 42): it learns where the LSTM learns (stateful per step, whole sequences) and stays
/// near chance where the LSTM does (windows of 10, stateless per step). Same seed, epochs
/// and bars as the LSTM.
#[test]
fn every_outcome_also_holds_for_the_gru_in_both_variants() {
    let act = RecurrentActivation::Sigmoid;
    for (variant, layers) in [
        (GruVariant::ResetAfter, 1),
        (GruVariant::ResetBefore, 1),
        (GruVariant::ResetAfter, 2),
        (GruVariant::ResetBefore, 2),
    ] {
        let cell = LayerKind::Gru(variant);
        let run = |e, epochs| {
            let r = run_cell(e, epochs, act, layers, cell);
            assert_eq!((r.cell, r.layers), (cell.name(), layers));
            r
        };
        assert_learns(&run(Experiment::StatefulPerStep, 1));
        assert_learns(&run(Experiment::StatelessFullSequence, 15));
        assert_stays_near_chance(&run(Experiment::StatelessPerStep, 3));
        assert_stays_near_chance(&run(Experiment::StatelessWindows, 15));
        assert_stays_near_chance(&run(Experiment::StatefulWindows, 15));
    }
}

/// Streams a sequence through the model one step at a time, as a device would.
fn streamed_prediction(model: &HarnessModel, xs: &[[f32; 1]]) -> bool {
    let mut state = LstmState::zeroed();
    let mut logit = [0.0];
    for x in xs {
        logit = model.step(x, &mut state);
    }
    logit[0] > 0.0
}

#[test]
fn the_reusable_stateful_per_step_trainer_returns_a_streaming_classifier() {
    let data = Dataset::generate(DEFAULT_SEED);
    let (report, model) = match train_stateful_per_step(
        &data,
        1,
        DEFAULT_SEED,
        RecurrentActivation::Sigmoid,
        &mut Quiet,
    ) {
        Ok(r) => r,
        Err(e) => panic!("training failed: {e:#}"),
    };
    assert_eq!(report.name, "stateful-per-step");
    // After all 20 steps every validation sequence is classified by its first value.
    let wrong = data
        .val()
        .iter()
        .filter(|s| streamed_prediction(&model, &s.xs) != (s.y > 0.5))
        .count();
    assert_eq!(
        wrong, 0,
        "{wrong} of 200 validation sequences misclassified"
    );
}
