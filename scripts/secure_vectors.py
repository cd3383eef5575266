#!/usr/bin/env python3
"""Protocol test vectors of the secure channel (docs/security.md), computed with Python's
`cryptography` (an implementation independent of the mbedTLS port): the HELLO, HELLO_ACK and
first DATA frame of a session with fixed key and randoms. tests/test_secure.c holds its output.

    build/venv/bin/python scripts/secure_vectors.py
"""
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY = bytes(range(16))
KEY_ID = 0x2A
RAND_I = bytes(range(0x10, 0x20))
RAND_R = bytes(range(0x20, 0x30))
# An SMP v2 os echo request {"d": "hi"}: 8-byte header, then CBOR.
PLAIN = bytes.fromhex("0a00000600000000" "a16164626869")


def main():
    m = HKDF(hashes.SHA256(), 42, RAND_I + RAND_R, b"smpfota secure v1" + bytes([KEY_ID])).derive(KEY)
    k_i2r, k_r2i, iv, sid = m[:16], m[16:32], m[32:40], int.from_bytes(m[40:42], "big") or 1
    hello = bytes([0xA4, 1, KEY_ID]) + RAND_I
    aad = bytes([0xA5, KEY_ID]) + sid.to_bytes(2, "big") + RAND_R
    ack = aad + AESCCM(k_r2i, tag_length=8).encrypt(bytes([1]) + (0).to_bytes(4, "big") + iv, b"", aad)
    hdr = bytes([0xA6, KEY_ID]) + sid.to_bytes(2, "big") + (1).to_bytes(4, "big")
    data = hdr + AESCCM(k_i2r, tag_length=8).encrypt(bytes([0]) + (1).to_bytes(4, "big") + iv, PLAIN, hdr)
    for name, v in (("plain", PLAIN), ("hello", hello), ("ack", ack), ("data", data)):
        print(f"{name}: {v.hex()}")


if __name__ == "__main__":
    main()
