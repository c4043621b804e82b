#!/bin/bash
# A vhost-user target that dies is not an I/O error: kill -9 qemu-storage-
# daemon during fio verify and start it again on the same socket, twice
# (VTEST_KILLS; the long form by hand, e.g. --env VTEST_KILLS=20): fio
# finishes with 0 errors, show says "reconnecting since" while it is down,
# and the requests it had are sent again. kill -9 vdused during fio verify and
# `vdusectl recover`, 2 times (VTEST_RECOVERS): 0 errors. A target that is down when vdused
# starts (restore at boot) is waited for.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
blockdev="driver=file,node-name=disk,filename=$img/disk.img"
vhu_start disk 2 "$blockdev"

read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --queues 2 --name vr0)"

kills=${VTEST_KILLS:-2}
recovers=${VTEST_RECOVERS:-2}
fio_verify_during "$node" target-crashes $((kills * 7 + 5))
sleep 3
for round in $(seq 1 "$kills"); do
	vhu_kill disk
	wait_for 10 "show to say reconnecting" field_starts vr0 connection "reconnecting since"
	sleep 1
	vhu_start disk 2 "$blockdev"
	wait_for 15 "show to say connected" field_is vr0 connection connected
	pass "target crash $round: reconnecting, then connected"
	sleep 2
done
fio_verified target-crashes
expect_eq "requests sent again after the crashes" 1 "$(grep -c 'sent to the target again' /run/vduse/vr0.log | awk '{print ($1 >= 1)}')"

# vdused itself killed under fio verify: recover takes over and reconnects.
fio_verify_during "$node" daemon-crashes $((recovers * 8 + 6))
sleep 3
for round in $(seq 1 "$recovers"); do
	pid=$(device_field vr0 pid)
	kill_dead "$pid" vdused
	"$VDUSECTL" recover vr0 >/dev/null || fail "recover failed after kill $round"
	wait_for 15 "show to say connected" field_is vr0 connection connected
	pass "vdused crash $round: recovered, target connected"
	sleep 3
done
fio_verified daemon-crashes
fio_check "read back all 128 MiB after the crashes" --name=check --filename="$node" --rw=read --size=128M \
	--ioengine=io_uring --iodepth=16 --direct=1 --bs=64k
"$VDUSECTL" del vr0
expect_clean vr0

# The target down when vdused starts: requests wait for it.
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --name late0)"
vhu_kill disk
pid=$(device_field late0 pid)
kill_dead "$pid" vdused
dd if="$node" of=/dev/null bs=4k count=1 skip=99 iflag=direct 2>"$TMPDIR/dd.err" &
dd_pid=$!
"$VDUSECTL" recover late0 >/dev/null || fail "recover with the target down failed"
sleep 2
kill -0 "$dd_pid" 2>/dev/null || fail "the read finished while the target was down"
expect_contains "show while the target is down" "connecting" "$(device_field late0 connection)"
vhu_start disk 1 "$blockdev"
wait "$dd_pid" || fail "the read failed once the target came: $(cat "$TMPDIR/dd.err")"
pass "the read waited for the target and completed"
"$VDUSECTL" del late0
expect_clean late0
