"""The nRF Connect SDK module and samples, checked where they can be on a host.

Nothing here builds against Zephyr (a workspace is gigabytes; docs/ncs.md). What can be
checked without one is checked: that the module builds every library source or says why
not, that every compile-time option of include/smpfota/config.h is mapped from Kconfig and
the mapping compiles to the values Kconfig gives, that the three images agree on what they
must agree on (frame size, ICMsg read buffer, shared-memory regions), and the script that
turns a signed image into the master's external-flash hex.

Env: SMPFOTA_SRC (source root), SMPFOTA_PYTHON (the venv's python, for imgtool).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(os.environ.get("SMPFOTA_SRC", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("SMPFOTA_BUILD", SRC / "build"))
ZEPHYR = SRC / "zephyr"
SAMPLES = SRC / "samples" / "ncs"
APPS = ("netcore", "target", "master")

sys.path.insert(0, str(SRC / "scripts"))
import make_test_image as mti  # noqa: E402
import ncs_image_hex  # noqa: E402


def conf(app: str, overlay: str | None = None) -> dict:
    """CONFIG_ values of a sample's prj.conf (and board .conf files), then an overlay's."""
    out = {}
    files = [SAMPLES / app / "prj.conf", *sorted((SAMPLES / app / "boards").glob("*.conf"))]
    if overlay:
        files.append(SAMPLES / app / overlay)
    for f in files:
        for line in f.read_text().splitlines():
            m = re.match(r"(CONFIG_\w+)=(.*)", line.strip())
            if m:
                out[m.group(1)] = m.group(2).strip('"')
    return out


def kconfig_symbols(path: Path) -> set:
    return set(re.findall(r"^(?:menu)?config\s+(\w+)", path.read_text(), re.M))


def kconfig_int_defaults(path: Path) -> dict:
    """The unconditional integer default of each int symbol."""
    out = {}
    for block in re.split(r"\n(?=(?:menu)?config )", path.read_text()):
        m = re.match(r"(?:menu)?config\s+(\w+)\n\tint", block)
        if not m:
            continue
        for d in re.findall(r"^\tdefault (\d+)\s*$", block, re.M):
            out[m.group(1)] = int(d)
    return out


def test_every_library_source_is_built_or_named():
    cmake = (ZEPHYR / "CMakeLists.txt").read_text()
    listed = re.findall(r"\$\{SMPFOTA_DIR\}/src/(\w+\.c)", cmake)
    left_out = re.findall(r"Left out: src/(\w+\.c)", cmake)
    sources = sorted(p.name for p in (SRC / "src").glob("*.c"))
    assert len(listed) == len(set(listed)), "a source is built twice"
    assert sorted(listed + left_out) == sources


def test_every_option_is_mapped_from_kconfig():
    options = re.findall(r"^#ifndef (SMPFOTA_\w+)$", (SRC / "include/smpfota/config.h").read_text(),
                         re.M)
    options.remove("SMPFOTA_CONFIG_H")
    mapping = (ZEPHYR / "smpfota_zephyr_config.h").read_text()
    defined = set(re.findall(r"^#define (SMPFOTA_\w+)", mapping, re.M))
    assert set(options) <= defined, f"unmapped: {sorted(set(options) - defined)}"
    used = set(re.findall(r"CONFIG_(SMPFOTA_\w+)", mapping))
    assert used <= kconfig_symbols(ZEPHYR / "Kconfig")


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_mapping_compiles_to_the_kconfig_values(tmp_path):
    # Zephyr gives every compile autoconf.h; here the Kconfig defaults play it, plus the two
    # booleans both ways.
    defaults = kconfig_int_defaults(ZEPHYR / "Kconfig")
    mapping = (ZEPHYR / "smpfota_zephyr_config.h").read_text()
    pairs = re.findall(r"^#define (SMPFOTA_\w+) CONFIG_(SMPFOTA_\w+)$", mapping, re.M)
    assert len(pairs) >= 10
    prog = tmp_path / "p.c"
    prog.write_text('#include <stdio.h>\n#include "smpfota/config.h"\nint main(void){\n' +
                    "".join(f'printf("{o}=%ld\\n", (long)({o}));\n' for o, _ in pairs) +
                    'printf("ERR=%d PSA=%d SHA512=%d\\n", SMPFOTA_CONFIG_ERROR_NAMES, '
                    "SMPFOTA_CONFIG_SHA256_PSA, SMPFOTA_CONFIG_IMAGE_SHA512);return 0;}\n")
    bools = ["-DCONFIG_SMPFOTA_ERROR_NAMES=1", "-DCONFIG_SMPFOTA_SHA256_PSA=1",
             "-DCONFIG_SMPFOTA_IMAGE_SHA512=1"]
    for flags, want in (([], (0, 0, 0)), (bools, (1, 1, 1))):
        defs = [f"-DCONFIG_{k}={defaults[k]}" for _, k in pairs]
        exe = tmp_path / "p"
        subprocess.run(["cc", "-std=c11", "-Werror", "-I", SRC / "include", "-I", ZEPHYR,
                        '-DSMPFOTA_CONFIG_FILE="smpfota_zephyr_config.h"', *defs, *flags,
                        prog, "-o", exe], check=True)
        out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
        for o, k in pairs:
            assert f"{o}={defaults[k]}\n" in out
        assert f"ERR={want[0]} PSA={want[1]} SHA512={want[2]}" in out


def test_samples_use_only_symbols_that_exist():
    ours = kconfig_symbols(ZEPHYR / "Kconfig")
    for app in APPS:
        local = kconfig_symbols(SAMPLES / app / "Kconfig") if (SAMPLES / app / "Kconfig").exists() else set()
        keys = set(conf(app))
        for overlay in (SAMPLES / app).glob("overlay-*.conf"):
            keys |= set(conf(app, overlay.name))
        for key in keys:
            name = key[len("CONFIG_"):]
            if name.startswith("SMPFOTA_") and not name.startswith("SMPFOTA_LOG_LEVEL"):
                assert name in ours | local, f"{app}: {key} is defined nowhere"
    # sysbuild: the role reaches a symbol of the network-core image
    sb = (ZEPHYR / "sysbuild" / "CMakeLists.txt").read_text()
    role = re.search(r"CONFIG_(SMPFOTA_NET_\w+)", sb).group(1)
    assert role in kconfig_symbols(SAMPLES / "netcore" / "Kconfig")
    sbk = kconfig_symbols(ZEPHYR / "sysbuild" / "Kconfig.sysbuild")
    for app in ("target", "master"):
        for line in (SAMPLES / app / "sysbuild.conf").read_text().splitlines():
            m = re.match(r"SB_CONFIG_(SMPFOTA_\w+|NETCORE_SMPFOTA_\w+)=", line)
            if m:
                assert m.group(1) in sbk


def test_module_yml_paths_exist():
    text = (ZEPHYR / "module.yml").read_text()
    for key in ("cmake", "kconfig", "sysbuild-cmake", "sysbuild-kconfig"):
        path = re.search(rf"^\s*{key}:\s*(\S+)", text, re.M).group(1)
        assert (SRC / path).exists(), key
    assert (SRC / re.search(r"samples:\n\s*-\s*(\S+)", text).group(1)).is_dir()


def test_images_agree_on_frames_and_ipc_buffers():
    frame = {app: int(conf(app)["CONFIG_SMPFOTA_FRAME_MAX"]) for app in APPS}
    assert len(set(frame.values())) == 1, frame
    f = frame["netcore"]
    hdr = int(re.search(r"SMPFOTA_BRIDGE_HDR_SIZE (\d+)U",
                        (SRC / "include/smpfota/bridge.h").read_text()).group(1))
    for app in APPS:
        c = conf(app)
        # ICMsg never delivers a message larger than its read buffer: the channel stalls.
        assert int(c["CONFIG_PBUF_RX_READ_BUF_SIZE"]) >= f + hdr, app
        # The read buffer lives on the ICMsg work queue's stack.
        assert int(c["CONFIG_IPC_SERVICE_BACKEND_ICMSG_WQ_STACK_SIZE"]) >= \
            int(c["CONFIG_PBUF_RX_READ_BUF_SIZE"]) + 1024, app
        assert int(c["CONFIG_SMPFOTA_IPC_RING_SIZE"]) >= 2 * (f + 2), app
    assert int(conf("target")["CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE"]) <= f
    assert int(conf("master")["CONFIG_SMPFOTA_CLIENT_MAX_INFLIGHT"]) >= \
        int(conf("target")["CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT"]) - 1


# ---- the secure channel (overlay-secure.conf, zephyr/cmake/smpfota_psk.cmake) ---------------

def secure_overhead() -> int:
    h = (SRC / "include/smpfota/secure.h").read_text()
    field = {k: int(v) for k, v in re.findall(r"#define SMPFOTA_SECURE_(DATA_HDR|TAG_SIZE) (\d+)U", h)}
    return field["DATA_HDR"] + field["TAG_SIZE"]


def test_secure_overlays_agree():
    master = conf("master", "overlay-secure.conf")
    target = conf("target", "overlay-secure.conf")
    for app, c in (("master", master), ("target", target)):
        assert c["CONFIG_SMPFOTA_SECURE"] == "y", app
        # everything the module's option implies is spelled out, so nothing hangs on a default
        block = re.search(r"config SMPFOTA_SECURE\n(.*?)\n\n", (ZEPHYR / "Kconfig").read_text(),
                          re.S).group(1)
        for sym in re.findall(r"imply (PSA_WANT_\w+)", block):
            assert c.get(f"CONFIG_{sym}") == "y", (app, sym)
        assert c["CONFIG_NRF_SECURITY"] == "y", app
    # one key for both boards, relative to each sample, and never committed
    key = {app: (SAMPLES / app / c["CONFIG_SMPFOTA_SECURE_KEY_FILE"]).resolve()
           for app, c in (("master", master), ("target", target))}
    assert key["master"] == key["target"]
    ignored = (SAMPLES / ".gitignore").read_text().split()
    assert key["master"].parent == SAMPLES and key["master"].name in ignored
    # a sealed request (mcumgr's largest plus the channel's 16 bytes) still crosses the cores
    assert int(target["CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE"]) + secure_overhead() <= \
        int(target["CONFIG_SMPFOTA_FRAME_MAX"])
    assert secure_overhead() == 16


def psk_header(tmp_path: Path, key_file: Path | str) -> subprocess.CompletedProcess:
    r = subprocess.run(["cmake", f"-DSMPFOTA_PSK_FILE={key_file}",
                        f"-DSMPFOTA_PSK_HEADER={tmp_path / 'smpfota_psk.h'}",
                        "-P", ZEPHYR / "cmake" / "smpfota_psk.cmake"],
                       capture_output=True, text=True)
    r.stderr = " ".join(r.stderr.split())  # CMake wraps its messages
    return r


@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("cc") is None,
                    reason="no cmake or C compiler")
def test_key_file_becomes_the_boards_key(tmp_path):
    # The key file `smpfota keygen` writes (what the host's --key reads) becomes the bytes the
    # boards are built with, and its id is the one keygen names: the wire key id is
    # SHA-256("smpfota key id" | key)[0] on every side (tests/test_secure.c: key_id_psa).
    cli = BUILD / "smpfota"
    if not cli.exists():
        pytest.skip("smpfota CLI not built")
    kf = tmp_path / "site.key"
    out = subprocess.run([cli, "keygen", kf], capture_output=True, text=True, check=True).stdout
    keygen_id = int(re.search(r"key id (\d+)", out).group(1))
    key = bytes.fromhex(kf.read_text().strip())
    r = psk_header(tmp_path, kf)
    assert r.returncode == 0, r.stderr
    prog = tmp_path / "p.c"
    prog.write_text('#include <stdio.h>\n#include "smpfota_psk.h"\n'
                    "static const unsigned char k[] = {SMPFOTA_PSK_BYTES};\n"
                    'int main(void){for(unsigned i=0;i<sizeof(k);i++)printf("%02x",k[i]);'
                    "return sizeof(k)!=16;}\n")
    exe = tmp_path / "p"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-I", tmp_path, prog, "-o", exe],
                   check=True)
    got = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    assert bytes.fromhex(got) == key
    assert hashlib.sha256(b"smpfota key id" + key).digest()[0] == keygen_id
    # whitespace around the digits (an editor's CRLF) is fine, as for --key
    kf.write_text("  " + key.hex().upper() + "\r\n")
    assert psk_header(tmp_path, kf).returncode == 0
    assert subprocess.run([exe], capture_output=True, text=True).stdout != ""


def test_bad_key_files_stop_the_build_without_showing_the_key(tmp_path):
    secret = "0123456789abcdef0123456789abcde"  # 31 digits
    cases = {"short.key": secret, "long.key": secret + "f0", "split.key": secret[:16] + " " +
             secret[16:] + "f", "nothex.key": secret + "g", "empty.key": ""}
    for name, text in cases.items():
        kf = tmp_path / name
        kf.write_text(text + "\n")
        r = psk_header(tmp_path, kf)
        assert r.returncode != 0, name
        assert "32 hex digits" in r.stderr, name
        assert secret[:8] not in r.stderr and secret[-8:] not in r.stderr, name
    assert not (tmp_path / "smpfota_psk.h").exists()
    r = psk_header(tmp_path, tmp_path / "missing.key")
    assert r.returncode != 0 and "smpfota keygen" in r.stderr
    r = psk_header(tmp_path, "")
    assert r.returncode != 0 and "KEY_FILE is empty" in r.stderr


def test_every_psa_call_and_secure_option_is_in_the_ledger():
    # docs/ncs.md's ledger names, with the revision read, every PSA function and macro the
    # channel's ports and glue use, and every option the secure overlays set.
    doc = (SRC / "docs" / "ncs.md").read_text()
    ledger = doc[doc.index("### Secure channel (`CONFIG_SMPFOTA_SECURE`)"):]
    ledger += doc[doc.index("## API ledger"):doc.index("### Bluetooth LE central")]
    names = set()
    for f in (SRC / "ports/crypto/psa.c", ZEPHYR / "src/secure_psk.c"):
        code = f.read_text()
        names |= set(re.findall(r"\b(psa_[a-z0-9_]+)\(", code))
        names |= set(re.findall(r"\b(PSA_[A-Z0-9_]+)\b", code))
    for app in ("master", "target"):
        text = (SAMPLES / app / "overlay-secure.conf").read_text()
        names |= set(re.findall(r"^(CONFIG_(?!SMPFOTA_)\w+)=", text, re.M))

    def named(n: str) -> bool:
        if n in ledger or f"`{n.removeprefix('CONFIG_')}`" in ledger:
            return True
        # rows abbreviate families: `psa_key_derivation_setup`, `_input_bytes`, ... and
        # `PSA_KEY_USAGE_ENCRYPT/DECRYPT/DERIVE`
        parts = n.split("_")
        return any(f"`_{'_'.join(parts[i:])}`" in ledger or f"/{parts[-1]}" in ledger
                   and "_".join(parts[:-1]) in ledger for i in range(2, len(parts)))

    missing = sorted(n for n in names if not named(n))
    assert not missing, f"not in docs/ncs.md's ledger: {missing}"


def regions(text: str) -> dict:
    mem = {m.group(1): (int(m.group(2), 16), int(m.group(3), 16)) for m in re.finditer(
        r"(\w+): memory@[0-9a-f]+ {\s*reg = <(0x[0-9a-fA-F]+) (0x[0-9a-fA-F]+)>", text)}
    tx = re.search(r"tx-region = <&(\w+)>", text).group(1)
    rx = re.search(r"rx-region = <&(\w+)>", text).group(1)
    names = re.search(r'mbox-names = "(\w+)", "(\w+)"', text).groups()
    return {"tx": mem[tx], "rx": mem[rx], "mbox": names}


def test_cores_share_the_same_icmsg_regions_crossed():
    app = regions((SAMPLES / "common" / "nrf5340dk_cpuapp_ipc.dtsi").read_text())
    net = regions((SAMPLES / "netcore" / "boards" / "nrf5340dk_nrf5340_cpunet.overlay").read_text())
    assert app["tx"] == net["rx"] and app["rx"] == net["tx"]
    assert app["mbox"] == ("tx", "rx") and net["mbox"] == ("rx", "tx")
    # the 64 KB shared SRAM at 0x20070000, no overlap
    lo, hi = 0x20070000, 0x20080000
    (a, an), (b, bn) = sorted([app["tx"], app["rx"]])
    assert lo <= a and a + an <= b and b + bn <= hi


def test_partitions_fit_the_parts():
    text = (SAMPLES / "common" / "nrf5340dk_partitions.dtsi").read_text()
    flash0, ext = text.split("&mx25r64 {")
    def parts(t):
        return [(int(o, 16), int(k) * 1024) for o, k in
                re.findall(r"reg = <(0x[0-9a-fA-F]+) DT_SIZE_K\((\d+)\)>", t)]
    for ps, size in ((parts(flash0), 1024 * 1024), (parts(ext), 8 * 1024 * 1024)):
        ps.sort()
        for (o1, s1), (o2, _) in zip(ps, ps[1:]):
            assert o1 + s1 <= o2
        assert ps[-1][0] + ps[-1][1] <= size
    # the secondary slot of the app core is as large as the primary
    assert re.search(r"slot0_partition.*?DT_SIZE_K\((\d+)\)", text, re.S).group(1) == \
        re.search(r"slot1_partition.*?DT_SIZE_K\((\d+)\)", text, re.S).group(1)


# ---- scripts/ncs_image_hex.py ------------------------------------------------------------------

@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    d = tmp_path_factory.mktemp("hex")
    return mti.make_image(d / "app.bin", size=70000, seed=5, key_type="ecdsa-p256",
                          key_dir=d / "keys", version="2.1.0")


def test_hex_lands_in_the_partition(signed, tmp_path):
    from intelhex import IntelHex
    out = tmp_path / "img.hex"
    assert ncs_image_hex.main([str(signed), str(out)]) == 0
    off, size = ncs_image_hex.partition(ncs_image_hex.DTSI)
    assert (off, size) == (0x200000, 1024 * 1024)
    ih = IntelHex(str(out))
    data = Path(signed).read_bytes()
    assert ih.minaddr() == 0x10000000 + off
    assert ih.maxaddr() == 0x10000000 + off + len(data) - 1
    assert ih.tobinstr(start=ih.minaddr(), end=ih.maxaddr()) == data


def test_hex_refuses_what_is_not_an_image(signed, tmp_path):
    data = bytearray(Path(signed).read_bytes())
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\0" + bytes(data[1:]))
    assert ncs_image_hex.main([str(bad), str(tmp_path / "x.hex")]) == 1
    bad.write_bytes(bytes(data[: len(data) // 2]))
    assert ncs_image_hex.main([str(bad), str(tmp_path / "x.hex")]) == 1
    assert not (tmp_path / "x.hex").exists()
    # trailing bytes after the TLV area (padding) are not written
    padded = tmp_path / "padded.bin"
    padded.write_bytes(bytes(data) + b"\xff" * 100)
    assert ncs_image_hex.main([str(padded), str(tmp_path / "p.hex")]) == 0
    from intelhex import IntelHex
    ih = IntelHex(str(tmp_path / "p.hex"))
    assert ih.maxaddr() - ih.minaddr() + 1 == len(data)


def test_hex_refuses_an_image_larger_than_the_partition(signed, tmp_path):
    dtsi = tmp_path / "small.dtsi"
    dtsi.write_text("smpfota_image_partition: partition@200000 {\n\treg = <0x00200000 0x400>;\n};\n")
    assert ncs_image_hex.main([str(signed), str(tmp_path / "y.hex"), "--dtsi", str(dtsi)]) == 1
