#!/usr/bin/env python3
"""CET-IBT check of a relocatable object (the freestanding core, `ld -r --whole-archive`).

Xen builds with -fcf-protection=branch -mmanual-endbr: a function starts with ENDBR64 only if
it is marked cf_check (HVSIG_CF_CHECK), and an indirect call or jump to a function without one
faults. A function is reachable indirectly when its address is taken, which in an object file
is a relocation against it that is not a direct call or jump: a pointer in data (R_X86_64_64) or
a RIP-relative `lea` in code (R_X86_64_PC32). The assembler resolves a `lea` of a function in
the same section without any relocation, so the disassembly is read as well: an instruction
other than a call or jump whose operand is exactly a function's start takes its address. This
script finds every such function and fails if one lacks ENDBR64. It also lists functions that carry ENDBR64 without being address-taken here
(an embedder may take their address, e.g. MemoryImage::View through MemoryImage::Source; each
ENDBR64 is an indirect-branch landing pad, so the list should stay short) and counts indirect
call sites (calls and jumps through the retpoline thunks).

usage: freestanding_ibt.py OBJECT
"""
import re
import struct
import subprocess
import sys

ENDBR64 = b"\xf3\x0f\x1e\xfa"
SHT_SYMTAB, SHT_RELA = 2, 4
SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4
STT_FUNC, STT_SECTION = 2, 3
R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32, R_X86_64_32S = 1, 2, 4, 10, 11
# Opcodes whose rel32 operand is a branch target, not an address taken: call, jmp, jcc.
DIRECT_BRANCH_OPCODES = (b"\xe8", b"\xe9")


class Elf:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise SystemExit(f"{path}: not a little-endian ELF64 file")
        (shoff,) = struct.unpack_from("<Q", d, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
        self.sections = []
        for i in range(shnum):
            name, stype, flags, _addr, offset, size, link, info, _align, entsize = struct.unpack_from(
                "<IIQQQQIIQQ", d, shoff + i * shentsize)
            self.sections.append(dict(name=name, type=stype, flags=flags, offset=offset,
                                      size=size, link=link, info=info, entsize=entsize))
        strtab = self.sections[shstrndx]
        for s in self.sections:
            s["name"] = self.string(strtab, s["name"])
        symtab_index = next(i for i, s in enumerate(self.sections) if s["type"] == SHT_SYMTAB)
        symtab = self.sections[symtab_index]
        names = self.sections[symtab["link"]]
        self.symbols = []
        for off in range(symtab["offset"], symtab["offset"] + symtab["size"], 24):
            name, info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", d, off)
            self.symbols.append(dict(name=self.string(names, name), type=info & 0xF,
                                     shndx=shndx, value=value, size=size))

    def string(self, section, offset):
        start = section["offset"] + offset
        return self.data[start:self.data.index(b"\0", start)].decode()

    def bytes_at(self, shndx, offset, length):
        s = self.sections[shndx]
        return self.data[s["offset"] + offset:s["offset"] + offset + length]

    def relocations(self):
        """(section index the relocation applies to, offset, type, symbol, addend)."""
        for s in self.sections:
            if s["type"] != SHT_RELA:
                continue
            target = s["info"]
            if not self.sections[target]["flags"] & SHF_ALLOC:
                continue  # debug information
            for off in range(s["offset"], s["offset"] + s["size"], 24):
                r_offset, r_info, addend = struct.unpack_from("<QQq", self.data, off)
                yield target, r_offset, r_info & 0xFFFFFFFF, self.symbols[r_info >> 32], addend


OBJDUMP_TARGET = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s.*# ([0-9a-f]+) <([^>+]+)>$")
OBJDUMP_SECTION = re.compile(r"^Disassembly of section (\S+):$")


def code_address_operands(path, elf):
    """(section index, target offset, where) for instructions that are no call or jump and whose
    RIP-relative operand the disassembler names as a symbol's start."""
    index = {s["name"]: i for i, s in enumerate(elf.sections)}
    out = subprocess.run(["objdump", "-d", "-w", "--no-show-raw-insn", path], capture_output=True,
                         text=True, check=True).stdout
    section = None
    for line in out.splitlines():
        m = OBJDUMP_SECTION.match(line)
        if m:
            section = index.get(m.group(1))
            continue
        m = OBJDUMP_TARGET.match(line)
        if m and section is not None:
            mnemonic = m.group(2)
            if mnemonic.startswith("j") or mnemonic.startswith("call"):
                continue
            yield section, int(m.group(3), 16), f"{elf.sections[section]['name']}+{int(m.group(1), 16):#x}"


def demangle(names):
    if not names:
        return {}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return dict(zip(names, out))


def verdict(check, failures):
    """Prints each failure and the check's verdict line; returns the exit status."""
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"{check} check: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    elf = Elf(sys.argv[1])
    functions = {}  # (section, offset) -> name
    for sym in elf.symbols:
        if sym["type"] == STT_FUNC and 0 < sym["shndx"] < len(elf.sections):
            functions.setdefault((sym["shndx"], sym["value"]), sym["name"])

    taken = {}  # (section, offset) -> first place that takes the address
    unresolved = []
    indirect_calls = 0
    for section, offset, rtype, sym, addend in elf.relocations():
        in_code = elf.sections[section]["flags"] & SHF_EXECINSTR
        if elf.sections[section]["name"].startswith(".eh_frame"):
            continue  # unwind tables describe code, they do not call it
        if rtype == R_X86_64_PLT32:
            if sym["name"].startswith("__x86_indirect_thunk_"):
                indirect_calls += 1
            continue
        if sym["type"] not in (STT_FUNC, STT_SECTION) or not 0 < sym["shndx"] < len(elf.sections):
            continue
        if not elf.sections[sym["shndx"]]["flags"] & SHF_EXECINSTR:
            continue  # data
        if rtype == R_X86_64_PC32:
            if in_code and elf.bytes_at(section, offset - 1, 1) in DIRECT_BRANCH_OPCODES:
                continue
            # A RIP-relative operand: the address is P + 4 + (S + A - P) for an instruction
            # that ends with its displacement (lea, mov), which is how code takes an address.
            target = sym["value"] + addend + 4
        elif rtype in (R_X86_64_64, R_X86_64_32, R_X86_64_32S):
            target = sym["value"] + addend
        else:
            unresolved.append(f"relocation type {rtype} at {elf.sections[section]['name']}+{offset:#x}")
            continue
        key = (sym["shndx"], target)
        if key not in functions:
            unresolved.append(f"code address {elf.sections[sym['shndx']]['name']}+{target:#x} "
                              f"from {elf.sections[section]['name']}+{offset:#x} is no function start")
            continue
        taken.setdefault(key, f"{elf.sections[section]['name']}+{offset:#x}")

    for key_section, target, where in code_address_operands(sys.argv[1], elf):
        if (key_section, target) in functions:
            taken.setdefault((key_section, target), where)

    with_endbr = {key for key in functions if elf.bytes_at(key[0], key[1], 4) == ENDBR64}
    names = demangle(sorted(set(functions.values())))
    missing = sorted(names[functions[k]] for k in taken if k not in with_endbr)
    marked = sorted(names[functions[k]] for k in taken if k in with_endbr)
    spare = sorted(names[functions[k]] for k in with_endbr if k not in taken)

    print(f"address-taken functions: {len(taken)}, with ENDBR64: {len(marked)}")
    for name in marked:
        print(f"  cf_check  {name}")
    for name in missing:
        print(f"  MISSING   {name}")
    print(f"ENDBR64 without an address taken in the object (embedder callbacks): {len(spare)}")
    for name in spare:
        print(f"  {name}")
    print(f"indirect call sites (retpoline thunks): {indirect_calls}")
    failures = list(unresolved)
    if missing:
        failures.insert(0, f"{len(missing)} address-taken function(s) without ENDBR64: "
                           "mark them HVSIG_CF_CHECK")
    return verdict("ibt", failures)


if __name__ == "__main__":
    sys.exit(main())
