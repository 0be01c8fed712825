#!/usr/bin/env python3
"""Compare the report lines of two runs (host reference vs firmware).

usage: cmp_lines.py PREFIX ABS_TOL EXPECTED.txt ACTUAL.txt

Takes the lines starting with PREFIX from both files; they must be equally many and pair up
token by token. Tokens of exactly 8 hex digits are IEEE-754 f32 bit patterns: they must be
finite and within ABS_TOL of each other. Every other token must be equal. Prints the number
of lines and floats compared and the largest difference; exits 1 on any mismatch (showing
the first), 2 on usage errors or if no line has the prefix.
"""
import math
import re
import struct
import sys

HEX = re.compile(r"^[0-9a-f]{8}$")


def f32(token):
    return struct.unpack("<f", struct.pack("<I", int(token, 16)))[0]


def lines(path, prefix):
    with open(path, encoding="utf-8", errors="replace") as f:
        return [l.split() for l in f if l.startswith(prefix)]


def main(argv):
    if len(argv) != 5:
        print(__doc__)
        return 2
    prefix, tol, expected_path, actual_path = argv[1], float(argv[2]), argv[3], argv[4]
    expected, actual = lines(expected_path, prefix), lines(actual_path, prefix)
    if not expected:
        print(f"no line starts with {prefix!r} in {expected_path}")
        return 2
    if len(expected) != len(actual):
        print(f"{prefix!r}: {len(expected)} lines in {expected_path}, {len(actual)} in {actual_path}")
        return 1
    worst, floats = 0.0, 0
    for n, (e, a) in enumerate(zip(expected, actual), 1):
        if len(e) != len(a):
            print(f"line {n}: {len(e)} vs {len(a)} tokens:\n  {' '.join(e)}\n  {' '.join(a)}")
            return 1
        for te, ta in zip(e, a):
            if HEX.match(te) and HEX.match(ta):
                x, y = f32(te), f32(ta)
                floats += 1
                if not (math.isfinite(x) and math.isfinite(y)):
                    print(f"line {n}: non-finite value {te} / {ta}")
                    return 1
                d = abs(x - y)
                worst = max(worst, d)
                if d > tol:
                    print(f"line {n}: |{x!r} - {y!r}| = {d:.3g} > {tol}:\n  {' '.join(e)}\n  {' '.join(a)}")
                    return 1
            elif te != ta:
                print(f"line {n}: {te!r} != {ta!r}:\n  {' '.join(e)}\n  {' '.join(a)}")
                return 1
    print(f"{prefix!r}: {len(expected)} lines, {floats} floats, max |difference| {worst:.3g} (tolerance {tol})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
