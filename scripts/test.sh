#!/usr/bin/env bash
# The project's whole test suite (the README's test command). Installs its tools first.
#   scripts/test.sh [--no-embedded]
# --no-embedded skips the parts under QEMU: embedded (Cortex-M and RISC-V, scripts/embedded.sh) and
# ARM64 (scripts/arm64.sh); no QEMU or cross gcc is installed. CI runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
embedded=1
for arg in "$@"; do
    case "$arg" in
        --no-embedded) embedded=0 ;;
        *)
            echo "usage: $0 [--no-embedded]" >&2
            exit 2
            ;;
    esac
done
if [ "$embedded" = 1 ]; then ./scripts/setup.sh; else ./scripts/setup.sh --no-embedded; fi
step() { printf '\n==> [%4d s] %s\n' "$SECONDS" "$*"; }

step "format"
cargo fmt --all --check
cargo fmt --manifest-path kernel/fuzz/Cargo.toml --check
step "clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "tests (default target, SIMD kernels)"
cargo test --workspace
step "kernel tests built for this CPU (-C target-cpu=native: the AVX2/FMA/AVX-512 paths) with the scalar reference kernels as the default"
# One pass for two things, each kernel test binary costing ~2 min to build on 2 cores:
# - the SIMD code paths of this CPU: the tests that call `Simd` explicitly (SIMD vs scalar at
#   18 sizes, the oracles, which run both kernels by name, the lanes and primitives);
# - `Scalar` as the default kernels (feature scalar-reference, as on Cortex-M) under the
#   tests that use the default (properties, allocation checks, stateful batches); the step
#   above ran those on the default `Simd`.
# An explicit --target keeps RUSTFLAGS off the build scripts and proc macros (serde_derive,
# syn, ...), so those are reused from the step above. Doc tests ran above.
host="$(rustc -vV | sed -n 's/^host: //p')"
RUSTFLAGS="-C target-cpu=native" cargo test -p lstm-kernel --target "$host" --features scalar-reference --lib --tests
step "kernel unit tests built for AVX2 + FMA without AVX-512 (-C target-cpu=x86-64-v3): the path of most users' x86 CPUs and of the AVX2 figures (SIMD == scalar, the many-streams bits), which the AVX-512 build above does not compile"
RUSTFLAGS="-C target-cpu=x86-64-v3" cargo test -p lstm-kernel --target "$host" --lib
step "Miri: the kernel's unit tests under the interpreter (undefined behaviour, uninitialised reads; wide's SSE2 intrinsics included), if a nightly with Miri is installed"
if cargo +nightly miri --version >/dev/null 2>&1; then
    cargo +nightly miri setup --print-sysroot >/dev/null # builds its sysroot once (rust-src)
    # Miri perturbs std's transcendental results by a few ulp (their precision is not
    # guaranteed); the kernel is no_std on libm, so only the tests' std references move, and
    # loss.rs's 1e-15 check against std `exp`/`ln` fails for some seeds: deterministic floats
    # keep the step reproducible. Opt-level 0 everywhere: Miri ignores it (and warns), and the
    # natively built proc macros (serde_derive, syn) then compile several times faster.
    # Tests too slow to interpret (whole-f32-range sweeps, the 18-size SIMD-vs-scalar runs,
    # ...) are `#[cfg_attr(miri, ignore = ..)]`: 47 of 58 run (2026-12-02). On the idle 2-vCPU machine:
    # 71 s from a clean target/miri (plus ~1 min for the first `miri setup`), 43 s once built.
    MIRIFLAGS="-Zmiri-deterministic-floats" cargo +nightly miri test -q -p lstm-kernel --lib \
        --config 'profile.test.opt-level=0' --config 'profile.dev.package."*".opt-level=0'
else
    echo "skipped: no nightly toolchain with Miri (rustup toolchain install nightly -c miri -c rust-src)"
fi
step "embedded: the kernel no_std on Cortex-M (thumbv7em, thumbv6m, thumbv8m.main) and RISC-V (riscv32imc), the host-trained models and on-device learning under QEMU (scripts/embedded.sh)"
if [ "$embedded" = 1 ]; then
    ./scripts/embedded.sh
else
    echo "skipped: --no-embedded"
fi
step "ARM64: the kernel's tests under qemu-aarch64 (NEON lanes, parity, no allocation) and guest instructions per step (scripts/arm64.sh)"
if [ "$embedded" = 1 ]; then
    ./scripts/arm64.sh
else
    echo "skipped: --no-embedded"
fi
step "fuzz: decoding any model file (f32: 20 s, int8: 10 s), and reading any PyTorch, safetensors, Keras or ONNX file, returns a typed error or a model: then 5 s per reader (scripts/fuzz.sh; nightly only)"
if rustup toolchain list | grep -q '^nightly'; then
    ./scripts/fuzz.sh 20 decode
    ./scripts/fuzz.sh 10 decode_int8
    FUZZ_DEV=1 ./scripts/fuzz.sh 5 read_torch read_safetensors read_keras read_onnx
else
    echo "no nightly toolchain: fuzzing skipped (rustup toolchain install nightly enables it)"
fi
