//! Fuzz target `read_keras`: "any byte string given as a Keras `.keras` archive or
//! `.weights.h5` is read as a model, or refused with a message, never a panic, a stack
//! overflow or an allocation the input does not back" (`lstm_harness::files::keras`, then
//! the name mapping and `safetensors::to_bin`, the path of every command). What it returns
//! is a binary model file the kernel parses. Seeds: a real `.keras`, a real
//! `.weights.h5` and a legacy whole-model `.h5` of testdata/keras (Keras 3.15.1).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lstm_harness::files::{keras, names, safetensors};

fuzz_target!(|bytes: &[u8]| {
    for read in [
        keras::keras_to_safetensors(bytes),
        keras::weights_to_safetensors(bytes),
    ] {
        if let Ok(read) = read
            && let Ok(mapped) = names::map(&read.safetensors, &[])
            && let Ok(model) = safetensors::to_bin(&mapped.bytes, None)
        {
            lstm_kernel::io::parse(&model.bin).expect("to_bin writes a valid model file");
        }
    }
});
