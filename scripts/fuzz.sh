#!/usr/bin/env bash
# Fuzzes model-file decoding (kernel/fuzz, target `decode`) for SECONDS (default 60) from
# the committed seeds (kernel/fuzz/corpus/decode/seed-*): "decoding any byte string returns
# a typed error or a model, never a panic". Needs a nightly toolchain; installs cargo-fuzz
# if it is missing. New corpus units go to a scratch directory (deleted afterwards); a
# crash exits non-zero and leaves its reproducer in kernel/fuzz/artifacts/decode/.
#   scripts/fuzz.sh        # the CI run (scripts/test.sh), 60 s
#   scripts/fuzz.sh 600    # a long run
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
start=$SECONDS
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
echo "cargo-fuzz ready after $((SECONDS - start)) s"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd kernel
# `--sanitizer none`: the kernel forbids `unsafe`, so AddressSanitizer has nothing of its
# own to check, and without it the target runs about 3x as many inputs; overflow checks and
# debug assertions stay on (cargo-fuzz's default). The first directory receives new units,
# the seeds are only read.
build=$SECONDS
cargo +nightly fuzz build --sanitizer none decode
echo "fuzz target built in $((SECONDS - build)) s"
cargo +nightly fuzz run --sanitizer none decode "$scratch" fuzz/corpus/decode -- \
    -max_len=4096 -max_total_time="$secs" -print_final_stats=1
echo "fuzz step: $((SECONDS - start)) s in all"
