#!/usr/bin/env python3
"""Regenerate the seed corpus of fuzz_image in fuzz/corpus/image/.

    build/venv/bin/python fuzz/make_image_corpus.py

Each seed is one selector byte (chunking of the fuzz target) followed by an image: small
images signed by imgtool (256-byte payloads, keys made in a temporary directory and thrown
away), and a few built by hand here for corners imgtool does not produce.
"""
from __future__ import annotations

import hashlib
import struct
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
import make_test_image as mti  # noqa: E402

OUT = HERE / "corpus" / "image"


HASH_TLVS = {"sha256": 0x10, "sha384": 0x11, "sha512": 0x12}


def hand_image(body: bytes, prot: list[tuple[int, bytes]] = (), unprot_extra=(),
               hdr_size: int = 32, sha_count: int = 1, hashes=("sha256",)) -> bytes:
    """Header + body + optional protected TLVs + hash TLV(s) + extra TLVs."""
    prot_area = b""
    if prot:
        tlvs = b"".join(struct.pack("<HH", t, len(v)) + v for t, v in prot)
        prot_area = struct.pack("<HH", 0x6908, 4 + len(tlvs)) + tlvs
    hdr = struct.pack("<IIHHIIBBHII", 0x96F3B83D, 0, hdr_size, len(prot_area), len(body), 0,
                      1, 2, 3, 4, 0)
    hashed = hdr + b"\xff" * (hdr_size - 32) + body + prot_area
    tlvs = b""
    for h in hashes:
        digest = hashlib.new(h, hashed).digest()
        tlvs += (struct.pack("<HH", HASH_TLVS[h], len(digest)) + digest) * sha_count
    tlvs += b"".join(struct.pack("<HH", t, len(v)) + v for t, v in unprot_extra)
    return hashed + struct.pack("<HH", 0x6907, 4 + len(tlvs)) + tlvs


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*"):
        old.unlink()
    seeds: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        signed = [
            ("ecdsa", dict(key_type="ecdsa-p256", version="1.2.3+4")),
            ("ed25519-sauto", dict(key_type="ed25519", version="0.0.0", security_counter="auto")),
            ("rsa", dict(key_type="rsa-2048", version="2.0.0+1")),
            ("unsigned-custom", dict(key_type=None, version="9.8.7+6",
                                     custom_tlvs=[(0xA0, "0x1234"), (0xA1, "x")])),
            ("ed25519-pure", dict(key_type="ed25519", version="1.0.0", extra_args=["--pure"])),
            ("ecdsa-p384", dict(key_type="ecdsa-p384", version="1.0.0")),  # SHA384 TLV
            ("ed25519-sha512", dict(key_type="ed25519", version="1.0.0",
                                    extra_args=["--sha", "512"])),
            ("unsigned-sha384", dict(key_type=None, version="1.0.0", extra_args=["--sha", "384"])),
            ("padded", dict(key_type=None, version="1.0.0", pad=True, slot_size=0x1000,
                            extra_args=["--max-sectors", "4"])),
        ]
        for i, (name, kw) in enumerate(signed):
            img = mti.make_image(tmp / f"{name}.bin", size=256, seed=i, key_dir=tmp / "keys",
                                 header_size=0x20, **kw)
            seeds[name] = img.read_bytes()
    seeds["hand-minimal"] = hand_image(b"")
    seeds["hand-prot"] = hand_image(bytes(range(64)), prot=[(0x50, b"\x01\0\0\0"), (0xA5, b"z")],
                                    hdr_size=0x40)
    seeds["hand-two-sha-extra"] = hand_image(b"abc" * 20, sha_count=2,
                                             unprot_extra=[(0x01, b"k" * 32), (0x22, b"s" * 70)])
    seeds["hand-truncated"] = hand_image(b"\x55" * 40)[:-7]
    seeds["hand-sha256-and-sha384"] = hand_image(b"xyz" * 30, hashes=("sha256", "sha384"))
    seeds["hand-sha512-then-sha256"] = hand_image(b"q" * 50, hashes=("sha512", "sha256"))

    # Different selector bytes give different chunkings.
    for i, (name, data) in enumerate(sorted(seeds.items())):
        (OUT / f"{name}.bin").write_bytes(bytes([(i * 37) & 0xFF]) + data)
    print(f"{len(seeds)} seeds in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
