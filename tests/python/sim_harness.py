"""`smpfota sim` in a subprocess, and a signed image to feed it, for the simulator's CLI tests
(test_sim_cli.py, test_sim_ble_cli.py, test_sim_fleet_cli.py). Not a test module.

Env: SMPFOTA_BUILD, SMPFOTA_SRC (via target_harness).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from target_harness import SMPFOTA, SRC

sys.path.insert(0, str(SRC / "scripts"))
import make_test_image as mti  # noqa: E402,F401  (re-exported: tests make more images)


def sim(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([str(SMPFOTA), "sim", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def sim_json(*args):
    """(exit status, the JSON object) of `smpfota sim ARGS --json`; 0 or 1 only."""
    p = sim(*args, "--json")
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, json.loads(p.stdout)


def sim_image(d: Path, size: int, seed: int) -> Path:
    """An imgtool-signed (ECDSA P-256) image of `size` bytes, version 1.0.0+1, in d."""
    return mti.make_image(d / "app.bin", size=size, seed=seed, key_type="ecdsa-p256",
                          key_dir=d / "keys", version="1.0.0+1")
