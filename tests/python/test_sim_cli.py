"""`smpfota sim` from the command line, on imgtool-signed images.

The simulator's behaviour is tested in C (tests/test_sim.c); this checks the interface
users and scripts rely on: the JSON fields, exit codes, flags reaching the model, the text
summary, and clear errors for bad input.

Env: SMPFOTA_BUILD (dir with the `smpfota` binary), SMPFOTA_SRC (source root).
"""
from __future__ import annotations

import pytest
from sim_harness import mti, sim, sim_image, sim_json

FIELDS = {"ok", "error", "step", "scenario", "naive", "seed", "byte_exact", "confirmed",
          "target_runs", "image_bytes", "virtual_us", "upload_us", "virtual_s", "upload_s",
          "goodput_kBps", "limit_kBps", "radio_limit_kBps", "flash_limit_kBps", "ratio", "stats"}


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return sim_image(tmp_path_factory.mktemp("sim"), size=60000, seed=3)


@pytest.mark.parametrize("scenario", ["radio", "internal", "qspi"])
def test_json_update_completes(image, scenario):
    rc, d = sim_json("--image", image, "--scenario", scenario)
    assert rc == 0
    assert FIELDS <= d.keys()
    assert d["ok"] is True and d["error"] is None and d["step"] == "done"
    assert d["byte_exact"] and d["confirmed"] and d["target_runs"] == "new"
    assert d["image_bytes"] == image.stat().st_size
    assert d["scenario"] == scenario
    assert 0 < d["upload_s"] < d["virtual_s"]
    assert 0 < d["goodput_kBps"] <= d["limit_kBps"]
    assert abs(d["goodput_kBps"] - d["image_bytes"] / d["upload_s"] / 1000) < 0.01
    assert d["limit_kBps"] == min(d["radio_limit_kBps"], d["flash_limit_kBps"])


def test_text_summary_and_progress(image):
    p = sim("--image", image)
    assert p.returncode == 0, p.stderr
    assert "update done" in p.stdout
    for word in ("virtual time", "goodput", "limit", "ratio"):
        assert word in p.stdout
    # progress on stderr, stamped with virtual time, through every step of the workflow
    for step in ("params", "upload", "test", "reset", "target boot: swap test", "confirm", "done"):
        assert step in p.stderr
    assert "[" in p.stderr and " s] " in p.stderr
    q = sim("--image", image, "--quiet")
    assert q.returncode == 0 and q.stderr == ""


def test_flags_reach_the_model(image):
    _, base = sim_json("--image", image, "--scenario", "radio")
    _, lossy = sim_json("--image", image, "--scenario", "radio", "--loss", "0.2",
                        "--ack-loss", "0.05", "--seed", "9")
    assert lossy["ok"] and lossy["stats"]["lost"] > 0 and lossy["stats"]["ack_lost"] > 0
    assert lossy["seed"] == 9
    assert lossy["upload_s"] > base["upload_s"]
    _, slow = sim_json("--image", image, "--scenario", "radio", "--bitrate", "1")
    assert slow["radio_limit_kBps"] < base["radio_limit_kBps"] / 1.5
    _, t = sim_json("--image", image, "--scenario", "internal", "--timing", "page_erase_us=40000")
    assert t["flash_limit_kBps"] > 40
    _, naive = sim_json("--image", image, "--scenario", "radio", "--naive")
    assert naive["ok"] and naive["naive"] is True
    _, rst = sim_json("--image", image, "--scenario", "internal", "--master-reset-at", "1.0",
                      "--target-reset-at", "1.5")
    assert rst["ok"] and rst["stats"]["master_resets"] == 1
    _, cut = sim_json("--image", image, "--scenario", "qspi", "--target-cut-at-op", "5")
    assert cut["ok"] and cut["stats"]["power_cuts"] == 1


def test_same_seed_same_output(image):
    a = sim("--image", image, "--loss", "0.1", "--seed", "5", "--json")
    b = sim("--image", image, "--loss", "0.1", "--seed", "5", "--json")
    assert a.returncode == 0 and a.stdout == b.stdout


def test_failure_is_named_with_exit_1(image):
    rc, d = sim_json("--image", image, "--loss", "0.99", "--timing", "retransmit_count=0")
    assert rc == 1
    assert d["ok"] is False and d["error"] == "TIMEDOUT"
    assert d["target_runs"] == "old"  # the running image was never harmed


@pytest.mark.parametrize("args", [
    [], ["--image"], ["--scenario", "floppy"], ["--loss", "1.5"], ["--loss", "x"],
    ["--window", "0"], ["--bitrate", "3"], ["--payload", "300"], ["--timing", "nope=1"],
    ["--timing", "ramp_us"], ["--buf-size", "10"], ["--bogus"],
])
def test_usage_errors_exit_2(image, args):
    full = args if args in ([], ["--image"]) else ["--image", str(image), *args]
    p = sim(*full)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert p.stderr.strip()


def test_bad_image_is_a_clear_error(tmp_path, image):
    missing = sim("--image", tmp_path / "nope.bin")
    assert missing.returncode == 1 and "nope.bin" in missing.stderr
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 4096)
    p = sim("--image", junk)
    assert p.returncode == 1
    assert "magic" in p.stderr.lower()
    broken = tmp_path / "broken.bin"
    data = bytearray(image.read_bytes())
    data[0x300] ^= 0xFF  # body byte: the SHA-256 TLV no longer matches
    broken.write_bytes(bytes(data))
    p = sim("--image", broken)
    assert p.returncode == 1 and "hash" in p.stderr.lower()


def text_and_json(*args):
    t = sim(*args, "--quiet")
    rc, d = sim_json(*args)
    assert t.returncode == rc
    return t.stdout, d


def test_failure_summary_names_the_step_and_true_counts(image):
    # every packet lost: the update cannot even read the target's state
    out, d = text_and_json("--image", image, "--loss", "0.99", "--timing",
                           "retransmit_count=0", "--max-time", "20")
    assert d["ok"] is False and d["error"] == "TIMEDOUT"
    assert f"update FAILED at step {d['step']}: timed out (TIMEDOUT)" in out, out
    s = d["stats"]
    assert (f"radio         {s['packets']} packets, {s['retransmits']} retransmissions in all; "
            f"during the upload {s['upload_packets']} packets, {s['upload_retransmits']} "
            "retransmissions") in out, out
    if d["upload_us"] == 0:
        assert "the upload did not start" in out and "goodput" not in out
    # no reset happened: nothing is put down to MCUboot's swap
    assert s["target_resets"] == 0 and "MCUboot swap" not in out, out


def test_failure_during_the_upload_keeps_its_time(image):
    # the run is stopped by the time cap in the middle of a slow, lossy upload
    out, d = text_and_json("--image", image, "--loss", "0.6", "--max-time", "2", "--seed", "4")
    assert d["ok"] is False and d["step"] == "upload", d
    assert d["upload_us"] > 0 and d["goodput_kBps"] == 0, d
    assert "upload %.3f s until the run stopped" % d["upload_s"] in out, out
    assert f"({d['stats']['upload_bytes_written']} of {d['image_bytes']} bytes written)" in out


def test_success_summary_counts_match_the_json(image):
    out, d = text_and_json("--image", image)
    s = d["stats"]
    assert d["ok"] and f"{s['packets']} packets, {s['retransmits']} retransmissions in all" in out
    assert s["target_resets"] >= 1 and "MCUboot swap" in out


def test_help_states_the_limits():
    p = sim("--help")
    assert p.returncode == 0
    assert "--max-time S" in p.stdout and "gives up after 600 virtual seconds" in p.stdout
    assert "0x74000-byte slot" in p.stdout


def test_image_too_large_for_the_slot(tmp_path):
    big = mti.make_image(tmp_path / "big.bin", size=0x80000, seed=5, key_type=None,
                         key_dir=tmp_path / "keys")
    p = sim("--image", big)
    assert p.returncode == 2 and "do not fit the target's 0x74000-byte slot" in p.stderr
    assert p.stdout == ""  # refused before the run
