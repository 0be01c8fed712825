//! The `lstm-harness` binary as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_lstm-harness"))
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run lstm-harness: {e}"),
    }
}

/// Runs the harness and asserts that it succeeded (its stderr is the failure message).
fn succeed(args: &[&str]) -> Output {
    let out = harness(args);
    assert!(
        out.status.success(),
        "lstm-harness {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn scratch_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lstm-harness-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

#[test]
fn an_unknown_experiment_name_fails_with_a_message_listing_the_valid_names() {
    let out = harness(&["experiments", "stateful-per-stepp"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stateful-per-stepp"), "{stderr}");
    for name in [
        "stateless-windows",
        "stateful-windows",
        "stateful-per-step",
        "stateless-per-step",
        "stateless-full-sequence",
    ] {
        assert!(stderr.contains(name), "{name} not listed in: {stderr}");
    }
    assert!(out.stdout.is_empty(), "nothing should have run");
}

#[test]
fn zero_epochs_are_rejected() {
    let out = harness(&["experiments", "--epochs", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--epochs"));
}

#[test]
fn a_json_path_in_a_missing_directory_is_rejected_before_training() {
    let d = scratch_dir("missing");
    let path = d.join("no-such-dir/report.json");
    let out = harness(&["experiments", "--json", path.to_str().unwrap_or_default()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Epoch"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_run_prints_keras_lines_and_a_summary_and_writes_the_documented_json() {
    let d = scratch_dir("json");
    let path = d.join("report.json");
    let out = harness(&[
        "experiments",
        "stateful-per-step",
        "stateless-full-sequence",
        "--epochs",
        "1",
        "--seed",
        "7",
        "--recurrent-activation",
        "hard-sigmoid-keras2",
        "--json",
        path.to_str().unwrap_or_default(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Epoch 1/1 - "), "{stdout}");
    assert!(stdout.contains(" - val_acc: "), "{stdout}");
    assert!(stdout.contains("us/update"), "{stdout}");
    // Progress bars are hidden when stderr is not a terminal.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(&path).expect("the JSON file was written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let runs = v.as_array().expect("an array");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["name"], "stateful-per-step");
    assert_eq!(runs[1]["name"], "stateless-full-sequence");
    for r in runs {
        assert_eq!(r["seed"], 7);
        assert_eq!(r["recurrent_activation"], "hard-sigmoid-keras2");
        assert!(r["matches"].is_boolean(), "matches missing in {r}");
        for key in [
            "wall_seconds",
            "train_steps",
            "us_per_train_step",
            "train_steps_per_second",
        ] {
            assert!(r[key].is_number(), "{key} missing in {r}");
        }
        let epochs = r["epochs"].as_array().expect("epochs array");
        assert_eq!(epochs.len(), 1);
        for key in ["train_loss", "train_acc", "val_loss", "val_acc", "seconds"] {
            assert!(epochs[0][key].is_number(), "{key} missing in {}", epochs[0]);
        }
    }
    assert_eq!(runs[0]["train_steps"], 20_000);
    // Only the report remains in the directory (the temp file was renamed).
    assert_eq!(std::fs::read_dir(&d).map(|r| r.count()).unwrap_or(0), 1);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_absurd_epoch_count_is_a_clap_error_naming_the_range_not_an_allocation_abort() {
    for cmd in [
        &["experiments", "--epochs", "4294967295", "stateful-per-step"][..],
        &[
            "train",
            "--epochs",
            "4294967295",
            "--bin",
            "never-written.bin",
        ][..],
        &["experiments", "--epochs", "10001", "stateful-per-step"][..],
    ] {
        let out = harness(cmd);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: a clap usage error");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--epochs") && stderr.contains("1..=10000"),
            "{cmd:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{cmd:?}: nothing should have run");
    }
}

/// Runs `lstm-harness args` with stdout piped, reads its first line, closes the pipe (like
/// `| head -1`) and returns the exit status and stderr.
fn harness_head_1(args: &[&str]) -> (std::process::ExitStatus, String) {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let mut child = match Command::new(env!("CARGO_BIN_EXE_lstm-harness"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot run lstm-harness: {e}"),
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    // The reader is dropped here: the pipe is closed long before the first epoch ends.
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    (child.wait().expect("exit status"), stderr)
}

#[test]
fn a_stdout_closed_early_like_head_ends_the_run_quietly_with_status_0_not_a_panic() {
    // 1000 epochs: whenever the pipe closes, a later epoch line meets it; the fixed binary
    // stops at the first such line, so this takes one or two epochs.
    let (status, stderr) =
        harness_head_1(&["experiments", "stateful-per-step", "--epochs", "1000"]);
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn with_json_a_stdout_closed_early_does_not_stop_the_run_before_the_file_is_written() {
    let d = scratch_dir("head-json");
    let path = d.join("report.json");
    let (status, stderr) = harness_head_1(&[
        "experiments",
        "stateful-per-step",
        "--epochs",
        "1",
        "--json",
        path.to_str().unwrap_or_default(),
    ]);
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(path.is_file(), "the JSON report was written");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_json_path_that_is_a_directory_or_an_existing_file_is_refused_before_training() {
    let d = scratch_dir("json-refused");
    let dir = d.to_str().unwrap_or_default();
    let out = harness(&["experiments", "stateful-per-step", "--json", dir]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a directory"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing should have run");

    let path = d.join("report.json");
    std::fs::write(&path, "keep me").expect("old report");
    let json = path.to_str().unwrap_or_default();
    let one = ["experiments", "stateful-per-step", "--epochs", "1"];
    let out = harness(&[&one[..], &["--json", json]].concat());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--force"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing should have run");
    assert_eq!(
        std::fs::read_to_string(&path).ok().as_deref(),
        Some("keep me")
    );

    succeed(&[&one[..], &["--json", json, "--force"]].concat());
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(text.contains("stateful-per-step"), "{text}");
    let _ = std::fs::remove_dir_all(&d);
}

/// A PyTorch `nn.LSTM(1, 10, num_layers=2)` + `nn.Linear(10, 1)` state dict (module
/// attributes `lstm` and `linear`, both biases of each layer non-zero, PyTorch's default
/// `U(-1/sqrt(10), 1/sqrt(10))` initialisation) as `safetensors.torch.save_file` writes it.
fn torch_two_layer_state_dict(path: &std::path::Path) {
    torch_state_dict(path, "lstm", 4, 2, 3);
}

/// A PyTorch `nn.LSTM(1, 10, num_layers)` (`module` `lstm`, `gates` 4) or `nn.GRU`
/// (`gru`, 3) + `nn.Linear(10, 1)` state dict with PyTorch's default initialisation, from
/// `seed`.
fn torch_state_dict(path: &std::path::Path, module: &str, gates: usize, layers: usize, seed: u64) {
    use rand::{RngExt, SeedableRng};
    use safetensors::tensor::{Dtype, TensorView};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let k = 1.0 / 10f32.sqrt();
    let g = gates * 10;
    let mut shapes: Vec<(String, Vec<usize>)> = Vec::new();
    for l in 0..layers {
        let input = if l == 0 { 1 } else { 10 };
        shapes.push((format!("{module}.weight_ih_l{l}"), vec![g, input]));
        shapes.push((format!("{module}.weight_hh_l{l}"), vec![g, 10]));
        shapes.push((format!("{module}.bias_ih_l{l}"), vec![g]));
        shapes.push((format!("{module}.bias_hh_l{l}"), vec![g]));
    }
    shapes.push(("linear.weight".into(), vec![1, 10]));
    shapes.push(("linear.bias".into(), vec![1]));
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let bytes = (0..n)
                .flat_map(|_| (rng.random::<f32>() * 2.0 * k - k).to_le_bytes())
                .collect();
            (name, shape, bytes)
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = data
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

/// The newcomer's path for a 2-layer model from PyTorch: step it on the host (`eval`),
/// fine-tune it with gradients through both layers (`train --init`), check
/// the fine-tuned file, and export it for the firmware (`export --format rust`), all with
/// `--layers 2`; `--layers 1` is refused naming both layer counts.
#[test]
fn a_pytorch_two_layer_state_dict_is_evaluated_fine_tuned_and_exported() {
    let d = scratch_dir("torch2");
    let torch = d.join("torch.safetensors");
    torch_two_layer_state_dict(&torch);
    let t = torch.to_str().unwrap();
    let eval = succeed(&["eval", "--layers", "2", t]);
    let before = String::from_utf8_lossy(&eval.stdout).to_string();
    assert!(before.contains("(safetensors, PyTorch names)"), "{before}");

    // Without --layers the file's own count is used (the safetensors names say 2 layers).
    let detected = harness(&["eval", t]);
    assert!(
        detected.status.success() && detected.stdout == eval.stdout,
        "{}",
        String::from_utf8_lossy(&detected.stderr)
    );
    let refused = harness(&["eval", "--layers", "1", t]);
    assert!(!refused.status.success());
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(
        e.contains("2 recurrent layer") && e.contains("--layers 2"),
        "{e}"
    );

    let tuned = d.join("tuned.bin");
    // The README's fine-tuning command: the default regime (stateful-per-step, 2 epochs),
    // gradients through both layers. It reached streamed per-step accuracy 1.0 from each of
    // 12 PyTorch-initialised files (numpy seeds 0-11, measured with the CLI); this file is
    // one more.
    let out = succeed(&[
        "train",
        "--layers",
        "2",
        "--init",
        t,
        "--bin",
        tuned.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("trained stateful-per-step (2 x lstm(10), from")
            && stdout.contains("2 epochs, 40000 updates")
            && stdout.contains("streamed per-step validation accuracy 1.0000 (4000/4000 steps"),
        "{stdout}"
    );
    let eval = harness(&["eval", "--layers", "2", tuned.to_str().unwrap()]);
    let after = String::from_utf8_lossy(&eval.stdout);
    // The binary file's layer table says 2 layers too.
    let detected = harness(&["eval", tuned.to_str().unwrap()]);
    assert_eq!(detected.stdout, eval.stdout);
    assert!(
        after.contains("val_acc 1.0000"),
        "before: {before}\nafter: {after}"
    );
    // Whole-sequence BPTT through both layers runs too; one epoch here, as only the path is
    // checked (its default is the experiment's 15 epochs).
    let full = d.join("full.bin");
    let out = harness(&[
        "train",
        "--layers",
        "2",
        "--init",
        t,
        "--experiment",
        "stateless-full-sequence",
        "--epochs",
        "1",
        "--bin",
        full.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 epoch, 16 updates"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rs = d.join("model.rs");
    succeed(&[
        "export",
        "--layers",
        "2",
        tuned.to_str().unwrap(),
        "--format",
        "rust",
        "--out",
        rs.to_str().unwrap(),
    ]);
    let src = std::fs::read_to_string(&rs).unwrap();
    assert!(src.contains("pub const LAYERS: usize = 2;"));
    // --recurrent-activation with --init is refused: the file's activations are kept.
    let out = harness(&[
        "train",
        "--init",
        t,
        "--recurrent-activation",
        "hard-sigmoid-keras2",
        "--bin",
        d.join("x.bin").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--init"));
    std::fs::remove_dir_all(&d).unwrap();
}

/// The GRU's newcomer path from PyTorch: an `nn.GRU(1, 10)` + `nn.Linear` state dict is
/// recognised by its names (`eval` without `--cell`), refused as an LSTM by name, fine-tuned
/// (`train --init`, the default stateful-per-step regime) to streamed accuracy 1.0, and
/// exported as Rust source (a `Gru` layer) and in the Keras layout; a Keras
/// `reset_after=False` file is recognised by its bias shape and its variant kept.
#[test]
fn a_pytorch_gru_state_dict_is_evaluated_fine_tuned_and_exported() {
    let d = scratch_dir("torchgru");
    let torch = d.join("gru.safetensors");
    torch_state_dict(&torch, "gru", 3, 1, 5);
    let t = torch.to_str().unwrap();
    let eval = succeed(&["eval", t]);
    let same = harness(&["eval", "--cell", "gru", t]);
    assert_eq!(same.stdout, eval.stdout);
    let refused = harness(&["eval", "--cell", "lstm", t]);
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && e.contains("--cell gru"), "{e}");
    let refused = harness(&["eval", "--cell", "gru-reset-before", t]);
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && e.contains("gru-reset-before")
            && e.contains("the model's layers are gru"),
        "{e}"
    );

    let tuned = d.join("tuned.bin");
    let out = succeed(&["train", "--init", t, "--bin", tuned.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("trained stateful-per-step (1 x gru(10), from")
            && stdout.contains("streamed per-step validation accuracy 1.0000 (4000/4000 steps"),
        "{stdout}"
    );
    let rs = d.join("model.rs");
    succeed(&[
        "export",
        tuned.to_str().unwrap(),
        "--format",
        "rust",
        "--out",
        rs.to_str().unwrap(),
    ]);
    let src = std::fs::read_to_string(&rs).unwrap_or_default();
    assert!(
        src.contains("pub type Rnn = ::lstm_kernel::Gru<1, 10>;")
            && src.contains("GruVariant::ResetAfter")
            && src.contains("l.weights.b_hn = ["),
        "{src}"
    );

    // Keras reset_after=False: trained here, written in the Keras layout, read back.
    let before = d.join("before.bin");
    succeed(&[
        "train",
        "--cell",
        "gru-reset-before",
        "--epochs",
        "1",
        "--bin",
        before.to_str().unwrap(),
    ]);
    let keras = d.join("keras.safetensors");
    succeed(&[
        "export",
        before.to_str().unwrap(),
        "--format",
        "safetensors-keras",
        "--out",
        keras.to_str().unwrap(),
    ]);
    let a = harness(&["eval", before.to_str().unwrap()]);
    let b = harness(&[
        "eval",
        "--cell",
        "gru-reset-before",
        keras.to_str().unwrap(),
    ]);
    let (a, b) = (
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout),
    );
    assert_eq!(a.lines().last(), b.lines().last(), "{a}\n{b}");
    let torch_out = d.join("torch-out.safetensors");
    let out = harness(&[
        "export",
        before.to_str().unwrap(),
        "--format",
        "safetensors",
        "--out",
        torch_out.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("reset-before") && !torch_out.exists(),
        "{e}"
    );
    let out = harness(&[
        "train",
        "--cell",
        "gru-reset-before",
        "--safetensors",
        torch_out.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("no reset-before") && out.stdout.is_empty(),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// `fit` as a new user runs it on their own `.npy` trio (BasicMotions' training split,
/// testdata): a small model trains, is tested, and is saved at its true sizes with its
/// normalisation and head activation; the JSON carries the documented fields; the saved
/// model is refused by the weights-only decoder (it has a scaling block) and read whole by
/// the scaled one. Short on purpose (H = 8, 8 epochs); the accuracy bar is the chance level
/// plus a margin (0.25 for 4 classes; measured 0.65-0.8 with these settings).
#[test]
fn fit_trains_tests_and_saves_a_model_of_the_users_sizes_with_its_normalisation() {
    let dir = scratch_dir("fit");
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/basic_motions/X_train.npy");
    let data = data.to_str().unwrap();
    let out = dir.join("m.bin");
    let json = dir.join("log.json");
    let run = succeed(&[
        "fit",
        "--train",
        data,
        "--test",
        data,
        "--task",
        "classify",
        "--hidden",
        "8",
        "--epochs",
        "8",
        "--batch",
        "8",
        "--lr",
        "0.01",
        "--out",
        out.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--plot",
        dir.join("curves.png").to_str().unwrap(),
    ]);
    let png = std::fs::read(dir.join("curves.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("1 x lstm(8), 6 inputs, 4 outputs"), "{text}");
    assert!(
        text.contains("Epoch 1/8") && text.contains("confusion matrix"),
        "{text}"
    );
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(log["task"], "classify");
    assert_eq!(log["sizes"]["features"], 6);
    assert_eq!(log["sizes"]["outputs"], 4);
    let epochs = log["epochs"].as_array().unwrap();
    assert!(!epochs.is_empty() && epochs.len() <= 8);
    for e in epochs {
        for k in ["train_loss", "val_loss", "val_acc"] {
            assert!(e[k].is_number(), "{k} missing in {e}");
        }
    }
    let acc = log["test_acc"].as_f64().unwrap();
    assert!(acc > 0.4, "test accuracy {acc}");
    assert!(log["best_epoch"].as_u64().unwrap() >= 1 && log["seconds"].is_number());
    let bytes = std::fs::read(&out).unwrap();
    let file = lstm_kernel::io::parse(&bytes).unwrap();
    let h = file.header();
    assert_eq!((h.input, h.output, h.hidden()), (6, 4, 8));
    assert!(h.scaled);
    assert_eq!(h.head, lstm_kernel::HeadActivation::Softmax);
    let mut m =
        lstm_kernel::LstmModel::<6, 8, 4>::zeroed(lstm_kernel::RecurrentActivation::Sigmoid);
    assert_eq!(
        lstm_kernel::io::decode_into(&bytes, &mut m),
        Err(lstm_kernel::FormatError::ScalingNotRead)
    );
    let mut sc = lstm_kernel::Scaling::IDENTITY;
    lstm_kernel::io::decode_scaled_into(&bytes, &mut m, &mut sc).unwrap();
    assert!(
        sc.input_scale.iter().all(|&s| s > 0.0 && s != 1.0),
        "{sc:?}"
    );
    // inspect, eval --data, predict and export serve the model at its sizes.
    let shown =
        String::from_utf8_lossy(&succeed(&["inspect", out.to_str().unwrap()]).stdout).to_string();
    assert!(
        shown.contains("inputs 6, outputs 4 (softmax)") && shown.contains("layer 0: lstm 6 -> 8"),
        "{shown}"
    );
    let scored =
        String::from_utf8_lossy(&succeed(&["eval", out.to_str().unwrap(), "--data", data]).stdout)
            .to_string();
    assert!(
        scored.contains(&format!("acc: {acc:.4}")),
        "eval --data differs from fit's test: {scored}"
    );
    let csv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/basic_motions/train-first2.csv");
    let pred = succeed(&[
        "predict",
        out.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
    ]);
    let pred = String::from_utf8_lossy(&pred.stdout).to_string();
    let mut lines = pred.lines();
    assert_eq!(lines.next(), Some("sequence,step,y0,y1,y2,y3"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').skip(2).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 200, "2 sequences x 100 steps");
    for r in &rows {
        let sum: f64 = r.iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-5 && r.iter().all(|&p| p >= 0.0),
            "{r:?}"
        );
    }
    let rs = dir.join("m.rs");
    succeed(&[
        "export",
        out.to_str().unwrap(),
        "--out",
        rs.to_str().unwrap(),
    ]);
    let src = std::fs::read_to_string(&rs).unwrap();
    for want in [
        "pub const IN: usize = 6;",
        "pub const OUT: usize = 4;",
        "pub static SCALING",
        "pub fn predict_step",
    ] {
        assert!(src.contains(want), "{want} missing from the Rust source");
    }
    let back = dir.join("back.bin");
    succeed(&[
        "export",
        out.to_str().unwrap(),
        "--out",
        back.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(&back).unwrap(),
        bytes,
        "bin -> bin is byte-identical"
    );
    // safetensors: the weights, and the pipeline around them in the metadata (the values
    // the .bin's scaling block holds), which the weights-only readers refuse by name.
    let st = dir.join("m.safetensors");
    succeed(&[
        "export",
        out.to_str().unwrap(),
        "--out",
        st.to_str().unwrap(),
    ]);
    let st_bytes = std::fs::read(&st).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&st_bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    let mean: Vec<f32> = serde_json::from_str(&meta["input_mean"]).unwrap();
    let scale: Vec<f32> = serde_json::from_str(&meta["input_scale"]).unwrap();
    assert_eq!(
        (&mean[..], &scale[..]),
        (&sc.input_mean[..], &sc.input_scale[..])
    );
    assert_eq!(meta["head_activation"], "softmax");
    // The post's route (eval without --data) refuses the pipeline, naming what serves it.
    let refused = harness(&["eval", st.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && e.contains("softmax head") && e.contains("--data"),
        "{e}"
    );
    // Every other command reads the safetensors export as the model itself: converted
    // back it is the .bin byte for byte, and predict gives the .bin's outputs.
    let st_back = dir.join("st_back.bin");
    succeed(&[
        "export",
        st.to_str().unwrap(),
        "--out",
        st_back.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(&st_back).unwrap(),
        bytes,
        "bin -> safetensors -> bin is byte-identical"
    );
    let pred_st = succeed(&[
        "predict",
        st.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(String::from_utf8_lossy(&pred_st.stdout), pred);
    let shown_st =
        String::from_utf8_lossy(&succeed(&["inspect", st.to_str().unwrap()]).stdout).to_string();
    assert!(
        shown_st.contains("safetensors, PyTorch names, read as model file version 3")
            && shown_st.contains("inputs 6, outputs 4 (softmax)")
            && shown_st.contains("input mean:"),
        "{shown_st}"
    );
    // An existing --out is not replaced without --force.
    let again = harness(&[
        "fit",
        "--train",
        data,
        "--task",
        "classify",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    // A size outside the menu is refused by name.
    let bad = harness(&[
        "fit",
        "--train",
        data,
        "--task",
        "classify",
        "--hidden",
        "12",
        "--out",
        dir.join("x.bin").to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && e.contains("hidden size 12") && e.contains("128"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `fit --task forecast` on one long series (a noisy-free sine of period 16 in a CSV
/// column): stateful truncated BPTT over 4 streams, then one-step-ahead on the last 40
/// values. Bar: the test MAE is below half the persistence forecast's (`v[t+1] = v[t]`),
/// which a model that learnt the oscillation beats by far; the summary names the pairs
/// left out, and sequence-task options are refused for forecasting and vice versa.
#[test]
fn fit_forecasts_a_series_with_stateful_truncated_bptt() {
    let dir = scratch_dir("forecast");
    let csv = dir.join("series.csv");
    let values: Vec<f64> = (0..203)
        .map(|t| 100.0 + 10.0 * (std::f64::consts::TAU * t as f64 / 16.0).sin())
        .collect();
    let mut text = String::from("t,value\n");
    for (t, v) in values.iter().enumerate() {
        text.push_str(&format!("{t},{v}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let json = dir.join("f.json");
    let run = succeed(&[
        "fit",
        "--train",
        csv.to_str().unwrap(),
        "--task",
        "forecast",
        "--column",
        "value",
        "--test-last",
        "40",
        "--hidden",
        "16",
        "--batch",
        "4",
        "--window",
        "16",
        "--epochs",
        "60",
        "--lr",
        "0.01",
        "--out",
        dir.join("f.bin").to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--plot",
        dir.join("f.svg").to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(dir.join("f.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("validation MAE"),
        "{svg:.200}"
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("left out"), "{out}");
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(log["task"], "forecast");
    let mae = log["test_mae"].as_f64().unwrap();
    let tail = &values[values.len() - 41..];
    let persistence = tail.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / 40.0;
    assert!(
        mae < 0.5 * persistence,
        "test MAE {mae} vs persistence {persistence}"
    );
    assert!(log["epochs"][0]["val_mae"].is_number() && log["test_rmse"].is_number());
    let bad = harness(&[
        "fit",
        "--train",
        csv.to_str().unwrap(),
        "--task",
        "regress",
        "--window",
        "4",
        "--out",
        dir.join("x.bin").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--task forecast"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--resume` continues a run from its checkpoint (`<out>.ckpt`, written after every epoch,
/// so after Ctrl-C too) exactly: 3 epochs, then `--resume --epochs 6`, saves the same model
/// bytes as 6 epochs in one go, for a sequence task (shuffled batches) and for forecasting
/// (stateful truncated BPTT on the airline series' changes). A checkpoint of other settings
/// is refused by name, and a fresh run does not silently overwrite an existing checkpoint.
#[test]
fn a_resumed_fit_ends_bit_for_bit_where_the_uninterrupted_one_does() {
    let dir = scratch_dir("resume");
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/basic_motions/X_train.npy");
    let data = data.to_str().unwrap();
    let base = [
        "fit", "--train", data, "--task", "classify", "--hidden", "8", "--batch", "8", "--lr",
        "0.01", "--warmup", "10",
    ];
    let two = resumes_exactly(&dir, "classify", &base);
    // A resumed run replaces the outputs its checkpoint names, not another existing file.
    let precious = dir.join("precious.json");
    std::fs::write(&precious, "keep").unwrap();
    let foreign = harness(
        &[
            &base[..],
            &[
                "--epochs",
                "7",
                "--out",
                two.to_str().unwrap(),
                "--resume",
                "--json",
                precious.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    let e = String::from_utf8_lossy(&foreign.stderr);
    assert!(
        !foreign.status.success() && e.contains("not an output of the run being resumed"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep");
    let series = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/airline/series.csv");
    let forecast = [
        "fit",
        "--train",
        series.to_str().unwrap(),
        "--task",
        "forecast",
        "--difference",
        "--test-last",
        "24",
        "--hidden",
        "8",
        "--batch",
        "2",
        "--window",
        "12",
        "--lr",
        "0.01",
        "--warmup",
        "10",
    ];
    let f = resumes_exactly(&dir, "forecast", &forecast);
    let shorter: Vec<&str> = forecast
        .iter()
        .map(|&a| if a == "12" { "6" } else { a })
        .collect();
    let other = harness(
        &[
            &shorter[..],
            &["--epochs", "9", "--out", f.to_str().unwrap(), "--resume"],
        ]
        .concat(),
    );
    let e = String::from_utf8_lossy(&other.stderr);
    assert!(
        !other.status.success() && e.contains("window: checkpoint 12, now 6"),
        "{e}"
    );
    let other = harness(&[
        "fit",
        "--train",
        data,
        "--task",
        "classify",
        "--hidden",
        "8",
        "--batch",
        "4",
        "--epochs",
        "6",
        "--out",
        two.to_str().unwrap(),
        "--resume",
    ]);
    let e = String::from_utf8_lossy(&other.stderr);
    assert!(
        !other.status.success() && e.contains("batch: checkpoint 8, now 4"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `base` for 6 epochs into `<name>-one.bin`, for 3 into `<name>-two.bin` (a second
/// fresh run is refused, naming `--resume`), then resumes the latter to 6 epochs: the
/// model files must be equal. Returns the resumed run's `--out`.
fn resumes_exactly(dir: &std::path::Path, name: &str, base: &[&str]) -> PathBuf {
    let one = dir.join(format!("{name}-one.bin"));
    let two = dir.join(format!("{name}-two.bin"));
    succeed(&[base, &["--epochs", "6", "--out", one.to_str().unwrap()]].concat());
    succeed(&[base, &["--epochs", "3", "--out", two.to_str().unwrap()]].concat());
    let again = harness(&[base, &["--epochs", "3", "--out", two.to_str().unwrap()]].concat());
    let e = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && e.contains("--resume"),
        "{name}: {e}"
    );
    let run = succeed(
        &[
            base,
            &["--epochs", "6", "--out", two.to_str().unwrap(), "--resume"],
        ]
        .concat(),
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.contains("resuming after epoch 3") && text.contains("Epoch 4/6"),
        "{name}: {text}"
    );
    assert!(!text.contains("Epoch 3/6"), "{name}: {text}");
    assert_eq!(
        std::fs::read(&one).unwrap(),
        std::fs::read(&two).unwrap(),
        "{name}: the resumed model differs"
    );
    two
}

/// What a newcomer's review found (session 8), held: a closed stdout does not lose the
/// model; `predict` reads unlabelled CSV; a class only the test file has is refused; `eval`
/// refuses a task its model cannot do, by name; a resume on changed data is refused; an
/// output path that is the training file is refused; bad option values name the option.
#[test]
fn fit_review_findings_stay_fixed() {
    let dir = scratch_dir("review");
    let csv = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let mut train = String::from("sequence,step,a,b,label\n");
    for s in 0..12 {
        for t in 0..5 {
            train.push_str(&format!("{s},{t},{},{},{}\n", s % 2, t, s % 2));
        }
    }
    let train = csv("train.csv", &train);
    let out = dir.join("m.bin");
    let o = out.to_str().unwrap();
    let base = [
        "fit", "--train", &train, "--task", "classify", "--hidden", "8",
    ];
    // A closed stdout: the model is saved all the same.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lstm-harness"))
        .args(base)
        .args(["--epochs", "3", "--out", o])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert!(child.wait().unwrap().success());
    assert!(out.exists(), "the model was not saved after stdout closed");
    // predict on inputs without (or with unreadable) labels.
    let plain = csv("plain.csv", "sequence,step,a,b\n0,0,1,0\n0,1,1,1\n");
    let p = String::from_utf8_lossy(&succeed(&["predict", o, "--data", &plain]).stdout).to_string();
    assert_eq!(p.lines().count(), 3, "{p}");
    let odd = csv("odd.csv", "sequence,step,a,b,label\n0,0,1,0,cat\n");
    succeed(&["predict", o, "--data", &odd]);
    // A class only the test file has.
    let test = csv("test.csv", "sequence,step,a,b,label\n0,0,1,0,7\n");
    let r = harness(
        &[
            &base[..],
            &[
                "--test",
                &test,
                "--out",
                dir.join("t.bin").to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && e.contains("class 7 appears in the test file"),
        "{e}"
    );
    // eval with a task the model cannot do.
    let r = harness(&["eval", o, "--data", &train, "--task", "regress"]);
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && e.contains("--task regress needs a regression model"),
        "{e}"
    );
    // Resume on changed data.
    let changed = std::fs::read_to_string(&train)
        .unwrap()
        .replacen("0,0,0,0,0", "0,0,0.5,0,0", 1);
    std::fs::write(&train, changed).unwrap();
    let r = harness(&[&base[..], &["--epochs", "5", "--out", o, "--resume"]].concat());
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success() && e.contains("data: checkpoint"), "{e}");
    // Outputs that would overwrite the input, and option values named.
    let r = harness(&[&base[..], &["--out", &train, "--force"]].concat());
    assert!(String::from_utf8_lossy(&r.stderr).contains("is the --train file"));
    for (flag, v, want) in [
        ("--clip-norm", "-1", "--clip-norm -1"),
        ("--val-split", "1.5", "--val-split 1.5"),
        ("--window", "0", "--window 0"),
    ] {
        let arg = format!("{flag}={v}");
        let r = harness(
            &[
                &base[..],
                &[&arg, "--out", dir.join("x.bin").to_str().unwrap()],
            ]
            .concat(),
        );
        let e = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success() && e.contains(want), "{flag}: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C (SIGINT) during `fit` ends the epoch, saves the best model and a checkpoint, and
/// exits with status 1 naming them, so a script can tell the run did not finish.
#[test]
fn an_interrupted_fit_keeps_the_best_model_and_exits_non_zero() {
    let dir = scratch_dir("interrupt");
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/basic_motions/X_train.npy");
    let out = dir.join("m.bin");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lstm-harness"))
        .args([
            "fit",
            "--train",
            data.to_str().unwrap(),
            "--task",
            "classify",
            "--hidden",
            "8",
            "--epochs",
            "10000",
            "--patience",
            "10000",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first checkpoint says the loop runs (polled: at most 60 s).
    let ckpt = dir.join("m.bin.ckpt");
    for _ in 0..600 {
        if ckpt.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if !ckpt.exists() {
        let _ = child.kill();
        let e = child.wait_with_output().unwrap();
        panic!(
            "no checkpoint after 60 s: {}",
            String::from_utf8_lossy(&e.stderr)
        );
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let done = child.wait_with_output().unwrap();
    let e = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(1), "{e}");
    assert!(
        e.contains("interrupted after epoch") && e.contains("--resume"),
        "{e}"
    );
    lstm_kernel::io::parse(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
