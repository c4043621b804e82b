#!/bin/bash
# A vhost-user target without CONFIGURE_MEM_SLOTS, as SPDK's (DPDK's vhost
# library, Debian 12's librte-vhost23, has no ADD_MEM_REG): qemu-storage-daemon
# behind tests/lib/vhost-user-without-slots, which clears the feature and drops
# a front-end that uses ADD_MEM_REG anyway. The bridge alone is refused at
# add, naming the feature. With --bounce-memory hugepage (SPDK's ask: every
# request's data in huge pages the target maps) the bridge hands the target
# its queues' memory (one region for all 8) and the bounce memory in one
# SET_MEM_TABLE per connection; --rings direct hands it the driver's memory the same way. Each:
# fio verify, ext4 across a reset (their crashes under fio are in vhu-011,
# against DPDK's library, and vhu-009). A target hostile on the back-end
# channel vdused hands it is cut off from it, and nothing else changes.
# The guest boots with hugepages=64 and 8 possible CPUs (2 online).
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 128M "$img/disk.img"
blockdev="driver=file,node-name=disk,filename=$img/disk.img"
vhu_start disk 8 "$blockdev"
"$(dirname "$VTEST_LIB")/vhost-user-without-slots" /run/vhu/dpdk.sock /run/vhu/disk.sock \
	>/run/vhu/dpdk.log 2>&1 &
filter=$!
wait_for 30 "the filtering socket" test -S /run/vhu/dpdk.sock

expect_status "a bridge to a target without CONFIGURE_MEM_SLOTS" 1 \
	"which the bridge needs to add memory while requests are in flight (--bounce-memory hugepage gives it" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/dpdk.sock --name vb0
expect_clean vb0

# The bridge with its bounce memory in huge pages, 8 queues: SET_MEM_TABLE
# takes 8 regions, and the table is 2 of them (every queue's rings in one,
# the bounce memory).
free_before=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/dpdk.sock --queues 8 \
	--bounce-memory hugepage --bounce-size 32M --name vb1)"
vhu_connected vb1 disk
expect_eq "vb1's queues" 8 "$(ls -d /sys/block/"${node#/dev/}"/mq/* | wc -l)"
fio_verify "the bridge over SET_MEM_TABLE, 8 queues, bounce memory in huge pages" "$node" 4k-128k 32M
on_last_queue "$node" 8 vb1 "the eighth queue's slice of the rings' region"
grep -q "SET_MEM_TABLE 2 region(s)" /run/vhu/dpdk.log ||
	fail "no SET_MEM_TABLE of the queues' and the bounce memory went to the target: $(cat /run/vhu/dpdk.log)"
grep -q "^refused " /run/vhu/dpdk.log && fail "vdused used a message the target lacks: $(grep "^refused " /run/vhu/dpdk.log)"
pass "the target got the rings and the bounce memory in one SET_MEM_TABLE, and no ADD_MEM_REG"
vhu_maps_bounce disk vb1
ext4_across_reset vb1 "$node"
grep -q "^refused " /run/vhu/dpdk.log && fail "vdused used a message the target lacks: $(grep "^refused " /run/vhu/dpdk.log)"
del_bounce_device vb1 "$free_before"
bridge_tables=$(grep -c 'SET_MEM_TABLE 1 region' /run/vhu/dpdk.log || true)

read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/dpdk.sock --rings direct --queues 2 --name vd0)"
vhu_connected vd0 disk
# With 8 possible CPUs and 2 online, the driver binds queue 1's interrupts
# to CPUs 4-7, all offline, and the kernel loops for ever at the first one
# vdused injects (direct rings wake every queue at connection): vdused
# binds them to the online CPUs first.
expect_eq "queue 1's interrupt CPUs, online ones" 03 "$(cat /sys/class/vduse/vd0/vq1/irq_cb_affinity)"
grep -q "queue 1's interrupts were bound to offline CPUs only (f0)" /run/vduse/vd0.log ||
	fail "vdused did not say it moved queue 1's interrupts: $(grep -i offline /run/vduse/vd0.log)"
fio_verify "direct rings over SET_MEM_TABLE" "$node" 4k-1M 32M
[ "$(grep -c 'SET_MEM_TABLE 1 region' /run/vhu/dpdk.log)" -gt "$bridge_tables" ] ||
	fail "no SET_MEM_TABLE of the driver's memory went to the target: $(cat /run/vhu/dpdk.log)"
grep -q "^refused " /run/vhu/dpdk.log && fail "vdused used a message the target lacks: $(grep "^refused " /run/vhu/dpdk.log)"
pass "the target got the driver's memory in one SET_MEM_TABLE, and no ADD_MEM_REG"

# A target hostile on its back-end channel (the relay turns so on SIGUSR1):
# 64 messages with 8 fds each, then 20000 config changes whose answers it
# never reads. vdused closes the channel and serves on: the same process,
# still connected, none of those fds kept, the size unchanged, and fio's
# verify passes across it.
grep -q "SET_BACKEND_REQ_FD kept" /run/vhu/dpdk.log ||
	fail "vdused handed the target no back-end channel: $(tail -5 /run/vhu/dpdk.log)"
pid=$(device_field vd0 pid)
expect_eq "vd0 follows its target's size (it took the channel)" true "$(device_field vd0 follows_target_size)"
fds_before=$(ls "/proc/$pid/fd" | wc -l)
fio_verify_during "$node" hostile-channel 10
sleep 2
kill -USR1 "$filter"
wait_for 60 "the relay to end its hostile messages" grep -q "^hostile:" /run/vhu/dpdk.log
fio_verified hostile-channel 180
expect_eq "vdused after the hostile back-end channel" "$pid" "$(device_field vd0 pid)"
expect_eq "its connection" connected "$(device_field vd0 connection)"
expect_eq "its size" $((128 << 20)) "$(blockdev --getsize64 "$node")"
expect_contains "show after the channel was closed" "follows_target_size: no" "$("$VDUSECTL" show vd0)"
fds_after=$(ls "/proc/$pid/fd" | wc -l)
[ "$fds_after" -le $((fds_before + 8)) ] ||
	fail "vdused kept the fds the target sent: $fds_before open before, $fds_after after"
grep -q "back-end channel" "/run/vduse/vd0.log" ||
	fail "vdused did not say it closed the back-end channel: $(grep "^hostile:" /run/vhu/dpdk.log); $(grep -c "config changed" /run/vduse/vd0.log) config change(s) logged; $(tail -3 /run/vduse/vd0.log)"
pass "a hostile back-end channel: $(grep '^hostile:' /run/vhu/dpdk.log); vdused: $(grep -o 'vhost-user target at [^;]*back-end channel[^;]*' /run/vduse/vd0.log | head -1)"

ext4_across_reset vd0 "$node"
expect_eq "SET_MEM_TABLE again after the reset" 1 \
	"$(($(grep -c 'SET_MEM_TABLE 1 region' /run/vhu/dpdk.log) - bridge_tables >= 2))"
"$VDUSECTL" del vd0
expect_clean vd0
kill "$filter"
vhu_stop disk
