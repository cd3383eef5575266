#!/usr/bin/env python3
"""Seeded fault sweep over the two-board simulator (issue #6, item 2).

    python scripts/sweep.py [--runs 1000] [--seed 1] [--jobs 2] [--json-out FILE]
                            [--smpfota BUILD/smpfota] [--image FILE] [--quiet]

Runs `smpfota sim --json` --runs times. Every run's faults are drawn from a random generator
seeded with (--seed, run index), so a run is reproduced on its own by its printed command:

  - scenario radio, internal or qspi (round robin); the naive baseline in ~15 % of runs,
    32-byte ESB payloads in ~15 %;
  - packet loss uniform 0-30 % in every run; ACK loss 0-10 % in ~40 %; bit errors
    (--ber 1e-5..1e-4, log-uniform) in ~25 %; replayed packets (1-10 %) in ~20 %;
  - in ~50 % of runs one event: a master reset or a target warm reset at a random virtual
    time within a clean run of the same configuration, or a target power cut at a random
    flash write/erase (--target-cut-at-op N); in ~10 % two different events together.

Calibration, before the sweep: a clean run of every configuration gives the virtual time
random times are drawn in; the power-cut range of each scenario is every flash operation
the cut can hit in a clean run (flash_writes + flash_erases counts both flash devices, but
the simulator counts cuts on the device that holds the secondary slot only: for radio and
qspi that is the QSPI part, so the range is found by bisection on stats.power_cuts).

Each run gets one outcome:
  done          ok: byte-exact, confirmed, the target runs the new image
  failed        ok false with a named error, and the target still boots a valid image
                ("old" or "new") -- allowed, counted and listed
  false_confirm violation: the workflow reported success (no error) but the result is not
                ok, or ok while the target does not run the new image byte-exact, confirmed
  bricked       violation: the target's primary slot would not boot ("invalid")
  no_name       violation: failed without an error name
  crash         violation: exit status other than 0/1, exit status disagreeing with "ok",
                no or bad JSON, or a run that hangs (wall-clock timeout)

Prints tables (per outcome, scenario, fault kind; errors of failed runs), and exits 1 if
any run is a violation, 2 for a setup error, else 0. Uses imgtool (scripts/make_test_image.py)
to sign a 96 KiB ed25519 image unless --image names an existing one: run it with the
project's venv Python (build/venv/bin/python), as `make sweep` does.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent
SCENARIOS = ("radio", "internal", "qspi")
EVENTS = ("master_reset", "target_reset", "power_cut")
OUTCOMES = ("done", "failed", "false_confirm", "bricked", "no_name", "crash")
VIOLATIONS = ("false_confirm", "bricked", "no_name", "crash")
# Names the CLI prints when the library returned no error but the result is not ok
# (tools/cli_sim.c print_json): the workflow claimed success, so they are false confirms.
SYNTH_ERRORS = ("NOT_CONFIRMED", "NOT_BYTE_EXACT")
IMAGE_SIZE = 96 * 1024
IMAGE_VERSION = "1.2.3+4"
RUN_TIMEOUT_S = 300  # wall clock per run; a run takes ~10-50 ms (ASan included)


# ---- plan ---------------------------------------------------------------------------------------

def variant_key(scenario: str, naive: bool, payload32: bool) -> str:
    return f"{scenario}{' naive' if naive else ''}{' p32' if payload32 else ''}"


def draw_run(seed: int, index: int) -> dict:
    """The faults of run `index` of the sweep seeded `seed` (independent of --runs)."""
    rng = random.Random(f"smpfota-sweep-{seed}-{index}")
    p = {
        "index": index,
        "scenario": SCENARIOS[index % len(SCENARIOS)],
        "naive": rng.random() < 0.15,
        "payload32": rng.random() < 0.15,
        "sim_seed": rng.randrange(1, 2**32),
        "loss": round(rng.uniform(0.0, 0.30), 4),
        "ack_loss": round(rng.uniform(0.0, 0.10), 4) if rng.random() < 0.40 else 0.0,
        "ber": float(f"{10 ** rng.uniform(-5, -4):.3g}") if rng.random() < 0.25 else 0.0,
        "replay": round(rng.uniform(0.01, 0.10), 4) if rng.random() < 0.20 else 0.0,
    }
    u = rng.random()
    if u < 0.40:
        events: list[str] = []
    elif u < 0.90:
        events = [rng.choice(EVENTS)]
    else:
        events = sorted(rng.sample(EVENTS, 2), key=EVENTS.index)
    p["events"] = events
    # fractions of the calibrated range, resolved into times / op numbers by resolve()
    p["frac"] = {e: rng.random() for e in events}
    return p


def resolve(p: dict, cal: dict) -> None:
    """Turn the drawn fractions into virtual times and a flash op number (cal: calibration)."""
    clean_s = cal["variants"][variant_key(p["scenario"], p["naive"], p["payload32"])]["virtual_s"]
    for e in p["events"]:
        f = p["frac"][e]
        if e == "power_cut":
            p["cut_at_op"] = 1 + int(f * cal["cut_ops"][p["scenario"]])
        else:
            p[f"{e}_at_s"] = round(max(1e-3, f * clean_s), 6)


def sim_args(p: dict) -> list[str]:
    a = ["--scenario", p["scenario"], "--seed", str(p["sim_seed"])]
    if p["naive"]:
        a.append("--naive")
    if p["payload32"]:
        a += ["--payload", "32"]
    for key, flag in (("loss", "--loss"), ("ack_loss", "--ack-loss"), ("ber", "--ber"),
                      ("replay", "--replay")):
        if p.get(key):
            a += [flag, repr(p[key])]
    if "master_reset_at_s" in p:
        a += ["--master-reset-at", f"{p['master_reset_at_s']:.6f}"]
    if "target_reset_at_s" in p:
        a += ["--target-reset-at", f"{p['target_reset_at_s']:.6f}"]
    if "cut_at_op" in p:
        a += ["--target-cut-at-op", str(p["cut_at_op"])]
    return a


def fault_kind(p: dict) -> str:
    return "+".join(p["events"]) if p["events"] else "link faults only"


# ---- running and classifying ----------------------------------------------------------------------

def run_sim(smpfota: str, image: str, args: list[str]) -> tuple[int | None, str, str]:
    cmd = [smpfota, "sim", "--image", image, "--json", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, "", f"no exit after {RUN_TIMEOUT_S} s"
    return proc.returncode, proc.stdout, proc.stderr


# What ASan, LSan and UBSan print (their exit status may be 1, like a failed update).
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def classify(rc: int | None, stdout: str, stderr: str = "") -> tuple[str, str, dict | None]:
    """(outcome, why, parsed JSON or None) for one `smpfota sim --json` run."""
    if rc is None:
        return "crash", "hang (wall-clock timeout)", None
    if rc not in (0, 1):
        return "crash", f"exit status {rc}", None
    for mark in SANITIZER_MARKS:
        if mark in stderr:
            line = next(ln for ln in stderr.splitlines() if mark in ln)
            return "crash", f"sanitizer: {line.strip()[:200]}", None
    try:
        r = json.loads(stdout)
        ok, err, runs = r["ok"], r["error"], r["target_runs"]
        exact, confirmed = r["byte_exact"], r["confirmed"]
    except (ValueError, KeyError, TypeError) as e:
        return "crash", f"bad JSON ({e.__class__.__name__}): {stdout[:200]!r}", None
    if not isinstance(r, dict) or not isinstance(ok, bool) or (rc == 0) != ok:
        return "crash", f"exit status {rc} with ok={ok!r}", r
    if runs == "invalid":
        return "bricked", f"target_runs invalid (error {err})", r
    if runs not in ("old", "new"):
        return "crash", f"target_runs {runs!r}", r
    if ok:
        if err is not None or not exact or not confirmed or runs != "new":
            return ("false_confirm",
                    f"ok with error={err} byte_exact={exact} confirmed={confirmed} runs={runs}", r)
        return "done", "", r
    if err is None or err in SYNTH_ERRORS:
        return "false_confirm", f"no error reported but not ok ({err})", r
    if not isinstance(err, str) or not err or not err.replace("_", "").isalnum():
        return "no_name", f"error {err!r}", r
    return "failed", err, r


def one_run(smpfota: str, image: str, p: dict) -> dict:
    args = sim_args(p)
    t0 = time.monotonic()
    rc, out, err = run_sim(smpfota, image, args)
    wall = time.monotonic() - t0
    outcome, why, r = classify(rc, out, err)
    rec = {k: v for k, v in p.items() if k != "frac"}
    rec.update({"args": args, "exit": rc, "outcome": outcome, "why": why, "wall_s": round(wall, 4),
                "result": r})
    if outcome == "crash":
        rec["stdout"], rec["stderr"] = out[-2000:], err[-2000:]
    if r is not None:
        rec["virtual_s"] = r.get("virtual_s")
        rec["error"] = r.get("error")
        stats = r.get("stats") or {}
        if "power_cut" in p["events"]:
            rec["cut_fired"] = stats.get("power_cuts", 0) > 0
    return rec


# ---- calibration --------------------------------------------------------------------------------

def clean_run(smpfota: str, image: str, args: list[str]) -> dict:
    rc, out, err = run_sim(smpfota, image, args)
    outcome, why, r = classify(rc, out, err)
    if r is None:
        raise RuntimeError(f"calibration run failed ({why}): smpfota sim {shlex.join(args)}\n{err}")
    return r


def calibrate(smpfota: str, image: str, plans: list[dict]) -> dict:
    variants = sorted({(p["scenario"], p["naive"], p["payload32"]) for p in plans})
    cal: dict = {"variants": {}, "cut_ops": {}, "flash_ops": {}}
    for scenario, naive, p32 in variants:
        args = ["--scenario", scenario] + (["--naive"] if naive else []) + \
               (["--payload", "32"] if p32 else [])
        r = clean_run(smpfota, image, args)
        if not r["ok"]:
            raise RuntimeError(f"clean run not ok: smpfota sim {shlex.join(args)}: {r['error']}")
        cal["variants"][variant_key(scenario, naive, p32)] = {
            "virtual_s": r["virtual_s"],
            "flash_ops": r["stats"]["flash_writes"] + r["stats"]["flash_erases"]}
    for scenario in sorted({p["scenario"] for p in plans}):
        r = clean_run(smpfota, image, ["--scenario", scenario])
        total = r["stats"]["flash_writes"] + r["stats"]["flash_erases"]
        # A cut at op N fires iff the clean run makes >= N ops on the counted device (the run
        # is the clean run up to that op): monotonic, so bisect for the last N that fires.
        lo, hi = 0, total  # cut at lo fires (0: vacuous), at hi + 1 does not
        while lo < hi:
            mid = (lo + hi + 1) // 2
            fired = clean_run(smpfota, image, ["--scenario", scenario, "--target-cut-at-op",
                                               str(mid)])["stats"]["power_cuts"] > 0
            lo, hi = (mid, hi) if fired else (lo, mid - 1)
        if lo == 0:
            raise RuntimeError(f"{scenario}: no power cut fires at any flash operation")
        cal["cut_ops"][scenario] = lo
        cal["flash_ops"][scenario] = total
    return cal


# ---- report ---------------------------------------------------------------------------------------

def median_s(recs: list[dict]) -> str:
    v = [r["virtual_s"] for r in recs if isinstance(r.get("virtual_s"), (int, float))]
    return f"{statistics.median(v):.1f}" if v else "-"


def table(headers: list[str], rows: list[list]) -> str:
    cols = [[str(h)] + [str(r[i]) for r in rows] for i, h in enumerate(headers)]
    w = [max(len(c) for c in col) for col in cols]
    fmt = lambda cells: "| " + " | ".join(  # noqa: E731
        str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(cells)) + " |"
    sep = "|" + "|".join("-" * (x + 1) + ("-" if i == 0 else ":") for i, x in enumerate(w)) + "|"
    return "\n".join([fmt(headers), sep] + [fmt(r) for r in rows])


def group_rows(groups: dict[str, list[dict]]) -> list[list]:
    rows = []
    for name, recs in groups.items():
        if not recs:
            continue
        c = Counter(r["outcome"] for r in recs)
        rows.append([name, len(recs), c["done"], c["failed"], sum(c[v] for v in VIOLATIONS),
                     median_s(recs)])
    return rows


GROUP_HEADERS = ["", "runs", "done", "failed (named)", "violations", "median virtual s"]


def report(recs: list[dict], cal: dict, meta: dict) -> str:
    n = len(recs)
    out = []
    c = Counter(r["outcome"] for r in recs)
    out.append(f"### Outcomes ({n} runs, seed {meta['seed']})\n")
    out.append(table(["outcome", "runs", "share", "median virtual s"],
                     [[o, c[o], f"{100.0 * c[o] / n:.1f} %" if n else "-",
                       median_s([r for r in recs if r["outcome"] == o])] for o in OUTCOMES]))
    out.append("\n### Per scenario\n")
    out.append(table(["scenario"] + GROUP_HEADERS[1:], group_rows(
        {s: [r for r in recs if r["scenario"] == s] for s in SCENARIOS})))
    kinds = sorted({fault_kind(r) for r in recs},
                   key=lambda k: (k.count("+"), k != "link faults only", k))
    by_kind = {k: [r for r in recs if fault_kind(r) == k] for k in kinds}
    out.append("\n### Per fault kind (every run also has packet loss 0-30 %)\n")
    out.append(table(["fault kind"] + GROUP_HEADERS[1:], group_rows(by_kind)))
    dims = {
        "loss 0-10 %": [r for r in recs if r["loss"] < 0.10],
        "loss 10-20 %": [r for r in recs if 0.10 <= r["loss"] < 0.20],
        "loss 20-30 %": [r for r in recs if r["loss"] >= 0.20],
        "ACK loss 0-10 %": [r for r in recs if r["ack_loss"]],
        "bit errors 1e-5..1e-4": [r for r in recs if r["ber"]],
        "replays 1-10 %": [r for r in recs if r["replay"]],
        "naive baseline": [r for r in recs if r["naive"]],
        "32-byte payloads": [r for r in recs if r["payload32"]],
        "any master reset": [r for r in recs if "master_reset" in r["events"]],
        "any target reset": [r for r in recs if "target_reset" in r["events"]],
        "any power cut": [r for r in recs if "power_cut" in r["events"]],
        "  of which the cut fired": [r for r in recs if r.get("cut_fired")],
    }
    out.append("\n### Per fault (a run counts in every row that applies)\n")
    out.append(table(["fault"] + GROUP_HEADERS[1:], group_rows(dims)))
    for title, sel in (("Violations", lambda r: r["outcome"] in VIOLATIONS),
                       ("Failed runs (named error; the target still boots a valid image)",
                        lambda r: r["outcome"] == "failed")):
        sub = [r for r in recs if sel(r)]
        if not sub:
            continue
        key = lambda r: (r["outcome"], r["why"], (r.get("result") or {}).get("step", "-"),  # noqa: E731
                         (r.get("result") or {}).get("target_runs", "-"), fault_kind(r),
                         "yes" if r["payload32"] and r["replay"] else "")
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in sub:
            groups[key(r)].append(r)
        out.append(f"\n### {title}\n")
        out.append(table(["outcome", "error / why", "step", "target runs", "fault kind",
                          "32-B payloads + replays", "runs", "median virtual s"],
                         [list(k) + [len(g), median_s(g)]
                          for k, g in sorted(groups.items(), key=lambda x: -len(x[1]))]))
    cut = cal["cut_ops"]
    out.append("\nCalibration (clean runs): virtual s "
               + ", ".join(f"{k} {v['virtual_s']:.1f}" for k, v in cal["variants"].items())
               + "; power-cut range (ops on the slot's device / all flash ops) "
               + ", ".join(f"{s} 1-{cut[s]} / {cal['flash_ops'][s]}" for s in cut) + ".")
    return "\n".join(out)


def repro(meta: dict, r: dict) -> str:
    return f"{meta['smpfota']} sim --image {meta['image']} --json {shlex.join(r['args'])}"


# ---- main ---------------------------------------------------------------------------------------

def default_smpfota() -> str:
    build = Path(os.environ.get("SMPFOTA_BUILD", SRC / "build"))
    return str(build / "smpfota")


def make_image(path: Path) -> None:
    sys.path.insert(0, str(HERE))
    import make_test_image as mti
    mti.make_image(path, size=IMAGE_SIZE, key_type="ed25519", key_dir=path.parent / "keys",
                   version=IMAGE_VERSION)


def sweep(smpfota: str, image: str, runs: int, seed: int, jobs: int, quiet: bool,
          progress=print) -> tuple[list[dict], dict]:
    plans = [draw_run(seed, i) for i in range(runs)]
    cal = calibrate(smpfota, image, plans)
    for p in plans:
        resolve(p, cal)
    recs: list[dict | None] = [None] * runs
    done = [0]
    lock = threading.Lock()
    t0 = time.monotonic()

    def work(p: dict) -> None:
        rec = one_run(smpfota, image, p)
        recs[p["index"]] = rec
        with lock:
            done[0] += 1
            if not quiet and (done[0] % 100 == 0 or done[0] == runs):
                progress(f"  {done[0]}/{runs} runs, {time.monotonic() - t0:.1f} s", flush=True)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        list(ex.map(work, plans))
    return [r for r in recs if r is not None], cal


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--runs", type=int, default=1000, help="simulated updates (default 1000)")
    ap.add_argument("--seed", type=int, default=1, help="sweep seed (default 1)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2)")
    ap.add_argument("--json-out", help="write every run's record (and the calibration) here")
    ap.add_argument("--smpfota", default=default_smpfota(),
                    help="the smpfota CLI (default $SMPFOTA_BUILD/smpfota or build/smpfota)")
    ap.add_argument("--image", help="MCUboot image to send; made with imgtool there if missing "
                                    "(default: a 96 KiB ed25519 image in a temporary folder)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines, no list of runs")
    a = ap.parse_args(argv)
    if a.runs < 1 or a.jobs < 1:
        ap.error("--runs and --jobs must be >= 1")
    if not (os.path.isfile(a.smpfota) and os.access(a.smpfota, os.X_OK)):
        print(f"sweep: no smpfota at {a.smpfota} (build first, or --smpfota)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="smpfota-sweep-") as tmp:
        image = Path(a.image) if a.image else Path(tmp) / "app.signed.bin"
        try:
            if not image.exists():
                make_image(image)
        except Exception as e:  # imgtool missing or failing: a setup error, not a violation
            print(f"sweep: cannot make the test image {image}: {e}", file=sys.stderr)
            return 2
        meta = {"seed": a.seed, "runs": a.runs, "jobs": a.jobs, "smpfota": a.smpfota,
                "image": str(image), "image_bytes": image.stat().st_size,
                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "command": shlex.join([Path(sys.argv[0]).name] + (argv if argv is not None
                                                                   else sys.argv[1:]))}
        if not a.quiet:
            print(f"sweep: {a.runs} runs, seed {a.seed}, {a.jobs} jobs, {a.smpfota}, "
                  f"image {image} ({meta['image_bytes']} bytes)", flush=True)
        t0 = time.monotonic()
        try:
            recs, cal = sweep(a.smpfota, str(image), a.runs, a.seed, a.jobs, a.quiet)
        except RuntimeError as e:
            print(f"sweep: calibration: {e}", file=sys.stderr)
            return 2
        meta["wall_s"] = round(time.monotonic() - t0, 1)
        if a.json_out:
            Path(a.json_out).parent.mkdir(parents=True, exist_ok=True)
            Path(a.json_out).write_text(json.dumps(
                {"meta": meta, "calibration": cal, "records": recs}, indent=1) + "\n")
    print()
    print(report(recs, cal, meta))
    bad = [r for r in recs if r["outcome"] in VIOLATIONS]
    failed = [r for r in recs if r["outcome"] == "failed"]
    if not a.quiet and (bad or failed):
        print("\nTo reproduce (violations first, then failed runs; image as above):")
        for r in (bad + failed)[:40]:
            print(f"  [{r['index']}] {r['outcome']}: {r['why']}\n      {repro(meta, r)}")
        if len(bad) + len(failed) > 40:
            print(f"  ... {len(bad) + len(failed) - 40} more in --json-out")
    print(f"\n{len(recs)} runs in {meta['wall_s']} s: {sum(r['outcome'] == 'done' for r in recs)} "
          f"done, {len(failed)} failed with a named error, {len(bad)} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
