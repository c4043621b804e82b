#!/usr/bin/env bash
# Every guest scenario in tests/scenarios/ is a meson test (tests/vm/meson.build
# lists them with their guest mode and timeout), and every listed one exists:
# a scenario nobody runs passes silently.
# Usage: scenario-list.sh SRCDIR
set -uo pipefail
src=$1
on_disk=$(cd "$src/tests/scenarios" && ls -- *.sh | sed 's/\.sh$//' | sort)
# Listed in meson, or run by a harness self-test (harness-002 must fail).
in_meson=$({
	grep -oE "^\s*\['[a-z0-9-]+'," "$src/tests/vm/meson.build" | grep -oE "[a-z0-9-]+"
	grep -ohE "scenarios/[a-z0-9-]+\.sh" "$src"/tests/vm/*.sh | sed 's|scenarios/||; s|\.sh$||'
} | sort -u)
[ -n "$on_disk" ] || { echo "FAIL: no scenario in $src/tests/scenarios"; exit 1; }
rc=0
missing=$(comm -23 <(echo "$on_disk") <(echo "$in_meson"))
unknown=$(comm -13 <(echo "$on_disk") <(echo "$in_meson"))
[ -z "$missing" ] || { echo "FAIL: not run by meson (add to tests/vm/meson.build): $missing"; rc=1; }
[ -z "$unknown" ] || { echo "FAIL: listed in tests/vm/meson.build but not in tests/scenarios: $unknown"; rc=1; }
[ $rc = 0 ] && echo "ok: the $(wc -l <<<"$on_disk") scenarios of tests/scenarios are all meson tests"
exit $rc
