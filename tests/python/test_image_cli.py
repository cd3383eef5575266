"""`smpfota image info` against images signed by imgtool at test time.

Every expected value is computed here independently (struct + hashlib over the file, or the
arguments given to imgtool), and cross-checked with `imgtool verify` / `imgtool dumpinfo`.

Env: SMPFOTA_BUILD (dir with the `smpfota` binary), SMPFOTA_SRC (source root).
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(os.environ.get("SMPFOTA_SRC", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("SMPFOTA_BUILD", SRC / "build"))
SMPFOTA = BUILD / "smpfota"

sys.path.insert(0, str(SRC / "scripts"))
import make_test_image as mti  # noqa: E402

IMAGE_MAGIC = 0x96F3B83D
SIG_NAMES = {"ecdsa-p256": "ECDSA_SIG", "ed25519": "ED25519", "rsa-2048": "RSA2048_PSS"}
SIG_TYPES = {"ecdsa-p256": 0x22, "ed25519": 0x24, "rsa-2048": 0x20}
# MCUboot image.h IMAGE_TLV_* names (imgtool spells a few differently: ECDSASIG, RSA2048).
TLV_NAMES = {0x01: "KEYHASH", 0x02: "PUBKEY", 0x10: "SHA256", 0x11: "SHA384", 0x12: "SHA512",
             0x20: "RSA2048_PSS", 0x22: "ECDSA_SIG", 0x23: "RSA3072_PSS", 0x24: "ED25519",
             0x25: "SIG_PURE", 0x33: "ENC_X25519", 0x50: "SEC_CNT"}


def run_info(path, *extra):
    return subprocess.run([str(SMPFOTA), "image", "info", str(path), *extra],
                          capture_output=True, text=True, timeout=60)


def imgtool(*args):
    return subprocess.run(mti.imgtool_cmd() + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120)


@dataclass
class Parsed:
    """The image as this test reads it, without smpfota."""
    magic: int
    load_addr: int
    hdr_size: int
    prot_size: int
    img_size: int
    flags: int
    version: tuple
    tlvs: list = field(default_factory=list)  # (type, len, protected, data)
    image_size: int = 0
    hashed_size: int = 0
    computed: str = ""

    def tlv(self, type_):
        return [t for t in self.tlvs if t[0] == type_]


def parse(data: bytes) -> Parsed:
    (magic, load, hdr_size, prot_size, img_size, flags, major, minor, rev,
     build) = struct.unpack_from("<IIHHIIBBHI", data, 0)
    p = Parsed(magic, load, hdr_size, prot_size, img_size, flags, (major, minor, rev, build))
    off = hdr_size + img_size
    areas = []
    if prot_size:
        areas.append((0x6908, True))
    areas.append((0x6907, False))
    for want_magic, protected in areas:
        magic_, tot = struct.unpack_from("<HH", data, off)
        assert magic_ == want_magic
        if protected:
            assert tot == prot_size
        end = off + tot
        off += 4
        while off < end:
            t, n = struct.unpack_from("<HH", data, off)
            p.tlvs.append((t, n, protected, data[off + 4:off + 4 + n]))
            off += 4 + n
        assert off == end
    p.image_size = off
    p.hashed_size = hdr_size + img_size + prot_size
    p.computed = hashlib.sha256(data[:p.hashed_size]).hexdigest()
    return p


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("keys")


# (id, make_image kwargs). key_type None = unsigned.
CASES = [
    ("ecdsa-hdr200", dict(key_type="ecdsa-p256", header_size=0x200, version="1.2.3+4")),
    ("ecdsa-hdr20-pad", dict(key_type="ecdsa-p256", header_size=0x20, version="2.0.1",
                             pad=True, slot_size=0x10000)),
    ("ecdsa-pubkey-full", dict(key_type="ecdsa-p256", header_size=0x200, version="0.1.0+9",
                               extra_args=["--public-key-format", "full"])),
    ("ed25519-hdr20-sauto", dict(key_type="ed25519", header_size=0x20, version="0.0.0",
                                 security_counter="auto")),
    ("ed25519-confirm", dict(key_type="ed25519", header_size=0x200, version="1.2.3+4",
                             confirm=True, slot_size=0x8000, security_counter=7)),
    ("rsa-max-version", dict(key_type="rsa-2048", header_size=0x200,
                             version="255.255.65535+4294967295", security_counter="auto",
                             custom_tlvs=[(0xA0, "0x12345678"), (0xA1, "hello")])),
    ("rsa-hdr20-zero-prefix", dict(key_type="rsa-2048", header_size=0x20, pad_header=False,
                                   version="3.4.5+6")),
    ("unsigned", dict(key_type=None, header_size=0x200, version="1.0.0+1")),
    ("ecdsa-odd-size", dict(key_type="ecdsa-p256", header_size=0x200, version="9.9.9+9",
                            size=1001, seed=5, security_counter="auto")),
    ("ed25519-big", dict(key_type="ed25519", header_size=0x200, version="4.3.2+1",
                         size=300_000, seed=2)),
    ("unsigned-empty-body", dict(key_type=None, header_size=0x20, version="0.0.1", size=0)),
]


def make(tmp_path, key_dir, **kw):
    kw.setdefault("size", 4096)
    return mti.make_image(tmp_path / "app.signed.bin", key_dir=key_dir, **kw)


@pytest.mark.parametrize("name,kw", CASES, ids=[c[0] for c in CASES])
def test_info_json_matches_independent_parse(tmp_path, key_dir, name, kw):
    kw = {"size": 4096, **kw}
    img = make(tmp_path, key_dir, **kw)
    data = img.read_bytes()
    p = parse(data)

    r = run_info(img, "--json")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    j = json.loads(r.stdout)

    # header, as imgtool was told to write it
    assert j["error"] is None
    assert p.magic == IMAGE_MAGIC
    assert j["magic"] == IMAGE_MAGIC
    assert j["header_size"] == kw["header_size"] == p.hdr_size
    assert j["body_size"] == p.img_size
    expected_body = kw["size"] if kw.get("pad_header", True) else kw["size"] - kw["header_size"]
    assert j["body_size"] == expected_body
    assert j["protected_tlv_size"] == p.prot_size
    assert j["load_addr"] == p.load_addr == 0
    assert j["flags"] == p.flags == 0
    # the CLI's one version format: "+build" only when the build is not zero
    assert j["version"] == kw["version"].removesuffix("+0")
    maj, mnr, rev, bld = p.version
    assert j["version"] == f"{maj}.{mnr}.{rev}" + (f"+{bld}" if bld else "")

    # sizes
    assert j["image_size"] == p.image_size
    assert j["hashed_size"] == p.hashed_size
    assert j["file_size"] == len(data)
    if kw.get("pad") or kw.get("confirm"):
        assert len(data) == kw["slot_size"]
        assert j["image_size"] < len(data)
    else:
        assert j["image_size"] == len(data)

    # hash: the TLV value, equal to our own SHA-256 of hdr + body + protected TLVs
    sha = p.tlv(0x10)
    assert len(sha) == 1
    assert sha[0][3].hex() == p.computed
    assert j["hash"] == p.computed
    assert j["computed_hash"] == p.computed
    assert j["hash_valid"] is True

    # TLVs, signature, key
    assert j["tlv_count"] == len(p.tlvs)
    assert [{"type": t["type"], "len": t["len"], "protected": t["protected"]}
            for t in j["tlvs"]] == [{"type": t, "len": n, "protected": pr}
                                    for t, n, pr, _ in p.tlvs]
    assert [t["name"] for t in j["tlvs"]] == [TLV_NAMES.get(t) for t, *_ in p.tlvs]
    kt = kw["key_type"]
    if kt is None:
        assert j["signature"] is None
        assert j["key"] is None
        assert [t for t, _n, prot, _d in p.tlvs if not prot] == [0x10]
    else:
        assert j["signature"] == SIG_NAMES[kt]
        assert j["signature_len"] == p.tlv(SIG_TYPES[kt])[0][1]
        full = "--public-key-format" in kw.get("extra_args", [])
        assert j["key"] == ("PUBKEY" if full else "KEYHASH")
        assert p.tlv(0x02 if full else 0x01)
    sc = kw.get("security_counter")
    if sc is not None:
        (sec,) = p.tlv(0x50)
        assert sec[2] is True
        value = struct.unpack("<I", sec[3])[0]
        if sc == "auto":
            maj, mnr, rev, _ = p.version
            assert value == (maj << 24) + (mnr << 16) + rev
        else:
            assert value == sc
        assert {"type": 0x50, "name": "SEC_CNT", "len": 4} in [
            {k: t[k] for k in ("type", "name", "len")} for t in j["tlvs"]]
    elif not kw.get("custom_tlvs"):
        assert p.prot_size == 0
        assert not any(t["protected"] for t in j["tlvs"])
    if kw.get("custom_tlvs"):
        assert [t["type"] for t in j["tlvs"] if t["protected"] and t["type"] >= 0xA0] == [
            tag for tag, _ in kw["custom_tlvs"]]

    # imgtool agrees on validity, digest, version and TLVs
    if kt is not None:
        v = imgtool("verify", "-k", Path(key_dir) / f"{kt}.pem", img)
        assert v.returncode == 0, v.stdout + v.stderr
        assert "Image was correctly validated" in v.stdout
        assert f"Image digest: {j['hash']}" in v.stdout
    d = imgtool("dumpinfo", "-f", "json", img)
    assert d.returncode == 0, d.stderr
    dj = json.loads(d.stdout)
    assert dj["header"]["version"] == "%d.%d.%d+%d" % p.version  # imgtool always shows +build
    assert dj["header"]["img_size"] == j["body_size"]
    assert dj["header"]["protected_tlv_size"] == j["protected_tlv_size"]
    dump_tlvs = dj["tlv_area"]["tlvs_prot"] + dj["tlv_area"]["tlvs"]
    assert [(t["type"], t["len"]) for t in dump_tlvs] == [(t["type"], t["len"])
                                                          for t in j["tlvs"]]
    assert dj["tlv_area"]["tlvs"][0]["data"] == j["hash"]


def test_custom_tlvs_are_protected(tmp_path, key_dir):
    img = make(tmp_path, key_dir, key_type="ed25519", version="1.0.0",
               custom_tlvs=[(0xA0, "0x0102"), (0xA5, "abc")])
    j = json.loads(run_info(img, "--json").stdout)
    prot = [(t["type"], t["len"]) for t in j["tlvs"] if t["protected"]]
    assert prot == [(0xA0, 2), (0xA5, 3)]
    assert j["protected_tlv_size"] == 4 + (4 + 2) + (4 + 3)
    assert j["hash_valid"] is True


def test_human_output(tmp_path, key_dir):
    img = make(tmp_path, key_dir, key_type="ecdsa-p256", version="1.2.3+4",
               security_counter="auto")
    p = parse(img.read_bytes())
    r = run_info(img)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip()
             for ln in r.stdout.splitlines() if ":" in ln and not ln.startswith(" ")}
    assert lines["version"] == "1.2.3+4"
    assert lines["hash"] == p.computed
    assert lines["hash type"] == "SHA256"
    assert lines["hash check"] == "valid"
    assert lines["signature"].startswith("ECDSA_SIG")
    assert lines["key"] == "KEYHASH"
    assert lines["header size"].startswith("0x200")
    assert lines["protected TLV size"].startswith(hex(p.prot_size))
    assert lines["image size"].startswith(f"{p.image_size} bytes")
    assert lines["TLVs"] == str(len(p.tlvs))
    assert "SEC_CNT" in r.stdout and "protected" in r.stdout


def test_version_build_zero_left_out(tmp_path, key_dir):
    img = make(tmp_path, key_dir, key_type=None, version="1.2.3")
    r = run_info(img)
    d = imgtool("dumpinfo", img)
    assert "version:            1.2.3+0" in d.stdout  # imgtool always shows the build
    assert "version:            1.2.3\n" in r.stdout  # the CLI's format: only a non-zero one
    assert json.loads(run_info(img, "--json").stdout)["version"] == "1.2.3"


# ---- bad images ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A signed image with every area present: 0x200 header, body, protected and plain TLVs."""
    d = tmp_path_factory.mktemp("good")
    img = mti.make_image(d / "good.bin", size=3000, key_type="ecdsa-p256", key_dir=d / "keys",
                         version="1.2.3+4", security_counter="auto")
    data = img.read_bytes()
    return data, parse(data), d / "keys" / "ecdsa-p256.pem"


def expect_error(path, name, *, stdout_empty=True):
    """Exit 1, one stderr line naming the error (and maybe a hint), for text and --json
    output; with --json one object on stdout names it too."""
    for extra in ((), ("--json",)):
        r = run_info(path, *extra)
        assert r.returncode == 1, (extra, r.stdout, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("smpfota: hint: ")), \
            r.stderr
        assert lines[0].startswith(f"smpfota: image info: {path}: ")
        assert lines[0].endswith(f"({name})")
        if extra:
            assert json.loads(r.stdout)["error"] == name, r.stdout
        elif stdout_empty:
            assert r.stdout == ""
    return r


def cut_points(p: Parsed):
    """Where to truncate: inside the magic, header, padding, body, both TLV areas."""
    prot = p.hdr_size + p.img_size
    return sorted({0, 1, 3, 4, 5, 16, 31, 32, 33, p.hdr_size - 1, p.hdr_size,
                   p.hdr_size + 1, p.hdr_size + p.img_size // 2, prot - 1, prot, prot + 2,
                   prot + 4, prot + 10, p.hashed_size - 1, p.hashed_size, p.hashed_size + 3,
                   p.hashed_size + 4, p.hashed_size + 20, p.hashed_size + 40,
                   p.image_size - 1})


def test_truncated(tmp_path, good):
    data, p, _key = good
    assert p.prot_size > 0
    cuts = cut_points(p)
    assert len(cuts) > 20 and cuts[-1] == p.image_size - 1
    for n in cuts:
        f = tmp_path / f"cut{n}.bin"
        f.write_bytes(data[:n])
        # Shorter than the magic but a prefix of it: could still become an image.
        expect_error(f, "TRUNCATED")


def test_truncated_is_complete_at_image_size(tmp_path, good):
    data, p, _key = good
    f = tmp_path / "exact.bin"
    f.write_bytes(data[:p.image_size])
    assert run_info(f).returncode == 0


def test_short_non_image(tmp_path):
    for content in (b"\x00", b"abc", b"\x3d\xb8\xf3\x97"):
        f = tmp_path / "short.bin"
        f.write_bytes(content)
        expect_error(f, "BAD_MAGIC")


def test_body_bit_flip(tmp_path, good):
    data, p, key = good
    bad = bytearray(data)
    bad[p.hdr_size + 1234] ^= 0x04
    f = tmp_path / "flip.bin"
    f.write_bytes(bad)
    r = expect_error(f, "HASH_MISMATCH", stdout_empty=False)
    j = json.loads(r.stdout)  # the last run was --json
    assert j["error"] == "HASH_MISMATCH"
    assert j["hash_valid"] is False
    assert j["hash"] == p.computed
    assert j["computed_hash"] == hashlib.sha256(bad[:p.hashed_size]).hexdigest()
    assert j["computed_hash"] != p.computed
    assert j["version"] == "1.2.3+4"
    text = run_info(f).stdout
    assert "INVALID" in text and "1.2.3+4" in text
    # imgtool agrees: the original verifies with this key, the flipped copy does not
    assert imgtool("verify", "-k", key, tmp_path / "flip.bin").returncode != 0
    orig = tmp_path / "orig.bin"
    orig.write_bytes(data)
    assert imgtool("verify", "-k", key, orig).returncode == 0


def test_protected_tlv_bit_flip(tmp_path, good):
    data, p, _key = good
    bad = bytearray(data)
    bad[p.hashed_size - 1] ^= 0x01  # last byte of the SEC_CNT value
    f = tmp_path / "flip_prot.bin"
    f.write_bytes(bad)
    expect_error(f, "HASH_MISMATCH", stdout_empty=False)


def test_signature_bit_flip_is_not_hashed(tmp_path, good):
    data, p, _key = good
    bad = bytearray(data)
    bad[p.image_size - 1] ^= 0x01  # unprotected: the hash stays valid
    f = tmp_path / "flip_sig.bin"
    f.write_bytes(bad)
    assert run_info(f).returncode == 0


def test_tlv_info_magic_flip(tmp_path, good):
    data, p, _key = good
    for off in (p.hashed_size, p.hdr_size + p.img_size):  # 0x6907, then 0x6908
        bad = bytearray(data)
        bad[off] ^= 0x01
        f = tmp_path / f"tlvmagic{off}.bin"
        f.write_bytes(bad)
        expect_error(f, "TLV_CORRUPT")


def test_tlv_total_too_small(tmp_path, good):
    data, p, _key = good
    bad = bytearray(data)
    struct.pack_into("<H", bad, p.hashed_size + 2, 3)
    f = tmp_path / "tot.bin"
    f.write_bytes(bad)
    expect_error(f, "TLV_CORRUPT")


def test_header_magic_flip(tmp_path, good):
    data, _p, _key = good
    for i in range(4):
        bad = bytearray(data)
        bad[i] ^= 0x80
        f = tmp_path / f"magic{i}.bin"
        f.write_bytes(bad)
        expect_error(f, "BAD_MAGIC")


def test_bad_header_size(tmp_path, good):
    data, _p, _key = good
    bad = bytearray(data)
    struct.pack_into("<H", bad, 8, 16)
    f = tmp_path / "hdrsize.bin"
    f.write_bytes(bad)
    expect_error(f, "BAD_HEADER")


def test_non_image_file(tmp_path):
    f = tmp_path / "payload.bin"
    f.write_bytes(mti.make_payload(5000, seed=1))
    expect_error(f, "BAD_MAGIC")
    zeros = tmp_path / "zeros.bin"
    zeros.write_bytes(bytes(1024))
    expect_error(zeros, "BAD_MAGIC")


def test_empty_file(tmp_path):
    f = tmp_path / "empty.bin"
    f.write_bytes(b"")
    expect_error(f, "TRUNCATED")


@pytest.mark.parametrize("key_type,extra,tlv,name,length", [
    ("ecdsa-p384", [], 0x11, "SHA384", 48),  # imgtool: always SHA-384 for P-384 keys
    ("ed25519", ["--sha", "512"], 0x12, "SHA512", 64),
    (None, ["--sha", "384"], 0x11, "SHA384", 48),
    (None, ["--sha", "512"], 0x12, "SHA512", 64),
    ("ed25519", ["--pure"], 0x12, "SHA512", 64),  # imgtool adds a SHA512 TLV with --pure
])
def test_sha384_sha512(tmp_path, key_dir, key_type, extra, tlv, name, length):
    img = make(tmp_path, key_dir, key_type=key_type, version="5.6.7+8", extra_args=extra)
    data = img.read_bytes()
    p = parse(data)
    assert len(p.tlv(tlv)) == 1 and not p.tlv(0x10)
    want = hashlib.new(name.lower(), data[:p.hashed_size]).hexdigest()
    assert p.tlv(tlv)[0][3].hex() == want
    r = run_info(img)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"hash:               {want}\nhash type:          {name}\n" in r.stdout
    assert "hash check:         valid\n" in r.stdout
    j = json.loads(run_info(img, "--json").stdout)
    assert (j["error"], j["hash"], j["computed_hash"], j["hash_type"], j["hash_valid"],
            j["unsupported"]) == (None, want, want, name, True, None)
    # a flipped body byte: the SHA-384/512 check finds it
    bad = tmp_path / "bad.bin"
    bad.write_bytes(data[:0x300] + bytes([data[0x300] ^ 1]) + data[0x301:])
    j = json.loads(expect_error(bad, "HASH_MISMATCH", stdout_empty=False).stdout)
    assert j["hash"] == want and j["computed_hash"] != want and len(j["computed_hash"]) == 2 * length


def test_padded(tmp_path, key_dir):
    img = make(tmp_path, key_dir, key_type="ed25519", version="1.0.0", pad=True,
               slot_size=0x20000)
    data = img.read_bytes()
    p = parse(data)
    assert len(data) == 0x20000
    r = run_info(img)
    assert r.returncode == 0, r.stderr
    assert (f"padding:            {len(data) - p.image_size} bytes after the TLVs "
            "(imgtool --pad); an upload sends the image only\n") in r.stdout
    assert json.loads(run_info(img, "--json").stdout)["padding"] == len(data) - p.image_size


@pytest.mark.parametrize("variant", ["encrypted"])
def test_unsupported(tmp_path, key_dir, variant):
    extra = []
    if variant == "encrypted":
        enc = tmp_path / "enc.pem"
        assert imgtool("keygen", "-k", enc, "-t", "x25519").returncode == 0
        pub = tmp_path / "enc.pub.pem"
        g = imgtool("getpub", "-k", enc, "-e", "pem")
        assert g.returncode == 0
        pub.write_text(g.stdout)
        extra = ["--encrypt", str(pub)]
    img = make(tmp_path, key_dir, key_type="ed25519", version="5.6.7+8", extra_args=extra)
    p = parse(img.read_bytes())
    r = expect_error(img, "UNSUPPORTED", stdout_empty=False)
    j = json.loads(r.stdout)
    assert j["error"] == "UNSUPPORTED"
    assert j["hash_valid"] is False
    assert j["version"] == "5.6.7+8"
    assert j["image_size"] == p.image_size
    assert j["signature"] == "ED25519"
    assert j["flags"] & 0x04 and "ENCRYPTED_AES128" in j["flag_names"]
    assert j["hash"] == p.tlv(0x10)[0][3].hex()
    assert j["unsupported"] == ("encrypted image: MCUboot hashes the plaintext, the file "
                                "holds ciphertext")
    assert "hash check:         not checked: encrypted image" in run_info(img).stdout


def test_missing_file(tmp_path):
    f = tmp_path / "nope.bin"
    r = run_info(f)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.splitlines() == [f"smpfota: image info: {f}: No such file or directory"]


def test_directory(tmp_path):
    r = run_info(tmp_path)
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1


@pytest.mark.parametrize("args", [[], ["--bogus", "x.bin"], ["a.bin", "b.bin"]])
def test_usage_errors(args):
    r = subprocess.run([str(SMPFOTA), "image", "info", *args], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("smpfota: image info: ")
    assert "smpfota help image info" in r.stderr  # where the usage is


def test_help():
    r = subprocess.run([str(SMPFOTA), "image", "info", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "usage: smpfota image info" in r.stdout
