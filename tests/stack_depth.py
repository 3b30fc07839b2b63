#!/usr/bin/env python3
"""Worst-case stack depth of the freestanding core, from GCC's -fcallgraph-info=su output.

Each object's .ci file (VCG) lists the functions it defines with their frame size (the same
figure as -fstack-usage) and the calls they make. The depth of a function is its frame plus the
deepest of its callees, plus 8 bytes for each call's return address. Calls leave the core in
three ways, reported separately rather than guessed:
  - external functions (memcpy, memset, memcmp, the retpoline thunks): the embedder's, counted
    as 0 bytes; the embedder adds its own (a few bytes for each);
  - indirect calls: the call site's source names the function pointer (`provider.verify_ecdsa(`,
    `source.view(`, `known.read(`); with OBJECT given, it resolves to the functions of OBJECT
    that start with ENDBR64 (under CET-IBT with -mmanual-endbr nothing else can be reached
    indirectly; see tests/freestanding_ibt.py) and whose name contains the pointer's name in
    CamelCase (verify_ecdsa: builtin::VerifyEcdsa; view: MemoryImage::View; read: the x509
    extension readers Read*). A pointer no name matches (a parameter such as sbat.cpp's
    `predicate`) resolves to the ENDBR64 functions of the caller's own file; with none there
    (should_yield) it is the embedder's callback, counted as 0 bytes and listed;
  - recursion: a call cycle has no static bound. Cycles are listed and fail the check; the
    depth is computed without their back edges.

usage: stack_depth.py OBJECT_ROOT [OBJECT] [--max BYTES] [--entry SYMBOL ...]
  OBJECT_ROOT  directory searched for *_fs.dir/*.ci
  OBJECT       the linked relocatable core (for the indirect-call targets)
  --max        fail if the worst depth from any entry exceeds BYTES
  --entry      report the depth of these functions (mangled or demangled prefix)
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from freestanding_ibt import ENDBR64, STT_FUNC, Elf, verdict  # noqa: E402

RETURN_ADDRESS = 8
INDIRECT = "__indirect_call"
NODE = re.compile(r'^node: \{ title: "([^"]+)" label: "([^"]*)"(.*)\}$')
EDGE = re.compile(r'^edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"(?: label: "([^"]+)")?')
POINTER_CALL = re.compile(r"([A-Za-z_]\w*)\s*\($")
POINTER_CALL_AHEAD = re.compile(r"[.>]\s*([A-Za-z_]\w*)\s*\(")
FRAME = re.compile(r"\\n(\d+) bytes \(([a-z,]+)\)$")


def read_graphs(root):
    """functions: key -> frame; calls: key -> set of callee names; key = (file, name)."""
    frames, calls, defined_in, sites = {}, {}, {}, {}
    files = sorted(os.path.join(d, f) for d, _, names in os.walk(root) if d.endswith("_fs.dir")
                   for f in names if f.endswith(".ci"))
    for path in files:
        local = {}
        edges = []
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                m = NODE.match(line)
                if m:
                    frame = FRAME.search(m.group(2))
                    if frame:
                        local[m.group(1)] = int(frame.group(1))
                    continue
                m = EDGE.match(line)
                if m:
                    edges.append((m.group(1), m.group(2), m.group(3)))
        for name, frame in local.items():
            key = (path, name)
            frames[key] = frame
            calls[key] = set()
            defined_in.setdefault(name, []).append(key)
        for source, target, location in edges:
            calls[(path, source)].add(target)
            if target == INDIRECT and location:
                sites.setdefault((path, source), set()).add(location)
    return files, frames, calls, defined_in, sites


def pointer_name(location):
    """The function pointer an indirect call at file:line:column goes through, read from the
    source: the member before the call's '(' (the column), or the first member call after it
    (the column of a macro such as HVSIG_TRY)."""
    path, line, column = location.rsplit(":", 2)
    with open(path) as f:
        text = f.read().splitlines()[int(line) - 1]
    column = int(column) - 1
    if text[column:column + 1] == "(":
        m = POINTER_CALL.search(text[:column + 1])
    else:
        m = POINTER_CALL_AHEAD.search(text, column)
    return m.group(1) if m else None


def bare(title):
    """The symbol name of a .ci node: a function local to its file is titled "file:symbol"."""
    return title.rsplit(":", 1)[-1]


def camel_case(name):
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def unqualified(demangled):
    return demangled.replace("(anonymous namespace)", "").split("(")[0].split("::")[-1]


def resolve(path, name, defined_in):
    """The definitions a call from file path to name may reach: its own file's first (static
    functions of different files may share a mangled name), else every file's (inline functions
    emitted in several objects: the worst one counts)."""
    candidates = defined_in.get(name, [])
    if not candidates:
        # A complete-object constructor or destructor is an alias of the base one.
        candidates = defined_in.get(re.sub(r"([CD])1E", r"\g<1>2E", name), [])
    own = [key for key in candidates if key[0] == path]
    return own or candidates


def endbr_functions(object_path):
    elf = Elf(object_path)
    names = set()
    for sym in elf.symbols:
        if sym["type"] == STT_FUNC and 0 < sym["shndx"] < len(elf.sections):
            if elf.bytes_at(sym["shndx"], sym["value"], 4) == ENDBR64:
                names.add(sym["name"])
    return names


def demangle(names):
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return dict(zip(names, out))


def main():
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("root")
    parser.add_argument("object", nargs="?")
    parser.add_argument("--max", type=int)
    parser.add_argument("--entry", action="append", default=[])
    args = parser.parse_args()

    files, frames, calls, defined_in, sites = read_graphs(args.root)
    if not files:
        print(f"FAIL no -fcallgraph-info output (*.ci) under {args.root}")
        return 1
    names = demangle(sorted({k[1] for k in frames}))
    endbr = endbr_functions(args.object) if args.object else set()
    unresolved_sites = []
    pointer_targets = {}  # pointer name -> definitions it may reach
    site_pointers = {}    # caller key -> pointer names
    for key, locations in sites.items():
        for location in sorted(locations):
            pointer = pointer_name(location)
            if pointer is None:
                unresolved_sites.append(location)
                continue
            site_pointers.setdefault(key, set()).add(pointer)
            if pointer not in pointer_targets:
                wanted = camel_case(pointer)
                pointer_targets[pointer] = [
                    k for k in frames
                    if bare(k[1]) in endbr and wanted in unqualified(names[k[1]])]
            if not pointer_targets[pointer]:
                pointer = f"{pointer} ({os.path.basename(location.rsplit(':', 2)[0])})"
                site_pointers[key].add(pointer)
                pointer_targets[pointer] = [k for k in frames
                                            if k[0] == key[0] and bare(k[1]) in endbr]

    external = set()
    indirect_callers = set()
    cycles = []
    depth, worst_callee = {}, {}
    state = {}  # key -> "active" | "done"

    def callees(key):
        for name in sorted(calls[key]):
            if name == INDIRECT:
                indirect_callers.add(key)
                for pointer in sorted(site_pointers.get(key, ())):
                    yield from pointer_targets[pointer]
                continue
            targets = resolve(key[0], name, defined_in)
            if not targets:
                external.add(name)
            yield from targets

    def visit(root):
        # Iterative depth-first search: the core's call chains are short, but Python's
        # recursion limit is no bound to rely on.
        stack = [(root, callees(root))]
        state[root] = "active"
        best = {root: (0, None)}
        while stack:
            key, it = stack[-1]
            advanced = False
            for callee in it:
                if state.get(callee) == "active":
                    cycles.append([k[1] for k, _ in stack[[s[0] for s in stack].index(callee):]])
                    continue
                if state.get(callee) != "done":
                    state[callee] = "active"
                    best[callee] = (0, None)
                    stack.append((callee, callees(callee)))
                    advanced = True
                    break
                below = depth[callee] + RETURN_ADDRESS
                if below > best[key][0]:
                    best[key] = (below, callee)
            if advanced:
                continue
            stack.pop()
            depth[key] = frames[key] + best[key][0]
            worst_callee[key] = best[key][1]
            state[key] = "done"
            if stack:
                parent = stack[-1][0]
                below = depth[key] + RETURN_ADDRESS
                if below > best[parent][0]:
                    best[parent] = (below, key)

    for key in sorted(frames):
        if key not in state:
            visit(key)

    def path_of(key):
        chain = []
        while key is not None:
            chain.append(key)
            key = worst_callee[key]
        return chain

    def show(title, key):
        print(f"{title}: {depth[key]} bytes")
        for k in path_of(key):
            print(f"  {frames[k]:6d}  {names[k[1]]}")

    worst = max(frames, key=lambda k: depth[k])
    show("worst call depth", worst)
    for wanted in args.entry:
        matches = [k for k in frames if k[1] == wanted or names[k[1]].startswith(wanted + "(")]
        if not matches:
            print(f"FAIL entry {wanted} not found")
            return 1
        show(f"depth from {wanted}", max(matches, key=lambda k: depth[k]))
    print(f"functions: {len(frames)}, in {len(files)} objects")
    print(f"external callees (the embedder's, 0 bytes here): {' '.join(sorted(external))}")
    print(f"functions making indirect calls: {len(indirect_callers)}, through these pointers:")
    for pointer in sorted(pointer_targets):
        targets = sorted({re.sub(r"^/[^:]*:", "", names[k[1]])
                          .replace("(anonymous namespace)::", "").split("(")[0]
                          for k in pointer_targets[pointer]})
        print(f"  {pointer}: {', '.join(targets) or '(the embedder callback only, 0 bytes here)'}")
    failures = [] if args.object else ["no OBJECT: indirect calls were not resolved"]
    failures += [f"indirect call at {location}: no function pointer found in the source"
                 for location in unresolved_sites]
    failures += ["recursion: " + " -> ".join(names.get(n, n) for n in cycle) for cycle in cycles]
    if args.max is not None and depth[worst] > args.max:
        failures.append(f"worst call depth {depth[worst]} bytes > {args.max}")
    return verdict("stack depth", failures)


if __name__ == "__main__":
    sys.exit(main())
