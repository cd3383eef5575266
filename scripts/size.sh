#!/usr/bin/env bash
# Footprint of the device code on the nRF5340 (Cortex-M33, Thumb-2, -Os), as a board build
# would compile it: text/data/bss per object from arm-none-eabi-size, and the deepest stack
# frames from -fstack-usage. zcbor is reported apart; mbedTLS (SHA-256) comes from the
# platform (NCS builds it anyway) and is not counted.
set -euo pipefail
py=${1:-build/venv/bin/python}
out=${2:-build/size}
cd "$(dirname "$0")/.."

zcbor=$("$py" -c "import importlib.util as u; print(u.find_spec('zcbor').submodule_search_locations[0])")
mkdir -p "$out/inc"
ln -sfn /usr/include/mbedtls "$out/inc/mbedtls"  # headers only; never -I/usr/include here

CFLAGS=(-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16 -Os -std=c11
	-ffunction-sections -fdata-sections -fstack-usage
	-Wall -Wextra -Werror -DZCBOR_CANONICAL -Iinclude -Isrc -I"$out/inc" -isystem "$zcbor/include")

ours=(src/*.c)  # every library source is device code
theirs=("$zcbor/src/zcbor_common.c" "$zcbor/src/zcbor_decode.c" "$zcbor/src/zcbor_encode.c")

objs_ours=()
for f in "${ours[@]}"; do
	o="$out/$(basename "${f%.c}").o"
	arm-none-eabi-gcc "${CFLAGS[@]}" -c "$f" -o "$o"
	objs_ours+=("$o")
done
objs_zcbor=()
for f in "${theirs[@]}"; do
	o="$out/$(basename "${f%.c}").o"
	# zcbor's own sources are not held to our warning flags.
	arm-none-eabi-gcc "${CFLAGS[@]}" -Wno-error -w -c "$f" -o "$o"
	objs_zcbor+=("$o")
done

echo "== smpfota device code, $(arm-none-eabi-gcc --version | head -1)"
echo "   flags: ${CFLAGS[*]:0:6}"
arm-none-eabi-size -t "${objs_ours[@]}"
echo
echo "== zcbor $("$py" -c "import importlib.metadata as m; print(m.version('zcbor'))") (reported apart)"
arm-none-eabi-size -t "${objs_zcbor[@]}"
echo
echo "== deepest stack frames (bytes, -fstack-usage)"
cat "$out"/*.su | grep -v zcbor | sort -t$'\t' -k2 -n -r | awk 'NR <= 8' | awk -F'\t' '{printf "   %6s  %s\n", $2, $1}'

# What each board links (the ESB link layer joins both when it exists).
sum() { arm-none-eabi-size "$@" | awk 'NR > 1 {t += $1; d += $2; b += $3} END {printf "%6d text %5d data %5d bss", t, d, b}'; }
echo
echo "== per board (zcbor and mbedTLS not included)"
echo "   master (client, update, ESB link, codec, image reader): $(sum "$out"/{client,update,esb_link,smp,cbor,image,error}.o)"
echo "   target (server, boot model, flash, ESB link, codec, image reader, serial): $(sum "$out"/{server,boot,flash,esb_link,smp,cbor,image,serial,error}.o)"
