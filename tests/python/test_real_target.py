"""The smpfota CLI against a real target nobody here wrote: Zephyr 4.4.0's smp_svr behind
MCUboot (swap mode), in QEMU, SMP over its console UART (tests/python/qemu_target.py; the
fixture is in ../shared/peers). Each test boots a fresh target.

  * update + confirm: the new image runs from slot 0, confirmed
  * update --no-confirm, then a reset: MCUboot reverts to the old image
  * the client killed mid-upload, run again: it resumes where the target is
  * a P-384 image (SHA-384 hash TLV): uploaded whole; this MCUboot build knows SHA-256 only,
    so the target does not list it and update stops at verify, the running image untouched
  * a request larger than the target's buffer: refused at once with the sizes, not sent

Behaviour only; the speed race against smpclient is bench/bench_real.py. A missing QEMU or
fixture fails the tests; SMPFOTA_ALLOW_MISSING_PEERS=1 turns that into a skip.
Env: SMPFOTA_PEERS, SMPFOTA_BUILD, SMPFOTA_SRC, SMPFOTA_PYTHON (see tests/CMakeLists.txt).
"""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import qemu_target as qt

WHY = qt.missing()
ALLOW_MISSING = os.environ.get("SMPFOTA_ALLOW_MISSING_PEERS") == "1"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    if WHY:
        if ALLOW_MISSING:
            pytest.skip(WHY + "; skipped because SMPFOTA_ALLOW_MISSING_PEERS=1")
        pytest.fail(WHY + " (SMPFOTA_ALLOW_MISSING_PEERS=1 to skip)")
    d = tmp_path_factory.mktemp("real")
    return {"v1": qt.resign(d / "app-0.0.1.bin", "0.0.1"),
            "p384": qt.resign(d / "app-p384.bin", "0.0.2", key_type="ecdsa-p384")}


@pytest.fixture
def target(images):
    t = qt.QemuTarget()
    t.start()
    yield t
    t.stop()


def slots(t: qt.QemuTarget) -> dict[int, dict]:
    p = t.cli("image", "list", "--json")
    assert p.returncode == 0, p.stderr
    return {e["slot"]: e for e in json.loads(p.stdout)["images"] if e.get("image", 0) == 0}


FACTORY = None


def factory_hash() -> str:
    global FACTORY
    FACTORY = FACTORY or qt.image_hash(qt.factory_image())
    return FACTORY


def test_update_and_confirm(target, images):
    assert slots(target)[0]["hash"] == factory_hash()
    p = target.cli("update", str(images["v1"]), "--json", timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    s = slots(target)
    assert s[0]["hash"] == qt.image_hash(images["v1"])
    assert s[0]["active"] and s[0]["confirmed"]


def test_no_confirm_then_reset_reverts(target, images):
    p = target.cli("update", str(images["v1"]), "--no-confirm", timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    s = slots(target)
    assert s[0]["hash"] == qt.image_hash(images["v1"])
    assert s[0]["active"] and not s[0]["confirmed"]
    p = target.cli("reset")
    assert p.returncode == 0, p.stderr
    target.wait_boot()
    s = slots(target)
    assert s[0]["hash"] == factory_hash()
    assert s[0]["active"] and s[0]["confirmed"]


def test_resume_after_the_client_is_killed(target, images):
    img = images["v1"]
    size = img.stat().st_size
    first = subprocess.Popen([str(target.smpfota), "--conn", target.conn, "image", "upload",
                              str(img), "--json"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done_at_kill = 0
    for line in first.stderr:  # progress lines: "upload:  40% 19892/49692 bytes, ..."
        m = re.search(r"(\d+)/(\d+) bytes", line)
        if m and int(m.group(1)) >= size * 4 // 10:
            first.kill()
            done_at_kill = int(m.group(1))
            break
    first.wait()
    assert done_at_kill > 0, "the first upload ended before it could be killed"
    p = target.cli("image", "upload", str(img), "--json", timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert out["match"] is True
    assert out["resumed_at"] >= done_at_kill  # the target had at least that much
    assert out["sent_bytes"] < size  # the rest (and what went again), not the whole image
    assert slots(target)[1]["hash"] == qt.image_hash(img)


def test_p384_image(target, images):
    img = images["p384"]
    info = subprocess.run([str(qt.SMPFOTA), "image", "info", str(img), "--json"],
                          capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["hash_valid"] is True
    p = target.cli("image", "upload", str(img), "--json", timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout)["match"] is True  # every byte arrived
    p = target.cli("update", str(img), "--json", timeout=180)
    assert p.returncode != 0
    err = json.loads(p.stdout)
    assert (err["step"], err["error"]) == ("verify", "NOT_FOUND")
    assert "SHA-256 images only" in (err["hint"] or ""), err
    s = slots(target)
    assert s[0]["hash"] == factory_hash() and s[0]["confirmed"]


def test_request_too_big_for_the_buffer(target):
    p = target.cli("echo", "x" * 1000, timeout=30)
    assert p.returncode != 0
    assert "NOSPC" in p.stderr and "buf_size 384" in p.stderr, p.stderr
    assert "not sent" in p.stderr
    # what fits still goes, and the target was not disturbed
    p = target.cli("echo", "x" * 300)
    assert p.returncode == 0 and p.stdout.strip() == "x" * 300, p.stderr
