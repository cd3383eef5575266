#!/usr/bin/env python3
"""The secure channel's cost in the two-board simulator (issue #15; docs/security.md).

    python bench/bench_secure.py --build BUILD [--seed N]

The 400 KiB image of bench_sim.py goes master -> target in the three scenarios, without and
with the secure channel (`smpfota --key K sim`: AES-128-CCM per SMP frame, 16 bytes per
frame, the app cores' AES-CCM time modelled by the aead_us and aead_ns_per_byte timings),
and once more with the attacker injecting every kind of frame (20 per virtual second). It
prints goodput off and on, their ratio beside the goal (>= 97 % in the radio-bound
scenario), the bytes the channel adds per frame and per upload, and what the attacker did.
The master-side flash the channel adds is a line of `make size`. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SRC / "bench"))
from bench_sim import bench_image, sim  # noqa: E402  (the ESB bench's image and runner)

GOAL = 0.97


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seed", default="1")
    a = ap.parse_args(argv)
    build = Path(a.build).resolve()
    smpfota = build / "smpfota"
    work = build / "bench-sim"
    image = bench_image(work)
    key = work / "bench.key"
    if not key.exists():
        subprocess.run([str(smpfota), "keygen", str(key)], check=True, capture_output=True)
    print(f"image {image.name}: {image.stat().st_size} bytes, seed {a.seed}; goodput = image "
          f"bytes / upload virtual time (kB = 1000 B)\n")
    head = (f"{'scenario':<10} {'limit':>9} {'channel off':>12} {'on':>12} {'on/off':>8}  "
            f"{'goal':<10} {'frames':>7} {'bytes added':>12} {'under attack':>14}")
    print(head)
    print("-" * len(head))
    for sc in ("radio", "internal", "qspi"):
        base = ["--scenario", sc, "--seed", a.seed]
        off = sim(smpfota, image, *base)
        on = sim(smpfota, image, "--key", str(key), *base)
        atk = sim(smpfota, image, "--key", str(key), *base, "--attack", "all",
                  "--attack-rate", "20")
        ratio = on["goodput_kBps"] / off["goodput_kBps"] if off["goodput_kBps"] else 0.0
        frames = on["secure"]["master"]["sent"] + on["secure"]["target"]["sent"]
        added = frames * on["overhead_bytes_per_frame"]
        goal = ("met" if ratio >= GOAL else "MISSED") if sc == "radio" else "-"
        attacked = (f"{atk['goodput_kBps']:6.1f} kB/s" if atk["ok"]
                    else f"FAILED ({atk['error']})")
        print(f"{sc:<10} {on['limit_kBps']:7.1f}   {off['goodput_kBps']:8.1f} kB/s "
              f"{on['goodput_kBps']:7.1f} kB/s {100 * ratio:6.1f} %  {goal:<10} {frames:>7} "
              f"{added:>12} {attacked:>14}")
        sent = sum(v["sent"] for v in atk["attacks"].values())
        took = sum(v["accepted"] for v in atk["attacks"].values())
        print(f"{'':<10} attacker: {sent} frames injected, {took} accepted; sessions opened "
              f"{atk['secure']['master']['sessions']}, ended by failed frames "
              f"{atk['secure']['target']['ended']}")
    print(f"\noverhead: {on['overhead_bytes_per_frame']} bytes per SMP frame (8-byte header as "
          f"AAD + 8-byte tag) and one handshake (19 + 28 bytes) per session")
    return 0


if __name__ == "__main__":
    sys.exit(main())
