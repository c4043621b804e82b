#!/usr/bin/env bash
# systemd-analyze's exposure score of vdused@.service stays at 2.0 or lower.
# Usage: security-score.sh UNIT_FILE
set -uo pipefail
out=$(systemd-analyze security --offline=true --no-pager "$1" 2>&1)
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$score" ] || { echo "$out"; echo "FAIL: no exposure level in the output"; exit 1; }
echo "exposure level of $(basename "$1"): $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "$out"; echo "FAIL: above 2.0"; exit 1; }
echo "ok: $score <= 2.0"
