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
# One root cause, one fix: every failed check names its cause, the text
# shows each cause once (FAIL, then its fix) and fits 80 columns.
causes=$(jq -r '[.[] | select(.ok | not) | .cause] | unique | length' <<<"$json")
headlines=$(grep -c '^FAIL ' <<<"$out")
[ "$causes" = "$headlines" ] || { echo "FAIL: $causes causes in JSON, $headlines FAIL lines in the text"; exit 1; }
[ "$(grep -c '^      fix: ' <<<"$out")" = "$headlines" ] || { echo "FAIL: not one fix per cause"; exit 1; }
long=$(awk 'length($0) > 80' <<<"$out")
[ -z "$long" ] || { echo "FAIL: lines wider than 80 columns: $long"; exit 1; }
echo "ok: $causes root causes, each shown once with its fix, in 80 columns"
# add on this kernel gives no advice that check knows to be wrong.
if [ "$(id -u)" = 0 ] && [ "$module" = "not in the kernel" ]; then
	tmp=$(mktemp -d)
	err=$("$vdusectl" --state-dir "$tmp" --no-systemd add -t null --size 1G 2>&1)
	rm -rf "$tmp"
	case $err in
	*modprobe*) echo "FAIL: add on a kernel without VDUSE says to load it: $err"; exit 1 ;;
	*"vdusectl check"*) echo "ok: add defers to check: $err" ;;
	*) echo "FAIL: add on a kernel without VDUSE: $err"; exit 1 ;;
	esac
fi
