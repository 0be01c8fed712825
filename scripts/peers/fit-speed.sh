#!/usr/bin/env bash
# Seconds per epoch of `lstm-harness fit` beside PyTorch on one machine, in interleaved rounds
# (issue 11's speed bars: H = 64, batch 32, softmax CE, JapaneseVowels and BasicMotions).
#   scripts/peers/fit-speed.sh HARNESS PYTHON [ROUNDS]
# HARNESS: a release lstm-harness binary (e.g. target/release/lstm-harness, or one built with
# RUSTFLAGS="-C target-cpu=x86-64-v3" for the AVX2 path); PYTHON: an interpreter with torch
# and numpy (python3 -m venv v && v/bin/pip install torch numpy). Each round runs ours on 1
# thread and on every core, then PyTorch on 1 thread and on every core, 30 epochs each; a
# run's figure is the median of its epochs after the first. Prints the minimum over rounds
# of each figure and the ratio PyTorch (its faster thread count) / ours (every core). Not
# run by CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
harness="${1:?usage: $0 HARNESS PYTHON [ROUNDS]}"
python="${2:?usage: $0 HARNESS PYTHON [ROUNDS]}"
rounds="${3:-3}"
cores="$(nproc)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $cores cores;" \
    "$("$python" -c 'import torch; print("torch", torch.__version__)')"

ours() { # dataset threads -> median s/epoch
    local d="host-harness/testdata/$1"
    "$harness" fit --train "$d/X_train.npy" --test "$d/X_test.npy" --task classify \
        --hidden 64 --batch 32 --epochs 30 --patience 1000 --threads "$2" \
        --out "$tmp/m.bin" --json "$tmp/log.json" --force >/dev/null 2>&1
    "$python" -c 'import json, statistics, sys
e = [x["seconds"] for x in json.load(open(sys.argv[1]))["epochs"][1:]]
print(statistics.median(e))' "$tmp/log.json"
}
torch() { # dataset threads -> median s/epoch
    "$python" scripts/peers/torch_fit.py "host-harness/testdata/$1" --epochs 30 --threads "$2" |
        sed -n 's/.*median \([0-9.]*\) s\/epoch.*/\1/p'
}

for ds in japanese_vowels basic_motions; do
    for r in $(seq "$rounds"); do
        for t in 1 "$cores"; do
            echo "ours $t $(ours "$ds" "$t")" >>"$tmp/$ds"
            echo "torch $t $(torch "$ds" "$t")" >>"$tmp/$ds"
        done
    done
    "$python" - "$tmp/$ds" "$ds" "$cores" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
best = {}
for who, t, s in rows:
    best[(who, t)] = min(best.get((who, t), 9e9), float(s))
c = sys.argv[3]
ours, torch = best[("ours", c)], min(best[("torch", "1")], best[("torch", c)])
print(f"{sys.argv[2]}: ours {best[('ours', '1')]:.4f} s (1 thread), {ours:.4f} s ({c});"
      f" torch {best[('torch', '1')]:.4f} s (1 thread), {best[('torch', c)]:.4f} s ({c});"
      f" torch/ours {torch / ours:.2f}x")
EOF
done
