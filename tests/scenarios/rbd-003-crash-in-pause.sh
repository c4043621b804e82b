#!/bin/bash
# Two faults at once on Ceph: the OSDs are paused (`ceph osd pause`) and
# vdused is killed (-9) while fio verify has requests waiting in librbd.
# `recover` during the pause starts a new vdused, which breaks the dead
# one's exclusive lock and takes over the requests it had taken; it is
# ready once the cluster answers again (opening the image reads it), and
# fio finishes with 0 errors; everything reads back.
source "$VTEST_LIB"
ceph_up
# vdused turns librbd's cache off: every write waits for the cluster.
read -r _ node <<<"$("$VDUSECTL" add -t rbd --image rbd/img0 --ceph-conf "$conf" \
	--name rc0)"
fio_start pause --name=pause --filename="$node" --rw=randwrite --bsrange=4k-64k --size=64M \
	--ioengine=io_uring --iodepth=8 --direct=1 --numjobs=2 --offset_increment=64M \
	--verify=crc32c --verify_backlog=16 --verify_fatal=1 --time_based --runtime=40
sleep 4
ceph --conf "$conf" osd pause >/dev/null 2>&1 || fail "ceph osd pause"
sleep 2
pid=$(device_field rc0 pid)
kill_dead "$pid" vdused
(sleep 10 && ceph --conf "$conf" osd unpause >/dev/null 2>&1) &
unpause=$!
t0=$SECONDS
if ! "$VDUSECTL" recover rc0 >"$TMPDIR/recover.out" 2>&1; then
	ceph --conf "$conf" osd unpause >/dev/null 2>&1
	fail "recover during the pause: $(cat "$TMPDIR/recover.out"); $(tail -5 /run/vduse/rc0.log)"
fi
pass "recover during the pause took $((SECONDS - t0)) s (the cluster came back after 10 s)"
wait "$unpause" || fail "ceph osd unpause"
new_pid=$(device_field rc0 pid)
[ "$new_pid" != "$pid" ] && [ "$new_pid" != null ] || fail "no new vdused after recover ($new_pid)"
grep -q 'to resubmit' /run/vduse/rc0.log && pass "vdused: $(grep 'to resubmit' /run/vduse/rc0.log | tail -1 | sed 's/.*queue/queue/')"
fio_finish pause "across the pause and the crash" 90
fio_check "read back 128 MiB after the pause and the crash" --name=check --filename="$node" \
	--rw=read --size=128M --ioengine=io_uring --iodepth=16 --direct=1 --bs=64k
"$VDUSECTL" del rc0
expect_clean
bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" down >/dev/null 2>&1 || true
