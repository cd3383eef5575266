"""The host-side commands mcumgr users reach for: stat, taskstat, mpstat, datetime, shell exec,
fs upload/download/stat/hash (with resume), each with --json, against `smpfota target` (its
host-side groups, tools/target_groups.c) and, for the groups it has (stat, taskstat, echo),
against the real Zephyr smp_svr + MCUboot in QEMU (../shared/peers).

Env: SMPFOTA_BUILD, SMPFOTA_SRC, SMPFOTA_PEERS (see tests/CMakeLists.txt).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import select
import signal
import subprocess
import sys
import time
import tty
from pathlib import Path

import pytest
from target_harness import SMPFOTA, SRC, Target

sys.path.insert(0, str(SRC / "scripts"))
sys.path.insert(0, str(SRC / "tests"))
import make_test_image as mti  # noqa: E402
from udp_proxy import UdpProxy  # noqa: E402

TIMEOUT = 60
SLOT = 0x40000
PEERS = Path(os.environ.get("SMPFOTA_PEERS", SRC.parent / "shared" / "peers"))
ZEPHYR_HEX = PEERS / "zephyr_4.4.0_smp_server_0eae053d_qemu_cortex_m0_serial.merged.hex"


def run(conn, *args, timeout=TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(SMPFOTA), "--conn", conn, *[str(a) for a in args]],
                          capture_output=True, text=True, timeout=timeout)


def ok(conn, *args, **kw) -> subprocess.CompletedProcess:
    p = run(conn, *args, **kw)
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}{p.stderr}"
    return p


def js(conn, *args, **kw):
    return json.loads(ok(conn, "--json", *args, **kw).stdout)


@pytest.fixture
def target(tmp_path):
    img = mti.make_image(tmp_path / "v1.bin", size=20_000, seed=1, version="1.0.0",
                         key_dir=tmp_path / "keys")
    root = tmp_path / "fsroot"
    root.mkdir()
    t = Target(tmp_path / "flash.bin", "udp", primary=img, images=1, slot=SLOT, buf_size=512,
               buf_count=3, args=("--fs", str(root)))
    t.root = root
    yield t
    t.stop()


# ---- stat, taskstat, mpstat, datetime, shell --------------------------------------------------


def test_stat(target):
    c = target.conn
    assert ok(c, "stat", "list").stdout == "smp\n"
    assert js(c, "stat", "list") == {"stat_list": ["smp"]}
    before = js(c, "stat", "read", "smp")["fields"]["requests"]
    ok(c, "echo", "x")
    d = js(c, "stat", "read", "smp")
    # the echo and the stat read before this one were counted
    assert d["name"] == "smp" and d["fields"]["requests"] == before + 2, d
    text = ok(c, "stat", "read", "smp").stdout
    assert text.startswith("smp:\n") and re.search(r"^  requests: \d+$", text, re.M)
    p = run(c, "stat", "read", "nope")
    assert p.returncode == 1 and "ENOENT" in p.stderr


def test_taskstat_mpstat(target):
    c = target.conn
    tasks = js(c, "taskstat")["tasks"]
    assert list(tasks) == ["smpfota_target"]
    assert {"prio", "tid", "state", "stkuse", "stksiz", "cswcnt", "runtime"} <= set(
        tasks["smpfota_target"])
    assert "smpfota_target" in ok(c, "taskstat").stdout
    pools = js(c, "mpstat")["mpools"]
    assert pools["smp_bufs"]["blksiz"] == 512 and pools["smp_bufs"]["nblks"] == 3
    assert re.search(r"smp_bufs +512 +3 ", ok(c, "mpstat").stdout)


def test_datetime(target):
    c = target.conn
    ok(c, "datetime", "set", "2031-02-03T04:05:06")
    got = ok(c, "datetime", "get").stdout.strip()
    # the RTC runs on from what was set
    assert re.fullmatch(r"2031-02-03T04:05:(0[6-9]|[1-5]\d)", got), got
    assert js(c, "datetime", "get")["datetime"].startswith("2031-02-03T04:0")
    # without a time: now, UTC
    ok(c, "datetime", "set")
    assert js(c, "datetime", "get")["datetime"][:4] == time.strftime("%Y", time.gmtime())
    p = run(c, "datetime", "set", "yesterday")
    assert p.returncode == 1 and "EINVAL" in p.stderr


def test_shell_exec(target):
    c = target.conn
    assert ok(c, "shell", "exec", "echo", "a", "b").stdout == "a b\n"
    assert js(c, "shell", "exec", "echo", "j") == {"o": "j", "ret": 0}
    p = run(c, "shell", "exec", "frob")
    assert p.returncode == 1 and p.stdout == "frob: command not found\n"
    assert "returned -8" in p.stderr
    # arguments that look like options go after --
    assert ok(c, "shell", "exec", "--", "echo", "-n").stdout == "-n\n"


# ---- fs ---------------------------------------------------------------------------------------


def test_fs_round_trip(target, tmp_path):
    c = target.conn
    data = os.urandom(150_000)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    d = js(c, "fs", "upload", src, "/lfs/data.bin")
    assert d["bytes"] == d["uploaded_bytes"] == len(data) and "resumed_at" not in d
    assert (target.root / "lfs" / "data.bin").read_bytes() == data
    assert ok(c, "fs", "stat", "/lfs/data.bin").stdout == f"/lfs/data.bin: {len(data)} bytes\n"
    assert js(c, "fs", "stat", "/lfs/data.bin")["len"] == len(data)
    assert ok(c, "fs", "hash", "/lfs/data.bin").stdout.startswith(hashlib.sha256(data).hexdigest())
    dst = tmp_path / "dst.bin"
    d = js(c, "fs", "download", "/lfs/data.bin", dst)
    assert dst.read_bytes() == data and d["downloaded_bytes"] == len(data)
    p = run(c, "fs", "stat", "/lfs/missing")
    assert p.returncode == 1 and "ENOENT" in p.stderr


def test_fs_resume_both_ways(target, tmp_path):
    c = target.conn
    data = os.urandom(200_000)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    # the target has the first 70000 bytes from an interrupted upload
    (target.root / "f.bin").write_bytes(data[:70_000])
    p = ok(c, "fs", "upload", src, "/f.bin")
    assert "fs upload: resuming at 70000 of 200000 bytes" in p.stdout, p.stdout
    assert re.search(r"^fs upload: 130000 bytes in .* \(resumed\)$", p.stdout, re.M), p.stdout
    assert (target.root / "f.bin").read_bytes() == data
    # other bytes than ours: not resumed, sent whole
    (target.root / "g.bin").write_bytes(b"x" * 70_000)
    d = js(c, "fs", "upload", src, "/g.bin")
    assert "resumed_at" not in d and d["uploaded_bytes"] == len(data)
    assert (target.root / "g.bin").read_bytes() == data
    # a partial download continues
    dst = tmp_path / "dst.bin"
    dst.write_bytes(data[:50_000])
    d = js(c, "fs", "download", "/f.bin", dst)
    assert d["resumed_at"] == 50_000 and d["downloaded_bytes"] == 150_000, d
    assert dst.read_bytes() == data


def test_fs_ctrl_c_then_resume(target, tmp_path):
    data = os.urandom(400_000)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", target.port), delay_ms=2.0) as proxy:
        conn = f"udp:127.0.0.1:{proxy.port}"
        p = subprocess.Popen([str(SMPFOTA), "--conn", conn, "fs", "upload", str(src), "/big"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in p.stdout:
            if re.match(r"fs upload: +[2-9]\d% ", line):
                break
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 130 and "run the same command again" in err, err
        p = ok(conn, "fs", "upload", src, "/big")
        assert "fs upload: resuming at" in p.stdout, p.stdout
    assert (target.root / "big").read_bytes() == data


def test_fs_needs_a_root(tmp_path):
    img = mti.make_image(tmp_path / "v1.bin", size=20_000, seed=1, version="1.0.0",
                         key_dir=tmp_path / "keys")
    t = Target(tmp_path / "flash.bin", "udp", primary=img, images=1, slot=SLOT)
    try:
        p = run(t.conn, "--json", "fs", "stat", "/x")
        d = json.loads(p.stdout)
        assert p.returncode == 1 and d["code_name"] == "ENOTSUP" and "--fs" in d["rsn"], d
    finally:
        t.stop()


def test_fs_name_cannot_leave_the_root(target, tmp_path):
    p = run(target.conn, "fs", "stat", "/../flash.bin")
    assert p.returncode == 1 and "EINVAL" in p.stderr


# ---- the real Zephyr target (QEMU) -------------------------------------------------------------


@pytest.fixture(scope="module")
def zephyr():
    qemu = shutil.which("qemu-system-arm")
    if not ZEPHYR_HEX.exists():
        pytest.skip(f"{ZEPHYR_HEX} not found")
    assert qemu, "qemu-system-arm is missing: scripts/bootstrap.sh installs it"
    p = subprocess.Popen([qemu, "-cpu", "cortex-m0", "-machine", "microbit", "-nographic",
                          "-chardev", "pty,id=con", "-serial", "chardev:con", "-monitor", "none",
                          "-device", f"loader,file={ZEPHYR_HEX}"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        m = re.search(r"redirected to (/dev/pts/\d+)", line)
        assert m, line
        conn = f"serial:{m.group(1)}"
        # Requests sent while MCUboot and Zephyr boot are lost for good on this UART: wait
        # for Zephyr's banner and for the console to go quiet.
        fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        seen, deadline = b"", time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                seen += os.read(fd, 4096)
            elif b"Booting Zephyr" in seen:
                break
        os.close(fd)
        assert b"Booting Zephyr" in seen, seen
        deadline = time.monotonic() + 30
        while run(conn, "echo", "up", timeout=30).returncode != 0:
            assert time.monotonic() < deadline, "the Zephyr target does not answer"
        yield conn
    finally:
        p.kill()
        p.wait()


def test_zephyr_stat(zephyr):
    names = js(zephyr, "stat", "list")["stat_list"]
    assert "smp_svr_stats" in names
    assert ok(zephyr, "stat", "list").stdout.split() == names
    first = js(zephyr, "stat", "read", "smp_svr_stats")
    assert first["name"] == "smp_svr_stats" and "ticks" in first["fields"], first
    text = ok(zephyr, "stat", "read", "smp_svr_stats").stdout
    assert re.search(r"^  ticks: \d+$", text, re.M), text


def test_zephyr_taskstat(zephyr):
    tasks = js(zephyr, "taskstat")["tasks"]
    assert tasks and all("prio" in t for t in tasks.values()), tasks
    assert ok(zephyr, "taskstat").stdout.startswith("            task  pri")


def test_zephyr_groups_it_lacks_fail_cleanly(zephyr):
    # this build has no datetime, shell nor fs: one error each, with the target's code
    for args in (["datetime", "get"], ["shell", "exec", "x"], ["fs", "stat", "/x"]):
        p = run(zephyr, "--json", *args)
        d = json.loads(p.stdout)
        assert p.returncode == 1 and d["code_name"] == "ENOTSUP", (args, d)
