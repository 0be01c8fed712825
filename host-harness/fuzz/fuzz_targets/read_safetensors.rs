//! Fuzz target `read_safetensors`: "any byte string given as a safetensors model file is
//! read as a model, or refused with a message, never a panic, a stack overflow or an
//! allocation the input does not back" (`lstm_harness::files::names::map`, then
//! `lstm_harness::files::safetensors::to_bin`, the path of every command). What it returns
//! is a binary model file the kernel parses. Seeds: real safetensors files of
//! testdata/torch (PyTorch names, a GRU, Keras 3 variable paths).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lstm_harness::files::{names, safetensors};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(mapped) = names::map(bytes, &[])
        && let Ok(read) = safetensors::to_bin(&mapped.bytes, None)
    {
        lstm_kernel::io::parse(&read.bin).expect("to_bin writes a valid model file");
    }
});
