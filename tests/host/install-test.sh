#!/usr/bin/env bash
# meson install into a DESTDIR puts exactly the expected files in place
# (binaries, units, udev rules, modules-load and modprobe files, completions,
# man pages), each where pkg-config or the meson options say.
# Usage: install-test.sh BUILDDIR EXPECTED_LIST
set -uo pipefail
build=$1 expected=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest.log" 2>&1 ||
	{ cat "$dest.log"; rm -f "$dest.log"; echo "FAIL: meson install failed"; exit 1; }
rm -f "$dest.log"
got=$(cd "$dest" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort)
if ! diff -u "$expected" <(echo "$got"); then
	echo "FAIL: installed files differ from $(basename "$expected") (- expected, + installed)"
	exit 1
fi
echo "ok: $(wc -l <<<"$got") files installed as expected"
# The installed units run the installed binaries.
sbin=$(grep '/vdused$' <<<"$got")
grep -q "^ExecStart=$sbin %i$" "$dest"/*/systemd/system/vdused@.service "$dest"/lib/systemd/system/vdused@.service 2>/dev/null ||
	{ echo "FAIL: vdused@.service does not run $sbin"; exit 1; }
echo "ok: vdused@.service runs $sbin"
