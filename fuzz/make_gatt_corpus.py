"""Write the seed corpus of fuzz_gatt_reassembly (fuzz/corpus/gatt_reassembly/): the fuzzer's
input format (see fuzz/fuzz_gatt_reassembly.c) with SMP answers cut as Zephyr's smp_bt.c
notifies them (pieces of ATT_MTU - 3), and the faults the link must survive.

    python3 fuzz/make_gatt_corpus.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "gatt_reassembly")


def frame(op: int, body: int, seed: int) -> bytes:
    hdr = bytes([0x08 | op, 0, body >> 8, body & 0xFF, 0, 1, seed & 0xFF, 1])
    return hdr + bytes((seed + 7 * i) & 0xFF for i in range(body))


def pieces(f: bytes, size: int) -> list:
    return [f[i:i + size] for i in range(0, len(f), size)]


def records(ps: list) -> bytes:
    out = b""
    for p in ps:
        out += bytes([len(p)]) + p
    return out


def write(name: str, opts: int, cap8: int, ps: list) -> None:
    with open(os.path.join(OUT, name), "wb") as fh:
        fh.write(bytes([opts, cap8]) + records(ps))


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    a, b = frame(3, 600, 1), frame(3, 40, 2)
    write("mtu23", 0, 100, pieces(a, 20) + pieces(b, 20))
    write("mtu247", 0, 100, pieces(a, 244) + pieces(b, 244))
    write("interleaved", 0, 100, pieces(a, 200)[:2] + pieces(b, 200))
    write("disconnect", 0, 100, pieces(a, 100)[:3] + [b""] + pieces(a, 100))
    write("timeout", 2, 100, pieces(a, 150)[:2] + pieces(b, 150))
    write("oversized", 0, 20, pieces(a, 64) + pieces(b, 64))
    write("short_and_bad_op", 0, 100, [a[:5], bytes([0x0c]) + a[1:20]] + pieces(b, 30))
    write("whole_pieces", 1, 100, [b, a[:100], b])
    write("with_sends", 4, 100, pieces(a, 180) + pieces(b, 180))


if __name__ == "__main__":
    main()
