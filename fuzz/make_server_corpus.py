#!/usr/bin/env python3
"""Seed corpus for fuzz_server: request sequences built with the `smp` package.

Each seed is one byte (bit 0: rewrite every frame to claim SMP v2) followed by records of
[u16 big-endian length][SMP frame]. The seeds walk the paths a fuzzer would take ages to
find alone: a whole valid upload, test, reset, confirm, erase, bad offsets.
Run: build/venv/bin/python fuzz/make_server_corpus.py fuzz/corpus/server
"""
import hashlib
import struct
import sys
from pathlib import Path

from smp import image_management as im
from smp import os_management as osm


def image(version=(2, 0, 0, 0), body_len=600, flip=False):
    """A small MCUboot image as fuzz_server.c's geometry takes it (32-byte header)."""
    hdr = struct.pack("<IIHHIIBBHII", 0x96F3B83D, 0, 32, 0, body_len, 0, *version, 0)
    body = bytes((i * 13) & 0xFF for i in range(body_len))
    digest = hashlib.sha256(hdr + body).digest()
    tlvs = struct.pack("<HH", 0x6907, 40) + struct.pack("<HH", 0x10, 32) + digest
    img = bytearray(hdr + body + tlvs)
    if flip:
        img[100] ^= 1
    return bytes(img)


def upload(img, chunk=300, image_no=0):
    sha = hashlib.sha256(img).digest()
    out = []
    for off in range(0, len(img), chunk):
        kw = dict(off=off, data=img[off:off + chunk])
        if off == 0:
            kw.update(len=len(img), sha=sha, image=image_no)
        out.append(im.ImageUploadWriteRequest(**kw).BYTES)
    return out


def seed(frames, v2=False):
    return bytes([1 if v2 else 0]) + b"".join(struct.pack(">H", len(f)) + f for f in frames)


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    img = image()
    h = hashlib.sha256(img[:632]).digest()  # the SHA-256 TLV value (header + body)
    seeds = {
        "os": [osm.EchoWriteRequest(d="hi").BYTES, osm.MCUMgrParametersReadRequest().BYTES,
               osm.OSApplicationInfoReadRequest(format="a").BYTES,
               osm.BootloaderInformationReadRequest(query="mode").BYTES],
        "upload_test_reset_confirm": upload(img) + [
            im.ImageStatesReadRequest().BYTES,
            im.ImageStatesWriteRequest(hash=h).BYTES,
            osm.ResetWriteRequest().BYTES,
            im.ImageStatesWriteRequest(confirm=True).BYTES,
            osm.ResetWriteRequest().BYTES],
        "upload_permanent_net": upload(img, 200, image_no=1) + [
            im.ImageStatesWriteRequest(hash=h, confirm=True).BYTES, osm.ResetWriteRequest().BYTES],
        "upload_bad_then_test": upload(image(flip=True)) + [im.ImageStatesWriteRequest(hash=h).BYTES],
        "offsets_resume_erase": upload(img)[:1] + [
            im.ImageUploadWriteRequest(off=600, data=b"x" * 10).BYTES] + upload(img)[:2] + [
            im.ImageEraseRequest(slot=1).BYTES, im.ImageEraseRequest().BYTES],
    }
    for name, frames in seeds.items():
        (out / name).write_bytes(seed(frames))
        (out / (name + "_v2")).write_bytes(seed(frames, v2=True))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/server")
