#!/usr/bin/env bash
# Static analysis of the library (src/*.c) with clang-tidy, on the compile commands of the
# CMake build (BUILD/compile_commands.json): the clang static analyzer's path-sensitive
# checks (null and dangling pointers, uninitialised reads, out-of-bounds, dead stores, ...)
# and clang-tidy's bugprone-* checks. Any finding fails.
#
#   scripts/analyze.sh [BUILD]        (make analyze)
#
# Checks left out, each for a false positive it gives on this code:
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."

checks=(
	'-*'
	'clang-analyzer-*'
	'bugprone-*'
	# Advises C11 Annex K (memcpy_s, ...), which neither newlib nor glibc provide.
	'-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling'
	# Style: any two adjacent parameters of one type (every (off, len) pair).
	'-bugprone-easily-swappable-parameters'
	# smp.c's table macros take struct types and member names, which cannot be parenthesised.
	'-bugprone-macro-parentheses'
	# Explicit narrowing casts (e.g. a letter made lower case) are deliberate.
	'-bugprone-narrowing-conversions'
)

tidy=$(command -v clang-tidy || ls /usr/bin/clang-tidy-* 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$tidy" ]; then
	echo "analyze: clang-tidy not found (scripts/bootstrap.sh installs it)" >&2
	exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
	echo "analyze: $build/compile_commands.json missing: configure the build first (make build)" >&2
	exit 1
fi

files=(src/*.c)
list=$(IFS=,; echo "${checks[*]}")
echo "analyze: $("$tidy" --version | grep -m1 -o 'LLVM version [0-9.]*'), ${#files[@]} files in src/"
# Two files at a time; clang-tidy prints findings on stdout, its counts on stderr.
if ! printf '%s\n' "${files[@]}" |
	xargs -P 2 -n 1 "$tidy" -p "$build" --quiet --checks="$list" --warnings-as-errors='*' \
		2> >(grep -v -E '^[0-9]+ (warning|error)s? (generated|treated as errors)|^Error while processing' >&2)
then
	echo "analyze: FAILED (findings above)" >&2
	exit 1
fi
echo "analyze: clean"
