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
# The hint follows the root cause: a kernel without VDUSE needs another
# kernel (no module to load); a loadable module needs loading.
module=$(jq -r '.[] | select(.check == "module vduse") | .found' <<<"$json")
case $module in
"not in the kernel") want="CONFIG_VDPA_USER" ;;
*) want="modprobe vduse" ;;
esac
hint=$(jq -r '.[] | select(.check == "/dev/vduse/control") | .hint' <<<"$json")
case $hint in
*"$want"*) echo "ok: /dev/vduse/control: hint '$hint'" ;;
*) echo "FAIL: /dev/vduse/control: the hint '$hint' lacks '$want' (module vduse: $module)"; exit 1 ;;
esac
if [ "$module" = "not in the kernel" ]; then
	again=$("$vdusectl" check --load --json)
	if jq -r '.[].hint // empty' <<<"$again" | grep -q -- '--load\|modprobe'; then
		echo "FAIL: check --load on a kernel without VDUSE still recommends loading:"
		jq -r '.[].hint // empty' <<<"$again"
		exit 1
	fi
	echo "ok: check --load on a kernel without VDUSE recommends no module load"
fi
