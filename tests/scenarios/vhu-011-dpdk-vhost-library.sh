#!/bin/bash
# SPDK's ask end to end (issue 29), against the library SPDK's vhost target
# is built on: tests/lib/dpdk-vhost-blk serves a file through DPDK's vhost
# library (Debian 12's librte-vhost23: no CONFIGURE_MEM_SLOTS, memory in one
# SET_MEM_TABLE that DPDK maps), adding what SPDK adds the way SPDK does
# (GET_CONFIG from a pre-message handler, the vring base handed back to DPDK
# at a stop). The bridge without bounce memory is refused at add; with
# --bounce-memory hugepage DPDK is given the bridge's rings (8 queues, one
# region: the eighth checked from CPU 7) and vdused's huge pages in one
# table, and maps the huge pages: fio verify, the target
# killed under fio (0 errors), vdused and the target killed together under
# fio, a reset with ext4 across it, resize following the target's disk as
# it grows and shrinks. With --rings direct DPDK serves the
# driver's own rings: fio verify, the target killed under fio (0 errors),
# ext4 across a reset, and at each new driver DPDK maps the driver's memory
# again (it keeps the old mapping when a table looks like the last one, and
# VDUSE leaves a reset driver's old ring pages in it: ext4 across a reset
# hung in 3 of 7 runs before). The guest boots with hugepages=64, 8 possible
# CPUs (2 online) and a CPU with SSE4.2 (DPDK's x86 build needs it).
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 128M "$img/disk.img"
target_log=/run/vhu/spdk.log
dpdk_start "$img/disk.img" 8
grep -q "CONFIGURE_MEM_SLOTS not offered" "$target_log" ||
	fail "DPDK's vhost library offers what it should not: $(cat "$target_log")"
pass "DPDK's vhost library serves, without CONFIGURE_MEM_SLOTS: $(grep 'protocol features' "$target_log")"

expect_status "the bridge to DPDK's vhost library" 1 \
	"it does not offer CONFIGURE_MEM_SLOTS" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/spdk.sock --name vs0
expect_clean vs0

free_before=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/spdk.sock --queues 8 \
	--bounce-memory hugepage --bounce-size 32M --name vs0)"
vhu_connected vs0 spdk
expect_eq "the device's size, from DPDK's target (GET_CONFIG)" $((128 << 20)) \
	"$(blockdev --getsize64 "$node")"
fio_verify "the bridge to DPDK's vhost library" "$node" 4k-128k 16M
grep -q "memory table of 2 region(s)" "$target_log" ||
	fail "DPDK was not given the rings (one region for the 8 queues) and the bounce memory in one table: $(cat "$target_log")"
pass "DPDK's device: $(grep 'started:' "$target_log" | tail -1 | cut -c1-160)"
grep -Eq "started: 8 vring|vring 7 started" "$target_log" ||
	fail "DPDK did not serve all 8 queues: $(grep -E 'started|stopped' "$target_log")"
vhu_maps_bounce spdk vs0
on_last_queue "$node" 8 vs0 "DPDK serving the eighth queue"

fio_verify_during "$node" dpdk-crash 14
sleep 3
kill -9 "$(cat /run/vhu/spdk.pid)"
sleep 1
dpdk_start "$img/disk.img" 8
vhu_connected vs0 spdk
pass "the DPDK target killed under fio: connected again"
fio_verified dpdk-crash 180
vhu_maps_bounce spdk vs0
on_last_queue "$node" 8 vs0 "the eighth queue after the target's crash (new ring memory)"

# vdused and the target killed together under fio: the target started again
# and vdused recovered, which hands it a new table (new rings, new huge pages).
fio_verify_during "$node" dpdk-both-crash 14
sleep 3
pid=$(device_field vs0 pid)
kill -9 "$pid" "$(cat /run/vhu/spdk.pid)"
wait_for 10 "vdused $pid to die" gone "$pid"
dpdk_start "$img/disk.img" 8
"$VDUSECTL" recover vs0 >/dev/null || fail "recover failed after vdused and the target died"
vhu_connected vs0 spdk
pass "vdused and the DPDK target killed together under fio: recovered, connected"
fio_verified dpdk-both-crash 180
vhu_maps_bounce spdk vs0

ext4_across_reset vs0 "$node"

# The target's disk grows, then shrinks, while it serves (SPDK's target
# answers GET_CONFIG from its bdev's size now; this one from the file's):
# resize with no size follows it both ways.
truncate -s 192M "$img/disk.img"
expect_eq "resize follows DPDK's target" "vs0 $((192 << 20))" "$("$VDUSECTL" resize vs0)"
expect_eq "$node grown" $((192 << 20)) "$(blockdev --getsize64 "$node")"
fio_check "the grown space" --name=grown --filename="$node" --rw=write --bs=64k --offset=128M \
	--size=64M --ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --do_verify=1 \
	--verify_fatal=1
truncate -s 128M "$img/disk.img"
expect_eq "resize follows DPDK's target shrunk" "vs0 $((128 << 20))" "$("$VDUSECTL" resize vs0)"
expect_eq "$node shrunk" $((128 << 20)) "$(blockdev --getsize64 "$node")"
pass "the device followed DPDK's target from 128 MiB to 192 MiB and back"
del_bounce_device vs0 "$free_before"

# Direct rings: DPDK serves the driver's own rings, its memory in one table.
tables=$(grep -c "memory table of 1 region" "$target_log" || true)
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/spdk.sock --queues 2 \
	--rings direct --name vd0)"
vhu_connected vd0 spdk
fio_verify "direct rings served by DPDK's vhost library" "$node" 4k-128k 16M
[ "$(grep -c "memory table of 1 region" "$target_log")" -gt "$tables" ] ||
	fail "DPDK was not given the driver's memory in one region: $(grep started "$target_log" | tail -3)"
fio_verify_during "$node" dpdk-direct-crash 12
sleep 3
kill -9 "$(cat /run/vhu/spdk.pid)"
sleep 1
dpdk_start "$img/disk.img"
vhu_connected vd0 spdk
pass "the DPDK target killed under fio on direct rings: connected again"
fio_verified dpdk-direct-crash 180
ext4_across_reset vd0 "$node"
# DPDK logs a table it keeps; at a new driver it must map the memory again.
grep -q "memory regions not changed" "$target_log" &&
	fail "DPDK kept its mapping of an old driver's memory: $(grep -c 'memory regions not changed' "$target_log") time(s)"
pass "DPDK mapped the driver's memory again at each new driver"
expect_quiet_kernel
"$VDUSECTL" del vd0
expect_clean vd0
kill "$(cat /run/vhu/spdk.pid)"
