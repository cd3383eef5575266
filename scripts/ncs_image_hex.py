#!/usr/bin/env python3
"""Put a signed MCUboot image where the NCS master sample reads it: an Intel HEX file whose
addresses are the partition "smpfota-image" of the DK's MX25R64, as the nRF5340 maps its QSPI
flash (XIP window at 0x10000000), so that a programmer writes it to the external flash:

    python3 scripts/ncs_image_hex.py build/target/zephyr/zephyr.signed.bin smpfota-image.hex
    nrfjprog --family NRF53 --program smpfota-image.hex --qspisectorerase --verify

The partition's offset is read from samples/ncs/common/nrf5340dk_partitions.dtsi, the file
the master is built with (docs/ncs.md). The image is checked first: MCUboot magic, and the
header/TLV sizes that say how long it is, must fit the partition.
"""
import argparse
import re
import struct
import sys
from pathlib import Path

from intelhex import IntelHex

QSPI_XIP_BASE = 0x10000000  # nRF5340 QSPI XIP window (shared/spec/mcuboot.md §5.1)
IMAGE_MAGIC = 0x96F3B83D
TLV_INFO_MAGIC = 0x6907
TLV_PROT_INFO_MAGIC = 0x6908
DTSI = Path(__file__).resolve().parent.parent / "samples/ncs/common/nrf5340dk_partitions.dtsi"


def partition(dtsi: Path, label: str = "smpfota_image_partition") -> tuple:
    """(offset, size) of a partition node: reg = <0xOFF DT_SIZE_K(n)> or <0xOFF 0xSIZE>."""
    text = dtsi.read_text()
    m = re.search(label + r":\s*partition@[0-9a-fA-F]+\s*{[^}]*?reg\s*=\s*<\s*(0x[0-9a-fA-F]+)\s+"
                  r"(?:DT_SIZE_K\((\d+)\)|(0x[0-9a-fA-F]+))\s*>", text, re.S)
    if not m:
        raise ValueError(f"{label} not found in {dtsi}")
    size = int(m.group(2)) * 1024 if m.group(2) else int(m.group(3), 16)
    return int(m.group(1), 16), size


def image_length(data: bytes) -> int:
    """Header + body + TLV areas, as MCUboot lays them out; ValueError if it is not one."""
    if len(data) < 32:
        raise ValueError("shorter than an MCUboot header")
    magic, _, hdr_size, prot_size, img_size = struct.unpack_from("<IIHHI", data, 0)
    if magic != IMAGE_MAGIC:
        raise ValueError("not an MCUboot image (magic)")
    off = hdr_size + img_size
    if prot_size:
        if struct.unpack_from("<HH", data, off)[0] != TLV_PROT_INFO_MAGIC:
            raise ValueError("protected TLV area missing")
        off += prot_size
    if off + 4 > len(data):
        raise ValueError("truncated before the TLV area")
    tlv_magic, tlv_len = struct.unpack_from("<HH", data, off)
    if tlv_magic != TLV_INFO_MAGIC:
        raise ValueError("TLV info magic missing")
    end = off + tlv_len
    if end > len(data):
        raise ValueError("truncated TLV area")
    return end


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("image", type=Path, help="signed MCUboot image (zephyr.signed.bin)")
    ap.add_argument("hex", type=Path, help="Intel HEX to write")
    ap.add_argument("--dtsi", type=Path, default=DTSI, help="partition layout (default: %(default)s)")
    a = ap.parse_args(argv)
    data = a.image.read_bytes()
    try:
        length = image_length(data)
        off, size = partition(a.dtsi)
    except ValueError as e:
        print(f"ncs_image_hex: {e}", file=sys.stderr)
        return 1
    if length > size:
        print(f"ncs_image_hex: image of {length} bytes does not fit the {size}-byte partition",
              file=sys.stderr)
        return 1
    ih = IntelHex()
    ih.frombytes(data[:length], offset=QSPI_XIP_BASE + off)
    ih.write_hex_file(str(a.hex))
    print(f"{a.hex}: {length} bytes at 0x{QSPI_XIP_BASE + off:08x} "
          f"(MX25R64 offset 0x{off:x}, partition smpfota-image)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
