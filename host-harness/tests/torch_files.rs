//! Real `torch.save` files (testdata/torch, written by scripts/fixtures/torch_state_dicts.py
//! with torch 2.15.0) read without Python: the post-shaped LSTM, 2-layer LSTM and GRU state
//! dicts load, equal the same state dicts saved as safetensors tensor for tensor, and give
//! PyTorch's own logits; the files that are not a float32 state dict are refused by name.

use std::path::PathBuf;

mod common;

use lstm_harness::engine::forward;
use lstm_harness::files::{ReadOptions, load, load_into};
use lstm_harness::fit::tensors_of;
use lstm_harness::model::{OneGru, OneLayer, PostLayers, PostModel, TwoGrus, TwoLayers};
use lstm_kernel::{Dense, StreamState};

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/torch")
        .join(name)
}

/// The largest difference between the logits of the model in `model_file` (loaded into
/// layers `R`, names mapped by role and shape) and the framework's own logits in
/// `<json>.json`.
fn max_error_of<R: PostLayers>(model_file: &str, json: &str) -> f32 {
    let mut pt: PostModel<R> = PostModel::new(R::default(), Dense::zeroed());
    load_into(&file(model_file), &ReadOptions::default(), &mut pt)
        .unwrap_or_else(|e| panic!("{model_file}: {e:#}"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file(&format!("{json}.json"))).unwrap()).unwrap();
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

/// Loads `<name>.pt` and `<name>.safetensors` into layers `R`, checks they hold the same
/// tensors, and returns [`max_error_of`] the `.pt`.
fn max_error<R: PostLayers>(name: &str) -> f32 {
    let mut pt: PostModel<R> = PostModel::new(R::default(), Dense::zeroed());
    load_into(
        &file(&format!("{name}.pt")),
        &ReadOptions::default(),
        &mut pt,
    )
    .unwrap();
    let mut st: PostModel<R> = PostModel::new(R::default(), Dense::zeroed());
    load_into(
        &file(&format!("{name}.safetensors")),
        &ReadOptions::default(),
        &mut st,
    )
    .unwrap();
    assert_eq!(
        tensors_of(&pt),
        tensors_of(&st),
        "{name}: .pt and .safetensors differ"
    );
    max_error_of::<R>(&format!("{name}.pt"), name)
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

/// Users' own module names (a wrapper prefix, a head called `fc`, `head`, `out` or
/// `dense`, `nn.LSTMCell`/`nn.GRUCell`, `bias=False`, a 2-layer `nn.GRU`) and Keras 3's
/// variable paths load
/// without renaming and give the framework's logits; tolerance 2e-6 as above (Keras'
/// torch backend runs the same float32 maths).
#[test]
fn state_dicts_under_users_own_names_give_the_frameworks_logits() {
    for (name, err) in [
        (
            "wrapped",
            max_error_of::<TwoLayers>("wrapped.pt", "wrapped"),
        ),
        ("nobias", max_error_of::<OneLayer>("nobias.pt", "nobias")),
        ("cells", max_error_of::<TwoLayers>("cells.pt", "cells")),
        ("grucell", max_error_of::<OneGru>("grucell.pt", "grucell")),
        ("gru2", max_error_of::<TwoGrus>("gru2.pt", "gru2")),
        (
            "gru_nobias",
            max_error_of::<OneGru>("gru_nobias.pt", "gru_nobias"),
        ),
        (
            "keras_paths",
            max_error_of::<OneLayer>("keras_paths.safetensors", "keras_paths"),
        ),
    ] {
        println!("{name}: max |logit - framework| = {err:.2e}");
        assert!(err < 2e-6, "{name}: {err}");
    }
}

/// Separate modules stack in the state dict's order (their registration order), not their
/// names' (`encoder` then `decoder`): the `.pt` gives torch's outputs (tolerance as
/// above). The same tensors in safetensors, which records no order, are stacked by name
/// with a warning that says so, and `--map` renaming them into order gives torch's outputs.
#[test]
fn separate_modules_stack_in_the_state_dicts_order() {
    use lstm_harness::files::names::Rename;
    use lstm_harness::files::read_bin;
    let json = file("order.json");
    let pt = common::max_error(&file("order.pt"), &json, &ReadOptions::default());
    println!("order.pt: max |output - torch| = {pt:.2e}");
    assert!(pt < 2e-6, "{pt}");
    let st = read_bin(&file("order.safetensors"), &ReadOptions::default()).unwrap();
    let warned = st.warnings.join("\n");
    assert!(
        warned.contains("does not record the order")
            && warned.contains("decoder. layer 0, encoder. layer 0"),
        "{warned}"
    );
    let guessed = common::max_error(&file("order.safetensors"), &json, &ReadOptions::default());
    assert!(
        guessed > 1e-2,
        "stacked by name, the outputs differ: {guessed}"
    );
    let renamed = ReadOptions {
        renames: vec!["encoder.=a_encoder.".parse::<Rename>().unwrap()],
        ..ReadOptions::default()
    };
    let fixed = common::max_error(&file("order.safetensors"), &json, &renamed);
    assert!(fixed < 2e-6, "{fixed}");
}

/// What the name mapping cannot resolve is refused, naming the tensors.
#[test]
fn a_head_of_two_layers_and_a_bidirectional_lstm_are_refused_by_name() {
    for (name, want) in [
        ("mlp_head.pt", "fc1.weight, fc2.weight"),
        ("bidirectional.pt", "weight_ih_l0_reverse"),
    ] {
        let mut m: PostModel<OneLayer> = PostModel::new(OneLayer::default(), Dense::zeroed());
        let e = format!(
            "{:#}",
            load_into(&file(name), &ReadOptions::default(), &mut m).unwrap_err()
        );
        assert!(e.contains(want) && e.contains(name), "{name}: {e}");
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
    common::harness_prints(
        &["inspect", file("lstm2.pt").to_str().unwrap()],
        &[
            "a PyTorch torch.save state dict, 10 tensors, 1411 values",
            "lstm.weight_ih_l1: F32 [40, 10]",
            "PyTorch torch.save state dict, read as model file version 3",
            "1331 parameters (5324 bytes of weights as f32; 3188 in memory as an int8 QModel",
            "layer 1: lstm 10 -> 10, recurrent activation sigmoid",
            "size menu: runs here (2 x lstm(10), 1 input, 1 output)",
            "warning: the file does not say the recurrent activation of layer(s) 0, 1",
        ],
    );
    let bad = run("whole_module.pt");
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && e.contains("__main__.Net"), "{e}");
}

fn harness(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lstm-harness"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// `--map OLD=NEW` reaches the name mapping: renaming `nn.LSTMCell` modules so they sort
/// top first breaks the chain (refused, pointing at --map), renaming both back into order
/// gives the same model, and a rename of no tensor is refused by name.
#[test]
fn map_renames_tensors_before_the_mapping_and_its_mistakes_are_refused() {
    let cells = file("cells.pt");
    let c = cells.to_str().unwrap();
    let plain = harness(&["eval", c]);
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let broken = harness(&["eval", c, "--map", "cell1.=z."]);
    let e = text(&broken.stderr);
    assert!(
        !broken.status.success() && e.contains("takes 1 inputs") && e.contains("--map"),
        "{e}"
    );
    let fixed = harness(&["eval", c, "--map", "cell1.=z.", "--map", "cell2.=zz."]);
    assert!(fixed.status.success(), "{}", text(&fixed.stderr));
    assert_eq!(text(&fixed.stdout), text(&plain.stdout));
    let none = harness(&["eval", c, "--map", "nothing=linear.weight"]);
    let e = text(&none.stderr);
    assert!(
        !none.status.success() && e.contains("no tensor is named nothing"),
        "{e}"
    );
    let bad = harness(&["eval", c, "--map", "no-equals-sign"]);
    assert!(!bad.status.success() && text(&bad.stderr).contains("OLD=NEW"));
}

/// A file without activation metadata is read as sigmoid with a warning naming the flag;
/// `--assume-activation` overrides it (other logits, no warning), and is refused for a file
/// that states its activation (a binary file, or this tool's safetensors export).
#[test]
fn the_assumed_activation_is_warned_about_and_overridden_by_the_flag() {
    let cells = file("cells.pt");
    let c = cells.to_str().unwrap();
    let plain = harness(&["eval", c]);
    let warned = text(&plain.stderr);
    assert!(
        warned.contains("sigmoid assumed") && warned.contains("--assume-activation"),
        "{warned}"
    );
    let hard = harness(&["eval", c, "--assume-activation", "hard-sigmoid-keras3"]);
    assert!(hard.status.success(), "{}", text(&hard.stderr));
    assert!(!text(&hard.stderr).contains("assumed"));
    let out = text(&hard.stdout);
    assert!(
        out.contains("recurrent activation hard-sigmoid-keras3"),
        "{out}"
    );
    assert_ne!(out, text(&plain.stdout));
    let dir = std::env::temp_dir().join(format!("lstm-assume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["bin", "safetensors"] {
        let to = dir.join(format!("m.{ext}"));
        let t = to.to_str().unwrap();
        let export = harness(&["export", c, "--out", t]);
        assert!(export.status.success(), "{}", text(&export.stderr));
        let refused = harness(&["eval", t, "--assume-activation", "hard-sigmoid-keras3"]);
        let e = text(&refused.stderr);
        assert!(
            !refused.status.success() && e.contains("sigmoid"),
            "{ext}: {e}"
        );
        // The export states the activation, so reading it warns of nothing.
        let again = harness(&["eval", t]);
        assert!(again.status.success() && !text(&again.stderr).contains("assumed"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Errors about a renamed tensor name it as the file does too (a NaN in
/// `rnn.weight_hh_l0` is not reported as `lstm.weight_hh_l0` alone), and a file without a
/// head says that no dense head was found.
#[test]
fn errors_name_tensors_as_the_file_does() {
    use safetensors::SafeTensors;
    use safetensors::tensor::TensorView;
    let bytes = std::fs::read(file("lstm1.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let write = |name: &str, keep_head: bool| {
        let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (n, t) in st.tensors() {
            if !keep_head && n.starts_with("linear.") {
                continue;
            }
            let mut d = t.data().to_vec();
            if n == "lstm.weight_hh_l0" {
                d[..4].copy_from_slice(&f32::NAN.to_le_bytes());
            }
            data.push((n.replacen("lstm.", "rnn.", 1), t.shape().to_vec(), d));
        }
        let views: Vec<(String, TensorView<'_>)> = data
            .iter()
            .map(|(n, s, d)| {
                (
                    n.clone(),
                    TensorView::new(safetensors::Dtype::F32, s.clone(), d).unwrap(),
                )
            })
            .collect();
        let path = std::env::temp_dir().join(format!("lstm-names-{}-{name}", std::process::id()));
        std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
        let e = format!(
            "{:#}",
            load_into(
                &path,
                &ReadOptions::default(),
                &mut PostModel::<OneLayer>::new(OneLayer::default(), Dense::zeroed())
            )
            .unwrap_err()
        );
        std::fs::remove_file(&path).unwrap();
        e
    };
    let nan = write("nan.safetensors", true);
    assert!(
        nan.contains("not finite") && nan.contains("is the file's rnn.weight_hh_l0"),
        "{nan}"
    );
    let headless = write("headless.safetensors", false);
    assert!(headless.contains("no dense head was found"), "{headless}");
}
