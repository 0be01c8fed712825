//! `Maths::Fast` (the kernel's opt-in rational tanh/sigmoid) still learns the post's task:
//! the `stateful-per-step` experiment, trained and evaluated with fast activations, reaches
//! the same validation-accuracy bar as with exact ones (`LEARNS_AT` = 0.99).

use lstm_harness::cli::experiments::DEFAULT_SEED;
use lstm_harness::data::Dataset;
use lstm_harness::experiment::{Experiment, ExperimentConfig, LEARNS_AT, Quiet, run};
use lstm_harness::model::OneLayer;
use lstm_kernel::Maths;

#[test]
fn stateful_per_step_learns_with_fast_activations() {
    let data = Dataset::generate(DEFAULT_SEED);
    let config = ExperimentConfig {
        maths: Maths::Fast,
        ..ExperimentConfig::new(Experiment::StatefulPerStep, DEFAULT_SEED)
    };
    let (report, model) = run::<OneLayer>(&config, &data, &mut Quiet).expect("training converges");
    assert_eq!(
        model.rnn.maths,
        Maths::Fast,
        "the run used the fast activations"
    );
    let acc = report.last().map_or(f64::NAN, |e| e.val_acc);
    assert!(
        acc >= LEARNS_AT,
        "stateful-per-step with Maths::Fast: val_acc {acc:.4} < {LEARNS_AT}; epochs: {:#?}",
        report.epochs
    );
}
