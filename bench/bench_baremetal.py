#!/usr/bin/env python3
"""The bare-metal master firmware, measured (docs/baremetal.md); nothing is asserted.

    python bench/bench_baremetal.py --build BUILD [--runs N]

1. Flash and static RAM from the firmware's real link map (BUILD/baremetal/master.map), per
   part: the smpfota library (src/), the port (ports/baremetal), the firmware's main.c,
   zcbor, mbedTLS, libc/libgcc; totals from the output sections. Total RAM = .data + .bss +
   the stack reserved by the linker script; beside it the goals of issue #13 (32 KB flash,
   8 KB RAM with buffers and stack for a 384-byte target buffer).
2. N updates of the real Zephyr + MCUboot target (QEMU microbit, ../shared/peers) by the
   master firmware (QEMU mps2-an505), each on a fresh target: the firmware's own update time
   (SysTick), its upload time, and the painted-stack high-water mark it reports; then N
   updates of the same target by the host CLI (`smpfota update --conn serial:PTY`, QEMU's
   PTY chardev), with its default window and with window 1 (the firmware's).
"""
from __future__ import annotations

import argparse
import collections
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SRC / "tests" / "baremetal"))
sys.path.insert(0, str(SRC / "scripts"))

import linkmap  # noqa: E402 (scripts/linkmap.py)

FLASH_GOAL, RAM_GOAL = 32 * 1024, 8 * 1024
FLASH_OUT = (".vectors", ".text", ".ARM.exidx", ".rodata")


def part_of(f: str) -> str:
    if "libsmpfota.a(" in f:
        return "smpfota library (src/)"
    if "libsmpfota_baremetal.a(" in f:
        return "port (ports/baremetal)"
    if "master.dir" in f:
        return "firmware main.c"
    if "libsmpfota_zcbor.a(" in f:
        return "zcbor"
    if "libsmpfota_mbedcrypto.a(" in f:
        return "mbedTLS (SHA-2, base64)"
    if ".a(" in f:
        return "libc, libgcc"
    return "linker (fill)"


def link_map(path: Path):
    """Per part [flash, ram] from the input sections of the memory map, and the output
    sections' sizes."""
    parts = collections.defaultdict(lambda: [0, 0])
    per_obj = collections.defaultdict(int)
    for sec in linkmap.input_sections(path):
        if sec.osec is None:
            continue
        p = part_of(sec.file)
        if sec.osec.startswith(FLASH_OUT):
            parts[p][0] += sec.size
        elif sec.osec == ".data":
            parts[p][0] += sec.size
            parts[p][1] += sec.size
        elif sec.osec == ".bss":
            parts[p][1] += sec.size
        else:
            continue
        if p == "smpfota library (src/)" and sec.osec.startswith(FLASH_OUT + (".data",)):
            per_obj[re.search(r"\(([^)]+)\.c\.obj\)", sec.file).group(1) + ".c"] += sec.size
    return parts, per_obj, linkmap.output_sections(path)


def report_sizes(build: Path) -> dict:
    mapfile = build / "baremetal" / "master.map"
    parts, per_obj, out = link_map(mapfile)
    flash = sum(out.get(s, 0) for s in (".vectors", ".text", ".ARM.exidx", ".data"))
    static_ram = out.get(".data", 0) + out.get(".bss", 0)
    stack = out.get(".stack", 0)
    print(f"== master firmware, link map {mapfile.relative_to(build.parent) if build.parent in mapfile.parents else mapfile}")
    print(f"   {'part':<28}{'flash':>7}{'RAM':>7}")
    order = ["smpfota library (src/)", "port (ports/baremetal)", "firmware main.c", "zcbor",
             "mbedTLS (SHA-2, base64)", "libc, libgcc"]
    shown = [0, 0]
    for p in order:
        fl, ram = parts.get(p, [0, 0])
        shown[0] += fl
        shown[1] += ram
        print(f"   {p:<28}{fl:>7}{ram:>7}")
        if p == order[0]:
            for obj, n in sorted(per_obj.items(), key=lambda kv: -kv[1]):
                print(f"     {obj:<26}{n:>7}")
    print(f"   {'(merged strings, fill)':<28}{flash - shown[0]:>7}{static_ram - shown[1]:>7}")
    print(f"   {'stack (linker script)':<28}{'':>7}{stack:>7}")
    total_ram = static_ram + stack
    print(f"   {'total':<28}{flash:>7}{total_ram:>7}   "
          f"goal {FLASH_GOAL} / {RAM_GOAL}: flash {flash / FLASH_GOAL:.0%}, "
          f"RAM {total_ram / RAM_GOAL:.0%} of the goal")
    return {"flash": flash, "static_ram": static_ram, "stack": stack, "ram": total_ram}


def mcu_runs(runs: int, image: Path, tmp: Path):
    import qemu_pair as qp

    got = []
    for i in range(runs):
        pair = qp.Pair(tmp / f"mcu{i}")
        pair.dir.mkdir()
        try:
            pair.start_target()
            m = pair.start_master(image)
            m.expect(r"^step: params ", 30)
            t0 = time.monotonic()
            r = m.expect(r"^result: (\S+)", 120)
            wall = time.monotonic() - t0
            fw = int(m.expect(r"^time: (\d+) ms$", 10).group(1))
            st = m.expect(r"^memory: stack (\d+) of (\d+) bytes", 30)
            up = [ln for ln in m.lines if ln.startswith("upload: ")]
            up_ms = int(re.search(r"in (\d+) ms", up[-1]).group(1)) if up else None
            steps = " ".join(f"{a}@{b}" for a, b in (re.match(r"^step: (\S+) \((\d+) ms\)", ln)
                                                      .groups() for ln in m.lines
                                                      if ln.startswith("step: ")))
            got.append({"result": r.group(1), "fw_ms": fw, "wall_s": wall, "upload_ms": up_ms,
                        "stack": int(st.group(1)), "stack_size": int(st.group(2)),
                        "upload": (up[-1] if up else "") + "\n       steps (ms): " + steps})
        finally:
            pair.stop()
    return got


def host_runs(runs: int, image: Path, smpfota: Path, window: int | None):
    import qemu_pair as qp

    got = []
    for _ in range(runs):
        tq = qp.Qemu("target", ["qemu-system-arm", "-machine", "microbit", "-cpu", "cortex-m0",
                                "-display", "none", "-monitor", "none", "-chardev", "pty,id=con",
                                "-serial", "chardev:con", "-device",
                                f"loader,file={qp.TARGET_HEX}"])
        try:
            pty = tq.expect(r"char device redirected to (\S+)", 10).group(1)
            # Let it boot first (about 0.1 s): bytes that reach it while it boots can wedge
            # its UART (tests/baremetal/qemu_pair.py), and the master's target is up too.
            time.sleep(1.0)
            for _ in range(5):
                if subprocess.run([str(smpfota), "--conn", f"serial:{pty}", "--timeout", "1",
                                   "params"], capture_output=True).returncode == 0:
                    break
            cmd = [str(smpfota), "--conn", f"serial:{pty}", "update", str(image)]
            if window:
                cmd[4:4] = ["--window", str(window)]
            t0 = time.monotonic()
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
            wall = time.monotonic() - t0
            m = re.search(r"update: done in ([\d.]+) s", p.stdout)
            up = re.search(r"^upload: \d+ bytes in .*$", p.stdout, re.M)
            got.append({"result": "OK" if p.returncode == 0 else f"exit {p.returncode}",
                        "cli_ms": float(m.group(1)) * 1000 if m else None, "wall_s": wall,
                        "upload": up.group(0) if up else p.stderr.strip()[-200:]})
        finally:
            tq.stop()
    return got


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(SRC / "build"))
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    build = Path(a.build).resolve()
    import os

    os.environ.setdefault("SMPFOTA_BUILD", str(build))
    os.environ.setdefault("SMPFOTA_BM_MASTER", str(build / "baremetal" / "master.elf"))
    import qemu_pair as qp

    sizes = report_sizes(build)
    if not qp.TARGET_HEX.exists():
        print(f"   (no target fixture at {qp.TARGET_HEX}: no timed runs; SMPFOTA_PEERS=DIR)")
        return 0
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        image = qp.make_image(tmp, "0.0.1")
        mcu = mcu_runs(a.runs, image, tmp)
        hw = max(r["stack"] for r in mcu)
        print(f"   stack high-water mark (painted, worst of {len(mcu)} updates): {hw} of "
              f"{mcu[0]['stack_size']} bytes; RAM in use at most {sizes['static_ram'] + hw}")
        print()
        print(f"== update of the real target (Zephyr smp_svr + MCUboot, QEMU microbit), "
              f"{len(image.read_bytes())}-byte image, median of {a.runs}")
        print(f"   {'master':<34}{'update ms':>10}{'upload ms':>10}  results")
        print(f"   {'MCU firmware (QEMU mps2-an505), w1':<34}{med([r['fw_ms'] for r in mcu]):>10.0f}"
              f"{med([r['upload_ms'] for r in mcu]):>10.0f}  {[r['result'] for r in mcu]}")
        for r in mcu:
            print(f"     {r['upload']}")
        smpfota = build / "smpfota"
        for window in (None, 1):
            host = host_runs(a.runs, image, smpfota, window)
            name = f"host CLI, serial PTY, {'auto window' if window is None else 'w1'}"
            print(f"   {name:<34}{med([r['cli_ms'] for r in host]):>10.0f}{'':>10}  "
                  f"{[r['result'] for r in host]}")
            for r in host:
                print(f"     {r['upload']}")
        ratio = med([r["fw_ms"] / (r["wall_s"] * 1000) for r in mcu])
        print("   (update ms: from the first request to the end, as each side's own clock "
              "counts it; the MCU's is SysTick in QEMU: in these runs it counted "
              f"{ratio:.2f} ms per host millisecond, output pipe latency included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
