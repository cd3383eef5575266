"""Read a GNU ld link map (-Wl,-Map): every input section the linker placed or discarded.
Shared by scripts/size.sh (footprint per object) and bench/bench_baremetal.py (the firmware).
"""
from __future__ import annotations

import re
from typing import Iterator, NamedTuple


class InputSection(NamedTuple):
    part: str          # "map" (placed) or "discarded"
    osec: str | None   # output section (None in the discarded list)
    isec: str          # input section name ("*fill*" for alignment)
    size: int
    file: str          # the object or archive member it came from


def input_sections(mapfile) -> Iterator[InputSection]:
    """Input sections in map order. An input section name too long for its column is on a
    line of its own, followed by a line with address, size and file; the line after a
    merged-strings section ("size before relaxing") has no section and is skipped."""
    osec = pending = None
    part = None
    with open(mapfile) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("Discarded input sections"):
                part = "discarded"
                continue
            if line.startswith("Linker script and memory map"):
                part, osec = "map", None
                continue
            if part is None:
                continue
            m = re.match(r"^(\S+)", line)
            if m:
                osec, pending = m.group(1), None
                continue
            m = re.match(r"^ (\S+)\s*$", line)
            if m:
                pending = m.group(1)
                continue
            m = re.match(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            isec = (m.group(1) or pending) if m else None
            pending = None
            if not m or isec is None:
                continue
            yield InputSection(part, osec if part == "map" else None, isec,
                               int(m.group(3), 16), m.group(4).strip())


def output_sections(mapfile) -> dict[str, int]:
    """Size of every output section (".text 0x... 0x..." lines of the memory map)."""
    out = {}
    started = False
    with open(mapfile) as f:
        for line in f:
            if line.startswith("Linker script and memory map"):
                started = True
            elif started:
                m = re.match(r"^(\.\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)", line)
                if m:
                    out[m.group(1)] = int(m.group(3), 16)
    return out
