#!/bin/bash
# A lost NBD server is not an I/O error: kill -9 nbdkit during fio verify and
# start it again on the same socket, 5 times: fio finishes with 0 errors and
# show says "reconnecting since" while it is down. With --reconnect-timeout,
# requests fail once it expires and work again when the server is back. A
# server that is down when vdused starts is waited for.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
nbd_start disk file "$img/disk.img"
url="nbd+unix:///?socket=/run/nbd/disk.sock"

read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --queues 2 --name re0)"
# Writes with verification running across the outages.
fio_start outage --name=outage --filename="$node" --rw=randwrite --bsrange=4k-256k --size=64M \
	--ioengine=io_uring --iodepth=16 --direct=1 --numjobs=2 --offset_increment=64M \
	--verify=crc32c --verify_backlog=32 --verify_fatal=1 --time_based --runtime=32
sleep 3
for round in 1 2 3 4 5; do
	nbd_kill disk
	wait_for 10 "show to say reconnecting" field_starts re0 connection "reconnecting since"
	sleep 1
	nbd_start disk file "$img/disk.img"
	wait_for 15 "show to say connected" field_is re0 connection connected
	pass "outage $round: reconnecting, then connected"
	sleep 2
done
fio_finish outage "across 5 server crashes"
pass "fio wrote $(fio_total write.total_ios) verified blocks across the outages"
expect_eq "held requests were resubmitted" 1 "$(grep -c 'restored; resubmitting' /run/vduse/re0.log | awk '{print ($1 >= 5)}')"
fio_check "read back all 128 MiB after the outages" --name=check --filename="$node" --rw=read --size=128M \
	--ioengine=io_uring --iodepth=16 --direct=1 --bs=64k
"$VDUSECTL" del re0

# A finite reconnect timeout: requests fail once it expires, and the device
# works again when the server returns.
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --name short0 --reconnect-timeout 2)"
expect_eq "reconnect_timeout in show" 2 "$(device_field short0 reconnect_timeout)"
nbd_kill disk
start=$SECONDS
if dd if="$node" of=/dev/null bs=4k count=1 skip=1000 iflag=direct status=none 2>/dev/null; then
	fail "a read succeeded with the server down past the timeout"
fi
elapsed=$((SECONDS - start))
[ "$elapsed" -le 10 ] || fail "the read failed only after $elapsed s (timeout 2 s)"
pass "a read failed with an I/O error after $elapsed s (timeout 2 s)"
expect_contains "show after the timeout" "failed since" "$(device_field short0 connection)"
nbd_start disk file "$img/disk.img"
wait_for 15 "reconnection" field_is short0 connection connected
dd if="$node" of=/dev/null bs=4k count=1 skip=2000 iflag=direct status=none || fail "the read fails after the server returned"
pass "reads work again once the server is back"
"$VDUSECTL" del short0

# The server down at add: add fails (it asks the server first) and leaves nothing.
nbd_kill disk
expect_status "add with the server down" 1 "cannot connect to $url" "$VDUSECTL" add -t nbd --url "$url" --name down0
expect_clean

# A device whose server is down, with nothing in flight, deletes at once.
nbd_start disk file "$img/disk.img"
"$VDUSECTL" add -t nbd --url "$url" --name gone0 >/dev/null
nbd_kill disk
start=$SECONDS
"$VDUSECTL" del gone0
pass "del with the server down took $((SECONDS - start)) s"
expect_clean
