#!/usr/bin/env python3
"""Image upload to a real Zephyr + MCUboot target: smpfota (default, --window 1) vs smpclient.

    python bench/bench_real.py --build BUILD [--runs N]

The target is the prebuilt Zephyr 4.4.0 `smp_svr` + MCUboot of ../shared/peers (nobody here
wrote it) in QEMU's microbit machine, SMP over its console UART (buf_size 384, buf_count 4),
started fresh for every run (tests/python/qemu_target.py). The image is the fixture's own
application signed again as 0.0.1 (about 49 KB, 140 chunks of 356 bytes). Clients:
  * smpfota            `smpfota --conn serial:PTY image upload FILE` (auto window)
  * smpfota --window 1 the same, stop-and-wait
  * smpclient          the Python SMP client's `upload()` (stop-and-wait), bench/smpclient_upload.py
Each round runs the three in a rotating order (the machine's load drifts); the time is the
wall time of the whole command (process start, MCUmgr params, upload, last answer), and the
upload alone as each client measures it. Every run is checked afterwards: the target must
list the image's hash in slot 1.

QEMU's speed depends on the host: the load average is printed beside the figures. Prints a
table; asserts nothing (DEVELOPERS.md: performance is a benchmark, not a test).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SRC / "tests" / "python"))
import qemu_target as qt  # noqa: E402

TOOLS = ("smpfota", "smpfota --window 1", "smpclient")


def run_once(tool: str, smpfota: Path, image: Path, want_hash: str) -> dict:
    """One upload on a fresh target: {'wall', 'upload', 'retransmits', 'window'} or 'error'."""
    with qt.QemuTarget(smpfota) as t:
        if tool == "smpclient":
            cmd = [sys.executable, str(SRC / "bench" / "smpclient_upload.py"), t.pty, str(image)]
        else:
            cmd = [str(smpfota), "--conn", t.conn, "image", "upload", str(image), "--json"]
            if tool.endswith("--window 1"):
                cmd += ["--window", "1"]
        load = os.getloadavg()[0]
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=120)
        except subprocess.TimeoutExpired:
            return {"error": "no result in 120 s", "load": load}
        wall = time.monotonic() - t0
        if p.returncode != 0:
            last = (p.stderr.strip().splitlines() or ["?"])[-1]
            return {"error": f"exit {p.returncode}: {last[:100]}", "load": load}
        out = json.loads(p.stdout)
        listed = t.cli("image", "list", "--json")
        slots = json.loads(listed.stdout).get("images", []) if listed.returncode == 0 else []
        if not any(s.get("slot") == 1 and s.get("hash") == want_hash for s in slots):
            return {"error": "image not in slot 1 afterwards", "load": load}
        return {"wall": wall, "upload": out["ms"] / 1000, "load": load,
                "retransmits": out.get("retransmits", 0), "window": out.get("window"),
                "timeouts": out.get("timeouts", 0)}


def p90(xs: list[float]) -> float:
    """Nearest-rank 90th percentile (with 10 runs: the 9th fastest)."""
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(SRC / "build"), help="CMake build directory")
    ap.add_argument("--runs", type=int, default=10, help="fresh runs per client (default 10)")
    a = ap.parse_args(argv)
    smpfota = Path(a.build).resolve() / "smpfota"
    why = qt.missing()
    if why:
        print(f"   skipped: {why}")
        return 0
    with tempfile.TemporaryDirectory(prefix="smpfota-real-") as tmp:
        image = qt.resign(Path(tmp) / "app-0.0.1.bin", "0.0.1")
        want = qt.image_hash(image)
        print(f"   target: Zephyr 4.4.0 smp_svr + MCUboot in QEMU (microbit), serial, buf_size "
              f"384 x 4; image {image.stat().st_size} bytes; {a.runs} fresh runs per client",
              flush=True)
        res: dict[str, list[dict]] = {t: [] for t in TOOLS}
        for n in range(a.runs):
            order = TOOLS[n % 3:] + TOOLS[:n % 3]
            for tool in order:
                r = run_once(tool, smpfota, image, want)
                res[tool].append(r)
                shown = (f"{r['wall']:5.2f} s wall, upload {r['upload']:5.2f} s"
                         if "wall" in r else f"FAILED ({r['error']})")
                extra = (f", window {r['window']}, {r['timeouts']} timeouts, "
                         f"{r['retransmits']} resent" if r.get("window") is not None else "")
                print(f"   run {n + 1:2} {tool:20} {shown}{extra}  (load {r['load']:.1f})",
                      flush=True)
    loads = [r["load"] for rs in res.values() for r in rs]
    head = (f"{'client':20} | {'ok':>5} | {'wall median':>11} | {'wall p90':>8} | "
            f"{'p90/median':>10} | {'upload median':>13} | {'upload p90':>10} | {'resent':>6}")
    print()
    print(head)
    print("-" * len(head))
    med = {}
    for tool, rs in res.items():
        ok = [r for r in rs if "wall" in r]
        if not ok:
            print(f"{tool:20} | {0:>2}/{len(rs):<2} | all failed")
            continue
        walls, ups = [r["wall"] for r in ok], [r["upload"] for r in ok]
        med[tool] = statistics.median(walls)
        resent = sum(r.get("retransmits") or 0 for r in ok) if tool != "smpclient" else "-"
        print(f"{tool:20} | {len(ok):>2}/{len(rs):<2} | {med[tool]:9.2f} s | {p90(walls):6.2f} s |"
              f" {p90(walls) / med[tool]:9.2f}x | {statistics.median(ups):11.2f} s |"
              f" {p90(ups):8.2f} s | {resent:>6}")
    if "smpfota" in med and "smpfota --window 1" in med:
        print(f"\n   default / --window 1 (median wall): "
              f"{med['smpfota'] / med['smpfota --window 1']:.3f}"
              + (f"; default / smpclient: {med['smpfota'] / med['smpclient']:.3f}"
                 if "smpclient" in med else ""))
    print(f"   load average during the runs: {min(loads):.1f} to {max(loads):.1f} "
          f"({os.cpu_count()} CPUs; QEMU's speed follows the host's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
