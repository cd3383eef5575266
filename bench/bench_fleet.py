#!/usr/bin/env python3
"""Fleet benchmark: one master updates N targets in the simulator (issue #16).

    python bench/bench_fleet.py --build BUILD [--seed N] [--quick]

The benchmarks' 400 KiB image goes to N = 1, 2, 4, 8, 16, 32 targets with `smpfota sim
--targets N`, sequentially (one target at a time: the baseline) and by interleaved unicast
(every upload at once, the radio shared packet by packet), in the internal-flash scenario
(flash-bound: the radio idles while a target erases and writes) and the radio-bound one
(pre-erased QSPI), at 0 and 10 % packet loss, and by broadcast with repair (noack packets to
every target at once, missing-chunk bitmaps per block, the union resent; targets it drops are
finished by unicast). Times are virtual seconds until every target runs the new image,
confirmed.

ideal = the distribution at the limit plus one target's activation:
    image / min(flash limit, radio limit / N) + activation(N = 1)
where the limits are the simulator's analytic ones (`smpfota sim --json`: flash_limit_kBps,
radio_limit_kBps, spec §2.3 and §3) and activation(N = 1) is the measured time from one
target's staged image to its confirmation (test, reset, MCUboot swap, confirm; targets
reboot in parallel). "x one" is the fleet's time over one target's, the issue's done-when
figure (<= 1.5 for 8 targets by interleaved unicast in the internal-flash scenario, and by
broadcast in the radio-bound one at 10 % loss); "bcast x one" is broadcast's time over one
target's (unicast).
Nothing is asserted; a time below the ideal would be a bug and is flagged.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SRC / "bench"))
import bench_sim  # noqa: E402

NS = [1, 2, 4, 8, 16, 32]
MAX_TIME = "20000"  # virtual s: 32 targets one after the other take ~30 min of virtual time


def fleet(smpfota: Path, image: Path, seed: str, n: int, mode: str, *args: str) -> dict:
    return bench_sim.sim(smpfota, image, "--seed", seed, "--targets", str(n), "--fleet", mode,
                         "--max-time", MAX_TIME, *args)


def secs(d: dict) -> str:
    if not d["ok"]:
        return f"FAILED ({d['updated']}/{d['targets']})"
    return f"{d['virtual_us'] / 1e6:8.1f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--quick", action="store_true", help="N up to 8 only")
    a = ap.parse_args(argv)
    build = Path(a.build).resolve()
    smpfota = build / "smpfota"
    image = bench_sim.bench_image(build / "bench-sim")
    size = image.stat().st_size
    ns = [n for n in NS if n <= 8] if a.quick else NS
    print(f"image {image.name}: {size} bytes ({size / 1024:.0f} KiB), seed {a.seed}; "
          "times in virtual seconds\n")
    head = (f"{'scenario':<9} {'loss':>4} {'N':>3} {'ideal':>8} {'sequential':>12} "
            f"{'unicast':>10} {'x ideal':>8} {'x one':>6} {'distribution (ideal)':>22} "
            f"{'broadcast':>10} {'bcast x one':>11}")
    print(head)
    print("-" * len(head))
    bad = False
    for scenario in ("internal", "radio"):
        for loss in ("0", "0.1"):
            args = ("--scenario", scenario, "--loss", loss)
            one = bench_sim.sim(smpfota, image, "--seed", a.seed, *args)  # the limits
            flash, radio = one["flash_limit_kBps"], one["radio_limit_kBps"]
            base = fleet(smpfota, image, a.seed, 1, "unicast", *args)
            act1 = (base["virtual_us"] - base["distributed_us"]) / 1e6
            for n in ns:
                seq = fleet(smpfota, image, a.seed, n, "sequential", *args)
                uni = base if n == 1 else fleet(smpfota, image, a.seed, n, "unicast", *args)
                dist_ideal = size / 1000 / min(flash, radio / n)
                ideal = dist_ideal + act1
                t = uni["virtual_us"] / 1e6
                x_ideal = f"{t / ideal:8.2f}" if uni["ok"] else "-"
                x_one = f"{uni['virtual_us'] / base['virtual_us']:6.2f}" if uni["ok"] else "-"
                dist = f"{uni['distributed_us'] / 1e6:8.1f} ({dist_ideal:6.1f})"
                bc = fleet(smpfota, image, a.seed, n, "broadcast", *args)
                bx = f"{bc['virtual_us'] / base['virtual_us']:11.2f}" if bc["ok"] else "-"
                print(f"{scenario:<9} {float(loss) * 100:3.0f}% {n:>3} {ideal:8.1f} "
                      f"{secs(seq):>12} {secs(uni):>10} {x_ideal:>8} {x_one:>6} {dist:>22} "
                      f"{secs(bc):>10} {bx}", flush=True)
                if uni["ok"] and uni["distributed_us"] / 1e6 < dist_ideal * 0.999:
                    print(f"   BUG: distribution faster than the limit ({scenario}, N={n})")
                    bad = True
    print("\nsequential: one target at a time (upload, then one reboot at a time); unicast: "
          "every upload at\nonce over the shared radio, then every target reboots at once. "
          "distribution: until the last\ntarget holds the image in its secondary slot. "
          "broadcast: the image once to all, repaired per\nblock, unicast for the targets "
          "it dropped, then every target reboots at once; the ideal\ncolumn is unicast's "
          "(a broadcast's ideal is one image at the no-ACK rate plus the activation).")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
