#!/usr/bin/env bash
# The project's whole test suite (the README's test command). Installs its tools first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
step() { printf '\n==> %s\n' "$*"; }

step "format"
cargo fmt --all --check
cargo fmt --manifest-path kernel/fuzz/Cargo.toml --check
step "clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "tests (default target, SIMD kernels)"
cargo test --workspace
step "kernel tests built for this CPU (-C target-cpu=native: the AVX/FMA/AVX-512 code paths, SIMD vs scalar, the oracles)"
CARGO_TARGET_DIR=target/test-native RUSTFLAGS="-C target-cpu=native" cargo test -p lstm-kernel
step "tests with the scalar reference kernels forced"
cargo test -p lstm-kernel --features scalar-reference
step "kernel builds no_std for Cortex-M"
cargo build -p lstm-kernel --release --target thumbv7em-none-eabihf
cargo build -p lstm-kernel --release --target thumbv6m-none-eabi
step "embedded: host-trained model and on-device learning on Cortex-M under QEMU (scripts/embedded.sh)"
./scripts/embedded.sh
step "fuzz: decoding any model file returns a typed error or a model, 60 s (scripts/fuzz.sh; nightly only)"
if rustup toolchain list | grep -q '^nightly'; then
    ./scripts/fuzz.sh 60
else
    echo "no nightly toolchain: fuzzing skipped (rustup toolchain install nightly enables it)"
fi
