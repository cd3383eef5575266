"""SMP serial framing checked against the Python SMP stack at test time.

- Our encoder against `smp.packet.encode`, the encoder smpclient's `SMPSerialTransport`
  sends with (line_length 128: 124 base64 characters, 127-byte lines): byte-identical,
  except where theirs would leave the CRC (or half of it) alone on the last line and ours
  moves one group down, as Zephyr's TX code does. Either way `smp.packet.decode` reads ours.
- Their output, at several line lengths, decodes in ours.
- End to end over a pseudo-terminal: smpclient's real `SMPSerialTransport` sends a request
  that our decoder reads, and receives a response written by our encoder behind console noise.

The C side is `test_serial encode|decode` (tests/test_serial.c in helper mode).
"""
import asyncio
import base64
import os
import random
import select
import subprocess

import pytest
from smp import os_management as osm
from smp import packet as smppacket
from smpclient.transport.serial.encoded import BufferSize, SMPSerialTransport

BUILD = os.environ.get("SMPFOTA_BUILD", "build")
TOOL = os.path.join(BUILD, "tests", "test_serial")


def c_encode(frame: bytes, line_max: int = 0) -> bytes:
    res = subprocess.run([TOOL, "encode", frame.hex(), str(line_max)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return bytes.fromhex(res.stdout.strip())


def c_decode(stream: bytes, raw: bool = True) -> list[bytes]:
    args = [TOOL, "decode", stream.hex()] + (["raw"] if raw else [])
    res = subprocess.run(args, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return [bytes.fromhex(line) for line in res.stdout.splitlines()]


def py_decode(stream: bytes) -> bytes:
    """smp.packet.decode, fed one line at a time as smpclient's transport does."""
    decoder = smppacket.decode()
    next(decoder)
    lines = stream.split(b"\n")
    assert lines[-1] == b""
    for line in lines[:-1]:
        try:
            decoder.send(line + b"\n")
        except StopIteration as e:
            return e.value
    raise AssertionError("packet incomplete")


def frame_of(size: int, seed: int = 0) -> bytes:
    return random.Random(size * 7919 + seed).randbytes(size)


SIZES = list(range(0, 300)) + [370, 371, 372, 1000, 1021, 1022, 2100, 4000]


@pytest.mark.parametrize("size", SIZES)
def test_ours_matches_smp_packet_encode(size):
    frame = frame_of(size)
    ours = c_encode(frame)
    theirs = b"".join(smppacket.encode(frame, line_length=128))
    assert py_decode(ours) == frame
    lines = ours.split(b"\n")[:-1]
    assert all(len(line) + 1 <= 127 for line in lines)
    # each line is whole base64 on its own, as the Zephyr receiver decodes it
    raw = [base64.b64decode(line[2:], validate=True) for line in lines]
    assert b"".join(raw)[2:-2] == frame
    assert len(raw[-1]) >= 3  # a frame byte and the whole CRC on the last line
    n = size + 4
    if n <= 93 or n % 93 not in (1, 2):
        assert ours == theirs
    else:
        # theirs: last line is the CRC's low byte or the bare CRC; ours moved 3 bytes down
        their_lines = theirs.split(b"\n")[:-1]
        assert len(base64.b64decode(their_lines[-1][2:])) == n % 93
        assert len(lines) == len(their_lines)
        assert len(raw[-2]) == 90 and len(raw[-1]) == n % 93 + 3


@pytest.mark.parametrize("line_length", [8, 12, 64, 127, 128, 200])
def test_theirs_decodes_in_ours(line_length):
    for size in list(range(0, 200, 3)) + [1000, 2100]:
        frame = frame_of(size, line_length)
        theirs = b"".join(smppacket.encode(frame, line_length=line_length))
        assert c_decode(theirs) == [frame]


def test_echo_request_vector():
    """An SMP echo request from the smp package: our framing == theirs, both directions."""
    req = bytes(osm.EchoWriteRequest(d="hello", sequence=0x2A))
    assert req.hex() == "0a00000900002a00a161646568656c6c6f"
    ours = c_encode(req)
    assert ours == b"\x06\x09ABMKAAAJAAAqAKFhZGVoZWxsbwo4\n"
    assert ours == b"".join(smppacket.encode(req, line_length=128))
    assert c_decode(ours, raw=False) == [req]


def test_garbage_then_packets():
    """Console text, a cut packet and a bad-CRC packet around good ones from smp.packet."""
    a = bytes(osm.EchoWriteRequest(d="a" * 300))
    b = bytes(osm.EchoWriteResponse(r="b" * 10))
    enc_a = b"".join(smppacket.encode(a, line_length=128))
    enc_b = b"".join(smppacket.encode(b, line_length=128))
    bad = bytearray(enc_b)
    bad[4] = ord("A") if bad[4] != ord("A") else ord("B")
    stream = (b"*** Booting Zephyr ***\r\nuart:~$ " + enc_a[:150] + enc_b + bytes(bad)
              + b"[00:00:01] <inf> log\n" + enc_a)
    assert c_decode(stream, raw=False) == [b, a]


def test_smpclient_transport_over_pty():
    asyncio.run(_pty_round_trip())


def _read_master(fd: int, idle_s: float = 0.3) -> bytes:
    out = b""
    while True:
        r, _, _ = select.select([fd], [], [], idle_s)
        if not r:
            return out
        out += os.read(fd, 65536)


async def _pty_round_trip():
    master, slave = os.openpty()
    path = os.ttyname(slave)
    transport = SMPSerialTransport(fragmentation_strategy=BufferSize(buf_size=2048))
    try:
        await transport.connect(path, 2.0)
        for size in (1, 91, 183, 500, 1500):
            # request: smpclient's transport encodes, our decoder reads it off the wire
            req = bytes(osm.EchoWriteRequest(d="x" * size))
            await transport.send(req)
            wire = await asyncio.to_thread(_read_master, master)
            assert wire.startswith(b"\x06\x09") and wire.endswith(b"\n")
            assert c_decode(wire, raw=False) == [req]

            # response: our encoder, behind console noise; smpclient's transport receives it
            rsp = bytes(osm.EchoWriteResponse(r="y" * size))
            os.write(master, b"uart:~$ [00:00:02.000] <dbg> noise\r\n" + c_encode(rsp))
            got = await asyncio.wait_for(transport.receive(), 5.0)
            assert got == rsp
    finally:
        await transport.disconnect()
        os.close(master)
        os.close(slave)
