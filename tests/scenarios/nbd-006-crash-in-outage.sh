#!/bin/bash
# Two faults at once on NBD storage: the server is gone and vdused is
# killed (-9) while fio verify has requests held for the server. `recover`
# works with the server still down (the new vdused takes over the requests
# the dead one had taken, and holds them); when the server returns they are
# sent and fio finishes with 0 errors. Then a device whose daemon died while
# its server is down: del removes it and leaves nothing behind.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
nbd_start disk file "$img/disk.img"
url="nbd+unix:///?socket=/run/nbd/disk.sock"
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --queues 2 --name co0)"
fio_start crash --name=crash --filename="$node" --rw=randwrite --bsrange=4k-256k --size=64M \
	--ioengine=io_uring --iodepth=16 --direct=1 --numjobs=2 --offset_increment=64M \
	--verify=crc32c --verify_backlog=32 --verify_fatal=1 --time_based --runtime=25
sleep 3
nbd_kill disk
wait_for 10 "show to say reconnecting" field_starts co0 connection "reconnecting since"
sleep 1
pid=$(device_field co0 pid)
kill_dead "$pid" vdused
start=$SECONDS
"$VDUSECTL" recover co0 >/dev/null || fail "recover with the server down: $(tail -5 /run/vduse/co0.log)"
pass "recover with the server down took $((SECONDS - start)) s"
new_pid=$(device_field co0 pid)
[ "$new_pid" != "$pid" ] && [ "$new_pid" != null ] || fail "no new vdused after recover ($new_pid)"
sleep 2
nbd_start disk file "$img/disk.img"
wait_for 20 "show to say connected" field_is co0 connection connected
pass "vdused: $(grep 'resubmitting' /run/vduse/co0.log | tail -1 | sed 's/.*connection/connection/')"
fio_finish crash "across the outage and the crash" 60
fio_check "read back all 128 MiB" --name=check --filename="$node" --rw=read --size=128M \
	--ioengine=io_uring --iodepth=16 --direct=1 --bs=64k
"$VDUSECTL" del co0
expect_clean

# The daemon died while the server is down: del still removes everything.
"$VDUSECTL" add -t nbd --url "$url" --name co1 >/dev/null
nbd_kill disk
pid=$(device_field co1 pid)
kill_dead "$pid" vdused
start=$SECONDS
"$VDUSECTL" del co1 || fail "del of a device whose daemon and server are gone failed"
pass "del with the daemon and the server gone took $((SECONDS - start)) s"
expect_clean
