//! Cross-crate tests (`tests/`) and criterion benches (`benches/`) for `lstm-kernel` and
//! `lstm-harness`. The README below is compiled as this crate's docs, so its Rust example
//! is a doctest.
#![doc = include_str!("../README.md")]
