#!/usr/bin/env bash
# Run every libFuzzer target built in BUILD_DIR/fuzz/ for SECONDS each, on a scratch copy of
# its seed corpus fuzz/corpus/<name>/ (name = executable name without "fuzz_"; a missing
# corpus means an empty start). Fails if any target crashes, leaks, hangs or runs out of
# memory; the reproducer is kept in BUILD_DIR/fuzz/artifacts/.
#
# JOBS (default 1) targets run at once; each still gets SECONDS of its own CPU time.
#
#   fuzz/run.sh build-fuzz 60 [JOBS]
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 BUILD_DIR SECONDS [JOBS]" >&2
	exit 2
fi
build=$1
secs=$2
jobs=${3:-1}
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

# One target: fuzz it, then print its report in one piece (jobs may run side by side).
run_one() {
	local exe=$1 name corpus log out
	name=$(basename "$exe")
	name=${name#fuzz_}
	corpus=$work/corpus-$name
	log=$work/$name.log
	out=$work/$name.report
	mkdir -p "$corpus"
	if [ -d "$here/corpus/$name" ]; then
		cp -R "$here/corpus/$name/." "$corpus/"
	fi
	{
		echo "== fuzz_$name: ${secs}s from $(find "$corpus" -type f | wc -l) seeds"
		if "$exe" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
			-artifact_prefix="$artifacts/$name-" "$corpus" >"$log" 2>&1; then
			grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed 's/^/   /' || true
			echo "   corpus grew to $(find "$corpus" -type f | wc -l) inputs"
		else
			echo "   FAILED (exit status $?); last lines of the log:"
			tail -n 40 "$log" | sed 's/^/   | /'
			echo "   reproducer: $(ls -t "$artifacts/$name-"* 2>/dev/null | head -n 1)"
			touch "$work/$name.failed"
		fi
	} >"$out"
	cat "$out"
}

running=0
for exe in "${fuzzers[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$exe" &
	running=$((running + 1))
done
wait

failed=()
for exe in "${fuzzers[@]}"; do
	name=$(basename "$exe")
	if [ -e "$work/${name#fuzz_}.failed" ]; then
		failed+=("$name")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz/run.sh: failures: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz/run.sh: ${#fuzzers[@]} target(s), ${secs}s each, no findings"
