#!/usr/bin/env python3
"""Image upload benchmark: smpfota against the peer SMP clients, on `smpfota target`.

    python bench/bench_upload.py --build BUILD [--size BYTES] [--tools smpfota,smpmgr,...]

A 1000 KiB imgtool-signed image (about 1 MiB: the largest that fits the target's slot, see
SLOT) is uploaded to an empty secondary slot (a fresh target and flash
file for every run) by
  * smpfota     `smpfota --conn URI image upload FILE`
  * smpmgr      `smpmgr --ip HOST image upload FILE` / `--port PTY` (Python, smpclient)
  * mcumgrctl   `mcumgrctl --udp HOST:PORT image upload FILE` / `--serial PTY` (Rust)
over UDP loopback as is, over UDP with 5 ms added round-trip time (tests/udp_proxy.py, 2.5 ms
each way), and over a serial PTY (SMP console framing). The time is the wall time of the whole
command: process start, connection, MCUmgr params, the upload and its last answer; what a
person waits for. Each run is checked afterwards against the target's flash file: a run that
did not leave the image byte for byte in the secondary slot is shown as failed.

The target runs with its defaults (buf_size 2048, buf_count 4), as a Zephyr target with UDP
buffers would. smpmgr's UDP port is fixed to 1337, so every target gets its own 127.x.y.z
address (and the proxy another one).

Prints a table; asserts nothing (see DEVELOPERS.md: performance is a benchmark, not a test).
The Go `mcumgr` cannot be installed here (the module proxy refuses it): mcumgrctl, the Rust
CLI of mcumgr-toolkit, stands in for it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SRC / "scripts"))
sys.path.insert(0, str(SRC / "tests"))
sys.path.insert(0, str(SRC / "tests" / "python"))
import make_test_image as mti  # noqa: E402
from target_harness import Target, free_loopback  # noqa: E402
from udp_proxy import UdpProxy  # noqa: E402

# The largest slot the target takes: MCUboot's BOOT_MAX_IMG_SECTORS (256) caps the primary
# (slot + 1 page for swap-using-move) at 256 pages of 4 KiB; the trailer takes 2 more pages, so
# an image can have 1012 KiB at most. A true 1 MiB image does not fit a 4 KiB-page target.
SLOT = 0xFF000
SMP_PORT = 1337          # fixed in smpmgr
RUN_TIMEOUT = 240        # one upload; a stuck peer must not stall `make bench`
CASES = [("UDP", 0.0), ("UDP", 5.0), ("serial PTY", None)]  # transport, added RTT (ms)


def command(tool: str, exe: Path, image: Path, transport: str, host: str | None,
            pty: str | None) -> list[str]:
    udp = transport == "UDP"
    if tool == "smpfota":
        conn = f"udp:{host}:{SMP_PORT}" if udp else f"serial:{pty}"
        return [str(exe), "--conn", conn, "image", "upload", str(image)]
    if tool == "smpmgr":
        conn = ["--ip", host] if udp else ["--port", pty]
        return [str(exe), *conn, "--timeout", "5", "image", "upload", str(image)]
    conn = ["--udp", f"{host}:{SMP_PORT}"] if udp else ["--serial", pty]
    return [str(exe), *conn, "image", "upload", "--quiet", str(image)]


def run_once(tool: str, exe: Path, smpfota: Path, workdir: Path, factory: Path, image: Path,
             data: bytes, transport: str, rtt: float | None, n: int) -> tuple[float | None, str]:
    """Seconds of one upload, or None and why it failed."""
    # A fresh target: new flash file, small factory image in slot 0, its own 127.x.y.z.
    t = Target(workdir / f"flash-{n}.bin", "udp" if transport == "UDP" else "serial",
               exe=smpfota, primary=factory, images=1, slot=SLOT, port=SMP_PORT)
    proxy = None
    try:
        host = t.host
        if rtt:
            proxy = UdpProxy((free_loopback(SMP_PORT), SMP_PORT), (t.host, SMP_PORT),
                             delay_ms=rtt / 2).start()
            host = proxy.addr[0]
        cmd = command(tool, exe, image, transport, host, t.pty)
        env = dict(os.environ, COLUMNS="120", NO_COLOR="1", TERM="dumb")
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=RUN_TIMEOUT, env=env)
        except subprocess.TimeoutExpired:
            return None, f"no result in {RUN_TIMEOUT} s"
        sec = time.monotonic() - t0
        if p.returncode != 0:
            last = (p.stdout.strip().splitlines() or ["?"])[-1]
            return None, f"exit {p.returncode}: {last[:100]}"
        if t.area(0, 1)[:len(data)] != data:
            return None, "image not in the secondary slot"
        return sec, ""
    finally:
        if proxy:
            proxy.stop()
        t.stop()
        t.flash_path.unlink(missing_ok=True)


def fmt_case(transport: str, rtt: float | None) -> str:
    return transport if rtt is None else f"{transport} +{rtt:g} ms RTT"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(SRC / "build"), help="CMake build directory")
    ap.add_argument("--size", type=int, default=1000 * 1024,
                    help="image file size (default 1000 KiB: about the largest that fits)")
    ap.add_argument("--tools", default="smpfota,smpmgr,mcumgrctl")
    a = ap.parse_args(argv)
    build = Path(a.build).resolve()
    smpfota = build / "smpfota"
    venv_bin = Path(sys.executable).parent
    exes = {"smpfota": smpfota, "smpmgr": venv_bin / "smpmgr",
            "mcumgrctl": build / "cargo" / "bin" / "mcumgrctl"}
    tools = [t for t in a.tools.split(",") if t]
    if not smpfota.exists():
        print(f"missing {smpfota}: build first", file=sys.stderr)
        return 1
    missing = [t for t in tools if not exes[t].exists()]
    for t in missing:
        print(f"   {t}: not installed at {exes[t]} (scripts/bootstrap.sh); left out")
    tools = [t for t in tools if t not in missing]

    with tempfile.TemporaryDirectory(prefix="smpfota-bench-") as tmp:
        work = Path(tmp)
        factory = mti.make_image(work / "factory.bin", size=20_000, seed=1, version="1.0.0",
                                 key_dir=work / "keys")
        # Payload sized so that the signed file is a.size bytes: imgtool adds the 0x200
        # header and the TLVs (sizes known after a first signing).
        probe = mti.make_image(work / "probe.bin", size=1000, seed=2, version="2.0.0",
                               key_dir=work / "keys", slot_size=SLOT)
        overhead = probe.stat().st_size - 1000
        image = mti.make_image(work / "image.bin", size=a.size - overhead, seed=2,
                               version="2.0.0", key_dir=work / "keys", slot_size=SLOT)
        data = image.read_bytes()
        print(f"   image: {len(data)} bytes (imgtool, ECDSA P-256); target buf_size 2048, "
              f"buf_count 4; fresh flash per run")
        results: dict[tuple, dict[str, tuple]] = {}
        n = 0
        for transport, rtt in CASES:
            row = results.setdefault((transport, rtt), {})
            for tool in tools:
                n += 1
                sec, why = run_once(tool, exes[tool], smpfota, work, factory, image, data,
                                    transport, rtt, n)
                row[tool] = (sec, why)
                shown = f"{sec:6.2f} s, {len(data) / 1000 / sec:7.1f} kB/s" if sec else \
                    f"FAILED ({why})"
                print(f"   {fmt_case(transport, rtt):18} {tool:10} {shown}", flush=True)

    # The table: seconds and kB/s per tool, and smpfota's speed over each peer's.
    peers = [t for t in tools if t != "smpfota"]
    cell = 22  # " 123.45 s 12345.6 kB/s"
    head = f"{'transport / RTT':18} |" + "".join(f"{t:>{cell}} |" for t in tools) + \
        "".join(f"{'smpfota/' + p:>19} |" for p in peers if "smpfota" in tools)
    print()
    print(head)
    print("-" * len(head))
    for (transport, rtt), row in results.items():
        line = f"{fmt_case(transport, rtt):18} |"
        for t in tools:
            sec, _ = row[t]
            line += (f"{sec:7.2f} s {len(data) / 1000 / sec:7.1f} kB/s |" if sec
                     else f"{'failed':>{cell}} |")
        if "smpfota" in tools:
            ours = row["smpfota"][0]
            for p in peers:
                theirs = row[p][0]
                # the kB/s ratio is the peer's time over ours
                line += f"{theirs / ours:18.1f}x |" if ours and theirs else f"{'-':>19} |"
        print(line)
    print("\n   smpfota/peer: kB/s of smpfota over kB/s of the peer (> 1: smpfota is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
