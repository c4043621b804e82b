#!/bin/bash
# A vhost-user target that says its disk changed size, as SPDK's target does
# when its bdev is resized: tests/lib/dpdk-vhost-blk calls DPDK's
# rte_vhost_slave_config_change (on SIGUSR1), which sends
# BACKEND_CONFIG_CHANGE_MSG, waiting for the answer, on the back-end channel
# vdused handed it (SET_BACKEND_REQ_FD); its GET_CONFIG says the image's
# size now. The device follows without vdusectl resize, and show (the
# record, whose mode vdused keeps, so a user's show reads it) says the new
# size: under fio with verify (then the new space
# written and verified), said while vdused is stopped (SIGSTOP), said while
# the host's driver is unbound (the driver bound again reads it), across a
# vdused crash and recovery (the new connection's channel is followed too),
# grown while no vdused was connected (followed at the next connection),
# said while vdusectl resize asks at the same time, and when the disk
# shrinks. (qemu-storage-daemon 7.2, Debian 12's, never sends the message.)
# The guest boots with hugepages=64 and a CPU with SSE4.2 (DPDK).
source "$VTEST_LIB"
img=$(scratch_fs)
M=$((1 << 20))
truncate -s 128M "$img/disk.img"
dpdk_start "$img/disk.img"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/spdk.sock --queues 2 \
	--bounce-memory hugepage --bounce-size 32M --name vg0)"
vhu_connected vg0 spdk
expect_eq "the device's size from the target" $((128 * M)) "$(blockdev --getsize64 "$node")"
# An admin's mode on the record, which vdused keeps when it writes the size.
chmod 0604 /run/vduse/vg0.json

# target_resize SIZE: the target's disk takes SIZE bytes, and the target
# says so to the front-ends connected (and answers GET_CONFIG with it).
target_resize() {
	truncate -s "$1" "$img/disk.img"
	kill -USR1 "$(cat /run/vhu/spdk.pid)"
}
# node_reads SIZE: the host's block device says SIZE bytes.
node_reads() { [ "$(blockdev --getsize64 "$(vdpa_block_node vg0)")" = "$1" ]; }
# followed SIZE WHAT: show (the record) and the driver say SIZE within 10 s.
followed() {
	wait_for 10 "show to say vg0 followed its target to $1 bytes ($2)" field_is vg0 size_bytes "$1"
	wait_for 10 "$(vdpa_block_node vg0) to read $1 bytes ($2)" node_reads "$1"
	pass "$2: vg0 followed its target to $(($1 / M)) MiB without vdusectl resize"
}

expect_contains "show" "follows_target_size: yes" "$("$VDUSECTL" show vg0)"
# Grown under fio writing and verifying the first 128 MiB.
fio_verify_during "$node" grow 10
sleep 3
target_resize $((192 * M))
followed $((192 * M)) "grown under fio"
fio_verified grow 180
grep -q "says its config changed" /run/vduse/vg0.log ||
	fail "vdused's log does not say the target's message came: $(tail -5 /run/vduse/vg0.log)"
grep -q "config change sent to connection [0-9]*: 0" /run/vhu/spdk.log ||
	fail "DPDK's config change was not answered: $(grep 'config change' /run/vhu/spdk.log)"
expect_eq "the record's mode after vdused wrote it" 604 "$(stat -c %a /run/vduse/vg0.json)"
expect_eq "show as a user (no root needed)" $((192 * M)) \
	"$(setpriv --reuid=65534 --regid=65534 --clear-groups "$VDUSECTL" show vg0 --json=short | jq '.[0].size_bytes')"
fio_check "the grown space" --name=grown --filename="$node" --rw=write --bs=64k --offset=128M \
	--size=64M --ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --do_verify=1 \
	--verify_fatal=1

# Said while vdused is stopped: the message waits in the channel.
pid=$(device_field vg0 pid)
kill -STOP "$pid"
target_resize $((224 * M))
sleep 1
node_reads $((192 * M)) || fail "vg0 changed size while vdused was stopped"
kill -CONT "$pid"
followed $((224 * M)) "said while vdused was stopped"

# Said while the host's driver is unbound: the driver bound again reads it.
echo vg0 >/sys/bus/vdpa/drivers/virtio_vdpa/unbind
target_resize $((256 * M))
wait_for 10 "show to say 256 MiB with no driver bound" field_is vg0 size_bytes $((256 * M))
echo vg0 >/sys/bus/vdpa/drivers/virtio_vdpa/bind
wait_for 10 "vg0's node after the bind" vdpa_block_node vg0
followed $((256 * M)) "said with the driver unbound"

# vdused killed: the record has the size, so the recovered vdused serves
# all of it; the new connection's channel is followed too.
pid=$(device_field vg0 pid)
kill_dead "$pid" vdused
"$VDUSECTL" recover vg0 >/dev/null || fail "recover failed"
vhu_connected vg0 spdk
node=$(vdpa_block_node vg0)
expect_eq "the size after vdused's crash and recovery" $((256 * M)) "$(device_field vg0 size_bytes)"
dd if="$node" of=/dev/null bs=1M skip=255 count=1 iflag=direct status=none ||
	fail "reading the last MiB of $node after recovery failed"
target_resize $((288 * M))
followed $((288 * M)) "said to the recovered vdused"

# Grown while no vdused was connected (killed: what the target would say
# reaches nobody, as in the moment between a killed vdused's resize and its
# record write): the recovered vdused finds the target bigger than the
# record at its connection and follows it.
pid=$(device_field vg0 pid)
kill_dead "$pid" vdused
truncate -s $((304 * M)) "$img/disk.img"
"$VDUSECTL" recover vg0 >/dev/null || fail "recover failed"
followed $((304 * M)) "grown while no vdused was connected"

# Said while vdusectl resize asks the target too: both end at its size.
truncate -s $((320 * M)) "$img/disk.img"
kill -USR1 "$(cat /run/vhu/spdk.pid)"
out=$("$VDUSECTL" resize vg0) || fail "vdusectl resize beside the target's message failed: $out"
followed $((320 * M)) "said while vdusectl resize asked"

# Shrunk: the device follows down too, as vdusectl resize would.
target_resize $((256 * M))
followed $((256 * M)) "shrunk"
if dd if="$node" of=/dev/null bs=1M skip=300 count=1 iflag=direct status=none 2>/dev/null; then
	fail "a read past the new end succeeded"
fi
fio_check "after the changes" --name=after --filename="$node" --rw=randrw --bsrange=4k-128k \
	--size=256M --ioengine=io_uring --iodepth=16 --direct=1 --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --io_size=32M
! grep -q "back-end channel" /run/vduse/vg0.log ||
	fail "vdused closed a back-end channel: $(grep "back-end channel" /run/vduse/vg0.log)"
expect_quiet_kernel
"$VDUSECTL" del vg0
expect_clean vg0
kill "$(cat /run/vhu/spdk.pid)"
