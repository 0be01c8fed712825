#!/usr/bin/env python3
"""Static checks of a firmware ELF (Arm Thumb or RISC-V), from its disassembly (direct calls
and branches only; the step functions use no function pointers or vtables, so the graph below
them is complete). `stack` reads Arm prologues for functions without recorded sizes: Arm only.

usage:
  elfcheck.py reach  OBJDUMP ELF ROOT_REGEX      exit 1 if a panic path is reachable from ROOT
  elfcheck.py size   OBJDUMP NM ELF ROOT_REGEX   bytes of code reachable from ROOT (incl. ROOT)
  elfcheck.py stack  OBJDUMP READOBJ ELF ROOT_REGEX
        worst-case stack of a call from ROOT: the deepest path of frame sizes from
        `-Z emit-stack-sizes` (the ELF must be built with it); exit 1 if a reachable
        function has no recorded size or the graph has a cycle.

ROOT_REGEX matches demangled symbol names without their hash (Python re.search); several
matches are all roots. A function counts as a panic path if that name matches PANIC below.
Functions are told apart by their full demangled name, hash included, so the instances of a
generic function (same name, different hash) are separate nodes: `size` counts each
instance reachable from ROOT, `stack` takes each one's own frame.
"""
import re
import subprocess
import sys

PANIC = re.compile(r"panic|unwind|unwrap_failed|expect_failed|slice_index|index_out_of_bounds|"
                   r"assert_failed|abort|fail", re.I)


HASH = re.compile(r"::h[0-9a-f]{16}$")


def clean(name):
    """A symbol name without the legacy-mangling hash suffix (`::h0123456789abcdef`)."""
    return HASH.sub("", name.strip())


def call_graph(objdump, elf):
    out = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", elf],
                         capture_output=True, text=True, check=True).stdout
    graph, cur = {}, None
    head = re.compile(r"^([0-9a-f]+) <(.*)>:$")
    # GNU: "bl  12e4 <name>"; LLVM: "bl  0x12e4 <name+0x10> @ imm = #..."
    branch = re.compile(r"\s(?:bl|blx|b|b\.w|b\.n|b(?:eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le)"
                        r"(?:\.[nw])?|cbz|cbnz)\s+(?:r\d+,\s*)?(?:0x)?[0-9a-f]+ <(.+)>(?:\s*@.*)?$")
    # RISC-V (LLVM): "jal 0x8000_0148 <name>", "jalr -0x54c(ra) <name>" (the auipc + jalr
    # pair of a call), "jr 0x22(t1) <name>" (a tail call), "bnez a4, 0x8000_019e <name+0x56>".
    rv_branch = re.compile(r"\s(?:jal|jalr|j|jr|beqz|bnez|blez|bgez|bltz|bgtz|beq|bne|blt|bge|bltu|bgeu)"
                           r"\s+(?:[a-z][a-z0-9]*,\s*)*-?0x[0-9a-f]+(?:\([a-z][a-z0-9]*\))?\s+<(.+)>$")
    offset = re.compile(r"\+0x[0-9a-f]+$")
    for line in out.splitlines():
        m = head.match(line)
        if m:
            cur = m.group(2).strip()
            graph.setdefault(cur, set())
            continue
        m = branch.search(line) or rv_branch.search(line)
        if cur is not None and m:
            target = offset.sub("", m.group(1)).strip()
            if target != cur:
                graph[cur].add(target)
    return graph


def prologue_frames(objdump, elf):
    """Stack bytes each function's prologue reserves (push, vpush, sub sp), for functions
    built without -Z emit-stack-sizes (precompiled compiler_builtins, e.g. memcpy)."""
    out = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", elf],
                         capture_output=True, text=True, check=True).stdout
    frames, cur, n = {}, None, 0
    head = re.compile(r"^([0-9a-f]+) <(.*)>:$")
    for line in out.splitlines():
        m = head.match(line)
        if m:
            cur, n = m.group(2).strip(), 0
            frames[cur] = 0
            continue
        if cur is None or n >= 6:  # the prologue is within the first few instructions
            continue
        n += 1
        m = re.search(r"\s(push(?:\.w)?|vpush)\s+\{([^}]*)\}", line)
        if m:
            regs = 0
            for part in m.group(2).split(","):
                part = part.strip()
                r = re.match(r"([rsd])(\d+)\s*-\s*[rsd](\d+)", part)
                count = int(r.group(3)) - int(r.group(2)) + 1 if r else 1
                width = 8 if part.startswith("d") else 4
                regs += count * width
            frames[cur] += regs
            continue
        m = re.search(r"\ssub(?:\.w)?\s+sp,\s*(?:sp,\s*)?#(0x[0-9a-f]+|\d+)", line)
        if m:
            frames[cur] += int(m.group(1), 0)
    return frames


def reachable(graph, root_re):
    roots = [f for f in graph if re.search(root_re, clean(f))]
    seen, todo = set(), list(roots)
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend(graph.get(f, ()))
    return roots, seen


def cmd_reach(objdump, elf, root_re):
    graph = call_graph(objdump, elf)
    roots, seen = reachable(graph, root_re)
    if not roots:
        print(f"no function matches {root_re!r}")
        return 1
    bad = sorted({clean(f) for f in seen if PANIC.search(clean(f))})
    print(f"roots: {sorted(clean(f) for f in roots)}")
    print(f"reachable ({len(seen)} functions): {sorted({clean(f) for f in seen})}")
    if bad:
        print(f"PANIC PATHS reachable: {bad}")
        return 1
    print("no panic path reachable")
    return 0


def symbol_sizes(nm, elf):
    out = subprocess.run([nm, "-C", "-S", elf], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in "tTwW":
            sizes[parts[3].strip()] = int(parts[1], 16)
    return sizes


def cmd_size(objdump, nm, elf, root_re):
    graph = call_graph(objdump, elf)
    roots, seen = reachable(graph, root_re)
    if not roots:
        print(f"no function matches {root_re!r}")
        return 1
    sizes = symbol_sizes(nm, elf)
    total = 0
    for f in sorted(seen, key=lambda f: -sizes.get(f, 0)):
        print(f"  {sizes.get(f, 0):6d}  {clean(f)}")
        total += sizes.get(f, 0)
    print(f"code bytes reachable from {root_re}: {total}")
    return 0


def stack_sizes(readobj, elf):
    out = subprocess.run([readobj, "--stack-sizes", "--demangle", elf],
                         capture_output=True, text=True, check=True).stdout
    sizes, funcs = {}, None
    for line in out.splitlines():
        m = re.search(r"Functions: \[(.*)\]", line)
        if m:
            funcs = [f.strip() for f in m.group(1).split(", ")] if m.group(1) else []
            # names with ", " inside generics: keep the whole string too
            funcs.append(m.group(1).strip())
            continue
        m = re.search(r"Size: 0x([0-9A-Fa-f]+)", line)
        if m and funcs is not None:
            for f in funcs:
                sizes[f] = int(m.group(1), 16)
            funcs = None
    return sizes


def cmd_stack(objdump, readobj, elf, root_re):
    graph = call_graph(objdump, elf)
    roots, seen = reachable(graph, root_re)
    if not roots:
        print(f"no function matches {root_re!r}")
        return 1
    frames = stack_sizes(readobj, elf)
    if not frames:
        print("the ELF has no .stack_sizes section (build it with -Z emit-stack-sizes)")
        return 1
    estimated = prologue_frames(objdump, elf)
    for f in sorted(f for f in seen if f not in frames):
        frames[f] = estimated.get(f, 0)
        print(f"  {clean(f)}: not compiled with -Z emit-stack-sizes; prologue reserves {frames[f]} B")
    memo, onpath = {}, set()

    def worst(f):
        if f in memo:
            return memo[f]
        if f in onpath:
            raise RecursionError(f)
        onpath.add(f)
        best, path = 0, []
        for g in graph.get(f, ()):
            d, p = worst(g)
            if d > best:
                best, path = d, p
        onpath.discard(f)
        memo[f] = (frames[f] + best, [f] + path)
        return memo[f]

    try:
        results = [worst(r) for r in roots]
    except RecursionError as e:
        print(f"recursion through {e}: no static bound")
        return 1
    depth, path = max(results)
    print("worst path: " + " -> ".join(f"{clean(f)} ({frames[f]})" for f in path))
    print(f"static worst-case stack from {root_re}: {depth}")
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "reach" and len(args) == 3:
        return cmd_reach(*args)
    if cmd == "size" and len(args) == 4:
        return cmd_size(*args)
    if cmd == "stack" and len(args) == 4:
        return cmd_stack(*args)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
