//! Fuzz target `read_onnx`: "any byte string given as an ONNX file is read as a model, or
//! refused with a message, never a panic, a stack overflow or an allocation the input does
//! not back" (`lstm_harness::files::onnx`, then the name mapping and `safetensors::to_bin`,
//! the path of every command; external data is refused here, as a missing file). What it
//! returns is a binary model file the kernel parses. Seeds: three real files of
//! testdata/onnx (torch 2.15's TorchScript exporter: `lstm1`, `gru2`; `onnx.helper`: `hard`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lstm_harness::files::{names, onnx, safetensors};

fuzz_target!(|bytes: &[u8]| {
    let mut no_files = |_: &str| -> anyhow::Result<Vec<u8>> { anyhow::bail!("no external data") };
    if let Ok(read) = onnx::onnx_to_safetensors(bytes, &mut no_files)
        && let Ok(mapped) = names::map(&read.safetensors, &[])
        && let Ok(model) = safetensors::to_bin(&mapped.bytes, None)
    {
        lstm_kernel::io::parse(&model.bin).expect("to_bin writes a valid model file");
    }
});
