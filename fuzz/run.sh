#!/usr/bin/env bash
# Run every libFuzzer target built in BUILD_DIR/fuzz/ for SECONDS each, on a scratch copy of
# its seed corpus fuzz/corpus/<name>/ (name = executable name without "fuzz_"; a missing
# corpus means an empty start). Fails if any target crashes, leaks, hangs or runs out of
# memory; the reproducer is kept in BUILD_DIR/fuzz/artifacts/.
#
#   fuzz/run.sh build-fuzz 60
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR SECONDS" >&2
	exit 2
fi
build=$1
secs=$2
here=$(cd "$(dirname "$0")" && pwd)

fuzzers=()
for f in "$build"/fuzz/fuzz_*; do
	if [ -f "$f" ] && [ -x "$f" ]; then
		fuzzers+=("$f")
	fi
done
if [ ${#fuzzers[@]} -eq 0 ]; then
	echo "fuzz/run.sh: no fuzz_* executables in $build/fuzz (configure with CC=clang -DSMPFOTA_FUZZ=ON)" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=$(cd "$build" && pwd)/fuzz/artifacts
mkdir -p "$artifacts"

failed=()
for exe in "${fuzzers[@]}"; do
	name=$(basename "$exe")
	name=${name#fuzz_}
	corpus=$work/corpus-$name
	mkdir -p "$corpus"
	if [ -d "$here/corpus/$name" ]; then
		cp -R "$here/corpus/$name/." "$corpus/"
	fi
	log=$work/$name.log
	echo "== fuzz_$name: ${secs}s from $(find "$corpus" -type f | wc -l) seeds"
	if "$exe" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$name-" "$corpus" >"$log" 2>&1; then
		grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed 's/^/   /' || true
		echo "   corpus grew to $(find "$corpus" -type f | wc -l) inputs"
	else
		echo "   FAILED (exit status $?); last lines of the log:"
		tail -n 40 "$log" | sed 's/^/   | /'
		echo "   reproducer: $(ls -t "$artifacts/$name-"* 2>/dev/null | head -n 1)"
		failed+=("fuzz_$name")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz/run.sh: failures: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz/run.sh: ${#fuzzers[@]} target(s), ${secs}s each, no findings"
