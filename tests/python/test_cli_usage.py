"""The smpfota CLI as mcumgr and smpmgr users expect it (issue #12), against `smpfota target`.

Help and exit codes of every command; global options before or after the command and `--`;
$SMPFOTA_CONN and smpmgr's --ip/--port; one JSON object on stdout for errors too; the version
format; failing at once on a refused UDP port; upload figures after a fresh upload, a resumed
one and a --chunk the target cannot take; Ctrl-C (exit 130, then the same command resumes);
hints with the errors a user can act on.

Env: SMPFOTA_BUILD, SMPFOTA_SRC (see tests/CMakeLists.txt).
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from target_harness import SMPFOTA, SRC, Target

sys.path.insert(0, str(SRC / "scripts"))
sys.path.insert(0, str(SRC / "tests"))
import make_test_image as mti  # noqa: E402
from udp_proxy import UdpProxy  # noqa: E402

TIMEOUT = 60
SLOT = 0x40000

# Every command and subcommand, as `smpfota help` lists them.
COMMANDS = [["image", "list"], ["image", "upload"], ["image", "test"], ["image", "confirm"],
            ["image", "erase"], ["image", "info"], ["reset"], ["echo"], ["params"], ["info"],
            ["image", "slot-info"], ["bootloader", "info"], ["update"], ["target"], ["sim"],
            ["version"], ["help"], ["stat", "list"], ["stat", "read"], ["taskstat"], ["mpstat"],
            ["datetime", "get"], ["datetime", "set"], ["shell", "exec"], ["fs", "upload"],
            ["fs", "download"], ["fs", "stat"], ["fs", "hash"]]


def run(*args, env=None, timeout=TIMEOUT) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.pop("SMPFOTA_CONN", None)
    e.update(env or {})
    return subprocess.run([str(SMPFOTA), *[str(a) for a in args]], capture_output=True,
                          text=True, timeout=timeout, env=e)


def ok(*args, **kw) -> subprocess.CompletedProcess:
    p = run(*args, **kw)
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}{p.stderr}"
    return p


def error_object(p: subprocess.CompletedProcess, name: str, status: int = 1) -> dict:
    """Exit status, and one JSON object on stdout naming the error."""
    assert p.returncode == status, f"exit {p.returncode}\n{p.stdout}{p.stderr}"
    d = json.loads(p.stdout)
    assert d["error"] == name, d
    assert d["message"] and "command" in d and "hint" in d, d
    return d


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    spec = {"v1": (30_000, 1, "1.0.0"), "v2": (200_000, 2, "2.1.0+7"), "v3": (60_000, 3, "3.0.0")}
    return {n: mti.make_image(d / f"{n}.bin", size=s, seed=seed, version=v, key_dir=d / "keys")
            for n, (s, seed, v) in spec.items()}


@pytest.fixture
def target(tmp_path, images):
    t = Target(tmp_path / "flash.bin", "udp", primary=images["v1"], images=1, slot=SLOT,
               buf_size=512, buf_count=2)
    yield t
    t.stop()


# ---- help, version, usage ----------------------------------------------------------------


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_help_of_every_command(words):
    for args in ([*words, "--help"], [*words, "-h"], ["help", *words], ["--help", *words]):
        p = run(*args)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        assert p.stdout.startswith(f"usage: smpfota {' '.join(words)}"), (args, p.stdout)
        assert p.stderr == ""
    # nothing was sent: no target is needed for help, even with arguments around it
    p = run(*words, "x", "--help", "--conn", "udp:127.0.0.1:9")
    assert p.returncode == 0 and p.stdout.startswith("usage: smpfota"), p.stderr


def test_top_level_help_lists_every_command():
    for args in (["--help"], ["-h"], ["help"]):
        p = ok(*args)
        for words in COMMANDS:
            assert re.search(rf"^  {' '.join(words)} ", p.stdout, re.M), (words, p.stdout)
    p = ok("image", "--help")
    assert "upload" in p.stdout and "list" in p.stdout


def test_help_of_unknown_command():
    p = run("help", "frob")
    assert p.returncode == 2 and "frob" in p.stderr
    error_object(run("--json", "help", "frob"), "USAGE", 2)


def test_version():
    for args in (["-V"], ["--version"], ["version"]):
        assert re.fullmatch(r"smpfota \d+\.\d+\.\d+\n", ok(*args).stdout)
    for args in (["--json", "version"], ["version", "--json"], ["-V", "--json"]):
        assert re.fullmatch(r"\d+\.\d+\.\d+", json.loads(ok(*args).stdout)["version"])


@pytest.mark.parametrize("args", [["frob"], ["image"], ["image", "frob"], ["echo"],
                                  ["image", "upload"], ["reset", "--bogus"],
                                  ["image", "erase", "--slot"], ["params", "x"],
                                  ["--timeout", "x", "params"], ["--conn", "tcp:x", "params"],
                                  ["--ip", "a", "--port", "b", "params"]])
def test_usage_errors_exit_2_with_json(args):
    p = run("--conn", "udp:127.0.0.1:9", *args) if "--conn" not in args else run(*args)
    assert p.returncode == 2, (args, p.stderr)
    assert p.stderr.startswith("smpfota: ") and p.stdout == ""
    assert "smpfota: hint: smpfota help" in p.stderr
    d = error_object(run("--json", *args), "USAGE", 2)
    assert d["hint"].startswith("smpfota help")


# ---- option order, --, connection choices -------------------------------------------------


def test_global_options_after_the_command(target):
    c = target.conn
    assert ok("echo", "x", "--conn", c).stdout == "x\n"
    assert ok("echo", "--conn", c, "a", "b").stdout == "a b\n"
    assert "Images:" in ok("image", "list", "--conn", c).stdout
    assert ok("params", "--timeout", "1", "--conn", c).stdout == "buf_size: 512\nbuf_count: 2\n"
    assert json.loads(ok("image", "list", "--conn", c, "--json").stdout)["images"]
    assert json.loads(ok("params", "--json", f"--conn={c}").stdout)["buf_count"] == 2


def test_double_dash_ends_options(target):
    c = target.conn
    assert ok("--conn", c, "echo", "--", "--help").stdout == "--help\n"
    assert ok("--conn", c, "echo", "--", "--conn", "x").stdout == "--conn x\n"
    assert ok("--conn", c, "echo", "a", "--", "--json").stdout == "a --json\n"
    # an option that is not one: said, not sent
    p = run("--conn", c, "echo", "-x")
    assert p.returncode == 2 and "unknown option '-x'" in p.stderr


def test_smpfota_conn_and_aliases(target):
    env = {"SMPFOTA_CONN": target.conn}
    assert ok("echo", "env", env=env).stdout == "env\n"
    # --conn wins over the environment
    p = run("--conn", "udp:127.0.0.1:9", "echo", "x", env=env)
    assert p.returncode == 1 and "127.0.0.1:9" in p.stderr
    # a bad $SMPFOTA_CONN is named as such
    p = run("echo", "x", env={"SMPFOTA_CONN": "tcp:nope"})
    assert p.returncode == 2 and "$SMPFOTA_CONN" in p.stderr
    assert ok("--ip", f"{target.host}:{target.port}", "echo", "ip").stdout == "ip\n"


def test_port_alias_on_serial(tmp_path, images):
    t = Target(tmp_path / "flash.bin", "serial", primary=images["v1"], images=1, slot=SLOT)
    try:
        assert ok("--port", t.pty, "echo", "serial").stdout == "serial\n"
        assert ok("echo", "b", "--port", t.pty, "--baudrate", "115200").stdout == "b\n"
    finally:
        t.stop()


# ---- JSON on errors, hints ------------------------------------------------------------------


def test_json_errors(target, images, tmp_path):
    c = target.conn
    # the target answered: its group and code
    d = error_object(run("--json", "--conn", c, "image", "test", "ab" * 32), "REJECTED")
    assert d["group"] == 1 and d["code"] == 8 and d["code_name"] == "HASH_NOT_FOUND", d
    assert d["command"] == "image test" and "image list" in d["hint"]
    # local failures
    d = error_object(run("--json", "--conn", c, "image", "upload", tmp_path / "no.bin"), "IO")
    assert "No such file" in d["message"]
    notimg = tmp_path / "not.bin"
    notimg.write_bytes(b"x" * 100)
    d = error_object(run("--json", "--conn", c, "update", notimg), "BAD_MAGIC")
    assert "imgtool" in d["hint"]
    d = error_object(run("--json", "image", "info", notimg), "BAD_MAGIC")
    assert d["file"] == str(notimg)


def test_hint_no_free_slot(target, images):
    c = target.conn
    ok("--conn", c, "image", "upload", images["v2"])
    h = json.loads(ok("--conn", c, "--json", "image", "list").stdout)["images"][1]["hash"]
    ok("--conn", c, "image", "test", h)
    p = run("--conn", c, "image", "upload", images["v3"])
    assert p.returncode == 1 and "NO_FREE_SLOT" in p.stderr, p.stderr
    assert "smpfota: hint: " in p.stderr and "image confirm" in p.stderr
    d = error_object(run("--json", "--conn", c, "image", "upload", images["v3"]), "REJECTED")
    assert d["code_name"] == "NO_FREE_SLOT" and "reset" in d["hint"]


def test_padded_image_sends_the_image_only(target, tmp_path):
    # signed with --pad for a slot larger than the target's: only the image up to the end of
    # its TLVs is sent (the target writes its own trailer), and the user is told so
    img = mti.make_image(tmp_path / "pad.bin", size=20_000, seed=9, version="5.0.0",
                         key_dir=tmp_path / "keys", pad=True, slot_size=2 * SLOT)
    p = run("--conn", target.conn, "image", "upload", img)
    assert p.returncode == 0, p.stderr
    assert "padded to" in p.stderr and "--pad" in p.stderr, p.stderr
    assert re.search(r"^upload: 2\d{4} bytes in", p.stdout, re.M), p.stdout


class RefusingServer:
    """A UDP SMP server that answers os params as not supported and every image upload with
    the v2 error given: what a Zephyr target answers when another client took the upload
    over (its session is another file's, shorter than our offset)."""

    def __init__(self, group: int, rc: int):
        import cbor2
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.err = cbor2.dumps({"err": {"group": group, "rc": rc}})
        self.nosup = cbor2.dumps({"rc": 8})
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                req, peer = self.sock.recvfrom(65536)
            except OSError:
                return
            if len(req) < 8:
                continue
            op, group, seq, cmd = req[0] & 7, int.from_bytes(req[4:6], "big"), req[6], req[7]
            body = self.err if (group, cmd) == (1, 1) else self.nosup
            hdr = bytes([(req[0] & 0x18) | (op + 1), 0]) + len(body).to_bytes(2, "big") + \
                group.to_bytes(2, "big") + bytes([seq, cmd])
            self.sock.sendto(hdr + body, peer)

    def close(self):
        self.sock.close()


def test_hint_overrun_another_client(images):
    srv = RefusingServer(1, 31)  # IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN
    try:
        p = run("--conn", f"udp:127.0.0.1:{srv.port}", "image", "upload", images["v2"])
        assert p.returncode == 1 and "INVALID_IMAGE_DATA_OVERRUN" in p.stderr, p.stderr
        assert "smpfota: hint: another client" in p.stderr and "start over" in p.stderr
        d = error_object(run("--json", "--conn", f"udp:127.0.0.1:{srv.port}", "image",
                             "upload", images["v2"]), "REJECTED")
        assert d["code"] == 31 and d["group"] == 1 and "another client" in d["hint"], d
    finally:
        srv.close()


# ---- failing fast -----------------------------------------------------------------------------


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_refused_port_fails_at_once():
    # 60 s per attempt: only a failure at the first refusal ends before the test's timeout
    p = run("--conn", f"udp:127.0.0.1:{free_udp_port()}", "--timeout", "60", "params",
            timeout=30)
    assert p.returncode == 1 and "connection refused" in p.stderr, p.stderr
    assert "is the target running" in p.stderr


def test_target_gone_mid_upload_fails_without_waiting_for_timeouts(target, images):
    p = subprocess.Popen([str(SMPFOTA), "--conn", target.conn, "--timeout", "60", "image",
                          "upload", "--window", "1", "--chunk", "64", str(images["v2"])],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_line(p, r"upload: +[1-9]\d% ")
    target.kill()
    # 60 s per attempt and 12 losses allowed: a failure in time is the refusals' doing
    out, err = p.communicate(timeout=40)
    assert p.returncode == 1 and "connection refused" in err, err


# ---- upload figures, resume, Ctrl-C ------------------------------------------------------------


def wait_for_line(p: subprocess.Popen, pattern: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        seen += line
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"no line matching {pattern!r}:\n{seen}")


def test_fresh_upload_figures(target, images):
    img = images["v2"]
    size = img.stat().st_size
    d = json.loads(ok("--conn", target.conn, "--json", "image", "upload", img).stdout)
    assert "resumed_at" not in d, d  # nothing was resumed
    assert d["bytes"] == d["uploaded_bytes"] == size
    assert d["sent_bytes"] >= size
    # the rate is over what was sent in the time it took (ms and kBps are rounded)
    assert (d["kBps"] - 0.5) * (d["ms"] - 0.5) <= size <= (d["kBps"] + 0.5) * (d["ms"] + 0.5), d


@pytest.mark.parametrize("chunk, real", [(4, 4), (5, 4), (100, 100), (5000, None)])
def test_chunk_reported_as_used(target, images, chunk, real):
    d = json.loads(ok("--conn", target.conn, "--json", "image", "upload", "--chunk", chunk,
                      images["v3"]).stdout)
    if real is None:
        # more than one 512-byte request can carry: lowered, and the real size reported
        assert 256 < d["chunk"] < 512, d
        p = ok("--conn", target.conn, "image", "upload", "--chunk", chunk, images["v1"])
        assert f"--chunk {chunk} lowered to " in p.stdout, p.stdout
    else:
        assert d["chunk"] == real, d


def test_ctrl_c_then_resume(target, images):
    img = images["v2"]
    size = img.stat().st_size
    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", target.port), delay_ms=2.0) as proxy:
        conn = f"udp:127.0.0.1:{proxy.port}"
        p = subprocess.Popen([str(SMPFOTA), "--conn", conn, "image", "upload", str(img)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_line(p, r"upload: +[3-9]\d% ")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 130, (p.returncode, err)
        m = re.search(rf"interrupted at (\d+) of {size} bytes", err)
        assert m, err
        stopped = int(m.group(1))
        assert "run the same command again" in err and "resumes" in err, err

        p = ok("--conn", conn, "image", "upload", img)
        m = re.search(rf"^upload: resuming at (\d+) of {size} bytes", p.stdout, re.M)
        assert m, p.stdout
        resumed = int(m.group(1))
        # at least what was acknowledged before the interruption
        assert resumed >= stopped, (resumed, stopped)
        assert re.search(rf"^upload: {size - resumed} bytes in ", p.stdout, re.M), p.stdout

        # the same again with --json: resumed_at, and the figures of this run only
        ok("--conn", conn, "image", "erase")
        p = subprocess.Popen([str(SMPFOTA), "--conn", conn, "image", "upload", str(img)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_line(p, r"upload: +[3-9]\d% ")
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=TIMEOUT)
        assert p.returncode == 130
        d = json.loads(ok("--json", "--conn", conn, "image", "upload", img).stdout)
        assert d["resumed_at"] > 0 and d["uploaded_bytes"] == size - d["resumed_at"], d


def test_ctrl_c_json(target, images):
    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", target.port), delay_ms=2.0) as proxy:
        p = subprocess.Popen([str(SMPFOTA), "--json", "--conn", f"udp:127.0.0.1:{proxy.port}",
                              "image", "upload", str(images["v2"])], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        # progress goes to stderr with --json
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = p.stderr.readline()
            if re.search(r"upload: +[2-9]\d% ", line):
                break
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 130
    d = json.loads(out)
    assert d["error"] == "INTERRUPTED" and "resumes" in d["hint"], d


# ---- smpfota target: inputs, bind first, --pty-link, -v ------------------------------------------


@pytest.mark.parametrize("args, reason", [
    (["--primary", "{garbage}"], "BAD_MAGIC"),
    (["--primary", "{missing}"], "No such file"),
    (["--primary", "{big}", "--slot-size", "0x4000"], "do not fit"),
    (["--flash", "/no/such/dir/x.bin"], "cannot create it in /no/such/dir"),
    (["--slot-size", "0x1000"], "a multiple of the 4096-byte page, at least 4 pages"),
    (["--slot-size", "12345"], "a multiple of the 4096-byte page"),
    (["--net-slot-size", "0x100"], "2048-byte page"),
    (["--buf-size", "10"], "64..65535"),
    (["--buf-count", "0"], "1..255"),
    (["--images", "3"], "--images"),
    (["--slot-size", "abc"], "not a number"),
    (["--udp", "1.2.3.4:x"], "HOST:PORT"),
    (["--udp", "127.0.0.1:0", "--serial-pty"], "one transport"),
    (["--pty-link", "x"], "goes with --serial-pty"),
    (["--images", "1", "--primary-net", "{garbage}"], "--images 2"),
    (["--bogus"], "unknown option '--bogus'"),
])
def test_target_refuses_bad_inputs_before_making_anything(tmp_path, images, args, reason):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"garbage\n")
    names = {"garbage": garbage, "missing": tmp_path / "missing.bin", "big": images["v2"]}
    args = [a.format(**names) for a in args]
    flash = tmp_path / "flash.bin"
    cmd = ["target", *args] + ([] if "--flash" in args else ["--flash", flash])
    p = run(*cmd, timeout=20)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert p.stderr.startswith("smpfota: target: ") and reason in p.stderr, p.stderr
    assert not flash.exists()  # nothing made
    error_object(run("--json", *cmd, timeout=20), "USAGE", 2)


def test_target_binds_before_making_the_flash_file(tmp_path):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        flash = tmp_path / "flash.bin"
        p = run("target", "--udp", f"127.0.0.1:{s.getsockname()[1]}", "--flash", flash,
                timeout=20)
    finally:
        s.close()
    assert p.returncode == 1 and "Address already in use" in p.stderr, p.stderr
    assert "--udp HOST:0" in p.stderr
    assert not flash.exists()


def test_target_pty_link_is_stable(tmp_path, images):
    link = tmp_path / "smpfota-tty"
    for _ in range(2):
        t = Target(tmp_path / "flash.bin", "serial", primary=images["v1"], images=1, slot=SLOT,
                   args=("--pty-link", str(link)))
        try:
            assert t.pty == str(link) and link.is_symlink()
            assert ok("--port", link, "echo", "linked").stdout == "linked\n"
        finally:
            t.stop()
        assert not link.exists()  # removed at exit
    # a file that is not a symlink is not replaced
    link.write_text("mine")
    p = run("target", "--serial-pty", "--pty-link", link, "--flash", tmp_path / "f2.bin",
            timeout=20)
    assert p.returncode == 1 and "not a symlink" in p.stderr
    assert link.read_text() == "mine"


def test_target_verbose_logs_requests(tmp_path, images):
    t = Target(tmp_path / "flash.bin", "udp", primary=images["v1"], images=1, slot=SLOT,
               args=("-v",))
    try:
        ok("--conn", t.conn, "echo", "hi")
        run("--conn", t.conn, "image", "test", "ab" * 32)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "image state write" not in t.log_text():
            time.sleep(0.05)
        log = t.log_text()
    finally:
        t.stop()
    assert re.search(r"target: os echo write seq \d+ \(\d+ bytes\): rc 0 \(\d+ bytes\)", log), log
    assert re.search(r"target: image state write seq \d+ \(\d+ bytes\): err group 1 rc 8 "
                     r"HASH_NOT_FOUND", log), log


def test_json_errors_of_the_local_commands(tmp_path):
    # sim: a missing image, a bad option; target: a port in use
    d = error_object(run("--json", "sim", "--image", tmp_path / "none.bin"), "IO")
    assert "none.bin" in d["message"] and d["command"] == "sim"
    error_object(run("--json", "sim", "--image", tmp_path / "none.bin", "--loss", "2"),
                 "USAGE", 2)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        d = error_object(run("--json", "target", "--udp", f"127.0.0.1:{s.getsockname()[1]}",
                             "--flash", tmp_path / "f.bin", timeout=20), "IO")
    finally:
        s.close()
    assert "Address already in use" in d["message"] and "--udp HOST:0" in d["hint"]
