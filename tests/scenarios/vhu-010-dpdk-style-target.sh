#!/bin/bash
# A vhost-user target without CONFIGURE_MEM_SLOTS, as SPDK's (DPDK's vhost
# library, Debian 12's librte-vhost23, has no ADD_MEM_REG): qemu-storage-daemon
# behind tests/lib/vhost-user-without-slots, which clears the feature and drops
# a front-end that uses ADD_MEM_REG anyway. The bridge is refused at add,
# naming the feature; --rings direct hands the driver's memory over in one
# SET_MEM_TABLE before the rings start: fio verify, the target killed under
# fio (0 errors), a reset (detach + bind) with ext4 across it.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 128M "$img/disk.img"
blockdev="driver=file,node-name=disk,filename=$img/disk.img"
vhu_start disk 2 "$blockdev"
"$(dirname "$VTEST_LIB")/vhost-user-without-slots" /run/vhu/dpdk.sock /run/vhu/disk.sock \
	>/run/vhu/dpdk.log 2>&1 &
filter=$!
wait_for 5 "the filtering socket" test -S /run/vhu/dpdk.sock

expect_status "a bridge to a target without CONFIGURE_MEM_SLOTS" 1 \
	"does not offer CONFIGURE_MEM_SLOTS, which the bridge needs" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/dpdk.sock --name vb0
expect_clean vb0

read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/dpdk.sock --rings direct --queues 2 --name vd0)"
connected() { vhu_connected vd0 disk; }
connected
fio_verify "direct rings over SET_MEM_TABLE" "$node" 4k-1M 32M
grep -q "SET_MEM_TABLE 1 region(s)" /run/vhu/dpdk.log ||
	fail "no SET_MEM_TABLE of the driver's memory went to the target: $(cat /run/vhu/dpdk.log)"
grep -q refused /run/vhu/dpdk.log && fail "vdused used a message the target lacks: $(grep refused /run/vhu/dpdk.log)"
pass "the target got the driver's memory in one SET_MEM_TABLE, and no ADD_MEM_REG"

fio_verify_during "$node" target-crash 20
sleep 3
vhu_kill disk
sleep 1
vhu_start disk 2 "$blockdev"
connected
pass "target crash: connected again"
fio_verified target-crash 120

ext4_across_reset vd0 "$node"
expect_eq "SET_MEM_TABLE again after the reset" 1 \
	"$(($(grep -c 'SET_MEM_TABLE 1 region' /run/vhu/dpdk.log) >= 3))"
"$VDUSECTL" del vd0
expect_clean vd0
kill "$filter"
vhu_stop disk
