//! Real Keras 3 files (testdata/keras, written by scripts/fixtures/keras_models.py with Keras
//! 3.15.1, torch backend) read without Python: every accepted `.keras` gives Keras' own
//! outputs, its `.weights.h5` (no architecture) the same weights, and each refused model
//! is refused naming its layer and setting.

use std::path::PathBuf;

mod common;

use lstm_harness::files::{ReadOptions, Source, read_bin};

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/keras")
        .join(name)
}

/// The largest difference between the outputs of the model in `model_file` (after its
/// head activation) at each sequence's last step and Keras' in `<name>.json`.
fn max_error(model_file: &str, name: &str, options: &ReadOptions) -> f32 {
    common::max_error(&file(model_file), &file(&format!("{name}.json")), options)
}

/// Every accepted variant: the `.keras` gives Keras' outputs after 20 steps (tolerance
/// 2e-6: float32 sums over at most 16 + 16 terms per gate, 20 steps, in another order than
/// PyTorch's kernels; measured figures are printed).
#[test]
fn every_accepted_keras_file_gives_keras_outputs() {
    for name in [
        "lstm1",
        "lstm2",
        "gru_after",
        "gru_before",
        "hard",
        "nobias",
        "gru_nobias",
        "multi",
        "dropout",
        "functional",
        "stateful",
    ] {
        let e = max_error(&format!("{name}.keras"), name, &ReadOptions::default());
        println!("{name}.keras: max |output - Keras| = {e:.3e}");
        assert!(e < 2e-6, "{name}.keras: {e}");
    }
}

/// A `.weights.h5` holds no architecture: its weights are the `.keras`'s, read by role
/// and shape; the activation is assumed (warned) or given; a GRU's variant is told by its
/// bias's shape.
#[test]
fn weights_files_hold_the_same_model_as_the_keras_archive() {
    for name in [
        "lstm1",
        "lstm2",
        "gru_after",
        "gru_before",
        "nobias",
        "multi",
    ] {
        let h5 = read_bin(
            &file(&format!("{name}.weights.h5")),
            &ReadOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(h5.source, Source::KerasWeights);
        assert!(
            h5.warnings.iter().any(|w| w.contains("sigmoid assumed")),
            "{name}: {:?}",
            h5.warnings
        );
        let keras = read_bin(&file(&format!("{name}.keras")), &ReadOptions::default()).unwrap();
        let weights =
            |b: &[u8]| -> Vec<f32> { lstm_kernel::io::parse(b).unwrap().values().collect() };
        assert_eq!(weights(&h5.bin), weights(&keras.bin), "{name}");
    }
    // The hard-sigmoid model's weights need the flag to give Keras' outputs.
    let hard = ReadOptions {
        activation: Some(lstm_kernel::RecurrentActivation::HardSigmoidKeras3),
        ..ReadOptions::default()
    };
    let e = max_error("hard.weights.h5", "hard", &hard);
    assert!(e < 2e-6, "{e}");
    let wrong = max_error("hard.weights.h5", "hard", &ReadOptions::default());
    assert!(
        wrong > 1e-3,
        "sigmoid instead of hard_sigmoid differs: {wrong}"
    );
}

#[test]
fn unsupported_keras_models_are_refused_naming_the_layer_and_setting() {
    for (name, want) in [
        ("bidirectional.keras", "Bidirectional"),
        ("bidirectional.weights.h5", "Bidirectional"),
        ("backwards.keras", "go_backwards"),
        ("relu.keras", "activation relu"),
        ("dense_relu.keras", "Dense activation relu"),
    ] {
        let e = format!(
            "{:#}",
            read_bin(&file(name), &ReadOptions::default()).unwrap_err()
        );
        assert!(e.contains(want) && e.contains(name), "{name}: {e}");
    }
}

/// The CLI end to end: `inspect` shows the architecture, dropout left out, and `predict`
/// runs the `.keras` file directly.
#[test]
fn inspect_and_predict_read_a_keras_archive() {
    common::harness_prints(
        &["inspect", file("dropout.keras").to_str().unwrap()],
        &[
            "Keras .keras archive, read as model file version 3",
            "layer 0: lstm 1 -> 10, recurrent activation sigmoid",
            "recurrent_dropout 0.1 does nothing at inference",
        ],
    );
    common::harness_prints(
        &["inspect", file("multi.keras").to_str().unwrap()],
        &["inputs 3, outputs 4 (softmax)"],
    );
}
