//! Fuzz target `read_torch`: "any byte string given as a PyTorch `torch.save` file is read
//! as safetensors bytes of its float32 tensors or refused with a message, never a panic, a
//! stack overflow or an allocation the input does not back"
//! (`lstm_harness::files::torch::to_safetensors`), and what it returns goes on through the
//! name mapping and the model reader (`names::map`, `safetensors::to_bin`) to a binary
//! model file the kernel parses, or a refusal. Seeds: real state dicts of testdata/torch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lstm_harness::files::{names, safetensors as st, torch};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(st) = torch::to_safetensors(bytes) {
        // What it returns is a valid safetensors file of F32 tensors.
        let file = safetensors::SafeTensors::deserialize(&st).expect("valid safetensors");
        for (_, t) in file.tensors() {
            assert_eq!(t.dtype(), safetensors::Dtype::F32);
        }
        if let Ok(mapped) = names::map(&st, &[])
            && let Ok(read) = st::to_bin(&mapped.bytes, None)
        {
            lstm_kernel::io::parse(&read.bin).expect("to_bin writes a valid model file");
        }
    }
});
