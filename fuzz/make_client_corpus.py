#!/usr/bin/env python3
"""Seed corpus for fuzz_client: answers an upload and two requests in flight would get.

Records are [u8 flags][u8 ms][u16 BE len][frame]; flags 3 makes the harness give the frame
the header of a request in flight, so these seeds reach the upload and response logic.
Run: build/venv/bin/python fuzz/make_client_corpus.py fuzz/corpus/client
"""
import struct
import sys
from pathlib import Path

import cbor2


def rec(body, flags=3, ms=5, seq=0):
    payload = cbor2.dumps(body)
    frame = bytes([0x0B, 0, 0, len(payload), 0, 1, seq, 1]) + payload
    return struct.pack(">BBH", flags, ms, len(frame)) + frame


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seeds = {
        "acks": b"".join(rec({"off": o}, seq=i) for i, o in enumerate(range(460, 5000, 460))),
        "final_match": rec({"off": 460}) + rec({"off": 5000, "match": True}),
        "mismatch": rec({"off": 5000, "match": False}),
        "rewind": rec({"off": 460}) + rec({"off": 0}) + rec({"off": 920}),
        "errors": rec({"rc": 3}) + rec({"err": {"group": 1, "rc": 9}}),
        "timeouts": rec({"off": 460}, ms=250) + rec({}, flags=0, ms=250),
        "list": rec({"images": [{"slot": 0, "version": "1.0.0", "hash": bytes(32)}]}),
    }
    for name, data in seeds.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/client")
