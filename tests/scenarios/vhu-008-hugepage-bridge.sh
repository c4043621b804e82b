#!/bin/bash
# SPDK's ask (issue 29): the vhost-user bridge with --bounce-memory hugepage.
# The kernel bounces a request's data into vdused's 2 MiB huge-page memfd,
# and the target (qemu-storage-daemon here, as an SPDK vhost target would)
# maps that same memfd: its /proc/PID/smaps shows the mapping with 2048 kB
# pages, so the data is not copied again between vdused and the target.
# fio verify passes; the target killed under fio (0 errors, the new target
# maps the huge pages again); a reset (the driver unbound and bound again)
# and I/O after it. The guest boots with hugepages=64.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
blockdev="driver=file,node-name=hb,filename=$img/disk.img"
vhu_start hb 2 "$blockdev"
free_before=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/hb.sock --queues 2 \
	--bounce-memory hugepage --bounce-size 32M --name hb0)"
free_now=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
expect_eq "huge pages taken by the bounce memory" 16 $((free_before - free_now))
fio_verify "bridge + hugepage bounce" "$node" 4k-128k 32M
expect_eq "bounce memory in use" hugepage "$(device_field hb0 bounce_in_use)"

vhu_maps_bounce hb hb0

# The target killed under fio verify and started again: no error, and the
# new target maps the huge pages again.
fio_start kill --name=kill --filename="$node" --rw=randwrite --bsrange=4k-128k --size=32M \
	--ioengine=io_uring --iodepth=16 --direct=1 --numjobs=2 --offset_increment=64M \
	--verify=crc32c --verify_backlog=32 --verify_fatal=1 --time_based --runtime=14
sleep 3
vhu_kill hb
sleep 2
vhu_start hb 2 "$blockdev"
wait_for 15 "the bridge to connect again" field_is hb0 connection connected
fio_finish kill "with the target killed"
pass "fio verify across the target's crash: $(fio_total write.total_ios) writes"
vhu_maps_bounce hb hb0

# A reset: the driver unbound and bound again (as a VM reboot would).
echo hb0 >/sys/bus/vdpa/drivers/virtio_vdpa/unbind
echo hb0 >/sys/bus/vdpa/drivers/virtio_vdpa/bind
wait_for 10 "hb0's block device after the reset" vdpa_block_node hb0
node=$(vdpa_block_node hb0)
fio_verify "after a reset" "$node" 4k-64k 16M
vhu_maps_bounce hb hb0
"$VDUSECTL" del hb0
# Given back once the target has let go of its mapping too.
wait_for 10 "the huge pages to be given back" sh -c \
	"[ \$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages) = $free_before ]"
vhu_stop hb
expect_clean
