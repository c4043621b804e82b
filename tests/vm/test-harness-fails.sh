#!/usr/bin/env bash
# A scenario that exits 1 inside the guest must make the harness exit non-zero
# and print the guest log (the scenario's own output included).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$("$here/run-in-guest" --timeout 60 "$here/../scenarios/harness-002-fails.sh" 2>&1)
rc=$?
echo "$out"
if [ "$rc" -eq 0 ]; then
	echo "FAIL: run-in-guest exited 0 for a failing scenario"
	exit 1
fi
for needle in "vtest-marker: this scenario exits 1 on purpose" "guest console log" "failed with exit status 1"; do
	case $out in
	*"$needle"*) echo "ok: output shows '$needle'" ;;
	*) echo "FAIL: output lacks '$needle'"; exit 1 ;;
	esac
done
echo "ok: run-in-guest exited $rc"
