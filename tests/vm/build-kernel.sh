#!/usr/bin/env bash
# Builds the test kernel (Linux 6.12 from Debian's linux-source-6.12, with
# kernel.config on top of allnoconfig, everything built in) into a cache
# outside the source tree, and prints the bzImage's path on stdout. Progress
# goes to stderr: the phase, a count (and percentage) of build steps and the
# elapsed time, on one line updated in place on a terminal, as a line every
# 20 s otherwise; the tools' own output goes to a log in the cache.
# Usage: build-kernel.sh [CACHEDIR]   (10 to 20 minutes on 2 cores)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/kernel.config
key=$(sha256sum "$fragment" | cut -c1-16)
top=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/vduse-tools}
cache=$top/kernel-6.12-$key
cached() { [ -s "$cache/bzImage" ] && echo "$cache/bzImage"; }
cached && exit 0
# The vm suite starts two guests at a time: one builds, the other waits.
mkdir -p "$top"
exec 9>"$top/.build.lock"
flock 9
cached && exit 0
# Build steps ("CC foo.o" lines) of the last build of this configuration,
# for the percentage; measured, not guessed (see the end of this script).
expected=$(cat "$here/kernel-build-steps" 2>/dev/null || echo 0)
start=$SECONDS
mkdir -p "$cache"
log=$cache/build.log
: >"$log"

elapsed() { printf '%d:%02d' $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)); }
terminal=false
[ -t 2 ] && terminal=true
last_line=0
# status TEXT [force]: the progress line, in place on a terminal, else at most every 20 s.
status() {
	if $terminal; then
		printf '\r\033[Kbuild-kernel: %s, %s elapsed' "$1" "$(elapsed)" >&2
	elif [ "${2:-}" = force ] || [ $((SECONDS - last_line)) -ge 20 ]; then
		echo "build-kernel: $1, $(elapsed) elapsed" >&2
		last_line=$SECONDS
	fi
}
done_line() { $terminal && echo >&2 || true; }
fail() {
	done_line
	echo "build-kernel: $1 failed after $(elapsed); the last lines of $log:" >&2
	tail -n 30 "$log" >&2
	exit 1
}

echo "build-kernel: building the test guest's Linux 6.12 into $cache" >&2
echo "build-kernel: later runs reuse it; 'rm -rf $top' forces a rebuild, VDUSE_TEST_KERNEL=path/to/bzImage skips it" >&2
if [ ! -f /usr/src/linux-source-6.12.tar.xz ]; then
	status "1/4 fetching the sources (apt-get install linux-source-6.12 and the build tools)" force
	sudo_cmd=()
	[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
	{
		"${sudo_cmd[@]}" apt-get update -qq
		DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q \
			--no-install-recommends linux-source-6.12 flex bison bc libelf-dev libssl-dev \
			xz-utils make gcc
	} >>"$log" 2>&1 || fail "installing linux-source-6.12"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status "2/4 unpacking the sources" force
tar -C "$work" -xf /usr/src/linux-source-6.12.tar.xz >>"$log" 2>&1 || fail "unpacking"
cd "$work"/linux-source-6.12
status "3/4 configuring" force
# kconfig's warnings (options the fragment sets that allnoconfig lacks) go to the log.
{
	make allnoconfig &&
		scripts/kconfig/merge_config.sh -m .config "$fragment" &&
		make olddefconfig
} >>"$log" 2>&1 || fail "configuring"

status "4/4 compiling" force
steps=0
while IFS= read -r line; do
	echo "$line" >>"$log"
	case $line in
	"  "[A-Z]*) steps=$((steps + 1)) ;;
	*) continue ;;
	esac
	if [ "$expected" -gt 0 ]; then
		pct=$((steps * 100 / expected))
		[ $pct -le 99 ] || pct=99
		status "4/4 compiling: step $steps of about $expected ($pct%)"
	else
		status "4/4 compiling: step $steps"
	fi
done < <(make -j"$(nproc)" bzImage 2>>"$log" || echo "BUILD-FAILED")
grep -q '^BUILD-FAILED$' "$log" && fail "compiling"
[ -s arch/x86/boot/bzImage ] || fail "compiling (no bzImage)"
cp .config "$cache/config"
cp arch/x86/boot/bzImage "$cache/bzImage.tmp"
mv "$cache/bzImage.tmp" "$cache/bzImage"
done_line
echo "build-kernel: done in $(elapsed): $steps build steps (tests/vm/kernel-build-steps says $expected)" >&2
echo "$cache/bzImage"
