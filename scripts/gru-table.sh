#!/usr/bin/env bash
# Runs the GRU criterion benches (benches/gru.rs) and prints the Markdown tables of
# docs/performance.md: the GRU forward step at the four sizes beside the naive scalar GRU
# and the LSTM of the same size (one binary, one run, so the ratios hold), and the
# per-step training update of the post's model with either cell.
#
#   scripts/gru-table.sh [v3|native|sse2] [criterion args...]
#
#   v3      RUSTFLAGS="-C target-cpu=x86-64-v3" (AVX2 + FMA: the path most users have; the
#           default)
#   native  RUSTFLAGS="-C target-cpu=native"
#   sse2    the default x86-64 target
#
# Criterion args default to `--warm-up-time 1 --measurement-time 3`. The build dirs are
# bench-table.sh's (target/bench-<build>), so the two scripts share their builds.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-v3}"
shift || true
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    args=(--warm-up-time 1 --measurement-time 3)
fi
case "$mode" in
    v3) flags="-C target-cpu=x86-64-v3" ;;
    native) flags="-C target-cpu=native" ;;
    sse2) flags="" ;;
    *)
        echo "usage: $0 [v3|native|sse2] [criterion args...]" >&2
        exit 2
        ;;
esac
dir="target/bench-$mode"
echo "==> cargo bench --bench gru ($mode: RUSTFLAGS='$flags', CARGO_TARGET_DIR=$dir)" >&2
CARGO_TARGET_DIR="$dir" RUSTFLAGS="$flags" cargo bench --bench gru -- "${args[@]}" >&2
CARGO_TARGET_DIR="$dir" RUSTFLAGS="$flags" \
    cargo bench --bench training -- "${args[@]}" 'train_step/' >&2

# The CPU as /proc/cpuinfo names it (a VM's "model name" can be bare, so family and model too).
field() { grep -m1 "^$1" /proc/cpuinfo | cut -d: -f2- | xargs; }
cpu="$(field 'model name'), family $(field 'cpu family') model $(field 'model[[:space:]]*:')"
PYTHONPATH=scripts python3 - "$mode" "$dir/criterion" "$cpu" <<'PY'
import sys
from criterion_medians import fmt, median_ns
mode, root, cpu = sys.argv[1], sys.argv[2], sys.argv[3]

print(f"\n### GRU forward step, batch 1, `{mode}` build, {cpu} (criterion medians, ns/step)\n")
print("| (IN, H) | GRU | GRU fast | GRU reset-before | naive GRU | naive / GRU | LSTM | GRU / LSTM |")
print("|---|---|---|---|---|---|---|---|")
for i, h in [(1, 10), (1, 32), (8, 64), (32, 128)]:
    ident = f"IN{i}_H{h}"
    gru, fast, before, naive, lstm = (median_ns(root, "gru_step", v, ident) for v in
                                      ("gru", "gru_fast", "gru_reset_before", "naive_gru", "lstm"))
    print(f"| ({i}, {h}) | {fmt(gru)} | {fmt(fast)} | {fmt(before)} | {fmt(naive)} "
          f"| {naive / gru:.1f}x | {fmt(lstm)} | {gru / lstm:.2f} |")
gru, lstm = (median_ns(root, "train_step", v, "IN1_H10_T1") for v in ("gru", "ours"))
print(f"\nTraining update (T = 1 window, BCE, Adam), (1, 10): GRU {fmt(gru)} ns, "
      f"LSTM {fmt(lstm)} ns, GRU / LSTM {gru / lstm:.2f}")
PY
