//! The on-device training run, executed on the host with the same `no_std` code (and the
//! same kernel) the firmware runs: it must learn the task in one epoch.

use fw_common::train::{GruTrainer, Trainer, learn_on_device};

use fw_common::train::DEVICE_SEED as SEED;

#[test]
fn one_epoch_of_per_step_adam_on_device_data_learns_the_task() {
    let mut trainer: Trainer = Trainer::keras_init(SEED);
    let o = learn_on_device(&mut trainer, SEED, 1000, 200).unwrap();
    assert_eq!(o.updates, 20_000);
    let acc = o.val.per_step();
    // The target is a deterministic function of step 0, so a model that learned the task
    // is right everywhere; 0.99 is the bar (the harness's LEARNS_AT).
    assert!(acc >= 0.99, "validation accuracy {acc} ({:?})", o.val);
    assert!(o.train_loss.is_finite());
}

/// The GRU version of the post's model learns the same task with the same on-device loop.
#[test]
fn the_gru_version_learns_the_task_in_one_epoch_too() {
    let mut trainer = GruTrainer::keras_init(SEED);
    let o = learn_on_device(&mut trainer, SEED, 1000, 200).unwrap();
    assert_eq!(o.updates, 20_000);
    let acc = o.val.per_step();
    assert!(acc >= 0.99, "validation accuracy {acc} ({:?})", o.val);
}
