"""`smpfota --conn A --conn B ... update FILE`: several `smpfota target`s updated at once
(interleaved unicast with the fleet scheduler, include/smpfota/fleet.h), over UDP and serial:
per-target progress, a summary table or JSON, a named outcome per target, and one target that
is not there or refuses never keeping the others from their update.

Env: SMPFOTA_BUILD (dir with the `smpfota` binary), SMPFOTA_SRC (source root).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from target_harness import SMPFOTA, Target, free_loopback

SRC = Path(os.environ.get("SMPFOTA_SRC", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(SRC / "scripts"))
import make_test_image as mti  # noqa: E402

SLOT = 0x40000


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("fleet-images")
    keys = d / "keys"
    return {name: mti.make_image(d / f"{name}.bin", size=size, seed=seed, version=ver,
                                 key_dir=keys)
            for name, (size, seed, ver) in {"factory": (40_000, 1, "1.0.0"),
                                            "new": (120_000, 2, "2.0.0"),
                                            "newer": (30_000, 3, "3.0.0")}.items()}


@pytest.fixture
def targets(tmp_path):
    made: list[Target] = []

    def make(transport: str, primary: Path) -> Target:
        t = Target(tmp_path / f"t{len(made)}.bin", transport, primary=primary, slot=SLOT)
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()


def update(conns, *args, timeout=120):
    cmd = [str(SMPFOTA)] + [a for c in conns for a in ("--conn", c)] + ["update", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def running(conn: str) -> dict:
    p = subprocess.run([str(SMPFOTA), "--conn", conn, "--json", "image", "list"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return next(e for e in json.loads(p.stdout)["images"] if e["slot"] == 0)


def test_three_targets_udp_and_serial(targets, images):
    ts = [targets("udp", images["factory"]), targets("udp", images["factory"]),
          targets("serial", images["factory"])]
    p = update([t.conn for t in ts], images["new"])
    assert p.returncode == 0, p.stdout + p.stderr
    for i, t in enumerate(ts):
        assert f"[{i}] {t.conn}: upload 100%" in p.stdout
        assert f"[{i}] {t.conn}: staged" in p.stdout
        assert f"[{i}] {t.conn}: updated" in p.stdout
        e = running(t.conn)
        assert e["version"] == "2.0.0" and e["active"] and e["confirmed"]
        assert t.boots() == 2  # power-on, then exactly one reset
    # distribution before activation: every target staged before any reboots
    out = p.stdout
    assert max(out.index(f"[{i}] {t.conn}: staged") for i, t in enumerate(ts)) < min(
        out.index(f"[{i}] {t.conn}: activating") for i, t in enumerate(ts))
    assert "update: 3 of 3 targets updated" in out
    # again: every target already runs it, nothing is uploaded
    p = update([t.conn for t in ts], images["new"], "--max-reboots", "1")
    assert p.returncode == 0 and "upload 100%" not in p.stdout, p.stdout


def test_absent_and_refusing_targets_do_not_stop_the_others(targets, images):
    good = targets("udp", images["factory"])
    newer = targets("udp", images["newer"])  # runs 3.0.0: 2.0.0 is a downgrade
    absent = f"udp:{free_loopback(1337)}:1337"  # nothing listens there
    p = subprocess.run([str(SMPFOTA), "--json", "--timeout", "0.3", "--conn", good.conn,
                        "--conn", absent, "--conn", newer.conn, "update", str(images["new"])],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    d = json.loads(p.stdout)
    assert d["ok"] is False and d["updated"] == 1
    got = {t["conn"]: (t["outcome"], t["error"]) for t in d["targets"]}
    assert got[good.conn] == ("updated", None)
    assert got[absent] == ("unreachable", "TIMEDOUT")
    assert got[newer.conn] == ("rejected", "DOWNGRADE")
    assert running(good.conn)["version"] == "2.0.0"
    assert running(newer.conn)["version"] == "3.0.0"


@pytest.mark.parametrize("args", [
    ["image", "list"], ["update"], ["update", "a.bin", "b.bin"], ["update", "--max-reboots",
                                                                 "0", "x.bin"],
])
def test_usage_errors_exit_2(args):
    p = subprocess.run([str(SMPFOTA), "--conn", "udp:127.0.0.1:9", "--conn",
                        "udp:127.0.0.1:10", *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stdout + p.stderr
