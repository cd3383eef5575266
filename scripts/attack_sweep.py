#!/usr/bin/env python3
"""Seeded attack sweep over the two-board simulator (issue #15; docs/security.md).

    python scripts/attack_sweep.py [--runs 100] [--seed 1] [--jobs 2] [--rate 20]
                                   [--min-per-kind 1000] [--json-out FILE]
                                   [--smpfota BUILD/smpfota] [--image FILE] [--key FILE]

Runs `smpfota --key KEY sim --attack all --json` --runs times: scenarios radio, internal and
qspi in turn, each run with its own seed (--seed * 100000 + index), every other run with
packet loss (uniform 0-10 %) besides the attacker. The attacker injects --rate frames per
virtual second, of every kind, at random times during the whole update.

Each run's outcome is classified as scripts/sweep.py does (done, failed with a named error
and a bootable target, or a violation: false confirm, bricked, no name, crash), and one more
violation: any injected frame accepted. Prints the totals per attack kind and per outcome;
exits 1 on a violation or when a kind got fewer than --min-per-kind frames in all, 2 for a
setup error, else 0. Run it with the project's venv Python (imgtool signs the image unless
--image names one), as `make attack-sweep` does.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import sweep  # noqa: E402  (run_sim, classify, make_image, default_smpfota)

KINDS = ("forge", "replay", "replay-old-session", "bitflip", "truncate", "reorder", "wrong-key",
         "plaintext")


def plan(seed: int, index: int, rate: int) -> dict:
    rng = random.Random(seed * 100003 + index)
    loss = round(rng.uniform(0, 0.1), 4) if index % 2 else 0.0
    return {"index": index, "scenario": sweep.SCENARIOS[index % 3],
            "seed": seed * 100000 + index, "loss": loss, "rate": rate}


def sim_args(p: dict, key: str) -> list[str]:
    return ["--key", key, "--scenario", p["scenario"], "--seed", str(p["seed"]), "--loss",
            str(p["loss"]), "--attack", "all", "--attack-rate", str(p["rate"])]


def classify(rc, stdout: str, stderr: str = "") -> tuple[str, str, dict | None]:
    """sweep.classify, plus: any accepted injected frame is a violation."""
    outcome, why, r = sweep.classify(rc, stdout, stderr)
    if r is not None:
        attacks = r.get("attacks")
        if not isinstance(attacks, dict) or set(attacks) != set(KINDS):
            return "crash", f"attacks missing or incomplete: {attacks!r}", r
        took = {k: v["accepted"] for k, v in attacks.items() if v["accepted"]}
        if took:
            return "accepted", f"injected frames accepted: {took}", r
    return outcome, why, r


def one_run(smpfota: str, image: str, key: str, p: dict) -> dict:
    args = sim_args(p, key)
    rc, out, err = sweep.run_sim(smpfota, image, args)
    outcome, why, r = classify(rc, out, err)
    rec = dict(p, args=args, outcome=outcome, why=why)
    if r is not None:
        rec.update(error=r.get("error"), virtual_s=r.get("virtual_s"),
                   attacks=r.get("attacks"), secure=r.get("secure"))
    if outcome == "crash":
        rec["stderr"] = err[-2000:]
    return rec


def report(recs: list[dict], min_per_kind: int) -> tuple[str, bool]:
    lines = []
    sent, accepted = Counter(), Counter()
    for r in recs:
        for k, v in (r.get("attacks") or {}).items():
            sent[k] += v["sent"]
            accepted[k] += v["accepted"]
    lines.append(f"attack sweep: {len(recs)} updates, every attack kind in each "
                 f"({recs[0]['rate'] if recs else 0} injected frames per virtual second)")
    lines.append(f"  {'kind':<20}{'sent':>9}{'accepted':>10}")
    for k in KINDS:
        lines.append(f"  {k:<20}{sent[k]:>9}{accepted[k]:>10}")
    lines.append(f"  {'all':<20}{sum(sent.values()):>9}{sum(accepted.values()):>10}")
    out = Counter(r["outcome"] for r in recs)
    lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(out.items())))
    errs = Counter(r.get("error") for r in recs if r["outcome"] == "failed")
    if errs:
        lines.append("named errors: " + ", ".join(f"{k} {v}" for k, v in sorted(errs.items())))
    for sc in sweep.SCENARIOS:
        vs = [r["virtual_s"] for r in recs if r["scenario"] == sc and r.get("virtual_s")]
        if vs:
            lines.append(f"  {sc:<9} median virtual time {statistics.median(vs):8.1f} s "
                         f"({len(vs)} runs)")
    ended = sum((r.get("secure") or {}).get("target", {}).get("ended", 0) for r in recs)
    sessions = sum((r.get("secure") or {}).get("master", {}).get("sessions", 0) for r in recs)
    lines.append(f"sessions opened {sessions}, ended by failed frames {ended}")
    bad = [r for r in recs if r["outcome"] not in ("done", "failed")]
    for r in bad:
        lines.append(f"VIOLATION {r['outcome']}: {r['why']}\n  smpfota sim --image IMAGE "
                     + " ".join(r["args"]))
    short = [k for k in KINDS if sent[k] < min_per_kind]
    if short:
        lines.append(f"TOO FEW frames of {', '.join(short)} (< {min_per_kind} each)")
    return "\n".join(lines), not bad and not short


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rate", type=int, default=20)
    ap.add_argument("--min-per-kind", type=int, default=0)
    ap.add_argument("--smpfota", default=sweep.default_smpfota())
    ap.add_argument("--image")
    ap.add_argument("--key")
    ap.add_argument("--json-out")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        image = a.image or str(Path(tmp) / "app.signed.bin")
        if not Path(image).exists():
            Path(image).parent.mkdir(parents=True, exist_ok=True)
            sweep.make_image(Path(image))
        key = a.key or str(Path(tmp) / "sweep.key")
        if not Path(key).exists():
            p = subprocess.run([a.smpfota, "keygen", key], capture_output=True, text=True)
            if p.returncode != 0:
                print(f"attack_sweep: keygen failed: {p.stderr}", file=sys.stderr)
                return 2
        plans = [plan(a.seed, i, a.rate) for i in range(a.runs)]
        with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
            recs = list(ex.map(lambda p: one_run(a.smpfota, image, key, p), plans))
    text, good = report(recs, a.min_per_kind)
    print(text)
    if a.json_out:
        Path(a.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json_out).write_text(json.dumps(recs, indent=1))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
