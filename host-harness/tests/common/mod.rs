//! Shared by the framework-file tests (keras_files.rs, onnx_files.rs): a model file's
//! outputs against the framework's own, recorded beside it in `<name>.json`.

use std::path::Path;

use lstm_harness::cli::predict::load_net;
use lstm_harness::files::ReadOptions;

/// The largest difference between the outputs (after the head activation) of the model in
/// `model` and the framework's in `json` (`{"inputs": [seq][step][feature], "outputs":
/// [seq][values]}`): the values of each sequence are compared with the last values the
/// model gives for it (its last step, or every step when the file holds every step's).
pub fn max_error(model: &Path, json: &Path, options: &ReadOptions) -> f32 {
    let (model, json, options) = (model.to_path_buf(), json.to_path_buf(), options.clone());
    // The size menu's models are large stack values (the CLI runs them on such a thread too).
    lstm_harness::menu::with_big_stack(move || Ok(max_error_here(&model, &json, &options))).unwrap()
}

fn max_error_here(model: &Path, json: &Path, options: &ReadOptions) -> f32 {
    let net = load_net(model, options).unwrap_or_else(|e| panic!("{}: {e:#}", model.display()));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let numbers = |v: &serde_json::Value| -> Vec<f32> {
        fn flat(v: &serde_json::Value, out: &mut Vec<f32>) {
            match v {
                serde_json::Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
                x => out.push(x.as_f64().unwrap() as f32),
            }
        }
        let mut out = Vec::new();
        flat(v, &mut out);
        out
    };
    let mut worst = 0.0f32;
    for (xs, want) in json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .zip(json["outputs"].as_array().unwrap())
    {
        let (x, want) = (numbers(xs), numbers(want));
        let y = net.predict(&x, false).unwrap();
        assert!(
            y.len() >= want.len(),
            "{} outputs, {} expected",
            y.len(),
            want.len()
        );
        let last = &y[y.len() - want.len()..];
        for (a, b) in last.iter().zip(&want) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

/// Runs `lstm-harness ARGS` and returns its standard output, asserting that it succeeded
/// and printed every line of `want` (in any order).
pub fn harness_prints(args: &[&str], want: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lstm-harness"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for w in want {
        assert!(text.contains(w), "{args:?}: {w} missing: {text}");
    }
    text
}
