"""`smpfota sim --targets N`: the fleet simulator from the command line.

The model's behaviour is tested in C (tests/test_sim_fleet.c); this checks what scripts rely
on: the JSON fields (overall virtual time; per target outcome, virtual time, bytes sent),
per-target faults reaching the model, exit codes and usage errors.

Env: SMPFOTA_BUILD (dir with the `smpfota` binary), SMPFOTA_SRC (source root).
"""
from __future__ import annotations

import json

import pytest
from sim_harness import sim, sim_image


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return sim_image(tmp_path_factory.mktemp("fleet"), size=40000, seed=4)


def test_json_per_target(image):
    p = sim("--image", image, "--targets", 3, "--scenario", "radio", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["fleet"] == "unicast" and d["targets"] == 3 and d["ok"] and d["updated"] == 3
    assert len(d["per_target"]) == 3
    size = image.stat().st_size
    for i, t in enumerate(d["per_target"]):
        assert t["index"] == i and t["outcome"] == "updated" and t["error"] is None
        assert t["byte_exact"] and t["confirmed"]
        assert 0 < t["staged_us"] < t["virtual_us"] <= d["virtual_us"]
        assert t["bytes_sent"] >= size
    assert max(t["virtual_us"] for t in d["per_target"]) == d["virtual_us"]


def test_target_faults_reach_the_model(image):
    p = sim("--image", image, "--targets", 4, "--scenario", "radio", "--json",
            "--target-fault", "1:dead", "--target-fault", "2:loss=0.2,reset=0.5",
            "--master-reset-at", "0.6")
    assert p.returncode == 1, p.stderr  # not every target updated
    d = json.loads(p.stdout)
    t = d["per_target"]
    assert t[1]["outcome"] == "unreachable" and t[1]["error"] == "TIMEDOUT"
    assert [t[i]["outcome"] for i in (0, 2, 3)] == ["updated"] * 3
    assert t[2]["resets"] >= 2
    assert d["master_resets"] == 1 and d["updated"] == 3 and not d["ok"]


def test_text_table(image):
    p = sim("--image", image, "--targets", 2, "--fleet", "sequential", "--scenario", "radio")
    assert p.returncode == 0, p.stderr
    assert "2 targets, sequential" in p.stdout
    assert "2 of 2 targets updated" in p.stdout
    assert p.stdout.count(" updated ") >= 2


def test_broadcast_json(image):
    p = sim("--image", image, "--targets", 3, "--scenario", "radio", "--fleet", "broadcast",
            "--loss", "0.1", "--target-fault", "2:dead", "--json")
    assert p.returncode == 1, p.stderr  # the dead one is not updated
    d = json.loads(p.stdout)
    assert d["fleet"] == "broadcast" and d["updated"] == 2
    assert d["bcast_packets"] > 0 and 0 < d["bcast_us"] <= d["distributed_us"]
    t = d["per_target"]
    assert [x["broadcast"] for x in t] == ["done", "done", "dropped-silent"]
    assert [x["outcome"] for x in t] == ["updated", "updated", "unreachable"]


@pytest.mark.parametrize("args", [
    ["--targets", "0"], ["--targets", "65"], ["--fleet", "mesh"],
    ["--target-fault", "1"], ["--target-fault", "1:loss=1.5"], ["--target-fault", "x:dead"],
    ["--target-fault", "1:melt"], ["--max-reboots", "0"],
])
def test_usage_errors_exit_2(image, args):
    p = sim("--image", image, *args)
    assert p.returncode == 2
    assert "smpfota: sim: bad" in p.stderr or "smpfota: sim: unknown" in p.stderr
