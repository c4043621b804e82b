#!/usr/bin/env bash
# Every long option that --help prints is in the man page, and every long
# option the man page names exists in --help.
# Usage: man-matches-help.sh MAN_SCD PROGRAM [SUBCOMMAND...]
set -uo pipefail
man=$1 program=$2
shift 2
help=$("$program" --help)
for verb in "$@"; do
	help+=$'\n'$("$program" "$verb" --help)
done
from_help=$(grep -oE -- '--[a-z][a-z-]+' <<<"$help" | sort -u)
from_man=$(grep -oE -- '--[a-z][a-z-]+' "$man" | sort -u)
missing=$(comm -23 <(echo "$from_help") <(echo "$from_man"))
unknown=$(comm -13 <(echo "$from_help") <(echo "$from_man"))
rc=0
[ -z "$missing" ] || { echo "FAIL: in --help but not in $(basename "$man"): $missing"; rc=1; }
[ -z "$unknown" ] || { echo "FAIL: in $(basename "$man") but not in --help: $unknown"; rc=1; }
[ $rc = 0 ] && echo "ok: $(wc -w <<<"$from_help") options agree between --help and $(basename "$man")"
exit $rc
