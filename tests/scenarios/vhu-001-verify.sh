#!/bin/bash
# The vhost-user bridge against a target nobody here wrote: qemu-storage-
# daemon's vhost-user-blk export. Size, features and queue limit come from
# the target; fio verify (crc32c) through /dev/vdX with 1 and 4 queues; the
# data lands in the target's image file; ext4 survives del + re-add.
source "$VTEST_LIB"
img=$(scratch_fs)

# null-co: size and features from the target, I/O answered without error.
vhu_start null0 4 "driver=null-co,node-name=null0,size=1073741824,read-zeroes=on"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/null0.sock --queues 4 --name vn0)"
expect_eq "size from the target" 1073741824 "$(blockdev --getsize64 "$node")"
expect_eq "source in show" "vhost-user:/run/vhu/null0.sock" "$(device_field vn0 source)"
wait_for 10 "connection established" field_is vn0 connection connected
expect_contains "target features in show" "flush" "$(device_field vn0 target_features)"
# qemu-storage-daemon takes the back-end channel (7.2 never says a resize
# on it, but a later one does).
expect_eq "follows_target_size in show" true "$(device_field vn0 follows_target_size)"
# The target's limit per request reaches the driver (qemu-storage-daemon
# takes 126 segments; vdused alone announces 254).
expect_eq "segments per request the kernel may send" 126 \
	"$(cat "/sys/block/$(basename "$node")/queue/max_segments")"
expect_zeros "$node" $((4 << 20))
fio_check "null-co target, 4 queues, randrw" --name=null --filename="$node" --rw=randrw \
	--bs=4k --size=64M --ioengine=io_uring --iodepth=32 --direct=1 --numjobs=4 --time_based --runtime=5
"$VDUSECTL" del vn0
expect_clean vn0

# A file-backed target, 1 then 4 queues.
truncate -s 256M "$img/disk.img"
for queues in 1 4; do
	vhu_start disk "$queues" "driver=file,node-name=disk,filename=$img/disk.img"
	read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --queues "$queues" --name vd0)"
	expect_eq "queues" "$queues" "$(device_field vd0 queues)"
	fio_verify "file target, $queues queue(s)" "$node" 4k-1M 48M
	"$VDUSECTL" del vd0
	vhu_stop disk
done

# What the driver wrote is what the target's file holds.
vhu_start disk 2 "driver=file,node-name=disk,filename=$img/disk.img"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --queues 2 --name vd0)"
dd if=/dev/urandom of="$TMPDIR/pattern" bs=1M count=8 status=none
dd if="$TMPDIR/pattern" of="$node" bs=1M seek=100 oflag=direct conv=fsync status=none
cmp <(dd if="$img/disk.img" bs=1M skip=100 count=8 status=none) "$TMPDIR/pattern" ||
	fail "the target's image differs from what was written through $node"
pass "8 MiB written through $node are in the target's image"
blkdiscard -z -o $((100 << 20)) -l $((4 << 20)) "$node"
cmp <(dd if="$img/disk.img" bs=1M skip=100 count=4 status=none) <(head -c $((4 << 20)) /dev/zero) ||
	fail "write zeroes did not zero the target's image"
pass "blkdiscard -z zeroed 4 MiB in the target's image"

# --driver vhost through the bridge, driven as a VM would drive it: the
# client's memory arrives as many IOTLB entries, each a region of the target.
"$VDUSECTL" del vd0
read -r _ node <<<"$("$VDUSECTL" add --driver vhost -t vhost-user --socket /run/vhu/disk.sock --queues 2 --serial bridged --name vd0)"
case $node in /dev/vhost-vdpa-*) ;; *) fail "add --driver vhost: node '$node' is not /dev/vhost-vdpa-N" ;; esac
dd if=/dev/zero of="$img/disk.img" bs=1M count=256 conv=notrunc status=none
out=$("$VHOST_CLIENT" -d "$node" -q 2 verify -t 4 --initial-zero --no-trim --serial bridged \
	--expected-image "$img/expected" 2>&1) || fail "vduse-vhost-client through the bridge: $out"
expect_contains "verified I/O from a vhost-vdpa client through the bridge" "verify: passed" "$out"
"$VDUSECTL" del vd0
cmp "$img/disk.img" "$img/expected" || fail "the target's image differs from what the vhost-vdpa client wrote"
pass "the target's image holds exactly what the vhost-vdpa client wrote"
rm -f "$img/expected"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --queues 2 --name vd0)"

# A file system, across del and add.
mkfs.ext4 -q -F "$node"
mkdir -p /run/mnt
mount "$node" /run/mnt
for i in 1 2 3; do head -c $((3 << 20)) /dev/urandom >"/run/mnt/f$i"; done
sums=$(cd /run/mnt && sha256sum f1 f2 f3)
umount /run/mnt
"$VDUSECTL" del vd0
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --name vd0)"
e2fsck -fn "$node" >/dev/null || fail "e2fsck found errors after del and re-add"
pass "e2fsck clean after del + add"
mount "$node" /run/mnt
expect_eq "file checksums after re-add" "$sums" "$(cd /run/mnt && sha256sum f1 f2 f3)"
umount /run/mnt
"$VDUSECTL" del vd0
expect_clean vd0

# A hostile VM through the bridge: vdused checks every ring and request
# before the target sees it; each malformed case is answered as the virtio
# spec says, and vdused and the target stay up and serve verified I/O.
vhu_stop disk
vhu_start disk 1 "driver=file,node-name=disk,filename=$img/disk.img" "logical-block-size=4096"
target=$(cat /run/vhu/disk.pid)
read -r _ node <<<"$("$VDUSECTL" add --driver vhost -t vhost-user --socket /run/vhu/disk.sock --size 64M --name hostile)"
pid=$(device_field hostile pid)
rc=0
out=$("$VHOST_CLIENT" -d "$node" hostile --async-backend --target-process 2>&1) || rc=$?
echo "$out" | sed 's/^/    /'
[ "$rc" = 0 ] || fail "hostile cases through the bridge: vduse-vhost-client exited $rc"
cases=$("$VHOST_CLIENT" -d "$node" hostile --async-backend --target-process --list | wc -l)
expect_contains "every hostile case answered through the bridge" "hostile: $cases passed, 0 failed, 0 not applicable" "$out"
kill -0 "$pid" || fail "vdused $pid died under the hostile cases"
# Memory in more files than the target's 32 slots: the request that needs
# one more fails, said once in the log, and the device goes on.
expect_contains "the log says the target's memory slots are full" \
	"takes 32 memory regions and has them all" "$(cat /run/vduse/hostile.log)"
kill -0 "$target" || fail "the target died under the hostile cases"
out=$("$VHOST_CLIENT" -d "$node" verify -t 2 2>&1) || fail "verified I/O after the hostile cases: $out"
pass "vdused and the target still up; verified I/O after the hostile cases"
"$VDUSECTL" del hostile
vhu_stop disk
expect_clean hostile
