"""End to end: the bare-metal master firmware (QEMU mps2-an505, Cortex-M33) updates the real
Zephyr smp_svr + MCUboot target (QEMU microbit, ../shared/peers), UART to UART, no host
program in the data path. What the target ends up running is read back independently with
smpclient once the master is stopped.

One CTest test per case (tests/baremetal/CMakeLists.txt), each with a time limit; every QEMU
process is stopped by the fixture, and dies with the test process if that is killed.
Env: SMPFOTA_BM_MASTER (firmware ELF), SMPFOTA_PEERS, SMPFOTA_BUILD, SMPFOTA_SRC.
"""
from __future__ import annotations

import os
import re

import pytest

import qemu_pair as qp

ALLOW_MISSING = os.environ.get("SMPFOTA_ALLOW_MISSING_PEERS") == "1"

# Firmware time limits (the whole update takes about 2 s in QEMU; a target reset about 1 s).
UPDATE_S = 60


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    if not qp.TARGET_HEX.exists() or not qp.MASTER_ELF.exists():
        missing = [str(p) for p in (qp.TARGET_HEX, qp.MASTER_ELF) if not p.exists()]
        if ALLOW_MISSING:
            pytest.skip(f"missing {missing}")
        pytest.fail(f"missing {missing} (the target fixture is in ../shared/peers; the "
                    "firmware is built by `make build`)")
    d = tmp_path_factory.mktemp("images")
    new = qp.make_image(d, "0.0.1")
    return {"new": new, "new_hash": qp.image_hash(new),
            "factory_hash": qp.image_hash(qp.TARGET_APP)}


@pytest.fixture
def pair(tmp_path):
    p = qp.Pair(tmp_path)
    yield p
    p.stop()


def slot(listing, image=0, slot_no=0):
    return next(e for e in listing if (e["image"] or 0) == image and e["slot"] == slot_no)


def result_lines(master):
    return [ln for ln in master.lines if ln.startswith("result: ")]


def test_update_confirm(pair, images):
    """(a) update + confirm: the target ends running the new image, confirmed."""
    pair.start_target()
    m = pair.start_master(images["new"])
    m.expect(r"^image: \d+ bytes, version 0\.0\.1, hash " + images["new_hash"], 10)
    m.expect(r"^step: upload ", 20)
    m.expect(r"^step: confirm ", UPDATE_S)
    m.expect(r"^result: OK$", UPDATE_S)
    m.expect(r"^slot: image 0 slot 0 version 0\.0\.1 hash " + images["new_hash"]
             + " active confirmed$", 10)
    m.expect(r"^master: halt$", 10)

    s0 = slot(pair.target_images())
    assert s0["hash"] == images["new_hash"]
    assert s0["version"] == "0.0.1"
    assert s0["active"] and s0["confirmed"]


def test_no_confirm_then_reset_reverts(pair, images):
    """(b) update without confirm, then a reset: MCUboot reverts, the master detects and
    reports it."""
    pair.start_target()
    m = pair.start_master(images["new"], qp.JOB_NO_CONFIRM | qp.JOB_CHECK_REVERT)
    m.expect(r"^step: active ", UPDATE_S)
    m.expect(r"^result: OK$", 20)
    # In test mode: running, not confirmed.
    m.expect(r"^slot: image 0 slot 0 version 0\.0\.1 hash " + images["new_hash"] + " active$",
             10)
    assert not any(ln.startswith("step: confirm") for ln in m.lines)
    m.expect(r"^revert: resetting the target$", 10)
    listing = m.expect(r"^slot: image 0 slot 0 version (\S+) hash ([0-9a-f]+)", UPDATE_S)
    assert listing.group(2) == images["factory_hash"]
    m.expect(r"^revert: detected, the target runs the previous image$", 10)
    m.expect(r"^result: ROLLED_BACK at revert$", 10)
    m.expect(r"^master: halt$", 10)

    s0 = slot(pair.target_images())
    assert s0["hash"] == images["factory_hash"]
    assert s0["hash"] != images["new_hash"]
    assert s0["active"] and s0["confirmed"]


def test_master_reset_mid_upload_resumes(pair, images):
    """(c) the master is reset in the middle of the upload; after the reset it starts over,
    the target's upload session continues where it was (the master skips ahead), and the
    update completes."""
    pair.start_target()
    m = pair.start_master(images["new"])
    total = None
    while True:
        p = m.expect(r"^progress: (\d+)/(\d+)$", UPDATE_S)
        done, total = int(p.group(1)), int(p.group(2))
        if done >= total * 3 // 10:
            break
    assert done < total, "the upload ended before the reset"
    pair.reset_master()
    m.expect(r"^master: smpfota", 10)  # the second boot
    first = m.expect(r"^progress: (\d+)/\d+$", UPDATE_S)
    assert int(first.group(1)) >= done // 2, "the second run started the upload over"
    summary = m.expect(r"^upload: \d+ bytes in \d+ ms, .*skips (\d+)$", UPDATE_S)
    assert int(summary.group(1)) >= 1
    m.expect(r"^result: OK$", UPDATE_S)
    m.expect(r"^master: halt$", 10)

    s0 = slot(pair.target_images())
    assert s0["hash"] == images["new_hash"]
    assert s0["active"] and s0["confirmed"]


def test_silent_target_times_out(pair, images):
    """(d) a target that never answers (it takes the bytes, as a hung application would):
    the master reports TIMEDOUT and stops."""
    pair.start_silent_target()
    m = pair.start_master(images["new"])
    r = m.expect(r"^result: (\S+)( at (\S+))?$", UPDATE_S)
    assert r.group(1) == "TIMEDOUT"
    m.expect(r"^master: halt$", 10)
    assert not any(re.match(r"^step: upload", ln) for ln in m.lines)
    assert len(result_lines(m)) == 1
