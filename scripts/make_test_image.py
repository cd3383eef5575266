#!/usr/bin/env python3
"""Make signed MCUboot test images with imgtool (from the venv this script runs under).

Importable (tests, demo, benchmarks) and usable from the command line:

    python scripts/make_test_image.py OUT.bin --size 4096 --key-type ed25519 \\
        --key-dir build/keys --version 1.2.3+4 [--header-size 0x200] [--pad | --confirm] \\
        [--security-counter auto] [--custom-tlv 0xa0 0x1234]

    from make_test_image import make_image
    path = make_image(tmp_path / "app.bin", size=4096, key_type="ecdsa-p256",
                      key_dir=tmp_path / "keys", version="1.2.3+4")

Payloads are deterministic (same size and seed, same bytes). Signatures are not always
(ECDSA and RSA-PSS are randomised); Ed25519 and unsigned images are bit-for-bit repeatable.
Keys are generated once per type and cached in key_dir.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Sequence

KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048")
# nRF5340 application slot in NCS (mcuboot_primary_app); large enough for any test payload.
DEFAULT_SLOT_SIZE = 0xE0000
# The command line's default: the slot of `smpfota target` and `smpfota sim` (0x74000), so
# that an image made for them without --slot-size fits them.
CLI_SLOT_SIZE = 0x74000


def imgtool_cmd() -> list[str]:
    """The imgtool to run: the one installed next to this Python, else `python -m`."""
    exe = Path(sys.executable).with_name("imgtool")
    if exe.is_file() and os.access(exe, os.X_OK):
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from imgtool.main import imgtool; sys.exit(imgtool())"]


def run_imgtool(args: Sequence[str]) -> subprocess.CompletedProcess:
    """Run imgtool; raise with its output if it fails."""
    cmd = imgtool_cmd() + [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"imgtool failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return proc


def make_payload(size: int, seed: int = 0, zero_prefix: int = 0) -> bytes:
    """size deterministic bytes (SHA-256 counter stream); the first zero_prefix are zero.

    imgtool without --pad-header wants the input to start with header_size zero bytes.
    """
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"smpfota-{seed}-{counter}".encode()).digest()
        counter += 1
    out = out[:size]
    n = min(zero_prefix, size)
    out[:n] = bytes(n)
    return bytes(out)


def keygen(key_type: str, key_dir: os.PathLike | str) -> Path:
    """Path of a key of key_type in key_dir, generated on first use."""
    if key_type not in KEY_TYPES:
        raise ValueError(f"key type {key_type!r}: expected one of {', '.join(KEY_TYPES)}")
    key_dir = Path(key_dir)
    key_dir.mkdir(parents=True, exist_ok=True)
    key = key_dir / f"{key_type}.pem"
    if not key.exists():
        # Generate beside it and rename, so a concurrent user never sees half a key.
        tmp = key_dir / f".{key_type}.{os.getpid()}.tmp.pem"
        run_imgtool(["keygen", "-k", tmp, "-t", key_type])
        os.replace(tmp, key)
    return key


def sign(
    infile: os.PathLike | str,
    outfile: os.PathLike | str,
    *,
    key: os.PathLike | str | None = None,
    version: str = "1.0.0",
    header_size: int = 0x200,
    pad_header: bool = True,
    align: int = 4,
    slot_size: int = DEFAULT_SLOT_SIZE,
    pad: bool = False,
    confirm: bool = False,
    security_counter: str | int | None = None,
    custom_tlvs: Iterable[tuple[int, str]] = (),
    extra_args: Sequence[str] = (),
) -> Path:
    """imgtool sign infile -> outfile; returns outfile. key=None makes an unsigned image.

    custom_tlvs: (tag, value) pairs for --custom-tlv (tag 0xa0..0xfffe, protected area;
    value "0x..." for an integer, else a string).
    """
    args: list[str] = ["sign", "--header-size", hex(header_size), "--align", str(align),
                       "--version", version, "--slot-size", hex(slot_size)]
    if key is not None:
        args += ["--key", str(key)]
    if pad_header:
        args.append("--pad-header")
    if pad:
        args.append("--pad")
    if confirm:
        args.append("--confirm")
    if security_counter is not None:
        args += ["--security-counter", str(security_counter)]
    for tag, value in custom_tlvs:
        args += ["--custom-tlv", hex(tag), value]
    args += list(extra_args)
    args += [str(infile), str(outfile)]
    run_imgtool(args)
    return Path(outfile)


def make_image(
    out: os.PathLike | str,
    *,
    size: int = 4096,
    seed: int = 0,
    key_type: str | None = "ecdsa-p256",
    key_dir: os.PathLike | str | None = None,
    header_size: int = 0x200,
    pad_header: bool = True,
    **sign_kwargs,
) -> Path:
    """Write a payload of size bytes next to out (out + '.payload') and sign it into out.

    key_type=None: unsigned (SHA256 TLV only). key_dir defaults to out's directory / 'keys'.
    Other keyword arguments go to sign().
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload_path = out.with_name(out.name + ".payload")
    payload_path.write_bytes(
        make_payload(size, seed, zero_prefix=0 if pad_header else header_size))
    key = None
    if key_type is not None:
        key = keygen(key_type, key_dir if key_dir is not None else out.parent / "keys")
    return sign(payload_path, out, key=key, header_size=header_size, pad_header=pad_header,
                **sign_kwargs)


def _int(text: str) -> int:
    return int(text, 0)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="signed image to write")
    p.add_argument("--size", type=_int, default=4096, help="payload size (default 4096)")
    p.add_argument("--seed", type=int, default=0, help="payload seed (default 0)")
    p.add_argument("--key-type", default="ecdsa-p256", choices=KEY_TYPES + ("none",),
                   help="signing key type, or none for an unsigned image")
    p.add_argument("--key-dir", help="key cache (default: OUT's directory/keys)")
    p.add_argument("--version", default="1.0.0", help="maj.min.rev+build")
    p.add_argument("--header-size", type=_int, default=0x200)
    p.add_argument("--no-pad-header", action="store_true",
                   help="payload starts with header-size zero bytes instead of --pad-header")
    p.add_argument("--align", type=int, default=4)
    p.add_argument("--slot-size", type=_int, default=CLI_SLOT_SIZE,
                   help="slot size for imgtool (default 0x74000: smpfota target's and sim's)")
    p.add_argument("--pad", action="store_true", help="pad to the slot, trailer magic (test)")
    p.add_argument("--confirm", action="store_true", help="pad and set image_ok (permanent)")
    p.add_argument("--security-counter", "-s", help="n or auto (protected SEC_CNT TLV)")
    p.add_argument("--custom-tlv", nargs=2, action="append", default=[],
                   metavar=("TAG", "VALUE"), help="protected vendor TLV (repeatable)")
    a = p.parse_args(argv)
    path = make_image(
        a.out, size=a.size, seed=a.seed,
        key_type=None if a.key_type == "none" else a.key_type, key_dir=a.key_dir,
        header_size=a.header_size, pad_header=not a.no_pad_header, align=a.align,
        version=a.version, slot_size=a.slot_size, pad=a.pad, confirm=a.confirm,
        security_counter=a.security_counter,
        custom_tlvs=[(_int(t), v) for t, v in a.custom_tlv])
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
