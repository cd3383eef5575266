"""The smpfota client CLI (`smpfota [--conn URI] ... COMMAND`) against `smpfota target`.

Every command over UDP and over a serial PTY; the one-call update (confirmed, and left in
test mode then reverted); refusals (downgrade, too large, unknown hash); uploads with server
buffers from 96 bytes to 8 KiB and 1 to 8 of them; uploads through a lossy, duplicating,
reordering UDP proxy (tests/udp_proxy.py); the target killed and restarted mid-upload; the
master killed mid-upload and run again (it resumes); fake servers that answer garbage.

Every expected value is computed here: image hashes from the signed files' SHA256 TLV, the
slots' bytes from the target's flash file (layout: tools/cli_target.c header comment), list
flags from what MCUboot's swap-using-move does. Each target gets its own flash file and a
port picked by the system, so tests can run in parallel with anything.

Env: SMPFOTA_BUILD, SMPFOTA_SRC, SMPFOTA_PYTHON (see tests/CMakeLists.txt).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from target_harness import SMPFOTA, SRC, Target

sys.path.insert(0, str(SRC / "scripts"))
sys.path.insert(0, str(SRC / "tests"))
import make_test_image as mti  # noqa: E402
from udp_proxy import UdpProxy  # noqa: E402

# Target geometry, given on its command line; slot offsets in its flash file: Target.span()
# (tools/cli_target.c header comment).
SLOT = 0x40000
NET_SLOT = 0x20000
CMD_TIMEOUT = 60  # a hang is a failure, not a stuck CI job
FLAGS = ("bootable", "pending", "confirmed", "active", "permanent")


# ------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True)
class Image:
    path: Path
    data: bytes
    version: str  # as the CLI shows it: "1.2.3", or "1.2.3+4" with a build number
    hash: str     # SHA256 TLV, lower-case hex


def read_image(path: Path) -> Image:
    data = path.read_bytes()
    magic, _load, hdr_size, prot_size, img_size, _flags, major, minor, rev, build = \
        struct.unpack_from("<IIHHIIBBHI", data, 0)
    assert magic == 0x96F3B83D
    off = hdr_size + img_size + prot_size
    tlv_magic, tot = struct.unpack_from("<HH", data, off)
    assert tlv_magic == 0x6907
    end, off = off + tot, off + 4
    sha = None
    while off < end:
        t, n = struct.unpack_from("<HH", data, off)
        if t == 0x10:
            sha = data[off + 4:off + 4 + n]
        off += 4 + n
    assert sha == hashlib.sha256(data[:hdr_size + img_size + prot_size]).digest()
    version = f"{major}.{minor}.{rev}" + (f"+{build}" if build else "")
    return Image(path, data, version, sha.hex())


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    keys = d / "keys"
    spec = {  # name: (payload size, seed, version)
        "factory": (40_000, 1, "1.0.0"),
        "factory2": (41_000, 8, "1.0.0"),  # same version, other bytes
        "new": (120_000, 2, "2.3.4+5"),
        "old": (30_000, 3, "0.9.0"),
        "small": (24_000, 4, "1.1.0"),
        "big": (100_000, 5, "3.0.0"),
        "medium": (96_000, 6, "1.2.0"),
        "large": (600_000, 7, "1.3.0"),
    }
    out = {}
    for name, (size, seed, ver) in spec.items():
        out[name] = read_image(mti.make_image(d / f"{name}.bin", size=size, seed=seed,
                                              version=ver, key_dir=keys))
    return out


# ------------------------------------------------------------------------------------------
# The targets


@pytest.fixture
def targets():
    """Targets made by a test (`smpfota target` on 127.0.0.1:<free port> or a PTY); all
    stopped at its end."""
    made: list[Target] = []

    def make(tmp_path: Path, transport: str, primary: Path | None, *, buf_size=2048,
             buf_count=4, slot=SLOT, images=1, primary_net=None, name="target",
             args=()) -> Target:
        t = Target(tmp_path / f"{name}-flash.bin", transport, primary=primary,
                   primary_net=primary_net, images=images, slot=slot,
                   net_slot=NET_SLOT if images == 2 else None, buf_size=buf_size,
                   buf_count=buf_count, args=tuple(args))
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()


# ------------------------------------------------------------------------------------------
# The CLI


def smpfota(conn: str, *args, opts=(), timeout=CMD_TIMEOUT) -> subprocess.CompletedProcess:
    cmd = [str(SMPFOTA), "--conn", conn, *opts, *[str(a) for a in args]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert p.returncode >= 0, f"{cmd}: killed by signal {-p.returncode}\n{p.stderr}"
    return p


def ok(conn: str, *args, **kw) -> subprocess.CompletedProcess:
    p = smpfota(conn, *args, **kw)
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}{p.stderr}"
    return p


def js(conn: str, *args, **kw):
    return json.loads(ok(conn, *args, opts=("--json", *kw.pop("opts", ())), **kw).stdout)


def failed(p: subprocess.CompletedProcess, name: str, *more: str) -> str:
    """Exit 1 and one line on stderr naming the error (then at most a hint line); returns
    that line."""
    assert p.returncode == 1, f"exit {p.returncode}\n{p.stdout}{p.stderr}"
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    hints = [l for l in lines[1:] if l.startswith("smpfota: hint: ")]
    assert len(lines) == 1 + len(hints) and len(hints) <= 1, p.stderr
    assert lines[0].startswith("smpfota: "), p.stderr
    assert f"({name})" in lines[0], lines[0]
    for m in more:
        assert m in lines[0], lines[0]
    return lines[0]


def state(img: Image, slot: int, *flags: str, image: int = 0) -> dict:
    return {"image": image, "slot": slot, "version": img.version, "hash": img.hash,
            **{f: f in flags or f == "bootable" for f in FLAGS}}


def listing(conn: str) -> list[dict]:
    return js(conn, "image", "list")["images"]


SUMMARY = re.compile(r"^upload: (\d+) bytes in ([\d.]+) s, ([\d.]+) kB/s, window (\d+), "
                     r"chunk (\d+), (\d+) retransmits, (\d+) rewinds \(sent (\d+) bytes in "
                     r"(\d+) frames\)$", re.M)


def summary(text: str) -> dict:
    m = SUMMARY.search(text)
    assert m, text
    keys = ("bytes", "seconds", "kBps", "window", "chunk", "retransmits", "rewinds",
            "sent_bytes", "sent_frames")
    return {k: float(v) if k in ("seconds", "kBps") else int(v)
            for k, v in zip(keys, m.groups())}


# ------------------------------------------------------------------------------------------
# Every command, over both transports


@pytest.fixture(params=["udp", "serial"])
def transport(request):
    return request.param


def test_commands(transport, targets, tmp_path, images):
    factory, new = images["factory"], images["new"]
    t = targets(tmp_path, transport, factory.path, buf_size=1024, buf_count=3)
    c = t.conn

    assert ok(c, "echo", "hello", "smpfota").stdout == "hello smpfota\n"
    assert js(c, "echo", "x y") == {"r": "x y"}
    assert ok(c, "params").stdout == "buf_size: 1024\nbuf_count: 3\n"
    assert js(c, "params") == {"buf_size": 1024, "buf_count": 3}
    assert ok(c, "info").stdout == "Zephyr\n"
    assert js(c, "info", "nm") == {"output": "smpfota-target arm"}
    failed(smpfota(c, "info", "X"), "REJECTED", "INVALID_FORMAT")
    assert ok(c, "bootloader", "info").stdout == (
        "bootloader: MCUboot\nmode: 3 (swap using move)\nno-downgrade: false\n")
    assert js(c, "bootloader", "info") == {"bootloader": "MCUboot", "mode": 3,
                                           "mode_name": "swap using move",
                                           "no_downgrade": False}
    slots = js(c, "image", "slot-info")["images"]
    assert [e["slots"] for e in slots] == [[{"slot": 0, "size": SLOT + 4096},
                                            {"slot": 1, "size": SLOT}]]
    assert 0 < slots[0]["max_image_size"] < SLOT  # the trailer's room is left out
    assert ok(c, "image", "slot-info").stdout.startswith(
        f"Images:\n image=0\n    slot=0 size: {SLOT + 4096}\n    slot=1 size: {SLOT}\n"
        "    max_image_size: ")

    # mcumgr's layout, exactly
    assert ok(c, "image", "list").stdout == (
        "Images:\n image=0 slot=0\n    version: 1.0.0\n    bootable: true\n"
        f"    flags: active confirmed\n    hash: {factory.hash}\nSplit status: N/A (0)\n")
    assert listing(c) == [state(factory, 0, "active", "confirmed")]

    p = ok(c, "image", "upload", new.path)
    s = summary(p.stdout)
    assert s["bytes"] == len(new.data) and s["sent_bytes"] >= len(new.data)
    assert t.holds(0, 1, new)
    assert listing(c) == [state(factory, 0, "active", "confirmed"), state(new, 1)]

    failed(smpfota(c, "image", "test", "ab" * 32), "REJECTED", "HASH_NOT_FOUND")
    assert smpfota(c, "image", "test", "ab" * 31).returncode == 2
    assert smpfota(c, "image", "test", "xy" * 32).returncode == 2
    assert js(c, "image", "test", new.hash)["images"] == [
        state(factory, 0, "active", "confirmed"), state(new, 1, "pending")]

    assert ok(c, "reset").stdout == "Done\n"
    t.wait_boots(2)
    assert listing(c) == [state(new, 0, "active"), state(factory, 1, "confirmed")]
    assert t.holds(0, 0, new) and t.holds(0, 1, factory)

    p = ok(c, "image", "confirm")
    assert "flags: active confirmed" in p.stdout
    assert listing(c) == [state(new, 0, "active", "confirmed"), state(factory, 1)]

    assert js(c, "image", "erase") == {}
    assert listing(c) == [state(new, 0, "active", "confirmed")]
    assert set(t.area(0, 1)) == {0xFF}
    failed(smpfota(c, "image", "erase", "--slot", "0"), "REJECTED")  # the running image

    # Upload again, make it permanent with confirm HASH, reset: no revert.
    ok(c, "image", "upload", factory.path)
    assert js(c, "image", "confirm", factory.hash)["images"] == [
        state(new, 0, "active", "confirmed"), state(factory, 1, "pending", "permanent")]
    ok(c, "reset", "--force")
    t.wait_boots(3)
    assert listing(c) == [state(factory, 0, "active", "confirmed"), state(new, 1)]
    t.assert_clean()


def test_trace(transport, targets, tmp_path, images):
    """SMPFOTA_TRACE=1: one line per frame each way, with the SMP header, in time order."""
    t = targets(tmp_path, transport, images["factory"].path)
    env = dict(os.environ, SMPFOTA_TRACE="1")
    p = subprocess.run([str(SMPFOTA), "--conn", t.conn, "echo", "hi"], capture_output=True,
                       text=True, timeout=CMD_TIMEOUT, env=env)
    assert p.returncode == 0 and p.stdout == "hi\n", p.stderr
    lines = [ln.split() for ln in p.stderr.splitlines() if ln.startswith("trace ")]
    frames = [(f[2], f[4], f[6], f[8]) for f in lines if f[2] in ("tx", "rx")]
    # os params first on serial (its frame size), then the echo (group 0 id 0): op 2 and 3
    assert frames[-2:] == [("tx", "2", "0", "0"), ("rx", "3", "0", "0")], p.stderr
    times = [float(f[1]) for f in lines]
    assert times == sorted(times)
    quiet = subprocess.run([str(SMPFOTA), "--conn", t.conn, "echo", "hi"], capture_output=True,
                           text=True, timeout=CMD_TIMEOUT)
    assert "trace" not in quiet.stderr


def test_upload_net_core(targets, tmp_path, images):
    """--image 1 goes to the network core's secondary (slot 3 of the target)."""
    factory, small = images["factory"], images["small"]
    t = targets(tmp_path, "udp", factory.path, images=2)
    p = ok(t.conn, "image", "upload", small.path, "--image", "1")
    assert summary(p.stdout)["bytes"] == len(small.data)
    assert t.holds(1, 1, small) and set(t.area(0, 1)) == {0xFF}
    assert state(small, 1, image=1) in listing(t.conn)  # slots are numbered per image
    t.assert_clean()


def test_usage_and_local_errors(tmp_path, images):
    c = "udp:127.0.0.1:9"  # nothing is sent for these
    for args in (["image", "upload"], ["image", "upload", "a", "b"], ["image", "frob"],
                 ["echo"], ["reset", "now"], ["params", "x"], ["image", "confirm", "1", "2"],
                 ["image", "upload", images["new"].path, "--window", "0"],
                 ["image", "upload", images["new"].path, "--chunk", "x"],
                 ["image", "erase", "--slot", "-1"], ["frobnicate"], ["bootloader"],
                 ["bootloader", "info", "x"], ["image", "slot-info", "1"]):
        p = smpfota(c, *args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
    for opts in (["--conn", "tcp:x"], ["--timeout", "0"], ["--timeout", "x"], ["--bogus"]):
        p = subprocess.run([str(SMPFOTA), *opts, "echo", "hi"], capture_output=True, text=True)
        assert p.returncode == 2, (opts, p.stderr)
    notimg = tmp_path / "not-an-image.bin"
    notimg.write_bytes(b"hello" * 100)
    failed(smpfota(c, "image", "upload", notimg), "BAD_MAGIC")
    failed(smpfota(c, "update", notimg), "BAD_MAGIC")
    p = smpfota(c, "update", tmp_path / "missing.bin")
    assert p.returncode == 1 and "No such file" in p.stderr, p.stderr
    # `image info` (local) still works, with the global --json too
    p = subprocess.run([str(SMPFOTA), "--json", "image", "info", images["new"].path],
                       capture_output=True, text=True)
    assert p.returncode == 0 and json.loads(p.stdout)["hash"] == images["new"].hash


def test_nobody_listening():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # a port with nobody behind it: ICMP port unreachable
    # It fails at the first refusal: with 60 s per attempt a timeout could not end in time.
    p = smpfota(f"udp:127.0.0.1:{port}", "echo", "hi", opts=("--timeout", "60"))
    failed(p, "IO", "connection refused")
    assert "smpfota: hint: is the target running" in p.stderr


# ------------------------------------------------------------------------------------------
# The update workflow


@pytest.mark.parametrize("confirm", [True, False], ids=["confirm", "no-confirm"])
def test_update(transport, confirm, targets, tmp_path, images):
    factory, new = images["factory"], images["new"]
    t = targets(tmp_path, transport, factory.path)
    c = t.conn
    if confirm:
        d = js(c, "update", new.path)
        assert d["version"] == "2.3.4+5" and d["hash"] == new.hash and d["confirmed"] is True
        assert d["upload"]["bytes"] == len(new.data)
        assert listing(c) == [state(new, 0, "active", "confirmed"), state(factory, 1)]
        t.wait_boots(2)
        assert t.boots() == 2  # one reset: no retransmitted reset rebooted it twice
        ok(c, "reset")
        t.wait_boots(3)
        assert listing(c) == [state(new, 0, "active", "confirmed"), state(factory, 1)]
    else:
        p = ok(c, "update", new.path, "--no-confirm")
        steps = re.findall(r"^update: (\w+)$", p.stdout, re.M)
        assert steps == ["params", "check", "upload", "verify", "test", "reset", "wait",
                         "active"], p.stdout
        assert "test mode" in p.stdout
        assert listing(c) == [state(new, 0, "active"), state(factory, 1, "confirmed")]
        ok(c, "reset")  # not confirmed: MCUboot swaps back
        t.wait_boots(3)
        assert listing(c) == [state(factory, 0, "active", "confirmed"), state(new, 1)]
    assert t.holds(0, 0, new if confirm else factory)
    t.assert_clean()


def extent(data: bytes) -> tuple[int, int]:
    """(bytes MCUboot hashes, end of the TLV area) of an image file."""
    _m, _l, hdr_size, prot_size, img_size = struct.unpack_from("<IIHHI", data, 0)
    hashed = hdr_size + img_size + prot_size
    return hashed, hashed + struct.unpack_from("<HH", data, hashed)[1]


def test_update_sha384_sha512_padded(targets, tmp_path, images):
    """An ECDSA P-384 image (imgtool: SHA-384) and a --sha 512 one padded to the slot by
    imgtool --pad: updated as SHA-256 images are; the padding is never sent."""
    factory = images["factory"]
    t = targets(tmp_path, "udp", factory.path)
    keys = tmp_path / "keys"
    p384 = mti.make_image(tmp_path / "p384.bin", size=50_000, seed=11, version="2.0.0",
                          key_type="ecdsa-p384", key_dir=keys)
    s512 = mti.make_image(tmp_path / "s512.bin", size=30_000, seed=12, version="3.0.0",
                          key_type="ed25519", key_dir=keys, pad=True, slot_size=SLOT,
                          extra_args=["--sha", "512"])
    for path, algo, ver in ((p384, "sha384", "2.0.0"), (s512, "sha512", "3.0.0")):
        data = path.read_bytes()
        hashed, end = extent(data)
        want = hashlib.new(algo, data[:hashed]).hexdigest()
        d = js(t.conn, "update", path)
        assert (d["hash"], d["version"], d["confirmed"]) == (want, ver, True)
        assert d["upload"]["bytes"] == end < len(data) or path == p384
        run = listing(t.conn)[0]
        assert (run["slot"], run["hash"], run["active"], run["confirmed"]) == (0, want, True, True)
    assert len(s512.read_bytes()) == SLOT  # really padded
    t.assert_clean()


@pytest.mark.parametrize("mode,info,name,source,outcome", [
    ("swap", True, "swap", "bootloader info", "confirmed"),
    ("swap", False, "swap", "assumed", "confirmed"),
    ("overwrite", True, "overwrite-only", "bootloader info", "permanent"),
    ("overwrite", False, "overwrite-only", "inferred", "permanent"),
    ("direct-xip", True, "direct-xip/RAM load", "bootloader info", "booted"),
    ("direct-xip", False, "direct-xip/RAM load", "inferred", "booted"),
    ("ram-load", True, "direct-xip/RAM load", "bootloader info", "booted"),
    ("serial-recovery", True, "serial recovery", "inferred", "recovered"),
])
def test_update_mcuboot_modes(mode, info, name, source, outcome, targets, tmp_path, images):
    """`smpfota target --mode` plays each MCUboot mode; update finds the mode (asked, or from
    the answers) and ends in that mode's outcome, with the image where the mode puts it."""
    factory, new, big = images["factory"], images["new"], images["big"]
    t = targets(tmp_path, "udp", factory.path,
                args=("--mode", mode, *(() if info else ("--no-bootloader-info",))))
    c = t.conn
    d = js(c, "update", new.path)
    assert (d["mode"], d["mode_source"], d["outcome"]) == (name, source, outcome), d
    assert d["mcuboot_mode"] == ({"swap": 3, "overwrite": 2, "direct-xip": 4,
                                  "ram-load": 6}.get(mode) if info else None)
    listed = listing(c)
    if mode in ("direct-xip", "ram-load"):
        # runs in place from slot 1; the next image goes to slot 0 and runs from there
        assert listed == [state(factory, 0), state(new, 1, "active", "confirmed")]
        p = ok(c, "update", big.path)
        assert "booted by MCUboot (direct-xip/RAM load) as the highest version" in p.stdout
        assert listing(c) == [state(big, 0, "active", "confirmed"), state(new, 1)]
        # an older image, forced, is uploaded but never boots
        failed(smpfota(c, "update", factory.path, "--force"), "ROLLED_BACK")
        assert listing(c)[0] == state(big, 0, "active", "confirmed")
    elif mode == "overwrite":
        assert listed == [state(new, 0, "active", "confirmed")]  # nothing left to revert to
        p = ok(c, "update", big.path)
        assert "there is no revert" in p.stdout
    else:
        assert listed[0] == state(new, 0, "active", "confirmed")
        assert t.holds(0, 0, new)
    t.assert_clean()


def test_update_serial_recovery_answers(targets, tmp_path, images):
    """MCUboot's serial recovery answers ENOTSUP to params, echo and bootloader info, and
    lists its slots without flags; update writes slot 0 and resets into the application."""
    factory, new = images["factory"], images["new"]
    t = targets(tmp_path, "serial", factory.path, args=("--mode", "serial-recovery"))
    c = t.conn
    for args in (("params",), ("echo", "hi"), ("bootloader", "info")):
        failed(smpfota(c, *args), "REJECTED", "ENOTSUP")
    assert listing(c) == [state(factory, 0)]
    p = ok(c, "update", new.path)
    assert "update: MCUboot mode: serial recovery (inferred)" in p.stdout
    assert "written to slot 0 by MCUboot serial recovery" in p.stdout
    assert listing(c) == [state(new, 0, "active", "confirmed")]  # the application runs
    t.assert_clean()


def test_update_net_core(targets, tmp_path, images):
    """--image 1: the network core's pair; the app core's image stays as it was."""
    factory, small = images["factory"], images["small"]
    t = targets(tmp_path, "udp", factory.path, images=2, primary_net=factory.path)
    d = js(t.conn, "update", small.path, "--image", "1")
    assert d["image"] == 1 and d["hash"] == small.hash
    assert listing(t.conn) == [state(factory, 0, "active", "confirmed"),
                               state(small, 0, "active", "confirmed", image=1),
                               state(factory, 1, image=1)]
    assert t.holds(1, 0, small) and t.holds(0, 0, factory)


def test_update_same_version_needs_force(targets, tmp_path, images):
    t = targets(tmp_path, "udp", images["factory"].path)
    failed(smpfota(t.conn, "update", images["factory2"].path), "DOWNGRADE")


def test_upload_tiny_chunks(targets, tmp_path, images):
    t = targets(tmp_path, "udp", images["factory"].path)
    ok(t.conn, "image", "upload", images["small"].path, "--chunk", "16")
    assert t.holds(0, 1, images["small"])


def test_serial_buffer_too_small(targets, tmp_path, images):
    t = targets(tmp_path, "serial", images["factory"].path, buf_size=64, buf_count=2)
    failed(smpfota(t.conn, "image", "upload", images["small"].path), "NOSPC", "buf_size 64")


@pytest.mark.parametrize("transport", ["udp", "serial"])
def test_request_larger_than_the_buffer(targets, tmp_path, images, transport):
    # The target's buffer is asked first, and a request that cannot fit is refused at once
    # with the sizes instead of being sent to be dropped (and timing out); one that fits a
    # buffer larger than the serial default goes.
    t = targets(tmp_path, transport, images["factory"].path, buf_size=512, buf_count=2)
    failed(smpfota(t.conn, "echo", "x" * 600), "NOSPC", "buf_size 512", "not sent")
    p = smpfota(t.conn, "echo", "y" * 400)
    assert p.returncode == 0 and p.stdout.strip() == "y" * 400, p.stderr


def test_update_refusals(targets, tmp_path, images):
    factory, old, big = images["factory"], images["old"], images["big"]
    t = targets(tmp_path, "udp", factory.path, slot=0x10000)  # 64 KiB slots
    c = t.conn
    failed(smpfota(c, "update", old.path), "DOWNGRADE")
    p = ok(c, "update", factory.path)  # the running image: nothing to do
    assert "update: upload" not in p.stdout, p.stdout
    failed(smpfota(c, "update", big.path, "--force"), "TOO_LARGE")
    assert set(t.area(0, 1)) == {0xFF}  # refused before anything was sent
    # The server refuses it too, named: what a client without the slot check would see.
    failed(smpfota(c, "image", "upload", big.path), "REJECTED", "INVALID_IMAGE_TOO_LARGE")
    failed(smpfota(c, "image", "upload", old.path, "--upgrade"), "REJECTED",
           "CURRENT_VERSION_IS_NEWER")
    ok(c, "update", old.path, "--force")
    assert listing(c) == [state(old, 0, "active", "confirmed"), state(factory, 1)]


# ------------------------------------------------------------------------------------------
# Buffer sizes and counts


BUFFERS = [  # transport, buf_size, buf_count, extra upload options
    ("udp", 96, 1, []), ("udp", 128, 2, []), ("udp", 200, 3, []), ("udp", 512, 4, []),
    ("udp", 1024, 5, []), ("udp", 2048, 6, []), ("udp", 4096, 7, []), ("udp", 8192, 8, []),
    ("udp", 2048, 8, ["--window", "2", "--chunk", "500"]),
    ("serial", 96, 8, []), ("serial", 128, 1, []), ("serial", 256, 2, []),
    ("serial", 512, 3, []), ("serial", 1024, 4, []), ("serial", 2048, 5, []),
    ("serial", 4096, 6, []), ("serial", 8192, 7, []),
    ("serial", 8192, 8, ["--window", "1", "--chunk", "3000"]),
]


@pytest.mark.parametrize("tr,buf_size,buf_count,extra", BUFFERS,
                         ids=[f"{b[0]}-{b[1]}x{b[2]}{'-opts' if b[3] else ''}" for b in BUFFERS])
def test_upload_buffers(tr, buf_size, buf_count, extra, targets, tmp_path, images):
    img = images["small"]
    t = targets(tmp_path, tr, images["factory"].path, buf_size=buf_size, buf_count=buf_count)
    p = ok(t.conn, "image", "upload", img.path, *extra)
    s = summary(p.stdout)
    assert t.holds(0, 1, img), "secondary slot differs from the image"
    max_window = int(extra[1]) if extra and extra[0] == "--window" else max(1, buf_count - 1)
    assert 1 <= s["window"] <= max_window
    if "--chunk" in extra:
        assert s["chunk"] <= int(extra[extra.index("--chunk") + 1])
    # Frames filled the server's buffer (serial: less the 4 framing bytes) or the datagram
    # limit, and never more: the target logs a drop for anything larger.
    limit = min(buf_size - (4 if tr == "serial" else 0), 1472 if tr == "udp" else 65533)
    assert s["sent_bytes"] <= s["sent_frames"] * limit
    if not extra:
        assert s["chunk"] >= limit - 80, s  # the CBOR around a chunk takes < 80 bytes
    assert s["retransmits"] == 0 and s["rewinds"] == 0
    t.assert_clean()


# ------------------------------------------------------------------------------------------
# A lossy link


LOSSY = [  # loss, dup, reorder, seed
    (0.10, 0.05, 0.05, 1),
    (0.15, 0.10, 0.10, 2),
    (0.20, 0.05, 0.10, 3),
]


@pytest.mark.parametrize("loss,dup,reorder,seed", LOSSY, ids=[f"loss{l[0]}" for l in LOSSY])
def test_upload_lossy(loss, dup, reorder, seed, targets, tmp_path, images):
    img = images["medium"]
    t = targets(tmp_path, "udp", images["factory"].path, buf_size=1024, buf_count=4)
    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", t.port), delay_ms=2.5, loss=loss, dup=dup,
                  reorder=reorder, seed=seed) as proxy:
        p = ok(f"udp:127.0.0.1:{proxy.port}", "image", "upload", img.path,
               "--first-timeout", "0.5", opts=("--timeout", "0.25"))
    assert t.holds(0, 1, img)
    s = summary(p.stdout)
    st = proxy.stats
    assert st.dropped["up"] + st.dropped["down"] > 0 and s["retransmits"] > 0, (st, s)
    assert st.duplicated["up"] + st.duplicated["down"] > 0
    assert st.reordered["up"] + st.reordered["down"] > 0


def test_update_lossy(targets, tmp_path, images):
    """The whole workflow on a lossy link: lost answers to test, reset, confirm."""
    factory, new = images["factory"], images["new"]
    t = targets(tmp_path, "udp", factory.path)

    class SparesReset(UdpProxy):
        """Never duplicates the reset request: a duplicated reset resets any target twice
        (a server cannot tell it from a new one), and the second reset reverts the test.
        Losing it or its answer is fine (test_update_reset_answer_lost)."""

        def _schedule(self, data, sock, dest, direction):
            is_reset = len(data) >= 8 and data[4:6] == b"\0\0" and data[7] == 5
            saved = self.dup
            if is_reset:
                self.dup = 0.0
            try:
                super()._schedule(data, sock, dest, direction)
            finally:
                self.dup = saved

    with SparesReset(("127.0.0.1", 0), ("127.0.0.1", t.port), delay_ms=2.5, loss=0.1,
                     dup=0.05, reorder=0.05, seed=7) as proxy:
        ok(f"udp:127.0.0.1:{proxy.port}", "update", new.path, opts=("--timeout", "0.3"))
    assert listing(t.conn) == [state(new, 0, "active", "confirmed"), state(factory, 1)]
    assert t.holds(0, 0, new)


def test_update_reset_answer_lost(targets, tmp_path, images):
    """The answer to `os reset` is lost: the reset happened all the same. Sending the reset
    again would reset the new image (in test mode) once more, and MCUboot would revert it."""
    factory, new = images["factory"], images["new"]
    t = targets(tmp_path, "udp", factory.path)
    lost = []

    def drop_reset_answer(d: bytes, way: str) -> bool:
        # os (group 0) reset (id 5) write response (op 3), the first one only
        if way == "down" and len(d) >= 8 and d[0] & 7 == 3 and d[4:6] == b"\0\0" and d[7] == 5:
            lost.append(d)
            return len(lost) == 1
        return False

    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", t.port), drop_if=drop_reset_answer) as proxy:
        p = smpfota(f"udp:127.0.0.1:{proxy.port}", "update", new.path, opts=("--timeout", "0.5"))
    assert lost, "no reset answer seen"
    assert t.boots() == 2, t.log_text()  # booted once more: one reset, not two
    assert p.returncode == 0, p.stdout + p.stderr
    assert listing(t.conn) == [state(new, 0, "active", "confirmed"), state(factory, 1)]


def test_upload_last_answer_lost(targets, tmp_path, images):
    img = images["medium"]
    t = targets(tmp_path, "udp", images["factory"].path)
    lost = []

    def drop_last_answer(d: bytes, way: str) -> bool:
        if way == "down" and d[4:6] == b"\0\1" and d[7] == 1 and b"match" in d and not lost:
            lost.append(d)
            return True
        return False

    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", t.port), drop_if=drop_last_answer) as proxy:
        d = js(f"udp:127.0.0.1:{proxy.port}", "image", "upload", img.path,
               opts=("--timeout", "0.3"))
    assert lost and t.holds(0, 1, img)
    assert d["sent_bytes"] < len(img.data) * 1.3, d


# ------------------------------------------------------------------------------------------
# Interrupted uploads


class Upload:
    """`smpfota image upload` in the background; its plain progress lines are collected."""

    def __init__(self, conn: str, img: Image, *opts: str):
        self.p = subprocess.Popen([str(SMPFOTA), "--conn", conn, *opts, "image", "upload",
                                   str(img.path)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.out = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_progress(self, pct: int, timeout: float = 30):
        """Until a progress line says at least pct %."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            assert line is not None, f"upload ended before {pct}%:\n{self.out}{self.p.stderr.read()}"
            self.out += line
            m = re.match(r"upload: +(\d+)% ", line)
            if m and int(m.group(1)) >= pct:
                return

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        rc = self.p.wait(timeout=timeout)
        while (line := self.lines.get(timeout=5)) is not None:
            self.out += line
        return rc, self.out, self.p.stderr.read()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def test_target_restarted_mid_upload(targets, tmp_path, images):
    img = images["medium"]
    t = targets(tmp_path, "udp", images["factory"].path, buf_size=256, buf_count=2)
    # RTT 4 ms and small chunks: slow enough to kill the target at a known point.
    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", t.port), delay_ms=2.0) as proxy:
        up = Upload(f"udp:127.0.0.1:{proxy.port}", img, "--timeout", "0.3")
        try:
            up.wait_progress(30)
            t.kill()
            time.sleep(0.3)
            t.start()  # same flash file, same port; its upload state is gone (RAM)
            rc, out, err = up.finish()
        finally:
            up.kill()
    assert rc == 0, out + err
    assert t.holds(0, 1, img)
    # It started over: the target answered "off 0" to the session it no longer knew.
    assert "upload: the target continues from 0 bytes (0%)" in out, out
    s = summary(out)
    assert s["rewinds"] >= 1 and s["sent_bytes"] > len(img.data), s


def test_master_killed_mid_upload_udp(targets, tmp_path, images):
    img = images["medium"]
    t = targets(tmp_path, "udp", images["factory"].path, buf_size=256, buf_count=2)
    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", t.port), delay_ms=2.0) as proxy:
        conn = f"udp:127.0.0.1:{proxy.port}"
        up = Upload(conn, img)
        try:
            up.wait_progress(50)
        finally:
            up.kill()
        d = js(conn, "image", "upload", img.path)
    assert t.holds(0, 1, img)
    # The target kept the session: the second run sent about the half that was missing.
    assert d["resumed_at"] >= len(img.data) * 0.45, d
    assert d["sent_bytes"] < len(img.data) * 0.7, d
    assert d["match"] is True


def test_master_killed_mid_upload_serial(targets, tmp_path, images):
    img = images["large"]
    t = targets(tmp_path, "serial", images["factory"].path, buf_size=96, buf_count=2,
                slot=0xA0000)
    up = Upload(t.conn, img)
    try:
        up.wait_progress(40)
    finally:
        up.kill()
    d = js(t.conn, "image", "upload", img.path)
    assert t.holds(0, 1, img)
    assert d["resumed_at"] >= len(img.data) * 0.35 and d["sent_bytes"] < len(img.data), d
    # 96-byte frames carry a truncated sha (the image header must fit the first chunk): the
    # target cannot confirm the whole-file hash, and the client says so.
    assert d["match"] is False


# ------------------------------------------------------------------------------------------
# Servers that answer garbage


def hdr(op, group, seq, cmd, payload: bytes, ver=1) -> bytes:
    return struct.pack(">BBHHBB", (ver << 3) | op, 0, len(payload), group, seq, cmd) + payload


def cbor(obj) -> bytes:
    import cbor2
    return cbor2.dumps(obj)


def answers(mode: str, req: bytes, rng: random.Random) -> list[bytes]:
    """What a broken server sends back for one request frame."""
    if len(req) < 8:
        return []
    op, _flags, _len, group, seq, cmd = struct.unpack(">BBHHBB", req[:8])
    op &= 7
    rsp_op = op + 1

    def good(payload: bytes, s=seq, g=group, c=cmd) -> bytes:
        return hdr(rsp_op, g, s, c, payload)

    is_params = group == 0 and cmd == 6
    if mode.startswith("upload_") and is_params:
        return [good(cbor({"buf_size": 512, "buf_count": 2}))]
    if mode == "junk":
        return [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) for _ in range(3)]
    if mode == "truncated":  # shorter than their header says
        full = good(cbor({"r": "hi"}))
        return [full[:5], full[:-2], full[:8]]
    if mode == "truncated_cbor":  # whole frames, CBOR cut short
        return [good(cbor({"r": "hi"})[:-2])]
    if mode == "wrong_seq":
        return [good(cbor({"r": "hi"}), s=(seq + 1) & 0xFF), good(cbor({"r": "hi"}), s=seq ^ 0x80)]
    if mode == "late_dup":  # answers of earlier requests only
        return [good(cbor({"r": "old"}), s=(seq - k) & 0xFF) for k in (1, 2, 3)]
    if mode == "wrong_cmd":
        return [good(cbor({}), c=cmd + 1), good(cbor({}), g=group + 5), req]  # req: op 2
    if mode == "bad_cbor":
        return [good(b"\xa1\x61")]
    if mode == "wrong_type":
        return [good(cbor({"r": 5}))]
    if mode == "upload_no_off":
        return [good(cbor({}))]
    if mode == "upload_off_beyond":
        return [good(cbor({"off": 10_000_000}))]
    raise AssertionError(mode)


# mode: (command, expected error)
GARBAGE = {
    "junk": ("echo", "TIMEDOUT"),
    "truncated": ("echo", "TIMEDOUT"),
    "truncated_cbor": ("echo", "PROTO"),
    "wrong_seq": ("echo", "TIMEDOUT"),
    "late_dup": ("echo", "TIMEDOUT"),
    "wrong_cmd": ("echo", "TIMEDOUT"),
    "bad_cbor": ("echo", "PROTO"),
    "wrong_type": ("echo", "PROTO"),
    "upload_no_off": ("upload", "PROTO"),
    "upload_off_beyond": ("upload", "PROTO"),
}


class FakeUdpServer:
    def __init__(self, mode: str):
        self.mode, self.rng = mode, random.Random(mode)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            try:
                req, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            self.requests += 1
            for a in answers(self.mode, req, self.rng):
                self.sock.sendto(a, addr)

    def close(self):
        self._stop = True
        self._t.join()
        self.sock.close()


def crc16_xmodem(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def serial_packet(frame: bytes, crc_ok: bool = True, cut: int | None = None) -> bytes:
    crc = crc16_xmodem(frame) ^ (0 if crc_ok else 0x1234)
    raw = struct.pack(">H", len(frame) + 2) + frame + struct.pack(">H", crc)
    b64 = base64.b64encode(raw)
    lines = [(b"\x06\x09" if i == 0 else b"\x04\x14") + b64[i:i + 124] + b"\n"
             for i in range(0, len(b64), 124)]
    out = b"".join(lines)
    return out if cut is None else out[:cut]


class FakeSerialServer:
    """A PTY pair: the client opens the slave; we read SMP console packets on the master and
    answer with the mode's garbage, wrapped in valid framing, plus broken framing of our own."""

    def __init__(self, mode: str):
        import pty
        import tty
        self.mode, self.rng = mode, random.Random(mode)
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        import select
        buf = b""
        while not self._stop:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if not r:
                continue
            try:
                buf += os.read(self.master, 65536)
            except OSError:
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.startswith(b"\x06\x09"):
                    continue  # continuation lines: the header is in the first one
                raw = base64.b64decode(line[2:])
                req = raw[2:]
                out = b"uart:~$ log line that is not SMP\n" + serial_packet(b"x" * 12, crc_ok=False)
                out += serial_packet(hdr(1, 0, 0, 0, b"\xa0"), cut=20) + b"\n"  # cut short
                for a in answers(self.mode, req, self.rng):
                    out += serial_packet(a) if len(a) >= 8 else a + b"\n"
                os.write(self.master, out)

    def close(self):
        self._stop = True
        self._t.join()
        os.close(self.master)
        os.close(self.slave)


@pytest.mark.parametrize("mode", list(GARBAGE))
@pytest.mark.parametrize("kind", ["udp", "serial"])
def test_garbage_responses(kind, mode, tmp_path, images):
    cmd, err = GARBAGE[mode]
    srv = FakeUdpServer(mode) if kind == "udp" else FakeSerialServer(mode)
    try:
        conn = f"udp:127.0.0.1:{srv.port}" if kind == "udp" else f"serial:{srv.path}"
        args = (["echo", "hi"] if cmd == "echo"
                else ["image", "upload", images["small"].path, "--first-timeout", "0.3"])
        t0 = time.monotonic()
        p = smpfota(conn, *args, opts=("--timeout", "0.2"), timeout=30)
        line = failed(p, err)
        assert time.monotonic() - t0 < 10
        if err == "TIMEDOUT" and mode != "wrong_cmd" and mode != "late_dup" \
                and mode != "wrong_seq":
            assert "malformed" in line or "dropped" in line, line
        assert p.stdout == "" or cmd == "upload"
    finally:
        srv.close()
