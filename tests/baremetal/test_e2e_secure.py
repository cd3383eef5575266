"""End to end with the secure channel: the bare-metal master firmware built with it
(master_secure.elf, QEMU mps2-an505) updates `smpfota target --key` over its serial PTY, the
channel on the link (docs/security.md). The real Zephyr target has no responder, so the
target here is smpfota's own, with the key file `smpfota keygen` wrote; the master gets the
same key in its key page (board.h, struct smpfota_bm_key), as production would write it.

Also: a master with another key opens no session and changes nothing; the plain firmware
(master.elf) is refused by the keyed target; master_secure without a key does not start.

Env: SMPFOTA_BM_MASTER (master.elf; master_secure.elf beside it), SMPFOTA_BUILD, SMPFOTA_SRC.
"""
from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import qemu_pair as qp

sys.path.insert(0, str(qp.SRC / "scripts"))
import make_test_image as mti  # noqa: E402

SECURE_ELF = qp.MASTER_ELF.with_name("master_secure.elf")
CLI = qp.BUILD / "smpfota"
KEY_ADDR = 0x10081000  # ports/baremetal/boards/mps2_an505/mps2_an505.ld
KEY_MAGIC = 0x59454B53
UPDATE_S = 60


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    missing = [str(p) for p in (SECURE_ELF, qp.MASTER_ELF, CLI) if not p.exists()]
    if missing:
        pytest.fail(f"missing {missing} (built by `make build`)")
    d = tmp_path_factory.mktemp("images")
    keys = d / "keys"
    v1 = mti.make_image(d / "v1.bin", size=30000, seed=1, key_dir=keys, version="1.0.0")
    v2 = mti.make_image(d / "v2.bin", size=40000, seed=2, key_dir=keys, version="1.1.0")
    return {"v1": v1, "v2": v2}


def keygen(path: Path) -> int:
    out = subprocess.run([CLI, "keygen", path], capture_output=True, text=True, check=True)
    return int(re.search(r"key id (\d+)", out.stdout).group(1))


class Target:
    """`smpfota target --key` on a PTY, its log collected (the boot lines say what runs)."""

    def __init__(self, workdir: Path, primary: Path, key: Path):
        self.link = workdir / "target-tty"
        self.q = qp.Qemu("target", [str(CLI), "target", "--serial-pty", "--pty-link",
                                    str(self.link), "--flash", str(workdir / "dev.bin"),
                                    "--primary", str(primary), "--key", str(key), "-v"])
        self.q.expect(r"smpfota target: serial pty", 10)

    def running(self) -> str:
        """The version the target's last boot runs, from its log."""
        boots = [m.group(1) for m in (re.search(r"boot \d+ image 0: .*running (\S+)", line)
                                      for line in self.q.lines) if m]
        return boots[-1]


def start_master(workdir: Path, elf: Path, image: Path, link: str, key: bytes | None,
                 seed: bool = True) -> qp.Qemu:
    job = struct.pack("<II", qp.JOB_MAGIC, 0) + (os.urandom(32) if seed else bytes(32))
    (workdir / "job.bin").write_bytes(job)
    args = ["qemu-system-arm", "-machine", "mps2-an505", "-display", "none",
            "-monitor", "none", "-serial", "stdio", *link.split(), "-kernel", str(elf),
            "-device", f"loader,file={image},addr={qp.IMAGE_ADDR:#x},force-raw=on",
            "-device", f"loader,file={workdir / 'job.bin'},addr={qp.JOB_ADDR:#x},force-raw=on"]
    if key is not None:
        (workdir / "key.bin").write_bytes(struct.pack("<I", KEY_MAGIC) + key)
        args += ["-device", f"loader,file={workdir / 'key.bin'},addr={KEY_ADDR:#x},force-raw=on"]
    return qp.Qemu("master", args)


def tty_link(target: Target) -> str:
    return f"-chardev serial,id=smp,path={target.link} -serial chardev:smp"


@pytest.fixture
def procs():
    started: list[qp.Qemu] = []
    yield started
    for p in started:
        p.stop()


def test_secure_update_confirm(images, tmp_path, procs):
    key_file = tmp_path / "site.key"
    key_id = keygen(key_file)
    target = Target(tmp_path, images["v1"], key_file)
    procs.append(target.q)
    master = start_master(tmp_path, SECURE_ELF, images["v2"], tty_link(target),
                          bytes.fromhex(key_file.read_text().strip()))
    procs.append(master)
    # the key id the firmware derives is the one keygen printed (the key itself never shows)
    assert int(master.expect(r"secure: key id (\d+)", 10).group(1)) == key_id
    master.expect(r"result: OK$", UPDATE_S)
    st = master.expect(r"secure: sessions (\d+), sealed (\d+), opened (\d+), rejects (\d+), "
                       r"dropped: auth (\d+) replayed (\d+) plaintext (\d+)", 10)
    sessions, sealed, opened, rejects, auth, replayed, plaintext = map(int, st.groups())
    # the target's reset (the swap) lost its session: the master opened another by itself
    assert sessions >= 2 and rejects >= 1
    assert opened > 0 and sealed >= opened and auth == replayed == plaintext == 0
    assert target.running() == "1.1.0"
    # the target dropped only what its reset made stale (a frame of the lost session)
    drops = [line for line in target.q.lines if "secure channel: dropped" in line]
    assert all("no secure session" in line for line in drops), drops


def test_wrong_key_opens_nothing(images, tmp_path, procs):
    key_file, other = tmp_path / "site.key", tmp_path / "other.key"
    keygen(key_file)
    keygen(other)
    target = Target(tmp_path, images["v1"], key_file)
    procs.append(target.q)
    master = start_master(tmp_path, SECURE_ELF, images["v2"], tty_link(target),
                          bytes.fromhex(other.read_text().strip()))
    procs.append(master)
    # another key: the target has no key with its id (or, 1 in 256, the id is the same and
    # the target's answer does not verify)
    master.expect(r"result: \w+ at \w+", UPDATE_S)
    m = master.expect(r"secure: no session: (\w+)", 10)
    assert m.group(1) in ("KEY_UNKNOWN", "AUTH"), master.lines
    assert target.running() == "1.0.0"
    assert len([line for line in target.q.lines if re.search(r"boot \d+ image 0", line)]) == 1


def test_plain_master_is_refused(images, tmp_path, procs):
    key_file = tmp_path / "site.key"
    keygen(key_file)
    target = Target(tmp_path, images["v1"], key_file)
    procs.append(target.q)
    master = start_master(tmp_path, qp.MASTER_ELF, images["v2"], tty_link(target), None)
    procs.append(master)
    m = master.expect(r"result: (.*)$", UPDATE_S)
    assert m.group(1).startswith("REJECTED") and "11)" in m.group(1), m.group(0)
    assert target.running() == "1.0.0"


def test_no_key_no_start(images, tmp_path, procs):
    master = start_master(tmp_path, SECURE_ELF, images["v2"], "-serial null", None)
    procs.append(master)
    master.expect(r"secure: no key in the key page", 10)
    master.expect(r"result: KEY_UNKNOWN at key", 10)
    # and a key without a random source (no seed in the run configuration): no channel either
    master.stop()
    master = start_master(tmp_path, SECURE_ELF, images["v2"], "-serial null", bytes(range(16)),
                          seed=False)
    procs.append(master)
    master.expect(r"secure: no random source", 10)
