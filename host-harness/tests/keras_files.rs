//! Real Keras 3 files (testdata/keras, written by scripts/fixtures/keras_models.py with Keras
//! 3.15.1, torch backend) read without Python: every accepted `.keras` gives Keras' own
//! outputs, its `.weights.h5` (no architecture) the same weights, and each refused model
//! is refused naming its layer and setting. Real Keras 2 files (testdata/keras2, written by
//! scripts/fixtures/keras2_models.py with TensorFlow 2.15.1 / Keras 2.15.0) give Keras 2's
//! outputs, its `hard_sigmoid` formula included.

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

/// Asserts that the weights-only file `weights_file` reads (by role and shape, the
/// recurrent activation assumed and the head's activation unknown, each with a warning) as
/// the same weights as `<name>.keras`.
fn weights_file_holds_the_archives_weights(weights_file: &str, name: &str) {
    let h5 = read_bin(&file(weights_file), &ReadOptions::default())
        .unwrap_or_else(|e| panic!("{weights_file}: {e:#}"));
    assert_eq!(h5.source, Source::KerasWeights, "{weights_file}");
    for want in [
        "sigmoid assumed",
        "does not record the Dense layer's activation",
    ] {
        assert!(
            h5.warnings.iter().any(|w| w.contains(want)),
            "{weights_file}: {want}: {:?}",
            h5.warnings
        );
    }
    let keras = read_bin(&file(&format!("{name}.keras")), &ReadOptions::default()).unwrap();
    let weights = |b: &[u8]| -> Vec<f32> { lstm_kernel::io::parse(b).unwrap().values().collect() };
    assert_eq!(weights(&h5.bin), weights(&keras.bin), "{weights_file}");
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
        weights_file_holds_the_archives_weights(&format!("{name}.weights.h5"), name);
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

/// `--config` gives a `.weights.h5` its architecture: with the `.keras` archive's own
/// `config.json` it reads as the archive does (activation included: no assumption).
#[test]
fn a_weights_file_with_its_config_reads_as_the_keras_archive() {
    let dir = std::env::temp_dir().join(format!("keras-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["hard", "lstm2", "gru_before", "multi"] {
        let archive = std::fs::read(file(&format!("{name}.keras"))).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
        let mut config = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name("config.json").unwrap(), &mut config).unwrap();
        let config_path = dir.join(format!("{name}.config.json"));
        std::fs::write(&config_path, config).unwrap();
        let options = ReadOptions {
            config: Some(config_path),
            ..ReadOptions::default()
        };
        let h5 = read_bin(&file(&format!("{name}.weights.h5")), &options)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let keras = read_bin(&file(&format!("{name}.keras")), &ReadOptions::default()).unwrap();
        assert_eq!(h5.bin, keras.bin, "{name}");
        assert!(h5.warnings.is_empty(), "{name}: {:?}", h5.warnings);
        assert_eq!(h5.source, Source::KerasH5, "{name}");
    }
    // Not for other formats, nor for a whole model.
    let options = ReadOptions {
        config: Some(dir.join("hard.config.json")),
        ..ReadOptions::default()
    };
    for (other, want) in [
        ("hard.keras", "this file is not an HDF5 file"),
        ("hard.h5", "it needs no --config"),
    ] {
        let e = format!("{:#}", read_bin(&file(other), &options).unwrap_err());
        assert!(e.contains(want), "{other}: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The legacy HDF5 layout (`model.save("m.h5")`, Keras 2's format, written here by Keras 3
/// for an `.h5` name): the architecture from its `model_config`, Keras' outputs (the same
/// tolerance as the `.keras` files: the same models).
#[test]
fn legacy_hdf5_models_give_keras_outputs() {
    for name in [
        "lstm1",
        "lstm2",
        "gru_before",
        "hard",
        "multi",
        "dropout",
        "functional",
    ] {
        let h5 = format!("{name}.h5");
        let read =
            read_bin(&file(&h5), &ReadOptions::default()).unwrap_or_else(|e| panic!("{h5}: {e:#}"));
        assert_eq!(read.source, Source::KerasH5, "{h5}");
        assert!(
            !read.warnings.iter().any(|w| w.contains("sigmoid assumed")),
            "{h5}: {:?}",
            read.warnings
        );
        let e = max_error(&h5, name, &ReadOptions::default());
        println!("{h5}: max |output - Keras| = {e:.3e}");
        assert!(e < 2e-6, "{h5}: {e}");
    }
}

/// Keras 2's weights-only HDF5 (`layer_names` at the root): the `.keras`'s weights, by
/// role and shape; the activation is assumed (warned).
#[test]
fn legacy_weights_files_hold_the_keras_archives_weights() {
    for name in ["lstm2", "gru_after"] {
        weights_file_holds_the_archives_weights(&format!("{name}.legacy-weights.h5"), name);
    }
}

/// `hard_sigmoid` in a legacy file follows the `keras_version` that wrote it: Keras 3's
/// `relu6(x + 3) / 6` in `hard.h5`, Keras 2's `clip(0.2 x + 0.5, 0, 1)` in the same file
/// marked 2.15.0.
#[test]
fn a_legacy_files_hard_sigmoid_follows_its_keras_version() {
    let activation = |n: &str| {
        let read = read_bin(&file(n), &ReadOptions::default()).unwrap();
        lstm_kernel::io::parse(&read.bin).unwrap().header().layers()[0]
            .settings
            .activation
    };
    use lstm_kernel::RecurrentActivation::{HardSigmoidKeras2, HardSigmoidKeras3};
    assert_eq!(activation("hard.h5"), HardSigmoidKeras3);
    assert_eq!(activation("hard.keras2.h5"), HardSigmoidKeras2);
}

#[test]
fn unsupported_keras_models_are_refused_naming_the_layer_and_setting() {
    for (name, want) in [
        ("bidirectional.keras", "Bidirectional"),
        ("bidirectional.weights.h5", "Bidirectional"),
        ("bidirectional.h5", "Bidirectional"),
        ("backwards.keras", "go_backwards"),
        ("relu.keras", "activation relu"),
        ("dense_relu.keras", "Dense activation relu"),
        ("masking.keras", "config.json: layer masking is a Masking"),
        ("masking.h5", "model_config: layer masking is a Masking"),
        (
            "masking.weights.h5",
            "layers/masking: a masking layer, whose part in the model a weights file alone \
             does not tell",
        ),
    ] {
        let e = format!(
            "{:#}",
            read_bin(&file(name), &ReadOptions::default()).unwrap_err()
        );
        assert!(e.contains(want) && e.contains(name), "{name}: {e}");
    }
}

fn keras2(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/keras2")
        .join(name)
}

/// Files written by Keras 2 itself: `model.save("m.h5")` and Keras 2's `.keras` give its
/// outputs (tolerance 2e-6 as for Keras 3's files: TensorFlow's float32 kernels sum in
/// their own order), `hard_sigmoid` read as Keras 2's `clip(0.2 x + 0.5, 0, 1)` from the
/// file's `keras_version`; `save_weights("w.h5")` holds the same weights.
#[test]
fn keras_2_files_give_keras_2_outputs() {
    use lstm_kernel::RecurrentActivation::HardSigmoidKeras2;
    for name in [
        "lstm1",
        "lstm2",
        "gru",
        "gru_before",
        "hard",
        "multi",
        "functional",
    ] {
        let json = keras2(&format!("{name}.json"));
        let mut weights = Vec::new();
        for (ext, source) in [("h5", Source::KerasH5), ("keras", Source::Keras)] {
            let path = keras2(&format!("{name}.{ext}"));
            let read = read_bin(&path, &ReadOptions::default())
                .unwrap_or_else(|e| panic!("{name}.{ext}: {e:#}"));
            assert_eq!(read.source, source, "{name}.{ext}");
            let parsed = lstm_kernel::io::parse(&read.bin).unwrap();
            if name == "hard" {
                assert_eq!(
                    parsed.header().layers()[0].settings.activation,
                    HardSigmoidKeras2
                );
            }
            weights.push(parsed.values().collect::<Vec<f32>>());
            let e = common::max_error(&path, &json, &ReadOptions::default());
            println!("keras2/{name}.{ext}: max |output - Keras 2| = {e:.3e}");
            assert!(e < 2e-6, "keras2/{name}.{ext}: {e}");
        }
        let legacy = read_bin(
            &keras2(&format!("{name}.legacy-weights.h5")),
            &ReadOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{name}.legacy-weights.h5: {e:#}"));
        weights.push(
            lstm_kernel::io::parse(&legacy.bin)
                .unwrap()
                .values()
                .collect(),
        );
        assert!(
            weights.iter().all(|w| *w == weights[0]),
            "keras2/{name}: the three files hold different weights"
        );
    }
}

/// The CLI end to end: `inspect` shows the architecture and the dropout left out.
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

/// A damaged `.keras` (cut short) is refused as a `.keras` archive, not as "a PyTorch
/// file" (both are zips); a binary model file takes no `--map` (it has no tensor names).
#[test]
fn a_damaged_keras_archive_is_refused_as_one_and_a_bin_takes_no_map() {
    let dir = std::env::temp_dir().join(format!("lstm-keras-cut-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("cut.keras");
    let bytes = std::fs::read(file("lstm1.keras")).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = format!("{:#}", read_bin(&cut, &ReadOptions::default()).unwrap_err());
    assert!(e.contains("(a .keras archive)"), "{e}");
    let bin = dir.join("m.bin");
    std::fs::write(
        &bin,
        read_bin(&file("lstm1.keras"), &ReadOptions::default())
            .unwrap()
            .bin,
    )
    .unwrap();
    let options = ReadOptions {
        renames: vec!["a=b".parse().unwrap()],
        ..ReadOptions::default()
    };
    let e = format!("{:#}", read_bin(&bin, &options).unwrap_err());
    assert!(e.contains("no tensor names to rename"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
