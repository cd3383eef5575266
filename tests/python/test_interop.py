"""Interoperability: real SMP clients against `smpfota target`, over UDP and serial (PTY).

Peers (installed by scripts/bootstrap.sh, never by this file):
  * smpmgr 0.19.1 (Python, on smpclient), from the venv beside SMPFOTA_PYTHON:
      smpmgr --ip 127.a.b.c | --port /dev/pts/N  [--timeout 5]
        os echo MSG | os reset | image state-read | image upload FILE |
        image state-write HASH | image state-write [HASH] --confirm | upgrade --confirm FILE
      (params: from its connect-time MCUmgr params read, via --logfile, and smpclient's API)
  * mcumgrctl 0.20.0 (Rust, mcumgr-toolkit's CLI), from <venv>/../cargo/bin:
      mcumgrctl --udp 127.0.0.1:PORT | --serial /dev/pts/N  --timeout 5000
        os echo MSG | --json os mcumgr-parameters | --json image get-state |
        --quiet image upload FILE | --json image set-state --hash HASH [--confirm] |
        --json image set-state --confirm | os system-reset | --quiet firmware update FILE
  The Go `mcumgr` cannot be installed (the Go module proxy refuses it); vouch's Rust
  mcumgr-client is not on crates.io.

Each test starts its own target (fresh flash file, factory image in slot 0) and drives one
flow with one peer over one transport: echo/params/list; upload, test, reset, confirm, reset;
a revert; a permanent (confirm-with-hash) upgrade; the peer's own one-command update. After
every step it checks the image list exactly as Zephyr reports it (img_mgmt_state.c:
img_mgmt_state_read(), from MCUboot's swap type) and reads the target's flash file to check
the slots' bytes and the MCUboot trailers.

Every expected value is computed here: image hashes from the signed files' SHA256 TLV (and
re-hashed), versions from the imgtool arguments, slot offsets from the --slot-size given.

A missing peer fails the test (CI must prove interop); SMPFOTA_ALLOW_MISSING_PEERS=1 turns
that into a skip. Env: SMPFOTA_BUILD, SMPFOTA_SRC, SMPFOTA_PYTHON (see tests/CMakeLists.txt).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from target_harness import SMPFOTA, SRC, Target

# Not resolved: the venv's python is a symlink, and the venv is what we want.
PYTHON = Path(os.environ.get("SMPFOTA_PYTHON", sys.executable))
VENV = PYTHON.parent.parent
SMPMGR = VENV / "bin" / "smpmgr"
MCUMGRCTL = VENV.parent / "cargo" / "bin" / "mcumgrctl"
ALLOW_MISSING = os.environ.get("SMPFOTA_ALLOW_MISSING_PEERS") == "1"

sys.path.insert(0, str(SRC / "scripts"))
import make_test_image as mti  # noqa: E402

# Target geometry, given on its command line; slot offsets in its flash file: Target.span()
# (tools/cli_target.c header comment).
SLOT = 0x40000
PRIMARY, SECONDARY = 0, 1  # image 0's slots
# MCUboot trailer (shared/spec/mcuboot.md §3.1, BOOT_MAX_ALIGN 8), offsets from the area's end.
BOOT_MAGIC = bytes.fromhex("77c295f360d2ef7f3552500f2cb67980")
MAGIC_OFF, IMAGE_OK_OFF, COPY_DONE_OFF, SWAP_INFO_OFF = 16, 24, 32, 40
SWAP_TYPE_TEST, SWAP_TYPE_PERM = 2, 3
# Buffers: not the target's defaults (2048/4), so the params check cannot pass by accident.
# UDP: smpmgr ignores buf_size over UDP and sends datagrams up to its MTU (1500) minus 28, so
# buf_size must be >= 1472 or the target (as Zephyr) drops its upload datagrams.
BUFS = {"udp": (1536, 3), "serial": (512, 5)}
TIMEOUT = 60  # per peer command; a hang is a failure, not a stuck CI job


# ------------------------------------------------------------------------------------------
# Signed images, read without smpfota or the peers


@dataclass(frozen=True)
class Image:
    path: Path
    data: bytes
    version: str  # as Zephyr's img_mgmt_ver_str() prints it
    hash: str  # SHA256 TLV value, lower-case hex: what "image list" must show


def read_image(path: Path) -> Image:
    data = path.read_bytes()
    magic, _load, hdr_size, prot_size, img_size, _flags, major, minor, rev, build = \
        struct.unpack_from("<IIHHIIBBHI", data, 0)
    assert magic == 0x96F3B83D
    off = hdr_size + img_size
    if prot_size:
        tlv_magic, tot = struct.unpack_from("<HH", data, off)
        assert tlv_magic == 0x6908 and tot == prot_size
        off += prot_size
    tlv_magic, tot = struct.unpack_from("<HH", data, off)
    assert tlv_magic == 0x6907
    end, off = off + tot, off + 4
    sha = None
    while off < end:
        t, n = struct.unpack_from("<HH", data, off)
        if t == 0x10:  # IMAGE_TLV_SHA256
            sha = data[off + 4:off + 4 + n]
        off += 4 + n
    assert end == len(data) and sha is not None
    # MCUboot hashes header + body + protected TLVs; the TLV must say the same.
    assert hashlib.sha256(data[:hdr_size + img_size + prot_size]).digest() == sha
    version = f"{major}.{minor}.{rev}" + (f".{build}" if build else "")
    return Image(path, data, version, sha.hex())


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    factory = mti.make_image(d / "factory.bin", size=50_000, seed=11, version="1.0.0",
                             key_dir=d / "keys")
    # Build number set: Zephyr prints it as a fourth component ("2.3.4.5").
    new = mti.make_image(d / "new.bin", size=150_000, seed=12, version="2.3.4+5",
                         key_dir=d / "keys")
    imgs = {"factory": read_image(factory), "new": read_image(new)}
    assert imgs["new"].version == "2.3.4.5"
    return imgs


# ------------------------------------------------------------------------------------------
# Peers: one small driver per tool, each returning plain Python values

FLAGS = ("bootable", "pending", "confirmed", "active", "permanent")


def normal_state(entry: dict) -> dict:
    """An image list entry as compared here: flags left out (frugal list) are False."""
    return {"image": entry.get("image"), "slot": entry["slot"], "version": entry["version"],
            "hash": entry["hash"].lower(), **{f: bool(entry.get(f, False)) for f in FLAGS}}


def run(cmd: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def rich_objects(text: str, name: str) -> list[str]:
    """The argument text of every `name(...)` that rich printed (one or many lines)."""
    out = []
    for m in re.finditer(rf"\b{name}\(", text):
        depth, quote, i = 1, None, m.end()
        while i < len(text) and depth:
            c = text[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            i += 1
        out.append(text[m.end():i - 1])
    return out


_KV = re.compile(r"\b(\w+)=(HashBytes\('([0-9A-Fa-f]*)'\)|b?'((?:[^'\\]|\\.)*)'|True|False|None"
                 r"|-?\d+|<[^>]*>)")


def rich_fields(obj: str) -> dict:
    """Top-level-ish key=value pairs of a pydantic repr; nested keys may repeat (first wins)."""
    d = {}
    for m in _KV.finditer(obj):
        k, v = m.group(1), m.group(2)
        if k in d:
            continue
        if m.group(3) is not None:
            d[k] = m.group(3)
        elif m.group(4) is not None:
            d[k] = m.group(4)
        elif v in ("True", "False", "None"):
            d[k] = {"True": True, "False": False, "None": None}[v]
        elif re.fullmatch(r"-?\d+", v):
            d[k] = int(v)
        else:
            d[k] = v
    return d


class Smpmgr:
    """smpmgr 0.19.1. Quirks met:
    * it prints SMP error responses (`...ErrorV1(`/`...ErrorV2(`) and still exits 0, so every
      output is scanned for them;
    * `image state-write` prints nothing on success (the server's image list is dropped), so
      the state is read back with `state-read`;
    * there is no `os params` command: smpclient reads MCUmgr params while connecting and logs
      them at DEBUG, which `--logfile` captures (and the smpclient API is asked directly too);
    * over UDP the port is fixed to 1337 (`--ip` only) and upload datagrams are sized from
      `--mtu` (1500 - 28), not from the server's buf_size;
    * over serial it sizes requests the legacy way (256 encoded bytes: 128-char lines x 2
      line buffers, i.e. SMP requests of at most 169 bytes) whatever buf_size says, where
      smpclient's own default would fill buf_size - 4; uploads take many small frames;
    * output is rich-formatted; COLUMNS=200 keeps pydantic reprs from wrapping mid-value.
    """

    name = "smpmgr"
    exe = SMPMGR
    udp_port = 1337  # fixed

    def __init__(self, target: Target, tmp_path: Path):
        self.target = target
        self.tmp_path = tmp_path
        if target.transport == "udp":
            host, port = target.addr.rsplit(":", 1)
            assert port == str(self.udp_port)
            self.conn = ["--ip", host]
        else:
            self.conn = ["--port", target.addr]
        self.env = dict(os.environ, COLUMNS="200", NO_COLOR="1", TERM="dumb")
        self.calls = 0

    def _run(self, *args: str, logfile: Path | None = None) -> str:
        extra = ["--logfile", str(logfile)] if logfile else []
        p = run([str(SMPMGR), *self.conn, "--timeout", "5", *extra, *args], env=self.env)
        err = re.search(r"\w*ErrorV[12]\(", p.stdout)
        assert not err, f"smpmgr {' '.join(args)}: error response\n{p.stdout}"
        return p.stdout

    def echo(self, msg: str) -> str:
        out = self._run("os", "echo", msg)
        [rsp] = rich_objects(out, "EchoWriteResponse")
        return rich_fields(rsp)["r"]

    def params(self) -> tuple[int, int]:
        log = self.tmp_path / f"smpmgr-{self.calls}.log"
        self.calls += 1
        self._run("os", "echo", "params", logfile=log)
        m = re.search(r"MCUMgr parameters: .*\bbuf_size=(\d+) buf_count=(\d+)", log.read_text())
        assert m, log.read_text()
        via_cli = (int(m.group(1)), int(m.group(2)))
        assert via_cli == asyncio.run(self._params_api())
        return via_cli

    async def _params_api(self) -> tuple[int, int]:
        from smpclient import SMPClient
        from smpclient.generics import success
        from smpclient.requests.os_management import MCUMgrParametersRead
        if self.target.transport == "udp":
            from smpclient.transport.udp import SMPUDPTransport
            client = SMPClient(SMPUDPTransport(), self.conn[1], timeout_s=5)
        else:
            from smpclient.transport.serial import SMPSerialTransport
            client = SMPClient(SMPSerialTransport(), self.target.addr, timeout_s=5)
        await client.connect()
        try:
            r = await client.request(MCUMgrParametersRead())
        finally:
            await client.disconnect()
        assert success(r), r
        return r.buf_size, r.buf_count

    def list(self) -> list[dict]:
        out = self._run("image", "state-read")
        states = [rich_fields(o) for o in rich_objects(out, "ImageState")]
        assert states, out
        return [normal_state(s) for s in states]

    def upload(self, img: Image):
        out = self._run("image", "upload", str(img.path))
        assert "100.0%" in out, out

    def test(self, img: Image):
        self._run("image", "state-write", img.hash)
        return None  # smpmgr shows no list here

    def confirm(self, img: Image | None = None):
        self._run("image", "state-write", *([img.hash] if img else []), "--confirm")
        return None

    def reset(self):
        out = self._run("os", "reset")
        assert rich_objects(out, "ResetWriteResponse"), out

    def one_shot(self, img: Image) -> str:
        """`upgrade`: upload, state write, reset. Without --confirm (and with the default
        --slot 0) smpmgr writes no state at all, so on a swap-mode MCUboot the reset just boots
        the old image again; --confirm makes it a permanent upgrade."""
        self._run("upgrade", "--confirm", str(img.path))
        return "perm"  # the swap type, as the target's boot log names it


class Mcumgrctl:
    """mcumgrctl 0.20.0 (mcumgr-toolkit). Quirks met:
    * serial: lines of at most 127 bytes (Zephyr's MCUMGR_SERIAL_MAX_FRAME: 93 raw bytes in
      124 base64 chars), frames of buf_size - 4 bytes (length and CRC share the netbuf);
    * UDP: frames capped at 1024 bytes whatever buf_size says;
    * upload sends `upgrade: false` and the full-file `sha` in the first chunk and logs a
      warning (stderr) when the server's last answer has no `match`;
    * `--json` works for params, get-state and set-state (whose answer is the image list);
      `os echo` prints the echoed text as is.
    """

    name = "mcumgrctl"
    exe = MCUMGRCTL
    udp_port = 0  # any: the target picks an ephemeral port

    def __init__(self, target: Target, tmp_path: Path):
        self.target = target
        self.conn = ["--udp" if target.transport == "udp" else "--serial", target.addr]

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return run([str(MCUMGRCTL), *self.conn, "--timeout", "5000", *args])

    def echo(self, msg: str) -> str:
        return self._run("os", "echo", msg).stdout.rstrip("\n")

    def params(self) -> tuple[int, int]:
        d = json.loads(self._run("--json", "os", "mcumgr-parameters").stdout)
        return d["buf_size"], d["buf_count"]

    def list(self) -> list[dict]:
        out = self._run("--json", "image", "get-state").stdout
        return [normal_state(s) for s in json.loads(out)]

    def upload(self, img: Image):
        p = self._run("--quiet", "image", "upload", str(img.path))
        # Logged when the server's last answer has no "match" (CONFIG_IMG_ENABLE_IMAGE_CHECK).
        assert "did not perform image checksum verification" not in p.stderr, p.stderr

    def test(self, img: Image):
        return [normal_state(s) for s in json.loads(
            self._run("--json", "image", "set-state", "--hash", img.hash).stdout)]

    def confirm(self, img: Image | None = None):
        args = ["--hash", img.hash] if img else []
        return [normal_state(s) for s in json.loads(
            self._run("--json", "image", "set-state", *args, "--confirm").stdout)]

    def reset(self):
        self._run("os", "system-reset")

    def one_shot(self, img: Image) -> str:
        """`firmware update`: bootloader-info (MCUboot, mode), upload, test, reset."""
        self._run("--quiet", "firmware", "update", str(img.path))
        return "test"  # the swap type, as the target's boot log names it


PEERS = {"smpmgr": Smpmgr, "mcumgrctl": Mcumgrctl}


# ------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(params=["udp", "serial"])
def transport(request):
    return request.param


@pytest.fixture(params=list(PEERS))
def peer_cls(request):
    cls = PEERS[request.param]
    if not (cls.exe.is_file() and os.access(cls.exe, os.X_OK)):
        why = f"{cls.name} not installed at {cls.exe}: run scripts/bootstrap.sh"
        if cls is Mcumgrctl and not (shutil.which("cargo") or
                                     (Path.home() / ".cargo" / "bin" / "cargo").exists()):
            why += " after installing Rust (cargo not found; bootstrap skips mcumgrctl without it)"
        if ALLOW_MISSING:
            pytest.skip(why + "; skipped because SMPFOTA_ALLOW_MISSING_PEERS=1")
        pytest.fail(why + " (SMPFOTA_ALLOW_MISSING_PEERS=1 to skip)")
    return cls


@pytest.fixture
def target(tmp_path, transport, images, peer_cls):
    if not SMPFOTA.is_file():
        pytest.fail(f"{SMPFOTA} not built")
    # smpmgr has no UDP port option (1337 is fixed), so such a target gets its own loopback
    # address; port 0: the target binds an ephemeral port on 127.0.0.1 and prints it.
    t = Target(tmp_path / "flash.bin", transport, primary=images["factory"].path, images=2,
               slot=SLOT, buf_size=BUFS[transport][0], buf_count=BUFS[transport][1],
               port=peer_cls.udp_port)
    yield t
    try:
        t.stop(check=True)  # exit 0, no sanitizer report
    finally:
        print(t.log_text())  # pytest shows it only for a failed test


@pytest.fixture
def peer(peer_cls, target, tmp_path):
    return peer_cls(target, tmp_path)


# ------------------------------------------------------------------------------------------
# Expected state, as Zephyr's img_mgmt_state_read() reports it: active slot ACTIVE, and
# CONFIRMED unless a revert is due; the other slot PENDING (test), PENDING|PERMANENT (perm)
# or CONFIRMED (revert due), from MCUboot's swap type (img_mgmt_get_next_boot_slot()).


def state(img: Image, slot: int, *flags: str) -> dict:
    bad = set(flags) - set(FLAGS)
    assert not bad, bad
    # Every image here is valid and lacks IMAGE_F_NON_BOOTABLE, hence "bootable".
    return {"image": 0, "slot": slot, "version": img.version, "hash": img.hash,
            **{f: f in flags or f == "bootable" for f in FLAGS}}


def check_list(peer, expected: list[dict], got: list[dict] | None = None):
    # "image" is compared too: with two image pairs Zephyr sends it in every entry.
    got = peer.list() if got is None else got
    assert got == expected


def trailer(t: bytes) -> dict:
    """The MCUboot trailer fields of an area: magic good?, image_ok, copy_done, swap_info."""
    return {"magic": t[-MAGIC_OFF:] == BOOT_MAGIC, "image_ok": t[-IMAGE_OK_OFF],
            "copy_done": t[-COPY_DONE_OFF], "swap_info": t[-SWAP_INFO_OFF]}


def upload_and_test(peer, target, images):
    factory, new = images["factory"], images["new"]
    peer.upload(new)
    check_list(peer, [state(factory, 0, "active", "confirmed"), state(new, 1)])
    f = target.flash()
    assert target.holds(0, SECONDARY, new, f) and target.holds(0, PRIMARY, factory, f)
    assert trailer(target.area(0, SECONDARY, f)) == {
        "magic": False, "image_ok": 0xFF, "copy_done": 0xFF, "swap_info": 0xFF}

    # Test: Zephyr answers the state write with the new list (TEST: slot 1 pending).
    expected = [state(factory, 0, "active", "confirmed"), state(new, 1, "pending")]
    rsp = peer.test(new)
    if rsp is not None:
        check_list(peer, expected, rsp)
    check_list(peer, expected)
    # boot_set_pending(): secondary magic + swap_info TEST for image 0, image_ok untouched.
    assert trailer(target.area(0, SECONDARY)) == {
        "magic": True, "image_ok": 0xFF, "copy_done": 0xFF, "swap_info": SWAP_TYPE_TEST}

    peer.reset()
    target.wait_boots(2)
    # REVERT pending: the running (new) image is not confirmed, the old one in slot 1 is.
    check_list(peer, [state(new, 0, "active"), state(factory, 1, "confirmed")])
    f = target.flash()
    assert target.holds(0, PRIMARY, new, f) and target.holds(0, SECONDARY, factory, f)
    t = trailer(target.area(0, PRIMARY, f))
    assert t["magic"] and t["image_ok"] == 0xFF and t["copy_done"] == 0x01, t


# ------------------------------------------------------------------------------------------
# Tests


def test_echo_params_list(peer, target, images):
    factory = images["factory"]
    assert peer.echo("hello smpfota") == "hello smpfota"
    assert peer.params() == (target.buf_size, target.buf_count)
    check_list(peer, [state(factory, 0, "active", "confirmed")])
    f = target.flash()
    assert target.holds(0, PRIMARY, factory, f)
    assert set(target.area(0, SECONDARY, f)) == {0xFF}
    target.assert_clean()


def test_upgrade_test_confirm(peer, target, images):
    factory, new = images["factory"], images["new"]
    upload_and_test(peer, target, images)

    # Confirm the running image (no hash): swap type NONE, slot 1 shows no flag.
    expected = [state(new, 0, "active", "confirmed"), state(factory, 1)]
    rsp = peer.confirm()
    if rsp is not None:
        check_list(peer, expected, rsp)
    check_list(peer, expected)
    assert trailer(target.area(0, PRIMARY))["image_ok"] == 0x01

    peer.reset()
    target.wait_boots(3)
    check_list(peer, expected)
    f = target.flash()
    assert target.holds(0, PRIMARY, new, f) and target.holds(0, SECONDARY, factory, f)
    assert target.last_boot() == f"swap none, running 2.3.4+5 hash {new.hash}"
    target.assert_clean()


def test_revert_without_confirm(peer, target, images):
    factory, new = images["factory"], images["new"]
    upload_and_test(peer, target, images)

    peer.reset()  # no confirm: MCUboot swaps back and makes the old image permanent again
    target.wait_boots(3)
    assert target.last_boot() == f"swap revert, running 1.0.0 hash {factory.hash}"
    expected = [state(factory, 0, "active", "confirmed"), state(new, 1)]
    check_list(peer, expected)
    f = target.flash()
    assert target.holds(0, PRIMARY, factory, f) and target.holds(0, SECONDARY, new, f)
    t = trailer(target.area(0, PRIMARY, f))
    assert t["magic"] and t["image_ok"] == 0x01, t

    peer.reset()  # and it stays
    target.wait_boots(4)
    check_list(peer, expected)
    target.assert_clean()


def test_permanent_upgrade(peer, target, images):
    factory, new = images["factory"], images["new"]
    peer.upload(new)
    # Confirm with the hash of slot 1: PERM, shown as pending + permanent.
    expected = [state(factory, 0, "active", "confirmed"), state(new, 1, "pending", "permanent")]
    rsp = peer.confirm(new)
    if rsp is not None:
        check_list(peer, expected, rsp)
    check_list(peer, expected)
    t = trailer(target.area(0, SECONDARY))
    assert t == {"magic": True, "image_ok": 0x01, "copy_done": 0xFF,
                 "swap_info": SWAP_TYPE_PERM}, t

    peer.reset()
    target.wait_boots(2)
    assert target.last_boot() == f"swap perm, running 2.3.4+5 hash {new.hash}"
    expected = [state(new, 0, "active", "confirmed"), state(factory, 1)]
    check_list(peer, expected)
    f = target.flash()
    assert target.holds(0, PRIMARY, new, f) and target.holds(0, SECONDARY, factory, f)
    assert trailer(target.area(0, PRIMARY, f))["image_ok"] == 0x01

    peer.reset()  # no revert after a permanent swap
    target.wait_boots(3)
    check_list(peer, expected)
    target.assert_clean()


def test_one_shot_upgrade(peer, target, images):
    """The peer's own one-command update (see one_shot), then what a device must show."""
    factory, new = images["factory"], images["new"]
    kind = peer.one_shot(new)
    target.wait_boots(2)
    assert target.last_boot() == f"swap {kind}, running 2.3.4+5 hash {new.hash}"
    if kind == "test":
        check_list(peer, [state(new, 0, "active"), state(factory, 1, "confirmed")])
        peer.confirm()
    check_list(peer, [state(new, 0, "active", "confirmed"), state(factory, 1)])
    f = target.flash()
    assert target.holds(0, PRIMARY, new, f) and target.holds(0, SECONDARY, factory, f)
    target.assert_clean()
