//! Fuzz target `read_torch`: "any byte string given as a PyTorch `torch.save` file is read
//! as safetensors bytes of its float32 tensors or refused with a message, never a panic, a
//! stack overflow or an allocation the input does not back"
//! (`lstm_harness::files::torch::to_safetensors`). Seeds: the real state dicts of
//! testdata/torch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lstm_harness::files::torch;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(st) = torch::to_safetensors(bytes) {
        // What it returns is a valid safetensors file of F32 tensors.
        let file = safetensors::SafeTensors::deserialize(&st).expect("valid safetensors");
        for (_, t) in file.tensors() {
            assert_eq!(t.dtype(), safetensors::Dtype::F32);
        }
    }
});
