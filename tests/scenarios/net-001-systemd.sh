#!/bin/bash
# Network and vhost-user devices under systemd, installed as a package would
# be: the hardened vdused@ unit with vdusectl's drop-in lifts only what the
# backend needs (IP for nbd over TCP and rbd, nothing for nbd over a unix
# socket or a vhost-user target),
# I/O verifies, systemd restarts a killed vdused with 0 fio errors, the
# status line carries the connection state, and systemd-analyze security
# scores are reported (the local one must stay <= 2.0).
source "$VTEST_LIB"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
unset VDUSED
VDUSECTL=vdusectl
ip link set lo up
img=$(scratch_fs 1G)
truncate -s 128M "$img/disk.img"
nbd_start disk file "$img/disk.img"
nbd_start tcp --port 10809 memory size=64M

dropin() { cat "/run/systemd/system/vdused@$1.service.d/50-vdusectl.conf"; }
score() { systemd-analyze security "vdused@$1.service" 2>/dev/null | grep -o 'service: [0-9.]*' | cut -d' ' -f2; }

# nbd over a unix socket: no network needed.
read -r _ node <<<"$(vdusectl add -t nbd --url "nbd+unix:///?socket=/run/nbd/disk.sock" --queues 2 --name nu)"
d=$(dropin nu)
expect_contains "unix nbd drop-in" "RestrictAddressFamilies=AF_UNIX" "$d"
case $d in *PrivateNetwork=no*) fail "the unix-socket device got network access: $d" ;; esac
pass "the unix-socket device stays without network"
expect_eq "vdused@nu PrivateNetwork" yes "$(systemctl show -P PrivateNetwork vdused@nu.service)"
wait_for 10 "status line with the connection" sh -c "systemctl show -P StatusText vdused@nu.service | grep -q connected"
pass "status line: $(systemctl show -P StatusText vdused@nu.service)"
fio_verify nbd-unix-systemd "$node" 4k-256k 16M
# kill -9 during fio: systemd restarts vdused, which takes the queues over.
fio_start crash --name=crash --filename="$node" --rw=randwrite --bsrange=4k-64k --size=32M \
	--ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --verify_backlog=16 \
	--verify_fatal=1 --time_based --runtime=15
for i in 1 2 3; do
	sleep 3
	pid=$(systemctl show -P MainPID vdused@nu.service)
	kill -9 "$pid"
	wait_for 15 "vdused@nu back" sh -c "[ \"\$(systemctl show -P MainPID vdused@nu.service)\" != $pid ] && systemctl is-active -q vdused@nu.service"
done
fio_finish crash "across 3 kill -9 of vdused under systemd" 120
nu_score=$(score nu)

# A vhost-user target (qemu-storage-daemon): a unix socket, no network.
truncate -s 64M "$img/vdisk.img"
vhu_start vdisk 2 "driver=file,node-name=vdisk,filename=$img/vdisk.img"
read -r _ node <<<"$(vdusectl add -t vhost-user --socket /run/vhu/vdisk.sock --queues 2 --name vu)"
d=$(dropin vu)
expect_contains "vhost-user drop-in" "RestrictAddressFamilies=AF_UNIX" "$d"
case $d in *PrivateNetwork=no*) fail "the vhost-user device got network access: $d" ;; esac
wait_for 10 "vhost-user status line" sh -c "systemctl show -P StatusText vdused@vu.service | grep -q connected"
pass "vhost-user status line: $(systemctl show -P StatusText vdused@vu.service)"
fio_verify vhost-user-systemd "$node" 4k-256k 16M
fio_start vucrash --name=vucrash --filename="$node" --rw=randwrite --bsrange=4k-64k --size=32M \
	--ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --verify_backlog=16 \
	--verify_fatal=1 --time_based --runtime=10
for i in 1 2; do
	sleep 3
	pid=$(systemctl show -P MainPID vdused@vu.service)
	kill -9 "$pid"
	wait_for 15 "vdused@vu back" sh -c "[ \"\$(systemctl show -P MainPID vdused@vu.service)\" != $pid ] && systemctl is-active -q vdused@vu.service"
done
fio_finish vucrash "across 2 kill -9 of the bridge under systemd" 120
# The target restarted on a grown disk (qemu-storage-daemon 7.2 cannot say
# a resize, but takes the back-end channel): the unit's vdused follows it at
# the connection and writes the record, as sandboxed as it is.
vhu_kill vdisk
truncate -s 96M "$img/vdisk.img"
vhu_start vdisk 2 "driver=file,node-name=vdisk,filename=$img/vdisk.img"
wait_for 20 "vu to follow its target to 96 MiB under systemd" field_is vu size_bytes $((96 << 20))
expect_eq "$node after the target came back grown" $((96 << 20)) "$(blockdev --getsize64 "$node")"
vu_score=$(score vu)

# nbd over TCP: IP, after network-online.target.
read -r _ node <<<"$(vdusectl add -t nbd --url nbd://127.0.0.1:10809/ --name nt)"
d=$(dropin nt)
expect_contains "TCP nbd drop-in" "PrivateNetwork=no" "$d"
expect_contains "TCP nbd drop-in" "After=network-online.target" "$d"
fio_verify nbd-tcp-systemd "$node" 4k-256k 16M
nt_score=$(score nt)

# rbd: librados under the hardened unit.
bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" up >"$TMPDIR/ceph-up.log" 2>&1 ||
	fail "the Ceph cluster did not start: $(tail -20 "$TMPDIR/ceph-up.log")"
read -r _ node <<<"$(vdusectl add -t rbd --image rbd/img0 --ceph-conf /run/ceph/ceph.conf --name rb)"
fio_verify rbd-systemd "$node" 4k-256k 8M
rb_score=$(score rb)

local_out=$(vdusectl add -t null --size 64M --name lo0)
lo_score=$(score lo0)
awk -v s="$lo_score" 'BEGIN { exit !(s <= 2.0) }' || fail "systemd-analyze security of a local device: $lo_score > 2.0"
pass "systemd-analyze security: local $lo_score, nbd unix $nu_score, vhost-user $vu_score, nbd TCP $nt_score, rbd $rb_score"
vdusectl del lo0 nu vu nt rb
vhu_stop vdisk
expect_clean
bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" down >/dev/null 2>&1 || true
