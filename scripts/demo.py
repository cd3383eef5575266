#!/usr/bin/env python3
"""smpfota demo (`make demo`).

    python scripts/demo.py --build BUILD

Until the device simulator exists, the demo covers the host side of an update: it signs a
fresh application image with imgtool (as an NCS build would: 0x200 header, --align 4, ECDSA
P-256) into BUILD/demo/, then shows what `smpfota image info` reads from it, as text and as
JSON. Exits non-zero if any step fails or the image does not verify.
"""
from __future__ import annotations

import argparse
import json
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
    a = ap.parse_args(argv)
    build = Path(a.build).resolve()
    smpfota = build / "smpfota"
    if not smpfota.exists():
        print(f"demo: {smpfota} not found; build first (make build)", file=sys.stderr)
        return 1
    demo = build / "demo"

    step("1. sign an application image with imgtool")
    img = mti.make_image(demo / "app.signed.bin", size=64 * 1024, seed=2024,
                         key_type="ecdsa-p256", key_dir=demo / "keys", header_size=0x200,
                         align=4, version="1.2.3+4", security_counter="auto")
    print(f"{img} ({img.stat().st_size} bytes, key {demo / 'keys' / 'ecdsa-p256.pem'})")

    step("2. smpfota image info")
    run([str(smpfota), "image", "info", str(img)])

    step("3. smpfota image info --json")
    info = json.loads(run([str(smpfota), "image", "info", str(img), "--json"]).stdout)
    if not info.get("hash_valid"):
        print("demo: the image hash does not verify", file=sys.stderr)
        return 1
    print(f"\ndemo: OK: version {info['version']}, {info['image_size']} bytes, "
          f"hash {info['hash'][:16]}..., {info['signature']} signature")
    return 0


if __name__ == "__main__":
    sys.exit(main())
