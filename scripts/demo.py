#!/usr/bin/env python3
"""smpfota demo (`make demo`): a master nRF5340 updates a target nRF5340 over ESB.

    python scripts/demo.py --build BUILD [--scenario internal|qspi|radio] [--loss P]

Signs a 400 KiB application image with imgtool (as an NCS build would: 0x200 header,
--align 4, ECDSA P-256) into BUILD/demo/, shows what `smpfota image info` reads from it,
then runs `smpfota sim`: the master's client engine and update workflow send it over
simulated ESB to the target's SMP server and MCUboot boot model, in virtual time, with the
timings of shared/spec/esb-nrf5340.md (upload, test, reset, confirm). Prints the progress and
a summary: virtual seconds, goodput, the scenario's physical limit and the ratio. Exits
non-zero if any step fails or the target does not end up running the new image, confirmed.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_test_image as mti  # noqa: E402


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    sys.stdout.flush()
    if proc.returncode != 0:
        raise SystemExit(f"demo: command failed with exit status {proc.returncode}")
    return proc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="CMake build directory (default: build)")
    ap.add_argument("--scenario", default="internal", choices=("internal", "qspi", "radio"),
                    help="where the target's secondary slot lives (default: internal)")
    ap.add_argument("--loss", type=float, default=0.0, help="ESB packet loss (default 0)")
    a = ap.parse_args(argv)
    build = Path(a.build).resolve()
    smpfota = build / "smpfota"
    if not smpfota.exists():
        print(f"demo: {smpfota} not found; build first (make build)", file=sys.stderr)
        return 1
    demo = build / "demo"

    step("1. sign a 400 KiB application image with imgtool")
    # payload chosen so that header + payload + TLVs come to about 400 KiB
    img = mti.make_image(demo / "app.signed.bin", size=400 * 1024 - 0x200 - 152, seed=2024,
                         key_type="ecdsa-p256", key_dir=demo / "keys", header_size=0x200,
                         align=4, version="1.2.3+4", security_counter="auto")
    print(f"{img} ({img.stat().st_size} bytes, key {demo / 'keys' / 'ecdsa-p256.pem'})")

    step("2. smpfota image info")
    run([str(smpfota), "image", "info", str(img)])

    step(f"3. smpfota sim: master -> target over simulated ESB ({a.scenario} flash)")
    cmd = [str(smpfota), "sim", "--image", str(img), "--scenario", a.scenario]
    if a.loss:
        cmd += ["--loss", str(a.loss)]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        print("demo: the update did not complete", file=sys.stderr)
        return 1
    print("\ndemo: OK: the target runs version 1.2.3+4, confirmed, byte-exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
