#!/usr/bin/env bash
# One-shot set-up on a fresh Debian machine: system packages, then a Python venv with pinned
# tools inside the build folder. Idempotent; `make` calls it when its stamp file is missing.
#
#   scripts/bootstrap.sh [--core] [VENV]
#
# --core: only what the host CLI and `make demo`/`make install` need (compiler, CMake, mbedTLS,
# the venv with imgtool and zcbor); not the cross compiler, QEMU, clang, mcumgrctl (a Rust
# build of minutes) nor the mbedTLS sources of the firmware, which the tests need.
set -euo pipefail

core=0
if [ "${1:-}" = "--core" ]; then
	core=1
	shift
fi
venv=${1:-build/venv}
here=$(cd "$(dirname "$0")" && pwd)

# Debian packages: the commands and headers we need, and the package that provides each.
need_pkgs=()
check() { # check TEST PACKAGE
	if ! eval "$1" >/dev/null 2>&1; then need_pkgs+=("$2"); fi
}
check "command -v cmake"                 cmake
check "command -v ninja"                 ninja-build
check "command -v gcc"                   gcc
check "command -v git"                   git
check "test -f /usr/include/mbedtls/sha256.h" libmbedtls-dev
check "python3 -m venv --help"           python3-venv
if [ "$core" -eq 0 ]; then
check "command -v arm-none-eabi-gcc"     gcc-arm-none-eabi
check "test -d /usr/lib/arm-none-eabi/newlib" libnewlib-arm-none-eabi
check "command -v qemu-system-arm"       qemu-system-arm
check "command -v dpkg-source"           dpkg-dev
check "command -v clang"                 clang
check "command -v clang-tidy"            clang-tidy
check "command -v clang-format"          clang-format
check "ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" libclang-rt-14-dev
# Headers mcumgrctl (the Rust interop peer, built below with cargo) links against.
check "command -v pkg-config"            pkg-config
check "test -f /usr/include/dbus-1.0/dbus/dbus.h" libdbus-1-dev
check "test -f /usr/include/libudev.h"   libudev-dev
fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
	echo "bootstrap: installing Debian packages: ${need_pkgs[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
	echo "bootstrap: creating Python venv in $venv"
	python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
if [ "$core" -eq 1 ]; then
	echo "bootstrap: done (core: enough for the CLI and make demo; make test sets up the rest)"
	exit 0
fi

# mcumgrctl (mcumgr-toolkit's CLI), the Rust SMP peer of tests/python/test_interop.py, pinned,
# installed beside the venv. The Go mcumgr cannot be fetched (the module proxy refuses it) and
# vouch's mcumgr-client is not on crates.io. Skipped when already installed (a build takes
# minutes); without cargo the interop tests fail unless SMPFOTA_ALLOW_MISSING_PEERS=1.
mcumgrctl_version=0.20.0
cargo_root="$(dirname "$venv")/cargo"
mcumgrctl="$cargo_root/bin/mcumgrctl"
if [ -x "$mcumgrctl" ] && [ "$("$mcumgrctl" --version 2>/dev/null)" = "mcumgrctl $mcumgrctl_version" ]; then
	:
else
	cargo=$(command -v cargo || true)
	[ -n "$cargo" ] || [ ! -x "${HOME:-}/.cargo/bin/cargo" ] || cargo="$HOME/.cargo/bin/cargo"
	if [ -z "$cargo" ]; then
		echo "bootstrap: cargo not found: mcumgrctl $mcumgrctl_version not installed;" \
			"install Rust (https://rustup.rs) and rerun, or the interop tests with it fail" \
			"(SMPFOTA_ALLOW_MISSING_PEERS=1 makes them skip)" >&2
	else
		echo "bootstrap: building mcumgrctl $mcumgrctl_version into $cargo_root (a few minutes)"
		"$cargo" install -q mcumgrctl --version "$mcumgrctl_version" --locked --root "$cargo_root"
	fi
fi
# mbedTLS sources for the bare-metal firmware (Debian's source package; ports/baremetal).
"$here/fetch_mbedtls_src.sh" "$(dirname "$venv")/deps/mbedtls"
echo "bootstrap: done"
