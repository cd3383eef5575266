#!/usr/bin/env python3
"""Run every benchmark and print its figures (nothing is asserted).

    python bench/run_bench.py --build BUILD

Add a benchmark by appending to BENCHES: a title and a command whose first element is a path
relative to the build directory, or "@python" followed by a script relative to the source
directory (run with this Python, given --build).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCHES: list[tuple[str, list[str]]] = [
    ("MCUboot image reader: streaming SHA-256 verification", ["bench/bench_image"]),
    ("Image upload to `smpfota target`: smpfota vs smpmgr vs mcumgrctl (UDP, UDP +5 ms RTT, "
     "serial PTY)", ["@python", "bench/bench_upload.py"]),
    ("Image upload to a real Zephyr 4.4 smp_svr + MCUboot in QEMU (serial): smpfota (auto "
     "window, --window 1) vs smpclient, fresh target per run", ["@python", "bench/bench_real.py"]),
    ("ESB update in the two-board simulator: physical limit vs ours vs naive (400 KiB image)",
     ["@python", "bench/bench_sim.py"]),
    ("The secure channel in the two-board simulator: goodput with it off and on, bytes added, "
     "under attack (400 KiB image)", ["@python", "bench/bench_secure.py"]),
    ("ESB against Bluetooth LE in the two-board simulator: which link to use (400 KiB image, "
     "three flash scenarios, six BLE parameter sets)", ["@python", "bench/bench_ble.py"]),
    ("One master, N targets in the simulator: sequential vs interleaved unicast, internal-flash "
     "and radio-bound, 0 and 10 % loss, beside the ideal (400 KiB image)",
     ["@python", "bench/bench_fleet.py"]),
    ("Bare-metal master firmware (QEMU mps2-an505) vs the host CLI, updating the real Zephyr + "
     "MCUboot target; flash, RAM, stack from the link map and the running firmware",
     ["@python", "bench/bench_baremetal.py"]),
]
SRC = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="CMake build directory (default: build)")
    a = ap.parse_args(argv)
    build = Path(a.build).resolve()

    failed = []
    for title, cmd in BENCHES:
        if cmd[0] == "@python":
            exe = SRC / cmd[1]
            argv = [sys.executable, str(exe), *cmd[2:], "--build", str(build)]
            shown = exe.relative_to(SRC)
        else:
            exe = build / cmd[0]
            argv = [str(exe), *cmd[1:]]
            shown = exe.relative_to(build)
        print(f"== {title}  ({shown})", flush=True)
        if not exe.exists():
            print(f"   missing: {exe} (build first: cmake --build {a.build})", flush=True)
            failed.append(title)
            continue
        t0 = time.monotonic()
        rc = subprocess.run(argv).returncode
        print(f"   [{time.monotonic() - t0:.1f} s, exit {rc}]\n", flush=True)
        if rc != 0:
            failed.append(title)
    if failed:
        print("benchmarks that failed to run: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
