#!/usr/bin/env python3
"""Guest instructions per step of kernel/examples/insns.rs under qemu-aarch64 user mode,
from QEMU's own logs (Debian's qemu-user is built without TCG plugin support, so the
Cortex-M plugin cannot load there): `-d in_asm,exec,nochain` prints each translated block
once (`IN:` and its instructions) and every execution of a block (`Trace ...
[.../<pc>/...]`; `nochain` keeps chained blocks from skipping the trace). The count between
two executions of the marker's block is the sum of the sizes of the blocks executed in
between, the marker's block counted with the interval it starts (as the plugin counts).

usage: arm64_count.py QEMU_LOG PROGRAM_STDOUT
Prints, per variant of the program's `variant` lines, the mean, min and max over its 20
measured pairs minus its empty pair; fails if the counts do not come in 21 per variant or a
step counts nothing beyond the empty pair (a step optimised away).
"""
import re
import sys


def main():
    log, out = sys.argv[1:3]
    lines = open(out).read().splitlines()
    marker = next((int(l.split()[1], 16) for l in lines if l.startswith("marker ")), None)
    variants = [l.split()[1] for l in lines if l.startswith("variant ")]
    if marker is None or not variants:
        sys.exit(f"{out}: no `marker` or `variant` lines")
    size, counts = {}, []
    current, block, n = None, None, 0
    insn = re.compile(r"^0x([0-9a-f]+):\s")
    trace = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
    with open(log) as f:
        for line in f:
            if line.startswith("IN:"):
                block, n = None, 0
                continue
            m = insn.match(line)
            if m:
                if block is None:
                    block = int(m.group(1), 16)
                n += 1
                size[block] = n
                continue
            m = trace.match(line)
            if m:
                pc = int(m.group(1), 16)
                if pc not in size:
                    sys.exit(f"{log}: block at {pc:#x} executed but never listed (in_asm)")
                if pc == marker:
                    if current is not None:
                        counts.append(current)
                    current = size[pc]
                elif current is not None:
                    current += size[pc]
    # counts[i] ends at marker call i + 1; measured pairs end at odd call indices.
    pairs = counts[0::2]
    if len(pairs) != 21 * len(variants):
        sys.exit(f"{log}: {len(pairs)} marker pairs for {len(variants)} variants (want 21 each)")
    for v, name in enumerate(variants):
        empty, steps = pairs[21 * v], [c - pairs[21 * v] for c in pairs[21 * v + 1:21 * v + 21]]
        if min(steps) <= 0:
            sys.exit(f"{name}: a step counted {min(steps)} instructions beyond the empty pair")
        mean = sum(steps) / len(steps)
        print(f"{name:<28} mean {mean:>10.0f}  min {min(steps):>8}  max {max(steps):>8}  (empty pair {empty})")


if __name__ == "__main__":
    main()
