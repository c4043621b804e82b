#!/usr/bin/env bash
# The Debian package, as an admin gets it: dpkg-buildpackage builds it from a
# copy of the source tree, lintian finds no error in it, and a guest with
# systemd installs it with apt, uses it and purges it
# (tests/scenarios/deb-001-install.sh).
# Usage: deb-test.sh SOURCE_DIR WORK_DIR [run-in-guest arguments]
set -euo pipefail
src=$(realpath "$1") work=$(realpath -m "$2")
shift 2
here=$(cd "$(dirname "$0")" && pwd)
for tool in dpkg-buildpackage dh lintian; do
	command -v $tool >/dev/null ||
		{ echo "FAIL: $tool is not installed (tools/install-deps.sh installs it)"; exit 1; }
done
rm -rf "$work"
mkdir -p "$work/vduse-tools"
# The tree as a clone has it: no build directories, no .git.
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./obj-\* -cf - . |
	tar -C "$work/vduse-tools" -xf -
echo "deb: dpkg-buildpackage -us -uc -b in $work/vduse-tools"
start=$SECONDS
# What is tested is the packaging: no optimisation, no debug symbols
# package, to keep the second compile short (a real build leaves them on).
export DEB_BUILD_OPTIONS="noopt noautodbgsym nocheck"
if ! (cd "$work/vduse-tools" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log"
	echo "FAIL: dpkg-buildpackage failed (log: $work/build.log)"
	exit 1
fi
debs=("$work"/vduse-tools_*_*.deb)
[ -f "${debs[0]}" ] || { echo "FAIL: dpkg-buildpackage made no vduse-tools_*.deb"; exit 1; }
echo "ok: built $(basename "${debs[0]}") in $((SECONDS - start)) s"
# Its errors fail the test (as root it also says root is not recommended).
lintian_out=$(lintian --fail-on error "${debs[0]}" 2>&1) ||
	{ echo "$lintian_out"; echo "FAIL: lintian reports errors"; exit 1; }
lintian_out=$(grep -v 'running with root privileges' <<<"$lintian_out" || true)
echo "ok: lintian reports no error${lintian_out:+ (other tags below)}"
[ -z "$lintian_out" ] || echo "$lintian_out"
exec "$here/run-in-guest" --mode systemd --env "VTEST_DEB=${debs[0]}" "$@" \
	"$here/../scenarios/deb-001-install.sh"
