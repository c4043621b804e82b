#!/usr/bin/env bash
# `vdusectl check` on a machine without /dev/vduse/control (the build host):
# exit status 1 and a hint that says how to get it. On a host that has
# VDUSE, the exit status must agree with the JSON instead.
# Usage: check-without-vduse.sh VDUSECTL
set -uo pipefail
vdusectl=$1
out=$("$vdusectl" check 2>&1)
rc=$?
json=$("$vdusectl" check --json)
echo "$out"
if [ -e /dev/vduse/control ]; then
	failed=$(jq '[.[] | select(.ok | not)] | length' <<<"$json")
	want=$((failed > 0))
	[ "$rc" = "$want" ] || { echo "FAIL: exit $rc with $failed failed checks"; exit 1; }
	echo "ok: this host has VDUSE; exit $rc matches $failed failed checks"
	exit 0
fi
[ "$rc" = 1 ] || { echo "FAIL: check exited $rc without /dev/vduse/control, expected 1"; exit 1; }
line=$(grep '^/dev/vduse/control' <<<"$out")
case $line in
*FAIL*missing*modprobe\ vduse*) echo "ok: '$line'" ;;
*) echo "FAIL: no clear hint for /dev/vduse/control in: $line"; exit 1 ;;
esac
hint=$(jq -r '.[] | select(.check == "/dev/vduse/control") | .hint' <<<"$json")
case $hint in
*modprobe\ vduse*) echo "ok: JSON hint '$hint'" ;;
*) echo "FAIL: JSON hint '$hint'"; exit 1 ;;
esac
