"""Write the seed corpus of fuzz_bridge (fuzz/corpus/bridge/): the fuzzer's input format
(see fuzz/fuzz_bridge.c) with the messages an other end would send: HELLO, EPOCH, frames
tagged with the fuzzed end's epochs, grants, events, polls.

    python3 fuzz/make_bridge_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "bridge")

FRAME, GRANT, EPOCH, HELLO, EVENT = 1, 2, 3, 4, 5


def msg(b: bytes) -> bytes:
    return bytes([0, len(b)]) + b


def hello(kind: int, epoch: int, granted: int, max_frame: int) -> bytes:
    return msg(struct.pack("<BBIBH", kind, epoch, granted, 1, max_frame))


def frame(tag: int, gepoch: int, granted: int, data: bytes) -> bytes:
    return msg(struct.pack("<BBBI", FRAME, tag, gepoch, granted) + data)


def poll(n: int) -> bytes:
    return bytes([1, n])


def send(n: int) -> bytes:
    return bytes([2, n])


def seed(name: str, opts: int, maxq: int, body: bytes) -> None:
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([opts, maxq]) + body)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    # The fuzzed end starts with epoch 0 and says HELLO; the other end's HELLO makes it
    # start epoch 1 (EPOCH answer), so frames tagged 1 count.
    start = hello(HELLO, 9, 600, 200)
    frames = b"".join(frame(1, 9, 600 + 20 * k, bytes([k]) * (10 + k)) for k in range(8))
    seed("stream", 0, 200, start + frames + poll(5))
    seed("busy_alternate", 1, 200, start + frames + poll(20) + frames)
    seed("busy_until_poll", 3, 120, start + frames + poll(1) + poll(1) + frames)
    seed("stale_tag", 0, 200, start + frame(0, 9, 600, b"old") + frame(1, 9, 600, b"new"))
    seed("sends_and_grants", 4, 200, start + send(50) + msg(struct.pack("<BBI", GRANT, 9, 2000))
         + send(100) + send(255) + bytes([3, 7]) + poll(2))
    seed("epoch_then_frames", 2, 64, hello(EPOCH, 3, 300, 64) + frame(0, 3, 300, b"x" * 40)
         + poll(200) + msg(struct.pack("<BBI", EVENT, 2, 77)))
    seed("over_credit", 0, 40, start + b"".join(frame(1, 9, 600, bytes([k]) * 160) for k in range(6)))


if __name__ == "__main__":
    main()
