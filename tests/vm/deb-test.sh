#!/usr/bin/env bash
# The Debian package, as an admin gets it: dpkg-buildpackage builds it from a
# copy of the source tree, lintian finds no error in it, and a guest with
# systemd installs it with apt, uses it and purges it
# (tests/scenarios/deb-001-install.sh).
# Usage: deb-test.sh [--build-only] SOURCE_DIR WORK_DIR [run-in-guest arguments]
#
# --build-only stops after lintian. tools/test-all runs it at idle priority
# beside the guests, so that the guest test, which comes last, finds the
# package built: the build is a second full compile (2 to 3 minutes on
# 2 cores). A package is used again only if it was built from a tree with
# the same files, names, sizes and times (WORK_DIR/tree.sha256); otherwise
# it is built again. A lock on WORK_DIR.lock keeps two runs from building
# into the same directory at once.
set -euo pipefail
build_only=0
if [ "${1:-}" = --build-only ]; then
	build_only=1
	shift
fi
src=$(realpath "$1") work=$(realpath -m "$2")
shift 2
here=$(cd "$(dirname "$0")" && pwd)
for tool in dpkg-buildpackage dh lintian flock; do
	command -v $tool >/dev/null ||
		{ echo "FAIL: $tool is not installed (tools/install-deps.sh installs it)"; exit 1; }
done

# source_tar: the tree as a clone has it: no build directories, no .git.
source_tar() {
	tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./obj-\* \
		--sort=name -cf - .
}

# build_package: dpkg-buildpackage and lintian, into an emptied WORK_DIR.
build_package() {
	local tree_sum=$1 start=$SECONDS debs lintian_out
	rm -rf "$work"
	mkdir -p "$work/vduse-tools"
	source_tar | tar -C "$work/vduse-tools" -xf -
	echo "deb: dpkg-buildpackage -us -uc -b in $work/vduse-tools"
	# What is tested is the packaging: no optimisation, no debug symbols
	# package, to keep the second compile short (a real build leaves them on).
	export DEB_BUILD_OPTIONS="noopt noautodbgsym nocheck"
	# debhelper gives the build a HOME of its own: ccache (which meson uses
	# when it is installed) is told where its cache is, and that paths under
	# the copy are the same in every copy.
	export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccache}
	export CCACHE_BASEDIR=$work/vduse-tools CCACHE_NOHASHDIR=true
	if ! (cd "$work/vduse-tools" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$work/build.log" 2>&1; then
		tail -n 40 "$work/build.log"
		echo "FAIL: dpkg-buildpackage failed (log: $work/build.log)"
		return 1
	fi
	debs=("$work"/vduse-tools_*_*.deb)
	[ -f "${debs[0]}" ] || { echo "FAIL: dpkg-buildpackage made no vduse-tools_*.deb"; return 1; }
	echo "ok: built $(basename "${debs[0]}") in $((SECONDS - start)) s"
	# Its errors fail the test (as root it also says root is not recommended).
	lintian_out=$(lintian --fail-on error "${debs[0]}" 2>&1) ||
		{ echo "$lintian_out"; echo "FAIL: lintian reports errors"; return 1; }
	lintian_out=$(grep -v 'running with root privileges' <<<"$lintian_out" || true)
	echo "ok: lintian reports no error${lintian_out:+ (other tags below)}"
	[ -z "$lintian_out" ] || echo "$lintian_out"
	# Written last: its presence says the package and the lintian check are
	# both good for this tree.
	echo "$tree_sum" >"$work/tree.sha256"
	echo "$lintian_out" >"$work/lintian.txt"
}

mkdir -p "$(dirname "$work")"
exec {lock}>"$work.lock"
flock "$lock"
tree_sum=$(source_tar | sha256sum | cut -d' ' -f1)
if [ -f "$work/tree.sha256" ] && [ "$(cat "$work/tree.sha256")" = "$tree_sum" ]; then
	debs=("$work"/vduse-tools_*_*.deb)
	echo "ok: $(basename "${debs[0]}") was built from this same tree (sha256 of its tar $tree_sum)" \
		"at $(date -r "$work/tree.sha256" '+%F %T'); lintian reported no error"
	lintian_out=$(cat "$work/lintian.txt")
	[ -z "$lintian_out" ] || echo "$lintian_out"
else
	build_package "$tree_sum"
	debs=("$work"/vduse-tools_*_*.deb)
fi
flock --unlock "$lock"
[ "$build_only" -eq 0 ] || exit 0
exec "$here/run-in-guest" --mode systemd --env "VTEST_DEB=${debs[0]}" "$@" \
	"$here/../scenarios/deb-001-install.sh"
