#!/usr/bin/env python3
"""ESB update benchmark in the two-board simulator: limit vs ours vs the naive design.

    python bench/bench_sim.py --build BUILD [--seed N]

A 400 KiB imgtool-signed image (ed25519, 0x200 header) goes master -> target with
`smpfota sim` in three scenarios (issue #5):
  radio     secondary slot in pre-erased QSPI flash, 2 Mbit/s, 252-byte payloads, fast ramp-up:
            the radio is the bottleneck
  internal  secondary slot in app-core flash, page erase interleaved with the writes
  qspi      secondary slot in QSPI flash (MX25R64), sector erase as the upload goes
For each it prints the scenario's analytic physical limit (shared/spec/esb-nrf5340.md,
"Derived physical limits", computed by the simulator from the same timing table), our
goodput, and the naive baseline (link on the app core, one IPC round trip per ESB packet,
window 1) in the same simulator, plus a few extra rows (1 Mbit/s, 32-byte payloads, loss).
Goodput = image bytes / upload virtual time (kB = 1000 B). Nothing is asserted; a figure
above the limit would be a bug and is flagged.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SRC / "scripts"))
import make_test_image as mti  # noqa: E402

IMAGE_BYTES = 400 * 1024
# ed25519 TLVs: info 4 + SHA256 36 + KEYHASH 36 + signature 68 = 144 bytes
PAYLOAD = IMAGE_BYTES - 0x200 - 144


def sim(smpfota: Path, image: Path, *args: str) -> dict:
    out = subprocess.run([str(smpfota), "sim", "--image", str(image), "--json", *args],
                         capture_output=True, text=True)
    if out.returncode not in (0, 1) or not out.stdout.strip():
        raise SystemExit(f"bench_sim: smpfota sim {' '.join(args)} failed: {out.stderr}")
    return json.loads(out.stdout)


def bench_image(work: Path) -> Path:
    """The benchmarks' 400 KiB image (bench_ble.py sends the same one)."""
    return mti.make_image(work / "app400k.bin", size=PAYLOAD, seed=5, key_type="ed25519",
                          key_dir=work / "keys", header_size=0x200, align=4,
                          version="2.0.0+1")


def fmt(d: dict) -> str:
    if not d["ok"]:
        return f"FAILED ({d['error']})"
    return f"{d['goodput_kBps']:6.1f} kB/s {100 * d['ratio']:5.1f} %"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seed", default="1")
    a = ap.parse_args(argv)
    build = Path(a.build).resolve()
    smpfota = build / "smpfota"
    work = build / "bench-sim"
    image = bench_image(work)
    size = image.stat().st_size
    print(f"image {image.name}: {size} bytes ({size / 1024:.0f} KiB), seed {a.seed}")
    print("limit = min(radio, flash path); ESB T = ramp + packet + tTXDIS + ramp + ACK + t_sw "
          "(spec §2.3)\n")

    rows = [
        ("(a) radio: pre-erased QSPI, 2M, 252 B, fast ramp", ["--scenario", "radio"]),
        ("(b) internal flash, erase interleaved", ["--scenario", "internal"]),
        ("(c) QSPI, erased as it goes", ["--scenario", "qspi"]),
        ("radio, 1 Mbit/s", ["--scenario", "radio", "--bitrate", "1"]),
        ("radio, 32-byte payloads", ["--scenario", "radio", "--payload", "32"]),
        ("radio, default ramp-up (130 us)", ["--scenario", "radio", "--slow-ramp"]),
        ("radio, 10 % packet loss", ["--scenario", "radio", "--loss", "0.1"]),
        ("internal, 10 % packet loss", ["--scenario", "internal", "--loss", "0.1"]),
    ]
    head = f"{'scenario':<48} {'limit':>11} {'ours':>20} {'naive':>20} {'ours/naive':>10}"
    print(head)
    print("-" * len(head))
    bad = False
    for title, args in rows:
        ours = sim(smpfota, image, "--seed", a.seed, *args)
        naive = sim(smpfota, image, "--seed", a.seed, "--naive", *args)
        speedup = (f"{ours['goodput_kBps'] / naive['goodput_kBps']:9.2f}x"
                   if ours["ok"] and naive["ok"] and naive["goodput_kBps"] > 0 else "-")
        print(f"{title:<48} {ours['limit_kBps']:6.1f} kB/s {fmt(ours):>20} {fmt(naive):>20} "
              f"{speedup:>10}")
        for d in (ours, naive):
            if d["ok"] and d["goodput_kBps"] > d["limit_kBps"]:
                print(f"   BUG: goodput above the limit in {title}")
                bad = True
    print("\nratio = goodput / limit. Upload time runs from the first upload request to the "
          "last answer;\nthe whole update (test, reset, MCUboot swap, confirm) is in "
          "`smpfota sim`'s virtual_s.")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
