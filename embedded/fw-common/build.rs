//! With feature `trained`: copies the harness's exported models (`model.rs` from
//! `lstm-harness export --format rust`, `model.bin` from `lstm-harness train`, and their
//! 2-layer versions `model2.rs` and `model2.bin` from `--layers 2`, and the GRU's
//! `modelg.rs` and `modelg.bin` from `--cell gru`, and `modelf.rs`, `modelf.bin` and
//! `inputf.rs` of the `fit` model with its raw input sequences, and `modelq.rs`, `modelq.bin`
//! of its int8 quantization) from
//! `$FW_MODEL_DIR` (default `../../target/embedded/model`, where scripts/embedded.sh writes
//! them) into OUT_DIR for `src/trained.rs`.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=FW_MODEL_DIR");
    if env::var_os("CARGO_FEATURE_TRAINED").is_none() {
        return;
    }
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dir = env::var_os("FW_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../target/embedded/model"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    for name in [
        "model.rs",
        "model.bin",
        "model2.rs",
        "model2.bin",
        "modelg.rs",
        "modelg.bin",
        "modelf.rs",
        "modelf.bin",
        "inputf.rs",
        "modelq.rs",
        "modelq.bin",
    ] {
        let src = dir.join(name);
        println!("cargo:rerun-if-changed={}", src.display());
        if let Err(e) = fs::copy(&src, out.join(name)) {
            panic!(
                "{}: {e}\nThe firmware embeds the model trained by the harness: run \
                 scripts/embedded.sh (it trains and exports it), or set FW_MODEL_DIR to a \
                 directory holding model.rs (lstm-harness export --format rust), model.bin, their \
                 2-layer versions model2.rs and model2.bin (--layers 2), the GRU's modelg.rs \
                 and modelg.bin (--cell gru) and the fit model's modelf.rs, modelf.bin and inputf.rs, and its int8 modelq.rs and modelq.bin (lstm-harness quantize, then export).",
                src.display()
            );
        }
    }
}
