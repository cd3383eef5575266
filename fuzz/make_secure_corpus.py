"""Write the seed corpus of fuzz_secure (fuzz/corpus/secure/): the fuzzer's input format (see
fuzz/fuzz_secure.c) with the real frames of the session it opens (scripts/secure_vectors.py's
key and randoms): DATA frames each way under counters 1..3, a HELLO, a REJECT, plaintext SMP.
Needs Python's `cryptography` (build/venv has it).

    build/venv/bin/python fuzz/make_secure_corpus.py
"""
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "secure")
KEY, KEY_ID = bytes(range(16)), 0x2A
RAND_I, RAND_R = bytes(range(0x10, 0x20)), bytes(range(0x20, 0x30))
ECHO = bytes.fromhex("0a00000600000000a16164626869")


def session():
    m = HKDF(hashes.SHA256(), 42, RAND_I + RAND_R, b"smpfota secure v1" + bytes([KEY_ID])).derive(KEY)
    return m[:16], m[16:32], m[32:40], int.from_bytes(m[40:42], "big") or 1


def data(key, direction, iv, sid, ctr, plain):
    hdr = bytes([0xA6, KEY_ID]) + sid.to_bytes(2, "big") + ctr.to_bytes(4, "big")
    nonce = bytes([direction]) + ctr.to_bytes(4, "big") + iv
    return hdr + AESCCM(key, tag_length=8).encrypt(nonce, plain, hdr)


def rec(to, frame):
    return bytes([to, len(frame)]) + frame


def main():
    k_i2r, k_r2i, iv, sid = session()
    to_rsp = [data(k_i2r, 0, iv, sid, c, ECHO) for c in (1, 2, 3)]
    to_ini = [data(k_r2i, 1, iv, sid, c, ECHO) for c in (1, 2, 3)]
    hello = bytes([0xA4, 1, KEY_ID]) + bytes(16)
    seeds = {
        "in_order": b"".join(rec(1, f) for f in to_rsp) + b"".join(rec(0, f) for f in to_ini),
        "replay": rec(1, to_rsp[0]) + rec(1, to_rsp[0]) + rec(0, to_ini[1]) + rec(0, to_ini[0]),
        "reorder": rec(1, to_rsp[2]) + rec(1, to_rsp[1]),
        "hello_then_data": rec(1, hello) + rec(1, to_rsp[0]) + rec(3, hello),
        "reject": rec(0, bytes([0xA7, 1, KEY_ID]) + sid.to_bytes(2, "big")) + rec(2, b""),
        "plaintext": rec(1, ECHO) + rec(0, bytes([0x0B]) + ECHO[1:]),
        "bitflip": rec(1, to_rsp[0][:-1] + bytes([to_rsp[0][-1] ^ 1])),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, blob in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
