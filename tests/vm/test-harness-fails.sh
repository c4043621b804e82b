#!/usr/bin/env bash
# The harness reports failing scenarios, and at once:
# - a scenario that exits 1 inside the guest makes the harness exit non-zero
#   and print the guest log (the scenario's own output included);
# - a scenario killed by a signal while a process it started still holds its
#   output is reported as killed, well within its timeout (before, the guest
#   waited on that process until the host gave up on it).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# check NAME RUN-IN-GUEST-OUTPUT RC NEEDLE...
check() {
	local name=$1 out=$2 rc=$3
	shift 3
	echo "$out"
	if [ "$rc" -eq 0 ]; then
		echo "FAIL: run-in-guest exited 0 for $name"
		exit 1
	fi
	for needle in "$@"; do
		case $out in
		*"$needle"*) echo "ok: output shows '$needle'" ;;
		*) echo "FAIL: output of $name lacks '$needle'"; exit 1 ;;
		esac
	done
	echo "ok: run-in-guest exited $rc for $name"
}

out=$("$here/run-in-guest" --timeout 60 "$here/../scenarios/harness-002-fails.sh" 2>&1)
check harness-002-fails "$out" $? "vtest-marker: this scenario exits 1 on purpose" \
	"guest console log" "failed with exit status 1"

start=$SECONDS
out=$("$here/run-in-guest" --timeout 60 "$here/../scenarios/harness-003-dies.sh" 2>&1)
check harness-003-dies "$out" $? "vtest-marker: this scenario is killed on purpose" \
	"the scenario was killed by signal 9" "failed with exit status 137"
took=$((SECONDS - start))
if [ "$took" -ge 60 ]; then
	echo "FAIL: harness-003-dies took $took s to report, its timeout is 60 s"
	exit 1
fi
echo "ok: harness-003-dies reported in $took s (its timeout: 60 s)"
