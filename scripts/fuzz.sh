#!/usr/bin/env bash
# Fuzzes, SECONDS each (default 60), from the committed seeds:
# - model-file decoding (kernel/fuzz, target `decode`, seeds kernel/fuzz/corpus/decode):
#   "decoding any byte string returns a typed error or a model, never a panic";
# - int8 model-file decoding (kernel/fuzz, target `decode_int8`, seeds
#   kernel/fuzz/corpus/decode_int8): the same claim for kernel/src/quant/file.rs;
# - the harness's data readers (host-harness/fuzz, targets `read_csv` and `read_npy`, seeds
#   host-harness/fuzz/corpus/<target>): "any bytes are read as sequences of the documented
#   shape or refused with a message, never a panic";
# - the PyTorch `torch.save` reader (target `read_torch`, seeds: three real state dicts, so
#   inputs up to 16 KiB): "any bytes are read as float32 tensors or refused with a message",
#   and those tensors on through the name mapping and the model reader;
# - the safetensors model reader (target `read_safetensors`: `names::map` then
#   `safetensors::to_bin`, seeds: real files of testdata/torch): "any bytes are read as a
#   model the kernel parses or refused with a message";
# - the Keras reader (target `read_keras`: `.keras`, `.weights.h5` and legacy `.h5`, seeds:
#   one of each from testdata/keras, so inputs up to 32 KiB), the same claim;
# - the ONNX reader (target `read_onnx`, seeds: three real files of testdata/onnx, inputs up
#   to 16 KiB), the same claim.
# Needs a nightly toolchain; installs cargo-fuzz if it is missing. New corpus units go to a
# scratch directory (deleted afterwards); a crash exits non-zero and leaves its reproducer
# in <crate>/fuzz/artifacts/<target>/.
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh 600             # a long run
#   scripts/fuzz.sh 30 decode       # CI (scripts/test.sh): the decoder, then
#   FUZZ_DEV=1 scripts/fuzz.sh 5 read_torch read_safetensors read_keras read_onnx
#                                   # the model-file readers, a short run each from a
#                                   # build without optimisation (FUZZ_DEV=1: cargo fuzz
#                                   # --dev, which builds all of lstm-harness under nightly
#                                   # faster; the runs are slower)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode decode_int8 read_csv read_npy read_torch read_safetensors read_keras read_onnx)
start=$SECONDS
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
echo "cargo-fuzz ready after $((SECONDS - start)) s"
dev=""
[ "${FUZZ_DEV:-}" = 1 ] && dev="--dev"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# `--sanitizer none`: neither crate has `unsafe` code of its own (the kernel forbids it), so
# AddressSanitizer has little to check, and without it a target runs about 3x as many
# inputs; overflow checks and debug assertions stay on (cargo-fuzz's default). The first
# directory receives new units, the seeds are only read.
fuzz() { # fuzz CRATE_DIR TARGET [MAX_LEN]
    local dir=$1 target=$2 max_len=${3:-4096} build=$SECONDS
    mkdir -p "$scratch/$target"
    (cd "$dir" && cargo +nightly fuzz build $dev --sanitizer none "$target")
    echo "fuzz target $target built in $((SECONDS - build)) s"
    (cd "$dir" && cargo +nightly fuzz run $dev --sanitizer none "$target" "$scratch/$target" \
        "fuzz/corpus/$target" -- -max_len="$max_len" -max_total_time="$secs" -print_final_stats=1)
}
for t in "${targets[@]}"; do
    case "$t" in
        decode | decode_int8) fuzz kernel "$t" ;;
        read_csv | read_npy) fuzz host-harness "$t" ;;
        read_torch | read_safetensors | read_onnx) fuzz host-harness "$t" 16384 ;;
        read_keras) fuzz host-harness "$t" 32768 ;;
        *)
            echo "fuzz.sh: unknown target $t (decode, decode_int8, read_csv, read_npy, read_torch, read_safetensors, read_keras, read_onnx)" >&2
            exit 2
            ;;
    esac
done
echo "fuzz step: $((SECONDS - start)) s in all"
