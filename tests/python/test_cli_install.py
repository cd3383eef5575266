"""`make install`, the bash completion, and `make demo` building only what the demo needs.

Env: SMPFOTA_BUILD, SMPFOTA_SRC (see tests/CMakeLists.txt).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from target_harness import BUILD, SMPFOTA, SRC

COMPLETION = (SRC / "tools" / "smpfota.bash").resolve()


def test_cmake_install_puts_smpfota_and_its_completion_under_the_prefix(tmp_path):
    p = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    exe = tmp_path / "bin" / "smpfota"
    assert exe.is_file() and os.access(exe, os.X_OK)
    v = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0 and v.stdout.startswith("smpfota ")
    comp = tmp_path / "share" / "bash-completion" / "completions" / "smpfota"
    assert comp.read_text() == COMPLETION.read_text()
    # on PATH, as the README's recipe calls it
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    assert subprocess.run(["smpfota", "help"], capture_output=True, env=env,
                          timeout=10).returncode == 0


def make_n(target: str, tmp_path) -> str:
    p = subprocess.run(["make", "-n", "-C", str(SRC), target, f"BUILD={tmp_path / 'b'}",
                        f"PREFIX={tmp_path / 'p'}"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("target", ["demo", "install"])
def test_demo_and_install_set_up_and_build_only_the_cli(target, tmp_path):
    out = make_n(target, tmp_path)
    assert "bootstrap.sh --core" in out, out
    assert "--target smpfota_cli" in out, out
    # not the full set-up (cross compiler, QEMU, clang, mcumgrctl) nor the whole build
    assert not re.search(r"bootstrap\.sh (?!--core)", out), out
    assert "cargo" not in out and "mcumgrctl" not in out
    assert not re.search(r"cmake --build \S+ -j", out), out


def test_core_bootstrap_skips_what_only_the_tests_need():
    text = (SRC / "scripts" / "bootstrap.sh").read_text()
    core_end = text.index('if [ "$core" -eq 1 ]; then')
    # everything after the core exit: mcumgrctl and the firmware's mbedTLS sources
    assert "mcumgrctl" in text[core_end:] and "fetch_mbedtls_src" in text[core_end:]


def complete(line: str) -> list[str]:
    """What the completion offers for the last word of line (bash's COMP_* by hand)."""
    words = line.split(" ")
    words[0] = str(SMPFOTA)  # the binary whose --help lists a command's options
    script = (f"source {COMPLETION}\n"
              f"COMP_WORDS=({' '.join(repr(w) if w else repr('') for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              "_smpfota\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10,
                       cwd=SRC)
    assert p.returncode == 0, p.stderr
    return [w for w in p.stdout.split("\n") if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_completion_knows_every_command_and_option():
    help_text = subprocess.run([str(SMPFOTA), "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    listed = re.findall(r"^  ([a-z-]+)(?: ([a-z-]+))? ", help_text.split("global options")[0],
                        re.M)
    commands = set(complete("smpfota "))
    for cmd, sub in listed:
        assert cmd in commands, cmd
        if sub:
            assert sub in complete(f"smpfota {cmd} "), (cmd, sub)
    assert complete("smpfota im") == ["image"]
    assert complete("smpfota image up") == ["upload"]
    assert "--window" in complete("smpfota image upload --w")
    assert "--no-confirm" in complete("smpfota --conn udp:x update --n")
    assert set(complete("smpfota --j")) == {"--json"}
    # options of a command as its help lists them
    for words, opts in ((["image", "upload"], ["--image", "--window", "--chunk", "--upgrade",
                                               "--first-timeout"]),
                        (["target"], ["--pty-link", "--fs", "--verbose"]),
                        (["sim"], ["--max-time", "--scenario", "--targets"])):
        offered = complete("smpfota " + " ".join(words) + " --")
        h = subprocess.run([str(SMPFOTA), *words, "--help"], capture_output=True, text=True,
                           timeout=10).stdout
        for o in opts:
            assert o in h and o in offered, (words, o)
