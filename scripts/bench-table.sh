#!/usr/bin/env bash
# Runs the forward-step criterion benches and prints the Markdown table of docs/performance.md.
#
#   scripts/bench-table.sh [native|sse2|v3|both] [criterion args...]
#
#   native  RUSTFLAGS="-C target-cpu=native" (AVX2 + FMA on x86-64; the default)
#   sse2    the default x86-64 target (SSE2, no FMA)
#   v3      RUSTFLAGS="-C target-cpu=x86-64-v3" (AVX2 + FMA, no AVX-512: the code path of
#           an AVX2-only CPU such as the issue's Zen 3, run on this CPU)
#   both    sse2, then native
#
# Criterion args default to `--warm-up-time 1 --measurement-time 3` (short, so a shared
# machine stays usable). Each build has its own target dir (target/bench-native,
# target/bench-sse2) so switching RUSTFLAGS never rebuilds the other one, and criterion's
# results land in <target dir>/criterion. The table reads each bench's median
# (new/estimates.json), robust to the preemption outliers of a shared machine; ratios come
# from one run of one binary.
#
# Columns: ns per stateful forward step (batch 1) for the kernel with exact activations
# (`ours`), with Maths::Fast (`fast`) and with the Dense(H -> 1) head + sigmoid (`+dense`);
# the naive scalar baseline (benches/common); naive/ours; multiply-adds per second
# (4H(IN+H) per step); the fraction of the FMA peak; RTNeural's figure on this machine class
# (the issue's table, not measured here) for reference.
#
# Peak assumed (override with PEAK_GMACS): native and v3 51.2 GMAC/s = 2 FMA units x 8 lanes x
# 3.2 GHz (the issue's FMA bounds use this); sse2 25.6 GMAC/s = 2 multiply + 2 add units x
# 4 lanes x 3.2 GHz (no FMA).
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-native}"
shift || true
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    args=(--warm-up-time 1 --measurement-time 3)
fi

run() {
    local build="$1"
    local dir="target/bench-$build"
    local flags=""
    if [ "$build" = native ]; then
        flags="-C target-cpu=native"
    elif [ "$build" = v3 ]; then
        flags="-C target-cpu=x86-64-v3"
    fi
    echo "==> cargo bench --bench forward ($build: RUSTFLAGS='$flags', CARGO_TARGET_DIR=$dir)" >&2
    CARGO_TARGET_DIR="$dir" RUSTFLAGS="$flags" \
        cargo bench --bench forward -- "${args[@]}" 'forward_step/' >&2
    table "$build" "$dir/criterion"
}

table() {
    local build="$1" root="$2"
    local peak="${PEAK_GMACS:-}"
    if [ -z "$peak" ]; then
        if [ "$build" = sse2 ]; then peak=25.6; else peak=51.2; fi
    fi
    PYTHONPATH=scripts python3 - "$build" "$root" "$peak" <<'PY'
import sys
from criterion_medians import fmt, median_ns
build, root, peak = sys.argv[1], sys.argv[2], float(sys.argv[3])
sizes = [(1, 10), (1, 32), (8, 64), (32, 128)]
# The issue's RTNeural figures (ns/step, batch 1, 2-core AMD EPYC Zen 3 VM, ~3.2 GHz).
rtneural = {"native": {(1, 10): "110 (116 +dense)", (1, 32): "215", (8, 64): "925",
                       (32, 128): "4,280"},
            "sse2": {(1, 10): "190", (1, 32): "600", (8, 64): "2,020", (32, 128): "7,730"}}
rtneural["v3"] = rtneural["native"]

print(f"\n### Forward step, batch 1, `{build}` build (criterion medians, ns/step)\n")
print("| (IN, H) | ours | fast | +dense | naive | naive/ours | GMAC/s (ours) "
      f"| of {peak:g} GMAC/s peak | RTNeural {build} |")
print("|---|---|---|---|---|---|---|---|---|")
for i, h in sizes:
    ours, fast, dense, naive = (median_ns(root, "forward_step", v, f"IN{i}_H{h}")
                                for v in ("ours", "ours_fast", "ours_dense", "naive"))
    macs = 4 * h * (i + h)
    gmacs = macs / ours
    print(f"| ({i}, {h}) | {fmt(ours)} | {fmt(fast)} | {fmt(dense)} | {fmt(naive)} "
          f"| {naive / ours:.1f}x | {gmacs:.1f} | {100 * gmacs / peak:.0f} % "
          f"| {rtneural[build][(i, h)]} |")
PY
}

case "$mode" in
    native | sse2 | v3) run "$mode" ;;
    both)
        run sse2
        run native
        ;;
    *)
        echo "usage: $0 [native|sse2|v3|both] [criterion args...]" >&2
        exit 2
        ;;
esac
