"""Attack sweep, CI size (issue #15): scripts/attack_sweep.py over `smpfota --key K sim
--attack all`. `make attack-sweep` runs the full one (100 updates, at least 1000 frames of
every kind; docs/security.md has its figures); here 12 updates of a fixed seed (~1 s).

Asserted: every kind of attack was injected, none accepted (the channel took no forged,
replayed, reordered, corrupted, truncated, wrong-key or plaintext frame as authentic), and
every update ended byte-exact and confirmed or with a named error and a bootable target; and
the classifier itself flags an accepted frame as a violation.

Env: SMPFOTA_BUILD, SMPFOTA_SRC (tests/CMakeLists.txt).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

SRC = Path(os.environ.get("SMPFOTA_SRC", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("SMPFOTA_BUILD", SRC / "build"))
sys.path.insert(0, str(SRC / "scripts"))
import attack_sweep  # noqa: E402


def test_ci_attack_sweep(tmp_path):
    out = tmp_path / "attacks.json"
    rc = attack_sweep.main(["--runs", "12", "--seed", "15", "--jobs", "2", "--smpfota",
                            str(BUILD / "smpfota"), "--json-out", str(out)])
    recs = json.loads(out.read_text())
    assert len(recs) == 12
    bad = [(r["outcome"], r["why"]) for r in recs if r["outcome"] not in ("done", "failed")]
    assert not bad, bad
    assert rc == 0
    for kind in attack_sweep.KINDS:
        sent = sum(r["attacks"][kind]["sent"] for r in recs)
        accepted = sum(r["attacks"][kind]["accepted"] for r in recs)
        assert sent > 0, kind
        assert accepted == 0, kind
    # the attacks did reach the channel: failed checks on both sides, sessions ended
    assert sum(r["secure"]["target"]["auth_failed"] for r in recs) > 0
    assert sum(r["secure"]["master"]["auth_failed"] for r in recs) > 0
    assert sum(r["secure"]["target"]["plaintext"] for r in recs) > 0
    assert sum(r["secure"]["target"]["replayed"] for r in recs) > 0
    assert sum(1 for r in recs if r["outcome"] == "done") >= 9


def test_accepted_frame_is_a_violation():
    r = {"ok": True, "error": None, "target_runs": "new", "byte_exact": True, "confirmed": True,
         "attacks": {k: {"sent": 3, "accepted": 0} for k in attack_sweep.KINDS}}
    assert attack_sweep.classify(0, json.dumps(r))[0] == "done"
    r["attacks"]["replay"]["accepted"] = 1
    outcome, why, _ = attack_sweep.classify(0, json.dumps(r))
    assert outcome == "accepted" and "replay" in why
    del r["attacks"]["forge"]
    assert attack_sweep.classify(0, json.dumps(r))[0] == "crash"
