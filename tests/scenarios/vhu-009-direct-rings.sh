#!/bin/bash
# --rings direct: qemu-storage-daemon's vhost-user-blk export serves the
# driver's own virtqueues (vdused only turns its completions into
# interrupts). fio verify with 4 queues (and 2 below); the target maps the VDUSE
# domain; vdusectl stats counts what fio did (read from the rings); kill -9
# of the target under fio verify, twice (VTEST_KILLS; more by hand), and of
# vdused, 2 times (VTEST_RECOVERS), both at once, and vdused while the target drains throttled requests: 0 errors (the
# target's in-flight record, kept in vdused's state directory, sends again
# what the dead target held); a reset (bind to another driver and back) and
# a file system across it.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
blockdev="driver=file,node-name=disk,filename=$img/disk.img"

# 4 queues here; 2 below (VTEST_QUEUES="1 4" by hand for 1 as well).
for queues in ${VTEST_QUEUES:-4}; do
	vhu_start disk "$queues" "$blockdev"
	read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --rings direct --queues "$queues" --name vx0)"
	expect_eq "rings in show" direct "$(device_field vx0 rings)"
	wait_for 10 "connection established" field_is vx0 connection connected
	fio_verify "direct rings, $queues queue(s)" "$node" 4k-1M 48M
	qsd=$(cat /run/vhu/disk.pid)
	grep -q 'vduse-domain' "/proc/$qsd/maps" ||
		fail "qemu-storage-daemon does not map the VDUSE domain: $(tail -5 "/proc/$qsd/maps")"
	pass "the target maps the driver's memory (the VDUSE domain)"
	"$VDUSECTL" del vx0
	expect_clean vx0
	vhu_stop disk
done

vhu_start disk 2 "$blockdev"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --rings direct --queues 2 --name vx0)"
connected() { vhu_connected vx0 disk; }
connected
# No request passes through vdused, yet stats counts them (from the rings).
stats_match_fio vx0 "$node" 16
[ "$(stats_total vx0 kicks)" -gt 0 ] || fail "vx0: no kicks counted"
pass "vx0: $(stats_total vx0 kicks) kicks passed on"
# Their status is not vdused's to see (it is read after the driver).
expect_eq "vx0: completions counted ok" 0 "$(stats_total vx0 ok)"
[ "$(stats_total vx0 unknown_status)" -ge 10240 ] ||
	fail "vx0: $(stats_total vx0 unknown_status) completions with an unknown status, fewer than fio's"
pass "vx0: $(stats_total vx0 unknown_status) completions, their status unknown"

kills=${VTEST_KILLS:-2}
recovers=${VTEST_RECOVERS:-2}
fio_verify_during "$node" target-crashes $((kills * 6 + 4))
sleep 3
for round in $(seq 1 "$kills"); do
	vhu_kill disk
	sleep 1
	vhu_start disk 2 "$blockdev"
	connected
	pass "target crash $round: connected again"
	sleep 2
done
fio_verified target-crashes 120
# Requests a dead target held were found in the rings and made available
# again (fio's verify above proves they were then served).
grep -q 'made available again' /run/vduse/vx0.log ||
	fail "no crash found the target holding requests: $(tail -5 /run/vduse/vx0.log)"
pass "$(grep -c 'made available again' /run/vduse/vx0.log) restart(s) made held requests available again"

fio_verify_during "$node" daemon-crashes $((recovers * 7 + 4))
sleep 3
for round in $(seq 1 "$recovers"); do
	pid=$(device_field vx0 pid)
	kill_dead "$pid" vdused
	"$VDUSECTL" recover vx0 >/dev/null || fail "recover failed after kill $round"
	connected
	pass "vdused crash $round: recovered, target connected"
	sleep 3
done
fio_verified daemon-crashes 120

fio_verify_during "$node" both-crash 20
sleep 3
for round in 1 2; do
	pid=$(device_field vx0 pid)
	kill -9 "$pid"
	vhu_kill disk
	wait_for 10 "vdused $pid to die" gone "$pid"
	vhu_start disk 2 "$blockdev"
	"$VDUSECTL" recover vx0 >/dev/null || fail "recover failed after kill $round"
	connected
	pass "vdused and the target killed together ($round): recovered, connected"
	sleep 3
done
fio_verified both-crash 120
fio_check "read back all 128 MiB after the crashes" --name=check --filename="$node" --rw=read --size=128M \
	--ioengine=io_uring --iodepth=16 --direct=1 --bs=64k
# The last vdused took the rings over with requests outstanding: it counts
# them too, so nothing stays in flight, and the read back is all there.
wait_for 3 "stats after the crashes: nothing in flight at rest" nothing_in_flight vx0
[ "$(stats_total vx0 read_bytes)" -ge $((128 << 20)) ] ||
	fail "stats after the crashes: $(stats_total vx0 read_bytes) bytes read, fewer than the 128 MiB read back"
pass "stats after the crashes: $(stats_total vx0 read_bytes) bytes read"

# A reset: the driver goes and comes back; a file system across it.
"$VDUSECTL" bind vx0 --driver vhost >/dev/null 2>"$TMPDIR/bind.err" && fail "bind --driver vhost of a direct-rings device succeeded"
expect_contains "bind to vhost refused" "--rings direct" "$(cat "$TMPDIR/bind.err")"
ext4_across_reset vx0 "$node"
"$VDUSECTL" del vx0
expect_clean vx0
vhu_stop disk

# vdused killed while the target still holds requests (throttled to 256 KiB/s,
# it needs seconds to finish them), and the driver sends more meanwhile: the
# target must not be kicked by a front-end that is gone (qemu-storage-daemon
# 7.2 aborts on a request that comes while it drains after a disconnect:
# vhost_user_server_ref, wait_idle).
VHU_OBJECT=throttle-group,id=tg,x-bps-total=262144 vhu_start slow 1 \
	"driver=throttle,node-name=slow,throttle-group=tg,file.driver=file,file.filename=$img/disk.img"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/slow.sock --rings direct --name vs0)"
fio_start slow --name=slow --filename="$node" --rw=randwrite --bs=64k --size=32M --ioengine=io_uring \
	--iodepth=16 --direct=1 --verify=crc32c --verify_backlog=16 --verify_fatal=1 --time_based --runtime=6
sleep 3
target=$(cat /run/vhu/slow.pid)
pid=$(device_field vs0 pid)
kill_dead "$pid" vdused
dd if="$node" of=/dev/null bs=4k count=1 skip=100 iflag=direct status=none &
late=$!
sleep 3
kill -0 "$target" 2>/dev/null ||
	fail "the target died while it drained after vdused was killed: $(tail -3 /run/vhu/slow.log)"
pass "the target drained what it held after vdused was killed, and lived on through the driver's new request"
"$VDUSECTL" recover vs0 >/dev/null || fail "recover of vs0 failed"
wait "$late" || fail "the read sent while vdused was dead failed"
fio_finish slow slow 120
pass "fio verify across it: 0 errors"
"$VDUSECTL" del vs0
expect_clean vs0
vhu_stop slow

# What the kernel saw through all of it.
expect_quiet_kernel
