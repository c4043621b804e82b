#!/bin/bash
# vdusectl stats: the counters match what fio did (request counts and bytes
# within 1%), errors and in-flight are zero at rest, every queue is counted,
# a request taken over from a killed daemon counts as resubmitted, and a
# device without a daemon says so; --watch prints each interval's rates.
source "$VTEST_LIB"
img=$(scratch_fs 1G)

read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/s0.img" --size 256M --queues 2 --direct --name s0)"
udevadm settle 2>/dev/null || sleep 1
stats_match_fio s0 "$node"
"$VDUSECTL" stats s0 | grep -qE '^s0 +all ' || fail "the table has no 'all' row: $("$VDUSECTL" stats s0)"
pass "table: $("$VDUSECTL" stats s0 | head -1)"

# --watch: the totals, then each interval's rates with its time, as iostat
# (it repeated the totals since the start); a deleted device ends it with an
# error (it printed an error every second for ever).
fio --name=busy --filename="$node" --rw=randread --bs=4k --size=64M --ioengine=io_uring \
	--iodepth=8 --direct=1 --time_based --runtime=6 >/dev/null 2>&1 &
busy=$!
sleep 1
timeout 4 "$VDUSECTL" stats s0 --watch 1 --json=short >"$TMPDIR/watch.json" || true
wait "$busy"
lines=$(tail -n +2 "$TMPDIR/watch.json")
[ -n "$lines" ] || fail "stats --watch printed no interval: $(cat "$TMPDIR/watch.json")"
reads=$(jq -s 'map(.devices[0].reads_per_s) | max' <<<"$lines")
awk -v r="$reads" 'BEGIN { exit !(r > 100) }' || fail "stats --watch: $reads reads/s under fio"
jq -e -s 'all(.time | test("^[0-9-]+T[0-9:]+Z$"))' <<<"$lines" >/dev/null ||
	fail "stats --watch: no time on each interval: $lines"
pass "stats --watch: up to $reads reads/s in an interval under fio"
expect_schema "stats --json, the first of --watch" stats "$(head -1 "$TMPDIR/watch.json")" \
	"stats --watch --json lines" stats_watch_line "$lines"
"$VDUSECTL" stats s0 --watch 1 >"$TMPDIR/watch.txt" 2>"$TMPDIR/watch.err" &
watcher=$!
sleep 2
"$VDUSECTL" del s0
rc=0
timeout 10 tail --pid="$watcher" -f /dev/null || fail "stats --watch went on after the device was deleted"
wait "$watcher" || rc=$?
expect_eq "stats --watch exit status once the device is gone" 1 "$rc"
expect_contains "stats --watch says why it stopped" "s0: gone" "$(cat "$TMPDIR/watch.err")"
grep -q 'LAT-MEAN(us)' "$TMPDIR/watch.txt" || fail "the interval table has no latency unit: $(cat "$TMPDIR/watch.txt")"

# A request taken over from a killed daemon counts as resubmitted.
out=$(VDUSED_DEBUG_HOOKS=1 "$VDUSECTL" add -t null --size 64M --name s1)
node=${out#* }
pid=$(device_field s1 pid)
kill -USR1 "$pid"
dd if="$node" of=/dev/null bs=4k count=1 iflag=direct status=none 2>"$TMPDIR/dd.err" &
dd_pid=$!
wait_for 10 "vdused ($pid) to die of its debug hook" gone "$pid"
# A dead daemon's last counters stay readable (a post-mortem).
"$VDUSECTL" stats s1 >/dev/null || fail "stats of a device whose daemon died failed"
"$VDUSECTL" recover s1 >/dev/null
wait "$dd_pid" || fail "dd failed across the recovery: $(cat "$TMPDIR/dd.err")"
expect_eq "resubmitted after recover" 1 "$(stats_total s1 resubmitted)"
"$VDUSECTL" del s1
expect_status "stats of no device" 1 "device 'nope' does not exist" "$VDUSECTL" stats nope
expect_clean
