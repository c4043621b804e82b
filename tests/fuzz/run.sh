#!/bin/bash
# Usage: tests/fuzz/run.sh SOURCE-DIR BUILD-DIR [SECONDS-PER-TARGET|--build-only]
# Builds vduse-tools with clang, AddressSanitizer and UndefinedBehaviorSanitizer
# in BUILD-DIR, runs the unit suite there, then runs every libFuzzer target in
# tests/fuzz for SECONDS (default 60) starting from its checked-in corpus, as
# many at once as there are CPUs. --build-only stops after the build
# (tools/test-all builds it so beside the guest tests).
# Any sanitizer report, unit failure or fuzzer crash fails the run; a crash
# leaves its input in BUILD-DIR/fuzz-artifacts. For a long soak by hand:
#   tests/fuzz/run.sh . /tmp/fuzz 3600
set -euo pipefail
src=$(cd "${1:?source dir}" && pwd)
build=${2:?build dir}
seconds=${3:-60}

if [ ! -f "$build/build.ninja" ]; then
	# Through ccache when it is installed (meson adds it only to a compiler
	# it finds itself, not to one named in CXX).
	wrap=$(command -v ccache || true)
	CXX="${wrap:+$wrap }clang++" CC="${wrap:+$wrap }clang" meson setup "$build" "$src" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dwerror=true -Dbuildtype=debugoptimized >/dev/null
fi
echo "== building with clang and sanitizers in $build"
# Only what runs here: the unit tests and the fuzz targets (and the libraries
# they link), not the daemons. The build file first, so that a test added
# since the last configure of an existing BUILD-DIR is listed.
ninja -C "$build" build.ninja >/dev/null
mapfile -t targets < <(ninja -C "$build" -t targets all | sed -n 's%^\(tests/\(unit\|fuzz\)/[^:. ]*\): .*%\1%p')
[ "${#targets[@]}" -gt 0 ] || { echo "FAIL: no unit or fuzz targets in $build" >&2; exit 1; }
ninja -C "$build" "${targets[@]}" >/dev/null
[ "$seconds" != --build-only ] || exit 0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
echo "== unit suite under AddressSanitizer and UndefinedBehaviorSanitizer"
meson test -C "$build" --suite unit --no-rebuild --print-errorlogs \
	$(cd "$build" && meson test --list --suite unit 2>/dev/null | sed -n 's/^vduse-tools:unit \/ \(.*_test\)$/\1/p')

mkdir -p "$build/fuzz-artifacts"
# fuzz NAME: runs one target for $seconds; its log is BUILD-DIR/NAME.log.
fuzz() {
	local name=$1 corpus=$build/fuzz-corpus/${1#fuzz_}
	mkdir -p "$corpus"
	# The checked-in seeds, and what earlier runs here found.
	cp -n "$src/tests/fuzz/corpus/${name#fuzz_}"/* "$corpus"/
	"$build/tests/fuzz/$name" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$build/fuzz-artifacts/$name-" "$corpus" 2>"$build/$name.log"
}
names=()
for target in "$src"/tests/fuzz/fuzz_*.cpp; do
	names+=("$(basename "$target" .cpp)")
done
parallel=$(nproc)
for ((i = 0; i < ${#names[@]}; i += parallel)); do
	batch=("${names[@]:i:parallel}")
	pids=()
	for name in "${batch[@]}"; do
		echo "== $name for ${seconds} s"
		fuzz "$name" &
		pids+=($!)
	done
	for j in "${!batch[@]}"; do
		name=${batch[$j]}
		if ! wait "${pids[$j]}"; then
			kill "${pids[@]}" 2>/dev/null || true
			tail -n 60 "$build/$name.log"
			echo "FAIL: $name crashed; the input is in $build/fuzz-artifacts"
			exit 1
		fi
		echo "$name: $(grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$build/$name.log" | tr '\n' ' ')"
	done
done
echo "ok: unit suite clean under ASan and UBSan, fuzz targets ran ${seconds} s each without a crash"
