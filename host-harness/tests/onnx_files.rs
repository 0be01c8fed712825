//! Real ONNX files (testdata/onnx, written by scripts/fixtures/onnx_models.py: exported by
//! torch 2.15's `torch.onnx.export`, both exporters, and written with `onnx.helper` as
//! tf2onnx writes Keras models; and `tf2onnx_*` converted by tf2onnx 1.17.0 itself from the
//! Keras 2 fixtures, by scripts/fixtures/tf2onnx_models.py) read without Python: every
//! accepted file gives onnxruntime's outputs, and each refused graph is refused naming its
//! node and setting.

mod common;

use std::path::PathBuf;

use lstm_harness::files::{ReadOptions, Source, read_bin};

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/onnx")
        .join(name)
}

/// Every accepted graph gives onnxruntime's outputs (after the head's activation) at each
/// sequence's last step, or at every step for `steps` (tolerance 2e-6: float32 sums of at
/// most 16 + 16 terms per gate over 20 steps, in another order than onnxruntime's kernels,
/// and `Wb + Rb` added before rather than after; measured figures are printed).
#[test]
fn every_accepted_onnx_file_gives_onnxruntimes_outputs() {
    for name in [
        "lstm1",
        "lstm1_dynamo",
        "lstm2",
        "gru",
        "gru2",
        "multi",
        "hn",
        "steps",
        "gru_before",
        "hard",
        "hard2",
        "matmul",
        "dyn_batch",
        "dyn_steps",
        "ts_dyn_axes",
        "batch1",
        "tf2onnx_lstm1",
        "tf2onnx_lstm2",
        "tf2onnx_gru",
        "tf2onnx_hard",
        "tf2onnx_multi",
    ] {
        let e = common::max_error(
            &file(&format!("{name}.onnx")),
            &file(&format!("{name}.json")),
            &ReadOptions::default(),
        );
        println!("{name}.onnx: max |output - onnxruntime| = {e:.3e}");
        assert!(e < 2e-6, "{name}.onnx: {e}");
    }
}

/// The two torch exporters write different graphs of the same model: the same weights.
#[test]
fn both_torch_exporters_give_the_same_model() {
    let read = |n: &str| read_bin(&file(n), &ReadOptions::default()).unwrap();
    let (script, dynamo) = (read("lstm1.onnx"), read("lstm1_dynamo.onnx"));
    assert_eq!(script.source, Source::Onnx);
    assert_eq!(script.bin, dynamo.bin);
    assert!(script.warnings.is_empty(), "{:?}", script.warnings);
}

#[test]
fn unsupported_onnx_graphs_are_refused_naming_the_node_and_setting() {
    for (name, want) in [
        (
            "bidirectional.onnx",
            "LSTM node /rnn/LSTM: direction bidirectional",
        ),
        ("reverse.onnx", "direction reverse"),
        ("peephole.onnx", "peephole weights P"),
        ("clip.onnx", "clip 3"),
        ("input_forget.onnx", "input_forget 1"),
        ("relu_cell.onnx", "activation Relu (activations[1])"),
        ("batch_first.onnx", "layout 1"),
        ("h0_input.onnx", "2 inputs (x, h0)"),
        ("mlp_head.onnx", "Relu node /Relu on the model's data path"),
        ("middle_step.onnx", "reads step 5 of the sequence"),
        (
            "tf2onnx_gru_before.onnx",
            "Loop node sequential_3/gru_1/while_loop: this reader does not run loops",
        ),
        (
            "escape.onnx",
            "\"../outside.onnx.data\" is not a file name inside the model's folder",
        ),
        (
            "missing.onnx",
            "external data missing.onnx.data: cannot read",
        ),
    ] {
        let e = format!(
            "{:#}",
            read_bin(&file(name), &ReadOptions::default()).unwrap_err()
        );
        assert!(e.contains(want) && e.contains(name), "{name}: {e}");
    }
}

/// A file named `.onnx` that is not one says so, rather than "not a model file".
#[test]
fn a_damaged_onnx_file_is_refused_as_onnx() {
    let dir = std::env::temp_dir().join(format!("onnx-damaged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(file("lstm1.onnx")).unwrap();
    let cut = dir.join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = format!("{:#}", read_bin(&cut, &ReadOptions::default()).unwrap_err());
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        e.contains("(an ONNX file)") && e.contains("not an ONNX model"),
        "{e}"
    );
}

/// The CLI end to end: `inspect` shows what the graph held, and `predict` runs it.
#[test]
fn inspect_and_predict_read_an_onnx_file() {
    common::harness_prints(
        &["inspect", file("lstm2.onnx").to_str().unwrap()],
        &[
            "written by pytorch 2.15.0+cu132, ONNX operator set 20",
            "graph input axes: [batch, steps, features]",
            "ONNX graph, read as model file version 3",
            "inputs 1, outputs 1 (sigmoid)",
            "layer 1: lstm 10 -> 10, recurrent activation sigmoid",
        ],
    );
    let dir = std::env::temp_dir().join(format!("onnx-predict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("seqs.csv");
    std::fs::write(
        &csv,
        "sequence,step,x,label\n0,0,0.5,0\n0,1,0.25,0\n1,0,0.1,1\n",
    )
    .unwrap();
    let text = common::harness_prints(
        &[
            "predict",
            file("lstm2.onnx").to_str().unwrap(),
            "--data",
            csv.to_str().unwrap(),
        ],
        &["sequence,step,y0"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
}
