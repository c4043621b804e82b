#!/usr/bin/env bash
# docs/json/vdusectl.schema.json against what it describes: a valid JSON
# Schema (Debian's python3-jsonschema checks it), its device object has
# exactly the fields vdusectl(8) documents, check --json on this host
# matches it, and it refuses the shapes issue 28 found (a timeout that is a
# number or a string, a queue number as a string, an unknown key). The guest
# scenarios validate the real outputs of every verb (expect_schema).
# Usage: json-schema-test.sh VDUSECTL SOURCE-ROOT
set -uo pipefail
vdusectl=$1
root=$2
check_json() { /usr/bin/python3 "$root/tests/lib/check-json" "$@"; }
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

json=$("$vdusectl" check --json) # exit 1 where the host lacks VDUSE
out=$(check_json check <<<"$json" 2>&1) || bad "check --json: $out"
echo "$out"

documented=$(awk '/^# /{f = ($0 == "# DEVICE FIELDS"); next} f && /^\*[a-z_]+\*$/{gsub(/\*/, ""); print}' \
	"$root/man/vdusectl.8.scd" | sort)
in_schema=$(jq -r '."$defs".device.properties | keys[]' "$root/docs/json/vdusectl.schema.json" | sort)
[ "$documented" = "$in_schema" ] || bad "device fields: vdusectl(8) and the schema differ: $(diff <(echo "$documented") <(echo "$in_schema") | grep '^[<>]' | tr '\n' ' ')"

# A device as show prints it, made from the schema's own field list, then
# broken one way at a time: each must be refused.
good=$(jq -c '[."$defs".device.properties | to_entries[] | {key: .key, value:
	(if .key == "state" then "running" elif .key == "driver" then "virtio_vdpa"
	 elif .key == "backend" then "nbd" elif .key == "block_size" then 512
	 elif .key == "mode" or .key == "bounce_memory" or .key == "rings" then null
	 elif .key == "name" then "d0" elif .key == "node" then "/dev/vda"
	 elif (.value.type | tostring | test("integer")) then 1
	 elif (.value.type | tostring | test("boolean")) then false
	 else "x" end)}] | from_entries | [.]' "$root/docs/json/vdusectl.schema.json")
out=$(check_json show <<<"$good" 2>&1) || bad "a well-formed device is refused: $out"
for broken in '.[0].reconnect_timeout = "forever"' '.[0].io_timeout = "30"' '.[0].drect = true' \
	'.[0].pid = "x"' 'del(.[0].state)' '.[0].state = "fine"' '.[0]'; do
	if out=$(jq -c "$broken" <<<"$good" | check_json show 2>&1); then
		bad "the schema takes a device with $broken"
	else
		echo "ok: refused ($broken): $out"
	fi
done
stats='[{"name":"d0","since":"2026-01-01T00:00:00Z","total":{},"queues":[]}]'
out=$(check_json stats <<<"$stats" 2>&1) && bad "the schema takes empty stats" || echo "ok: refused empty stats: $out"
# -j=MODE is --json=MODE (it was an unknown option '-=short'); --json never
# takes the next word as its mode.
empty=$(mktemp -d)
out=$("$vdusectl" --state-dir "$empty" list -j=short 2>&1) && [ "$out" = "[]" ] ||
	bad "list -j=short: $out"
out=$("$vdusectl" --state-dir "$empty" show --json short 2>&1) && bad "show --json short took 'short' as the mode: $out"
grep -q "device 'short' does not exist" <<<"$out" || bad "show --json short: $out"
rmdir "$empty"
[ "$fails" = 0 ] || exit 1
echo "ok: the schema is valid, matches vdusectl(8), and refuses malformed outputs"
