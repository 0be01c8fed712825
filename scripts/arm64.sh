#!/usr/bin/env bash
# ARM64 (AArch64 with NEON, aarch64-unknown-linux-gnu) under qemu-aarch64 user mode:
#  1. the kernel's unit and integration tests (SIMD == scalar, parity with PyTorch/Keras,
#     no allocation, the many-streams bits), built for AArch64 and run under QEMU; the two
#     whole-f32-range sweeps of the scalar activations are skipped (scalar f32 code gives
#     the same bits on every target; the NEON lanes' sweeps run);
#  2. guest instructions per forward step at (1, 10), (1, 32), (8, 64), (32, 128), exact
#     and fast, and 110 streams in lanes (kernel/examples/insns.rs, counted from QEMU's
#     block logs by scripts/arm64_count.py). Counts do not depend on the host CPU.
# Needs qemu-aarch64, aarch64-linux-gnu-gcc and the rust target (scripts/embedded-setup.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/target/arm64"
mkdir -p "$OUT"
T=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu
fail() { echo "arm64: FAIL: $*" >&2; exit 1; }
for t in qemu-aarch64 aarch64-linux-gnu-gcc python3; do
  command -v "$t" >/dev/null || fail "$t not found: run scripts/embedded-setup.sh"
done
rustup target list --installed | grep -qx "$T" || fail "rust target $T missing: run scripts/embedded-setup.sh"
[ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || fail "no AArch64 libc in $SYSROOT: install libc6-dev-arm64-cross (scripts/embedded-setup.sh)"
# The caller's RUSTFLAGS (e.g. an x86 -C target-cpu) must not reach the AArch64 build.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
echo "$(qemu-aarch64 --version | head -1); $(rustc --version)"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $SYSROOT"

echo "==> kernel tests for $T under qemu-aarch64"
cargo test -q -p lstm-kernel --target "$T" --lib --tests -- \
  --skip exp_activations_max_abs_error_over_the_whole_f32_range \
  --skip fast_activations_max_abs_error_over_the_whole_f32_range

echo "==> guest instructions per step (kernel/examples/insns.rs)"
cargo build -q --release -p lstm-kernel --example insns --target "$T"
E="$ROOT/target/$T/release/examples/insns"
qemu-aarch64 -L "$SYSROOT" -d in_asm,exec,nochain -D "$OUT/insns.log" "$E" > "$OUT/insns.out" ||
  fail "insns under qemu-aarch64"
grep -qx "kernels: NEON" "$OUT/insns.out" || fail "the example did not run the NEON kernels: $(head -1 "$OUT/insns.out")"
python3 scripts/arm64_count.py "$OUT/insns.log" "$OUT/insns.out" | tee "$OUT/insns.txt"
rm -f "$OUT/insns.log" # ~85 MB of block traces
