#!/usr/bin/env bash
# One-shot set-up on a fresh Debian machine: system packages, then a Python venv with pinned
# tools inside the build folder. Idempotent; `make` calls it when its stamp file is missing.
set -euo pipefail

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
check "command -v arm-none-eabi-gcc"     gcc-arm-none-eabi
check "test -d /usr/lib/arm-none-eabi/newlib" libnewlib-arm-none-eabi
check "command -v clang"                 clang
check "ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" libclang-rt-14-dev
check "python3 -m venv --help"           python3-venv

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
echo "bootstrap: done"
