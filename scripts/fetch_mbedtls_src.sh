#!/usr/bin/env bash
# mbedTLS sources for the bare-metal firmware (ports/baremetal): Debian's own source package,
# unpacked into OUTDIR (default build/deps/mbedtls), so the Cortex-M33 build compiles the same
# mbedTLS release the host links (libmbedtls-dev). Never committed: fetched at set-up time.
#
#   scripts/fetch_mbedtls_src.sh [OUTDIR]
#
# `apt-get source` needs a deb-src entry; when the machine has none, one is added beside the
# Debian entries it already has (same mirrors, suites and keyring; Types: deb-src).
# Idempotent: an unpacked tree with its stamp is kept.
set -euo pipefail
out=${1:-build/deps/mbedtls}
stamp="$out/.smpfota-source"

if [ -f "$stamp" ] && [ -f "$out/library/sha256.c" ]; then
	exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! command -v dpkg-source >/dev/null 2>&1; then
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dpkg-dev
fi

if ! apt-cache showsrc mbedtls 2>/dev/null | grep -q '^Package: mbedtls'; then
	list=/etc/apt/sources.list.d/smpfota-deb-src.sources
	tmp=$(mktemp)
	# deb822 files: copy each Debian paragraph (signed by the Debian archive keyring) as
	# deb-src.
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
		     /Types:[^\n]*deb/ && /debian-archive-keyring/ {
			sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" >>"$tmp"
	done
	# One-line format (/etc/apt/sources.list and *.list): the same for Debian lines.
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^deb \(.*debian.*\)$/deb-src \1/p' "$f" >>"$tmp.list"
	done
	if [ -s "$tmp" ]; then
		$SUDO install -m 644 "$tmp" "$list"
	fi
	if [ -s "$tmp.list" ]; then
		$SUDO install -m 644 "$tmp.list" /etc/apt/sources.list.d/smpfota-deb-src.list
	fi
	rm -f "$tmp" "$tmp.list"
	echo "fetch_mbedtls_src: added deb-src entries for Debian's archive"
	$SUDO apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get source -qq --download-only mbedtls >/dev/null 2>&1) ||
	(cd "$work" && apt-get source -q --download-only mbedtls)
dsc=$(ls "$work"/mbedtls_*.dsc | head -1)
(cd "$work" && dpkg-source -q -x "$(basename "$dsc")" src >/dev/null)
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$work/src" "$out"
basename "$dsc" .dsc >"$stamp"
echo "fetch_mbedtls_src: $(cat "$stamp") unpacked in $out"
