"""The secure channel from the command line (docs/security.md): `smpfota keygen`, `--key` on
the client and on `smpfota target`, over UDP and a serial PTY.

A target with a key takes updates only from a client with that key (the update ends
byte-exact and confirmed, through the target's reset, which loses its session), refuses every
plaintext request with a clear error (and does not act on it: the slot stays as it was), and
a client with another key, or a key for a keyless target, gets an error naming why. An
update through a lossy, duplicating, reordering UDP proxy still ends byte-exact: duplicated
and reordered frames are refused by the counter check and the engine retransmits.

Env: SMPFOTA_BUILD, SMPFOTA_SRC, SMPFOTA_PYTHON (see tests/CMakeLists.txt).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from target_harness import SMPFOTA, SRC, Target
from test_client_cli import failed, read_image

sys.path.insert(0, str(SRC / "scripts"))
sys.path.insert(0, str(SRC / "tests"))
import make_test_image as mti  # noqa: E402
from udp_proxy import UdpProxy  # noqa: E402

SLOT = 0x40000
TIMEOUT = 60


def run(*args, key: Path | None = None, conn: str | None = None, opts=()):
    cmd = [str(SMPFOTA)]
    if conn:
        cmd += ["--conn", conn]
    if key:
        cmd += ["--key", str(key)]
    cmd += [*opts, *[str(a) for a in args]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode >= 0, f"{cmd}: killed\n{p.stderr}"
    return p


def ok(*args, **kw):
    p = run(*args, **kw)
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}{p.stderr}"
    return p


@pytest.fixture(scope="module")
def imgs(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    return {name: read_image(mti.make_image(d / f"{name}.bin", size=size, seed=seed,
                                            version=ver, key_dir=d / "keys"))
            for name, (size, seed, ver) in {"factory": (40_000, 1, "1.0.0"),
                                            "new": (90_000, 2, "2.0.0")}.items()}


@pytest.fixture
def keys(tmp_path):
    out = {}
    for name in ("a", "b"):
        out[name] = tmp_path / f"{name}.key"
        ok("keygen", out[name])
    return out


@pytest.fixture
def targets():
    made = []

    def make(tmp_path, transport, primary, key=None, name="t"):
        t = Target(tmp_path / f"{name}.bin", transport, primary=primary, images=1, slot=SLOT,
                   args=("--key", str(key)) if key else ())
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()


def test_keygen(tmp_path):
    k = tmp_path / "k.key"
    p = ok("keygen", k)
    text = k.read_text()
    assert re.fullmatch(r"[0-9a-f]{32}\n", text), text
    assert stat.S_IMODE(os.stat(k).st_mode) == 0o600
    key_id = int(re.search(r"key id (\d+)", p.stdout).group(1))
    # the id is the first byte of SHA-256("smpfota key id" | key): master and target agree
    assert key_id == hashlib.sha256(b"smpfota key id" + bytes.fromhex(text)).digest()[0]
    p = run("keygen", k)
    assert p.returncode == 1 and "exists" in p.stderr and k.read_text() == text
    d = json.loads(ok("keygen", tmp_path / "j.key", opts=("--json",)).stdout)
    assert set(d) == {"file", "key_id"}
    assert run("keygen").returncode == 2


@pytest.mark.parametrize("content", ["", "abc\n", "zz" * 16 + "\n", "00" * 17 + "\n",
                                     "0011 2233" * 4 + "\n"])
def test_bad_key_file(tmp_path, content):
    k = tmp_path / "bad.key"
    k.write_text(content)
    p = run("echo", "hi", key=k, conn="udp:127.0.0.1:9")
    assert p.returncode == 2 and "(BAD_KEY)" not in p.stdout, p.stderr
    assert "BAD_KEY" in p.stderr or "hex" in p.stderr, p.stderr
    p = run("target", "--flash", tmp_path / "f.bin", key=k)
    assert p.returncode == 2, p.stderr


@pytest.mark.parametrize("transport", ["udp", "serial"])
def test_update_with_key(transport, targets, tmp_path, imgs, keys):
    factory, new = imgs["factory"], imgs["new"]
    t = targets(tmp_path, transport, factory.path, key=keys["a"])
    c, ka = t.conn, keys["a"]
    # plaintext: refused with a clear error, whatever the command; nothing changes
    failed(run("image", "list", conn=c), "PLAINTEXT", "EACCESSDENIED")
    failed(run("image", "upload", new.path, conn=c), "PLAINTEXT")
    failed(run("reset", conn=c), "PLAINTEXT")
    assert t.boots() == 1
    # another key, a key on one side only
    failed(run("echo", "x", conn=c, key=keys["b"], opts=("--timeout", "0.5")), "KEY_UNKNOWN")
    # the update: through the target's reset (its session is lost there)
    d = json.loads(ok("update", new.path, conn=c, key=ka, opts=("--json",)).stdout)
    assert d["version"] == "2.0.0" and d["confirmed"] is True
    imgs_now = json.loads(ok("image", "list", conn=c, key=ka, opts=("--json",)).stdout)["images"]
    assert [(e["slot"], e["hash"]) for e in imgs_now] == [(0, new.hash), (1, factory.hash)]
    assert t.boots() == 2
    assert t.holds(0, 0, new)
    # plaintext erase after the update: refused, the old image stays in slot 1
    failed(run("image", "erase", conn=c), "PLAINTEXT")
    assert t.holds(0, 1, factory)
    assert "secure channel on" in t.log_text()


def test_key_for_a_keyless_target(targets, tmp_path, imgs, keys):
    # A server without the channel ignores the HELLO (not an SMP header): no session, and
    # the hint says what to look at.
    t = targets(tmp_path, "udp", imgs["factory"].path)
    p = run("echo", "x", conn=t.conn, key=keys["a"], opts=("--timeout", "0.5"))
    failed(p, "NO_SESSION")
    assert "without a key" in p.stderr


def test_nobody_answers_the_handshake(keys):
    p = run("echo", "x", conn="udp:127.0.0.1:9", key=keys["a"], opts=("--timeout", "0.3"))
    assert p.returncode == 1, p.stderr


def test_update_lossy_with_key(targets, tmp_path, imgs, keys):
    t = targets(tmp_path, "udp", imgs["factory"].path, key=keys["a"])
    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", t.port), delay_ms=2.5, loss=0.05, dup=0.1,
                  reorder=0.1, seed=3) as proxy:
        ok("image", "upload", imgs["new"].path, "--first-timeout", "0.5",
           conn=f"udp:127.0.0.1:{proxy.port}", key=keys["a"], opts=("--timeout", "0.25"))
    st = proxy.stats
    assert st.duplicated["up"] + st.duplicated["down"] > 0
    assert st.reordered["up"] + st.reordered["down"] > 0
    assert t.holds(0, 1, imgs["new"])
