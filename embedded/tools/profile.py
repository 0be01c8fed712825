#!/usr/bin/env python3
"""Where a measured step's instructions go: sums the `pc 0xADDR <count>` lines of the QEMU
plugin's profile mode (embedded/tools/insncount.c, `from=`/`to=`) per function of the ELF,
and prints the hottest instructions of the hottest functions beside their disassembly.

usage: profile.py OBJDUMP ELF PLUGIN_OUTPUT [TOP_INSNS]
"""
import re
import subprocess
import sys


def main():
    objdump, elf, log = sys.argv[1:4]
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    counts = {}
    with open(log) as f:
        for line in f:
            m = re.match(r"pc 0x([0-9a-f]+) (\d+)$", line.strip())
            if m:
                counts[int(m.group(1), 16)] = int(m.group(2))
    if not counts:
        sys.exit(f"{log}: no `pc` lines (was the plugin given from= and to=?)")
    dis = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", elf],
                         capture_output=True, text=True, check=True).stdout
    head = re.compile(r"^([0-9a-f]+) <(.*)>:$")
    insn = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
    func, per_func, text = None, {}, {}
    for line in dis.splitlines():
        m = head.match(line)
        if m:
            func = re.sub(r"::h[0-9a-f]{16}$", "", m.group(2))
            continue
        m = insn.match(line)
        if m and func is not None:
            pc = int(m.group(1), 16)
            n = counts.get(pc, 0)
            if n:
                per_func[func] = per_func.get(func, 0) + n
                text[pc] = (func, m.group(1) + ": " + m.group(2).strip())
    total = sum(counts.values())
    print(f"total {total} instructions")
    for name, n in sorted(per_func.items(), key=lambda kv: -kv[1]):
        print(f"{n:>10} {100 * n / total:5.1f}%  {name}")
    print(f"\nhottest {top} instructions:")
    for pc, n in sorted(counts.items(), key=lambda kv: -kv[1])[:top]:
        func, t = text.get(pc, ("?", f"{pc:x}"))
        print(f"{n:>10}  {t}")


if __name__ == "__main__":
    main()
