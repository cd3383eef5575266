"""Two QEMU processes wired UART to UART: the bare-metal master firmware (mps2-an505,
Cortex-M33) and the real Zephyr smp_svr + MCUboot target (microbit) from ../shared/peers.

Not a test module. Used by test_e2e.py and bench/bench_baremetal.py.

The target's console UART (SMP serial) is a QEMU socket chardev server on a Unix socket; the
master's UART1 connects to it, its UART0 (console) is QEMU's stdout, read line by line by a
thread. Every QEMU process dies with the process that started it (PR_SET_PDEATHSIG), so a
test killed by its time limit leaves none behind; stop() ends them otherwise.
"""
from __future__ import annotations

import asyncio
import ctypes
import json
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

SRC = Path(os.environ.get("SMPFOTA_SRC", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("SMPFOTA_BUILD", SRC / "build"))
MASTER_ELF = Path(os.environ.get("SMPFOTA_BM_MASTER", BUILD / "baremetal" / "master.elf"))
PEERS = Path(os.environ.get("SMPFOTA_PEERS", SRC.parent / "shared" / "peers"))
TARGET_HEX = PEERS / "zephyr_4.4.0_smp_server_0eae053d_qemu_cortex_m0_serial.merged.hex"
TARGET_APP = PEERS / "zephyr_4.4.0_smp_server_0eae053d_qemu_cortex_m0_serial.signed.bin"
TARGET_SLOT = 0x1A000  # the fixture's slot size (peers README)

# Master memory map (ports/baremetal/boards/mps2_an505/mps2_an505.ld).
IMAGE_ADDR = 0x10100000
JOB_ADDR = 0x10080000
JOB_MAGIC = 0x424F4A53
JOB_NO_CONFIRM = 0x1
JOB_CHECK_REVERT = 0x2


def _die_with_parent() -> None:
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def make_image(workdir: Path, version: str) -> Path:
    """The target's own app re-signed with another version, as the peers README says: an
    image its MCUboot accepts (SHA-256 TLV, no signature)."""
    data = TARGET_APP.read_bytes()
    hdr_size = struct.unpack_from("<H", data, 8)[0]
    img_size = struct.unpack_from("<I", data, 12)[0]
    body = workdir / "body.bin"
    body.write_bytes(data[hdr_size:hdr_size + img_size])
    out = workdir / f"app-{version}.bin"
    imgtool = Path(os.environ.get("SMPFOTA_PYTHON", BUILD / "venv" / "bin" / "python")).parent / "imgtool"
    subprocess.run([str(imgtool), "sign", "--header-size", hex(hdr_size), "--pad-header",
                    "--align", "4", "--version", version, "--slot-size", hex(TARGET_SLOT),
                    str(body), str(out)], check=True, capture_output=True)
    return out


def image_hash(path: Path) -> str:
    """The SHA-256 TLV of an MCUboot image (the hash `image list` shows), read here without
    smpfota: header sizes, then the TLV areas (mcuboot image.h layout)."""
    data = path.read_bytes()
    hdr_size, _, img_size = struct.unpack_from("<HHI", data, 8)  # hdr, protected TLVs, body
    off = hdr_size + img_size
    magic, tot = struct.unpack_from("<HH", data, off)
    if magic == 0x6908:  # protected TLV area first
        off += tot
        magic, tot = struct.unpack_from("<HH", data, off)
    end, off = off + tot, off + 4
    while off < end:
        kind, length = struct.unpack_from("<HH", data, off)
        if kind == 0x10:
            return data[off + 4:off + 4 + length].hex()
        off += 4 + length
    raise ValueError(f"{path}: no SHA-256 TLV")


# The smp_svr sample's last boot line: its SMP server is up.
BOOTED = b"smp_sample: build time"


def _connect(path: Path, proc: "Qemu", timeout: float = 10.0) -> socket.socket:
    """Connect to a Unix socket a QEMU process is about to open."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(path))
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline or proc.proc.poll() is not None:
                raise RuntimeError(f"{proc.name}: no socket {path}:\n" + "\n".join(proc.lines))
            time.sleep(0.02)


def qmp(path: Path, command: str) -> None:
    """Run one QMP command on a QEMU's monitor socket."""
    deadline = time.monotonic() + 10
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(path))
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    with s:
        f = s.makefile("rw")
        json.loads(f.readline())  # greeting
        for cmd in ("qmp_capabilities", command):
            f.write(json.dumps({"execute": cmd}) + "\n")
            f.flush()
            while "return" not in (rsp := json.loads(f.readline())):
                if "error" in rsp:
                    raise RuntimeError(f"QMP {cmd}: {rsp}")


class Qemu:
    """One QEMU process; its stdout collected line by line."""

    def __init__(self, name: str, args: list[str]):
        self.name = name
        self.args = args
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def expect(self, pattern: str, timeout: float) -> re.Match[str]:
        """Wait for the next line matching pattern (lines before it are skipped)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no line matching {pattern!r} within "
                                   f"{timeout} s; output:\n" + "\n".join(self.lines))
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise EOFError(f"{self.name} exited ({self.proc.poll()}) before "
                               f"{pattern!r}; output:\n" + "\n".join(self.lines))
            m = rx.search(line)
            if m:
                return m

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Pair:
    """Target QEMU (server end of the wire) and master QEMU (client end)."""

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.wire = workdir / "wire.sock"
        self.qmp_path = workdir / "master.qmp"
        self.target_qmp = workdir / "target.qmp"
        self.target: Qemu | None = None
        self.master: Qemu | None = None
        self._silent: socket.socket | None = None

    def start_target(self) -> None:
        """Start the target and wait until its SMP server runs. It starts halted (-S) and
        is let go once we listen on its UART, so its boot log proves it is up: bytes that
        reach it while it boots can wedge its UART for good (seen with QEMU's nRF51 UART and
        Zephyr: no answer until a reset), and a master powered on with it would meet that."""
        args = ["qemu-system-arm", "-machine", "microbit", "-cpu", "cortex-m0",
                "-display", "none", "-monitor", "none", "-S",
                "-chardev", f"socket,id=con,path={self.wire},server=on,wait=off",
                "-serial", "chardev:con", "-device", f"loader,file={TARGET_HEX}",
                "-qmp", f"unix:{self.target_qmp},server=on,wait=off"]
        self.target = Qemu("target", args)
        with _connect(self.wire, self.target) as wire:
            qmp(self.target_qmp, "cont")
            wire.settimeout(0.5)
            seen = b""
            deadline = time.monotonic() + 20
            while BOOTED not in seen:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the target did not boot: {seen[-300:]!r}")
                try:
                    seen += wire.recv(4096)
                except TimeoutError:
                    pass

    def start_silent_target(self) -> None:
        """A target that takes every byte and never answers (a hung application), at the
        end of the same wire. Not a halted QEMU: that one stops reading, and QEMU's socket
        then pushes back on the master's UART, which no real UART without flow control
        does."""
        self._silent = socket.socket(socket.AF_UNIX)
        self._silent.bind(str(self.wire))
        self._silent.listen(1)

        def drain() -> None:
            try:
                conn, _ = self._silent.accept()
                with conn:
                    while conn.recv(4096):
                        pass
            except OSError:
                return

        threading.Thread(target=drain, daemon=True).start()

    def start_master(self, image: Path, job_flags: int | None = None) -> Qemu:
        args = ["qemu-system-arm", "-machine", "mps2-an505", "-display", "none",
                "-monitor", "none", "-serial", "stdio",
                "-chardev", f"socket,id=smp,path={self.wire}", "-serial", "chardev:smp",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                "-kernel", str(MASTER_ELF),
                "-device", f"loader,file={image},addr={IMAGE_ADDR:#x},force-raw=on"]
        if job_flags is not None:
            for off, word in ((0, JOB_MAGIC), (4, job_flags)):
                args += ["-device", f"loader,addr={JOB_ADDR + off:#x},data={word:#x},data-len=4"]
        self.master = Qemu("master", args)
        return self.master

    def reset_master(self) -> None:
        """A hardware reset of the master (QMP system_reset): the firmware starts over; the
        loader device writes the image and job again, the target is untouched."""
        qmp(self.qmp_path, "system_reset")

    def stop_master(self) -> None:
        if self.master is not None:
            self.master.stop()

    def stop(self) -> None:
        for q in (self.master, self.target):
            if q is not None:
                q.stop()
        if self._silent is not None:
            self._silent.close()

    # ---- an independent look at the target -------------------------------------------------

    def target_images(self, timeout: float = 20.0) -> list[dict]:
        """The target's image list through smpclient (the Python SMP peer, not our code),
        once the master is stopped: the target's socket takes a new client. smpclient opens
        a serial port, so a PTY is bridged to the socket for it."""
        self.stop_master()
        return asyncio.run(asyncio.wait_for(self._images(), timeout))

    async def _images(self) -> list[dict]:
        from smpclient.requests.image_management import ImageStatesRead  # noqa: PLC0415 (venv)
        from smpclient import SMPClient  # noqa: PLC0415
        from smpclient.transport.serial import SMPSerialTransport  # noqa: PLC0415

        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(self.wire))
        pty_master, pty_slave = os.openpty()
        stop = threading.Event()

        def pump(src_read, dst_write) -> None:
            while not stop.is_set():
                try:
                    data = src_read()
                except OSError:
                    return
                if not data:
                    return
                try:
                    dst_write(data)
                except OSError:
                    return

        sock.settimeout(0.2)

        def sock_read() -> bytes:
            try:
                return sock.recv(4096)
            except TimeoutError:
                return b"" if stop.is_set() else sock_read()

        t1 = threading.Thread(target=pump, args=(sock_read, lambda d: os.write(pty_master, d)),
                              daemon=True)
        t2 = threading.Thread(target=pump, args=(lambda: os.read(pty_master, 4096), sock.sendall),
                              daemon=True)
        t1.start()
        t2.start()
        try:
            client = SMPClient(SMPSerialTransport(), os.ttyname(pty_slave))
            await client.connect()
            try:
                rsp = await client.request(ImageStatesRead(), timeout_s=3.0)
            finally:
                await client.disconnect()
            return [{"image": s.image, "slot": s.slot, "version": s.version,
                     "hash": bytes(s.hash).hex() if s.hash else None, "active": s.active,
                     "confirmed": s.confirmed, "pending": s.pending} for s in rsp.images]
        finally:
            stop.set()
            sock.close()
            os.close(pty_master)
            os.close(pty_slave)
