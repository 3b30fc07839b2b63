#!/usr/bin/env python3
"""Grows an unsigned PE/COFF image to a given size with one extra section of random data.

    bench/grow-pe.py UNSIGNED.efi OUT.efi SIZE_MIB

The section is appended the way a linker would lay it out: its header goes into the free room
after the section table (inside SizeOfHeaders), its raw data at the end of the file, its virtual
address after the last section's, and NumberOfSections and SizeOfImage are updated. So the
result keeps the strict profile's layout (no gaps, no overlaps) and every signer and verifier
hashes the new bytes. objcopy --add-section is not used because it rewrites the layout of
bzImage PEs (it puts the new section first, at virtual address 0).
"""
import os
import struct
import sys

SECTION_HEADER = 40
# IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ
CHARACTERISTICS = 0x00000040 | 0x40000000


def align(value, alignment):
    return (value + alignment - 1) // alignment * alignment


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    source, target, size_mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
    image = bytearray(open(source, "rb").read())

    pe = struct.unpack_from("<I", image, 0x3C)[0]
    if image[pe:pe + 4] != b"PE\0\0":
        sys.exit(f"{source}: not a PE image")
    sections, optional_size = struct.unpack_from("<H", image, pe + 6)[0], struct.unpack_from("<H", image, pe + 20)[0]
    optional = pe + 24
    section_alignment, file_alignment = struct.unpack_from("<II", image, optional + 32)
    size_of_headers = struct.unpack_from("<I", image, optional + 60)[0]
    data_directories = optional + (112 if struct.unpack_from("<H", image, optional)[0] == 0x20B else 96)
    security_directory = struct.unpack_from("<II", image, data_directories + 4 * 8)
    if security_directory != (0, 0):
        sys.exit(f"{source}: signed; remove the signature first (sbattach --remove)")

    table = optional + optional_size
    new_header = table + sections * SECTION_HEADER
    # Free room is padding: zeros, or 0xff in a bzImage (its setup header starts at 0x1f1).
    room = image[new_header:new_header + SECTION_HEADER]
    bzimage = image[0x202:0x206] == b"HdrS"
    if new_header + SECTION_HEADER > (0x1F1 if bzimage else size_of_headers) or len(set(room)) != 1 \
            or room[0] not in (0x00, 0xFF):
        sys.exit(f"{source}: no free room for another section header")
    end_va = 0
    end_raw = 0
    for i in range(sections):
        virtual_size, va, raw_size, raw = struct.unpack_from("<IIII", image, table + i * SECTION_HEADER + 8)
        end_va = max(end_va, va + max(virtual_size, raw_size))
        end_raw = max(end_raw, raw + raw_size)
    if end_raw != len(image):
        sys.exit(f"{source}: data after the last section; the new section would leave a gap")

    va = align(end_va, section_alignment)
    raw = align(len(image), file_alignment)
    data_size = align(max(size_mib * 1024 * 1024 - raw, file_alignment), file_alignment)
    struct.pack_into("<8sIIIIIIHHI", image, new_header, b".bench", data_size, va, data_size, raw,
                     0, 0, 0, 0, CHARACTERISTICS)
    struct.pack_into("<H", image, pe + 6, sections + 1)
    struct.pack_into("<I", image, optional + 56, align(va + data_size, section_alignment))

    with open(target + ".tmp", "wb") as out:
        out.write(image)
        out.write(bytes(raw - len(image)))
        left = data_size
        while left:
            chunk = min(left, 16 << 20)
            out.write(os.urandom(chunk))
            left -= chunk
    os.replace(target + ".tmp", target)


if __name__ == "__main__":
    main()
