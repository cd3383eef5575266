"""A real Zephyr + MCUboot target in QEMU, for the tests and bench/bench_real.py.

The prebuilt fixture in ../shared/peers (its README): Zephyr 4.4.0's `smp_svr` sample behind
MCUboot (swap mode), for QEMU's `microbit` machine (nRF51, Cortex-M0), SMP over the console
UART; buf_size 384, buf_count 4; slot size 0x1a000. Nobody here wrote it.

Not a test module (pytest collects test_*.py only). Env: SMPFOTA_PEERS (the peers folder;
default ../shared/peers beside the source tree or beside its parent), SMPFOTA_BUILD.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

from target_harness import SMPFOTA, SRC

sys.path.insert(0, str(SRC / "scripts"))
import make_test_image as mti  # noqa: E402

FIXTURE = "zephyr_4.4.0_smp_server_0eae053d_qemu_cortex_m0_serial"
SLOT_SIZE = 0x1A000
HEADER_SIZE = 0x200
_PTY = re.compile(r"char device redirected to (/dev/\S+)")


def _die_with_parent() -> None:
    """QEMU dies with the process that started it (a test killed by its time limit)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def peers_dir() -> Path | None:
    env = os.environ.get("SMPFOTA_PEERS")
    cands = [Path(env)] if env else [SRC.parent / "shared" / "peers",
                                     SRC.parent.parent / "shared" / "peers"]
    for d in cands:
        if (d / f"{FIXTURE}.merged.hex").is_file():
            return d
    return None


def missing() -> str | None:
    """Why the real target cannot run here, or None."""
    if shutil.which("qemu-system-arm") is None:
        return "qemu-system-arm not installed (scripts/bootstrap.sh installs it)"
    if peers_dir() is None:
        return "the Zephyr fixture (../shared/peers, or SMPFOTA_PEERS) is not there"
    return None


def factory_image() -> Path:
    return peers_dir() / f"{FIXTURE}.signed.bin"


def image_hash(path: Path) -> str:
    """The SHA256 TLV of a signed image (what `image list` shows)."""
    data = path.read_bytes()
    _, _, hdr, _, size = struct.unpack_from("<IIHHI", data, 0)
    off = hdr + size
    magic, total = struct.unpack_from("<HH", data, off)
    if magic == 0x6908:  # protected TLV area first
        off += total
        magic, total = struct.unpack_from("<HH", data, off)
    assert magic == 0x6907, hex(magic)
    end, off = off + total, off + 4
    while off < end:
        kind, length = struct.unpack_from("<HH", data, off)
        if kind in (0x10, 0x11, 0x12):  # SHA256, SHA384, SHA512
            return data[off + 4:off + 4 + length].hex()
        off += 4 + length
    raise ValueError(f"{path}: no hash TLV")


def resign(out: Path, version: str, *, key_type: str | None = None,
           key_dir: Path | None = None) -> Path:
    """The fixture's application body signed again with imgtool (the fixture README's recipe)
    as `version`. Unsigned (hash TLV only), which is all the fixture's MCUboot checks; a
    key_type (make_test_image.KEY_TYPES) adds a signature and the hash imgtool pairs with it."""
    data = factory_image().read_bytes()
    _, _, hdr, _, size = struct.unpack_from("<IIHHI", data, 0)
    body = out.with_name(out.name + ".body")
    body.write_bytes(data[hdr:hdr + size])
    key = mti.keygen(key_type, key_dir or out.parent / "keys") if key_type else None
    return mti.sign(body, out, key=key, version=version, header_size=HEADER_SIZE,
                    pad_header=True, align=4, slot_size=SLOT_SIZE)


class QemuTarget:
    """qemu-system-arm running the fixture, its console UART on a PTY (`pty`, `conn`).

    The PTY is held open by this object for the target's whole life: QEMU's PTY back end
    notices a reader only by polling once a second after the last one closed, so without it
    every client command would wait up to a second for its first byte (a real UART has no such
    delay). The holder never reads. Each start() is a fresh target: QEMU's loader writes the
    hex at every boot, so slot 0 holds the factory image again after any reset (the fixture
    README).
    """

    def __init__(self, smpfota: Path = SMPFOTA):
        self.smpfota = smpfota
        self.proc: subprocess.Popen | None = None
        self.pty = ""
        self._holder = -1
        self.log: list[str] = []

    @property
    def conn(self) -> str:
        return f"serial:{self.pty}"

    def start(self, timeout: float = 30.0) -> "QemuTarget":
        hexfile = peers_dir() / f"{FIXTURE}.merged.hex"
        self.proc = subprocess.Popen(
            ["qemu-system-arm", "-cpu", "cortex-m0", "-machine", "microbit", "-nographic",
             "-monitor", "none", "-chardev", "pty,id=con", "-serial", "chardev:con",
             "-device", f"loader,file={hexfile}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, preexec_fn=_die_with_parent)
        found = threading.Event()

        def reader():
            for line in self.proc.stdout:
                self.log.append(line.rstrip())
                m = _PTY.search(line)
                if m and not found.is_set():
                    self.pty = m.group(1)
                    found.set()
            found.set()

        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(timeout) or not self.pty:
            self.stop()
            raise RuntimeError("QEMU did not start: " + " | ".join(self.log[-5:]))
        self._holder = os.open(self.pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        # Raw at once: the line discipline would echo the target's output back to it.
        tty.setraw(self._holder)
        self.wait_boot(timeout)
        return self

    def wait_boot(self, timeout: float = 30.0) -> None:
        """After start() or a reset: until the application has booted and answers."""
        self._read_banner(timeout)
        self.wait_alive(timeout)

    def _read_banner(self, timeout: float) -> None:
        """Read the boot log until the application has printed its banner and gone quiet: an
        SMP frame sent while MCUboot or the kernel boots gets no answer, and in this QEMU
        machine the UART then stays deaf to the next ones."""
        end, text, quiet = time.monotonic() + timeout, b"", None
        while time.monotonic() < end:
            r, _, _ = select.select([self._holder], [], [], 0.05)
            if r:
                try:
                    text += os.read(self._holder, 4096)
                except BlockingIOError:
                    pass
                quiet = None
            elif b"Booting Zephyr" in text and text.endswith(b"\n"):
                quiet = quiet or time.monotonic()
                if time.monotonic() - quiet > 0.2:
                    return
        raise RuntimeError(f"no boot banner from the target: {text[-200:]!r}")

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.smpfota), "--conn", self.conn, *args],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)

    def wait_alive(self, timeout: float = 30.0) -> None:
        """Until the application answers SMP (MCUboot boots it first)."""
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("QEMU exited: " + " | ".join(self.log[-5:]))
            p = self.cli("--timeout", "0.5", "echo", "up", timeout=10)
            if p.returncode == 0:
                return
            if time.monotonic() > end:
                raise RuntimeError(f"the target never answered: {p.stderr.strip()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self._holder >= 0:
            os.close(self._holder)
            self._holder = -1
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "QemuTarget":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
