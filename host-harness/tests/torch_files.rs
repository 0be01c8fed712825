//! Real `torch.save` files (testdata/torch, written by scripts/fixtures/torch_state_dicts.py
//! with torch 2.15.0) read without Python: the post-shaped LSTM, 2-layer LSTM and GRU state
//! dicts load, equal the same state dicts saved as safetensors tensor for tensor, and give
//! PyTorch's own logits; the files that are not a float32 state dict are refused by name.

use std::path::PathBuf;

use lstm_harness::engine::forward;
use lstm_harness::files::{load, load_into};
use lstm_harness::fit::tensors_of;
use lstm_harness::model::{OneGru, OneLayer, PostLayers, PostModel, TwoLayers};
use lstm_kernel::{Dense, StreamState};

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/torch")
        .join(name)
}

/// Loads `<name>.pt` and `<name>.safetensors` into layers `R`, checks they hold the same
/// tensors, and returns the largest difference from PyTorch's logits in `<name>.json`.
fn max_error<R: PostLayers>(name: &str) -> f32 {
    let mut pt: PostModel<R> = PostModel::new(R::default(), Dense::zeroed());
    load_into(&file(&format!("{name}.pt")), &mut pt).unwrap();
    let mut st: PostModel<R> = PostModel::new(R::default(), Dense::zeroed());
    load_into(&file(&format!("{name}.safetensors")), &mut st).unwrap();
    assert_eq!(
        tensors_of(&pt),
        tensors_of(&st),
        "{name}: .pt and .safetensors differ"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file(&format!("{name}.json"))).unwrap()).unwrap();
    let inputs = json["inputs"].as_array().unwrap();
    let logits = json["logits"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    let mut worst = 0.0f32;
    for (xs, want) in inputs.iter().zip(logits) {
        let xs: Vec<[f32; 1]> = xs
            .as_array()
            .unwrap()
            .iter()
            .map(|v| [v.as_f64().unwrap() as f32])
            .collect();
        assert_eq!(xs.len(), 20);
        let mut state = StreamState::zeroed();
        let got = forward(&pt, &xs, &mut state)[0];
        worst = worst.max((got - want.as_f64().unwrap() as f32).abs());
    }
    worst
}

/// Tolerance 2e-6: float32 forward passes over 20 steps whose sums PyTorch orders its own
/// way (MKL); the logits are about 0.1, so this is a few ulp of the pre-activations. A
/// wrong gate order, bias or layer would be off by orders of magnitude more.
#[test]
fn torch_state_dicts_give_torchs_logits() {
    for (name, err) in [
        ("lstm1", max_error::<OneLayer>("lstm1")),
        ("lstm2", max_error::<TwoLayers>("lstm2")),
        ("gru1", max_error::<OneGru>("gru1")),
    ] {
        println!("{name}: max |logit - torch| = {err:.2e}");
        assert!(err < 2e-6, "{name}: {err}");
    }
}

#[test]
fn what_is_not_a_float32_state_dict_is_refused_by_name() {
    for (name, want) in [
        ("whole_module.pt", "torch.save(model.state_dict(), path)"),
        ("double.pt", "torch.DoubleStorage"),
        ("checkpoint.pt", "state dict entry epoch is an int"),
        ("legacy.pt", "legacy format"),
    ] {
        let e = format!("{:#}", load(&file(name)).unwrap_err());
        assert!(e.contains(want) && e.contains(name), "{name}: {e}");
    }
}

/// `inspect` shows a PyTorch file's tensors and the layers their names make, and the
/// refusal of a whole pickled module.
#[test]
fn inspect_shows_a_torch_files_tensors() {
    let run = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lstm-harness"))
            .args(["inspect", file(name).to_str().unwrap()])
            .output()
            .unwrap()
    };
    let ok = run("lstm2.pt");
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text}");
    for want in [
        "a PyTorch torch.save state dict, 10 tensors, 1411 parameters",
        "lstm.weight_ih_l1: F32 [40, 10]",
        "layers by their names: 2 (lstm, lstm)",
    ] {
        assert!(text.contains(want), "{want} missing: {text}");
    }
    let bad = run("whole_module.pt");
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && e.contains("__main__.Net"), "{e}");
}
