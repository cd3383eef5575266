"""`smpfota target` in a subprocess, for the Python tests and bench/bench_upload.py.

Not a test module (pytest collects test_*.py only). The tests import it from their own folder
(pytest puts it on sys.path); bench/bench_upload.py adds tests/python to sys.path.

Env: SMPFOTA_BUILD, SMPFOTA_SRC (see tests/CMakeLists.txt) give the default executable.
"""
from __future__ import annotations

import os
import queue
import random
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

SRC = Path(os.environ.get("SMPFOTA_SRC", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("SMPFOTA_BUILD", SRC / "build"))
SMPFOTA = BUILD / "smpfota"

# Flash file layout (tools/cli_target.c header comment): the app-core device (4 KB pages:
# primary = slot + 1 page for swap-using-move, then the secondary), followed by the
# network-core device (2 KB pages, the same shape) when two images are configured.
PAGE, NET_PAGE = 4096, 2048
# The target's defaults for what is not given on its command line (tools/cli_target.c).
DEFAULT_SLOT, DEFAULT_NET_SLOT = 0x74000, 0x3C000
DEFAULT_BUF_SIZE, DEFAULT_BUF_COUNT = 2048, 4

_READY = re.compile(r"smpfota target: (?:udp (\S+:\d+)|serial pty (\S+))$")
_BOOT = re.compile(r"target: boot \d+ image 0:")


def free_loopback(port: int) -> str:
    """A 127.x.y.z address whose UDP `port` is free now (smpmgr's port is fixed to 1337, so
    each target gets its own address)."""
    rng = random.Random(f"{os.getpid()}-{time.monotonic_ns()}")
    for _ in range(50):
        host = f"127.{rng.randrange(1, 255)}.{rng.randrange(256)}.{rng.randrange(2, 255)}"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((host, port))
            return host
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError(f"no free 127.x.y.z:{port}")


class Target:
    """`smpfota target` on a flash file, over UDP or a serial PTY; its stderr (the log) is
    collected by a thread.

    UDP: `host` None means 127.0.0.1 for port 0 (the target binds an ephemeral port and prints
    it), else a free 127.x.y.z (`free_loopback`), another one if it is taken before the target
    binds it. After start(): `addr` ("HOST:PORT" or the PTY's path), `host`, `port`, `pty`,
    and `conn` (the smpfota CLI's URI). A restart (start() after kill() or stop()) keeps the
    flash file, the address and the log.

    None for primary/images/slot/net_slot/buf_size/buf_count: the flag is not given and the
    target's default applies; `args` are passed through as they are.
    """

    def __init__(self, flash_path: Path, transport: str, *, exe: Path = SMPFOTA,
                 primary: Path | None = None, primary_net: Path | None = None,
                 images: int | None = None, slot: int | None = None,
                 net_slot: int | None = None, buf_size: int | None = None,
                 buf_count: int | None = None, host: str | None = None, port: int = 0,
                 args: tuple[str, ...] = (), start: bool = True):
        assert transport in ("udp", "serial"), transport
        self.flash_path, self.transport, self.exe = Path(flash_path), transport, exe
        self.cmd = [str(exe), "target", "--flash", str(self.flash_path)]
        for flag, v in (("--primary", primary), ("--primary-net", primary_net),
                        ("--images", images), ("--buf-size", buf_size),
                        ("--buf-count", buf_count)):
            if v is not None:
                self.cmd += [flag, str(v)]
        for flag, v in (("--slot-size", slot), ("--net-slot-size", net_slot)):
            if v is not None:
                self.cmd += [flag, hex(v)]
        self.cmd += list(args)
        self.images = 2 if images is None else images
        self.slot = DEFAULT_SLOT if slot is None else slot
        self.net_slot = DEFAULT_NET_SLOT if net_slot is None else net_slot
        self.buf_size = DEFAULT_BUF_SIZE if buf_size is None else buf_size
        self.buf_count = DEFAULT_BUF_COUNT if buf_count is None else buf_count
        self.host, self.port = host, port
        self.addr = self.pty = self.conn = None
        self.proc = None
        self.log: list[str] = []
        self._cv = threading.Condition()
        if start:
            self.start()

    # ---- process

    def start(self):
        """Start the target and wait for its first boot."""
        pick = self.transport == "udp" and self.host is None
        for _ in range(20 if pick else 1):
            if pick:
                host = free_loopback(self.port) if self.port else "127.0.0.1"
            else:
                host = self.host
            if self._launch(host):
                return
        raise RuntimeError("smpfota target did not start:\n" + self.log_text())

    def _launch(self, host: str | None) -> bool:
        """One attempt; False if the UDP address was taken (the attempt's log is dropped)."""
        cmd = self.cmd + (["--udp", f"{host}:{self.port}"] if self.transport == "udp"
                          else ["--serial-pty"])
        with self._cv:
            mark, boots = len(self.log), self.boots()
        keep = [True]  # this attempt's lines go to the log while this holds
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read_log, args=(self.proc.stderr, keep),
                                        daemon=True)
        self._reader.start()
        ready: queue.Queue = queue.Queue()
        threading.Thread(target=lambda p=self.proc: ready.put(p.stdout.readline()),
                         daemon=True).start()
        try:
            line = ready.get(timeout=20)
        except queue.Empty:
            line = ""
        m = _READY.match(line.strip())
        if m:
            self.addr = m.group(1) or m.group(2)
            if m.group(1):
                h, p = m.group(1).rsplit(":", 1)
                self.host, self.port = h, int(p)
                self.conn = f"udp:{self.addr}"
            else:
                self.pty = m.group(2)
                self.conn = f"serial:{self.pty}"
            self.wait_boots(boots + 1)
            return True
        self.stop()
        text = self.log_text()
        if "cannot bind" in text:
            with self._cv:  # its boot line must not count
                keep[0] = False
                del self.log[mark:]
            return False
        raise RuntimeError(f"smpfota target did not start ({line!r}):\n" + text)

    def _read_log(self, f, keep: list[bool]):
        for line in f:
            with self._cv:
                if keep[0]:
                    self.log.append(line.rstrip("\n"))
                    self._cv.notify_all()

    def kill(self):
        """SIGKILL: no clean exit (a power cut); start() brings it back."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, check: bool = False) -> int | None:
        """SIGTERM (the target exits cleanly on it), SIGKILL if it hangs; its exit status.
        check: assert it exited 0 with no sanitizer report in its log (under ASan/UBSan a
        report ends the target with an error status)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)  # the log's last lines (a sanitizer report)
        rc = self.proc.returncode
        if check:
            text = self.log_text()
            assert rc == 0 and "Sanitizer" not in text and "runtime error" not in text, \
                f"target exit {rc}:\n{text}"
        return rc

    # ---- log

    def log_text(self) -> str:
        with self._cv:
            return "\n".join(self.log)

    def boots(self) -> int:
        """How often MCUboot (the boot model) has run, restarts included."""
        with self._cv:
            return sum(1 for l in self.log if _BOOT.match(l))

    def last_boot(self) -> str:
        """What the boot model last said about image 0: "swap <type>, running <ver> hash <h>"."""
        with self._cv:
            boots = [l for l in self.log if _BOOT.match(l)]
        return boots[-1].split(": ", 2)[2]

    def wait_boots(self, n: int, timeout: float = 20):
        """Wait until MCUboot has run n times: a reset is over."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self.boots() < n:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"target: {n} boots expected:\n" + "\n".join(self.log))
                self._cv.wait(min(left, 0.2))

    def assert_clean(self):
        """Nothing a client sent was dropped or refused by the target's transport (every
        frame fitted its buffer, nothing was malformed), and every boot succeeded."""
        text = self.log_text()
        assert "dropped" not in text and "boot failed" not in text, text

    # ---- flash

    def flash(self) -> bytes:
        # The target maps this file MAP_SHARED: a read sees every write it has made.
        return self.flash_path.read_bytes()

    def span(self, image: int, slot: int) -> tuple[int, int]:
        """(offset, size) in the flash file of slot (0 primary, 1 secondary) of image."""
        assert image in range(self.images) and slot in (0, 1), (image, slot)
        if image == 0:
            base, page, size = 0, PAGE, self.slot
        else:
            base, page, size = 2 * self.slot + PAGE, NET_PAGE, self.net_slot
        return (base, size + page) if slot == 0 else (base + size + page, size)

    def area(self, image: int, slot: int, flash: bytes | None = None) -> bytes:
        """The bytes of slot of image: from `flash` (a flash() snapshot) or read now."""
        start, size = self.span(image, slot)
        return (self.flash() if flash is None else flash)[start:start + size]

    def holds(self, image: int, slot: int, img, flash: bytes | None = None) -> bool:
        """The slot starts with img's bytes (img: an image with .data)."""
        return self.area(image, slot, flash)[:len(img.data)] == img.data
