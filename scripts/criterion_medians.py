"""Reads criterion's medians for the table scripts (bench-table.sh, gru-table.sh).

`median_ns(root, group, variant, ident)` is the median of
`<root>/<group>/<variant>/<ident>/new/estimates.json` in ns (NaN when the bench did not
run); `fmt(ns)` prints it as the tables do (thousands separated above 100 ns, one decimal
below, `n/a` for NaN).
"""
import json
import os


def median_ns(root, group, variant, ident):
    path = os.path.join(root, group, variant, ident, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return float("nan")


def fmt(ns):
    if ns != ns:
        return "n/a"
    return f"{ns:,.0f}" if ns >= 100 else f"{ns:.1f}"
