#!/bin/bash
# Crash recovery without systemd: a vdused killed between taking a request and
# completing it is replaced by `vdusectl recover`, which resubmits exactly
# that request; 6 kill -9 + recover during fio (VTEST_KILLS; 20 or more for
# the long form by hand: --env VTEST_KILLS=20) leave fio with zero errors;
# list and vdpa agree after a kill; del cleans up everything, the log too.
source "$VTEST_LIB"
name=rec0
pid_of() { device_field $name pid; }

# The exact window: a debug hook kills vdused right after it takes a request.
out=$(VDUSED_DEBUG_HOOKS=1 "$VDUSECTL" add -t null --size 256M --queues 2 --name $name)
node=${out#* }
[ -e /run/vduse/$name.inflight ] || fail "no in-flight log /run/vduse/$name.inflight"
pid=$(pid_of)
kill -USR1 "$pid"
dd if="$node" of=/dev/null bs=4k count=1 skip=77 iflag=direct 2>"$TMPDIR/dd.err" &
dd_pid=$!
wait_for 10 "vdused $pid to die" gone "$pid"
sleep 1
kill -0 $dd_pid 2>/dev/null || fail "dd finished while no vdused served the device"
pass "the read waits while vdused is dead"
expect_eq "state after the kill" daemon-dead "$(device_field $name state)"
expect_eq "vdpa still has $name after the kill" block "$(vdpa -jp dev show $name | jq -r ".dev.$name.type")"
expect_eq "node after the kill" "$node" "$(device_field $name node)"
t0=$(date +%s%N)
"$VDUSECTL" recover $name >/dev/null
wait $dd_pid || fail "dd failed after recover: $(cat "$TMPDIR/dd.err")"
t1=$(date +%s%N)
pass "the read completed after recover, $(((t1 - t0) / 1000000)) ms after recover started"
log=/run/vduse/$name.log
expect_eq "requests resubmitted by the new vdused" 1 "$(grep -c 'resubmitting the request at head' $log)"
expect_eq "state after recover" running "$(device_field $name state)"
expect_contains "recover of a running device" "nothing to recover" \
	"$("$VDUSECTL" recover $name 2>&1 || true)"

# Kills under load: fio sees no error.
fio_start load --name=load --filename="$node" --rw=randrw --bs=4k --ioengine=io_uring --iodepth=32 \
	--direct=1 --numjobs=2 --time_based --runtime=300
kills=0
total_ms=0
for i in $(seq 1 "${VTEST_KILLS:-6}"); do
	sleep 2
	kill -0 $fio_pid 2>/dev/null || fail "fio ended early (kill $i): $(cat "$TMPDIR/load.json")"
	pid=$(pid_of)
	[ "$pid" != null ] || fail "no vdused before kill $i"
	kill_dead "$pid" vdused
	t0=$(date +%s%N)
	"$VDUSECTL" recover $name >/dev/null
	t1=$(date +%s%N)
	total_ms=$((total_ms + (t1 - t0) / 1000000))
	kills=$((kills + 1))
done
sleep 2
fio_stop load "after $kills kills"
pass "$kills kill -9 + recover survived, $(($(fio_total read.total_ios) + $(fio_total write.total_ios))) I/Os, mean recover $((total_ms / kills)) ms"
expect_quiet_kernel

# A corrupt in-flight log is reported, never served from.
pid=$(pid_of)
kill_dead "$pid" vdused
truncate -s 100 /run/vduse/$name.inflight
expect_status "recover with a corrupt in-flight log" 1 "in-flight log /run/vduse/$name.inflight is corrupt" \
	"$VDUSECTL" recover $name
expect_eq "state with a corrupt log" daemon-dead "$(device_field $name state)"

"$VDUSECTL" del $name
[ ! -e /run/vduse/$name.inflight ] || fail "del left the in-flight log"
expect_clean
