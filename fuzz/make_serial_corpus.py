"""Write the seed corpus of fuzz_serial (fuzz/corpus/serial/) from the smp package.

Each seed is the fuzzer's input format: byte 0 = chunk size - 1 (low 6 bits) | raw (0x40)
| RX line limit 127 (0x80), byte 1 = reassembly capacity / 8, then the byte stream, framed
by smp.packet.encode (the encoder smpclient sends with).

    build/venv/bin/python fuzz/make_serial_corpus.py
"""
import os

from smp import image_management as im
from smp import os_management as osm
from smp import packet

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "serial")


def framed(frame: bytes, line_length: int = 128) -> bytes:
    return b"".join(packet.encode(frame, line_length=line_length))


def seed(name: str, mode: int, cap8: int, stream: bytes) -> None:
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([mode, cap8]) + stream)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    echo = bytes(osm.EchoWriteRequest(d="hello", sequence=1))
    echo_rsp = bytes(osm.EchoWriteResponse(r="hello", sequence=1))
    upload = bytes(im.ImageUploadWriteRequest(off=0, data=bytes(range(256)), image=0,
                                              len=1000, sha=bytes(32), sequence=2))
    big = bytes(osm.EchoWriteRequest(d="z" * 171, sequence=3))  # 183 bytes: CRC split

    seed("echo.bin", 0x3F, 0xFF, framed(echo))
    seed("upload-multiline.bin", 0x06, 0xFF, framed(upload))
    seed("console-noise.bin", 0x0F, 0xFF,
         b"*** Booting Zephyr OS build v4.1.0 ***\r\n[00:00:00.010] <inf> app: up\r\n"
         b"uart:~$ " + framed(echo_rsp).replace(b"\n", b"\r\n") + b"log line\n")
    seed("two-and-truncated.bin", 0x80 | 0x1F, 0xFF,
         framed(upload)[:140] + framed(echo) + framed(echo_rsp))
    seed("crc-split.bin", 0x00, 0x20, framed(big))
    seed("short-lines.bin", 0x02, 0x10, framed(echo, line_length=12))
    seed("raw-empty.bin", 0x40 | 0x3F, 0x01, framed(b""))


if __name__ == "__main__":
    main()
