#!/usr/bin/env python3
"""Seed corpora for fuzz_smp_req and fuzz_smp_rsp: one SMP frame per file.

Every message kind of the OS and image groups, as mcumgr clients send requests and as
Zephyr servers send responses: v1 and v2 headers, definite and indefinite-length maps,
shuffled keys, unknown keys, v1 `rc`/`rsn` and v2 `err` errors.
Run: build/venv/bin/python fuzz/make_smp_corpus.py fuzz/corpus
"""
import struct
import sys
from pathlib import Path

import cbor2

H32 = bytes(range(32))


def indefinite(m):
    """A map as Zephyr's zcbor encoder writes it: 0xbf ... 0xff."""
    out = b"\xbf"
    for k, v in m.items():
        out += cbor2.dumps(k) + (indefinite(v) if isinstance(v, dict) else cbor2.dumps(v))
    return out + b"\xff"


def frame(op, group, cmd, body, ver=1, seq=7, indef=False):
    payload = body if isinstance(body, bytes) else (indefinite(body) if indef else cbor2.dumps(body))
    return struct.pack(">BBHHBB", (ver << 3) | op, 0, len(payload), group, seq, cmd) + payload


REQS = {
    "echo": (2, 0, 0, {"d": "hello"}),
    "reset": (2, 0, 5, {}),
    "reset_force": (2, 0, 5, {"force": True}),
    "params": (0, 0, 6, {}),
    "info": (0, 0, 7, {"format": "snrvbmpio"}),
    "list": (0, 1, 0, {}),
    "test": (2, 1, 0, {"hash": H32, "confirm": False}),
    "confirm": (2, 1, 0, {"confirm": True}),
    "upload_first": (2, 1, 1, {"image": 0, "len": 1000, "off": 0, "sha": H32,
                               "data": bytes(range(200)), "upgrade": False}),
    "upload_next": (2, 1, 1, {"off": 200, "data": bytes(300)}),
    "upload_net": (2, 1, 1, {"image": 1, "len": 64, "off": 0, "data": bytes(64)}),
    "erase": (2, 1, 5, {"slot": 1}),
    "slot_info": (0, 1, 6, {}),
}

RSPS = {
    "echo": (3, 0, 0, {"r": "hello"}),
    "reset": (3, 0, 5, {}),
    "params": (1, 0, 6, {"buf_size": 2475, "buf_count": 4}),
    "info": (1, 0, 7, {"output": "Zephyr unknown 3.7.0 nrf5340dk"}),
    "list": (1, 1, 0, {"images": [
        {"image": 0, "slot": 0, "version": "1.2.3.4", "hash": H32, "bootable": True,
         "pending": False, "confirmed": True, "active": True, "permanent": False},
        {"image": 0, "slot": 1, "version": "1.3.0", "hash": H32[::-1], "bootable": True,
         "pending": True, "confirmed": False, "active": False, "permanent": False}],
        "splitStatus": 0}),
    "upload": (3, 1, 1, {"off": 200}),
    "upload_done": (3, 1, 1, {"off": 1000, "match": True}),
    "erase": (3, 1, 5, {}),
    "slot_info": (1, 1, 6, {"images": [{"image": 0, "slots": [
        {"slot": 0, "size": 475136}, {"slot": 1, "size": 475136, "upload_image_id": 0}],
        "max_image_size": 475088}]}),
    "err_v1": (3, 1, 1, {"rc": 3, "rsn": "bad offset"}),
    "err_v2": (3, 1, 0, {"err": {"group": 1, "rc": 9}}),
    "unknown_keys": (1, 0, 6, {"x": [1, {"y": 2}], "buf_count": 4, "buf_size": 384}),
}


def main(root):
    root = Path(root)
    for kind, table, seq in (("smp_req", REQS, 3), ("smp_rsp", RSPS, 9)):
        out = root / kind
        out.mkdir(parents=True, exist_ok=True)
        for name, (op, group, cmd, body) in table.items():
            (out / f"{name}_v2").write_bytes(frame(op, group, cmd, body, seq=seq))
            (out / f"{name}_v1").write_bytes(frame(op, group, cmd, body, ver=0, seq=seq))
            (out / f"{name}_indef").write_bytes(frame(op, group, cmd, body, seq=seq, indef=True))
            shuffled = dict(reversed(list(body.items())))
            (out / f"{name}_shuffled").write_bytes(frame(op, group, cmd, shuffled, seq=seq))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus")
