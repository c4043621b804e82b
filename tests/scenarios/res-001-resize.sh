#!/bin/bash
# vdusectl resize: a device grows online while fio writes and verifies, the
# new space is written and verified, a mounted ext4 grows with resize2fs, a
# loop device's file grown by other means is picked up, --shrink is needed to
# shrink, the size survives a daemon crash and recovery, and a driver that
# resets (unbind, bind, or a VM's vhost driver restarting) while the device
# is resized reads the last size. An nbd export that grew on its server
# (nbdkit) is followed by resize with no size, while fio writes and
# verifies; so is a vhost-user target that came back on a grown disk, and
# one that came back smaller is refused.
source "$VTEST_LIB"
img=$(scratch_fs 2G)
export VDUSE_PERSIST_DIR=/run/persist-test # / is read-only in this mode
M=$((1 << 20))

size_of() { blockdev --getsize64 "$1"; }
# grow_load NAME NODE SECONDS: two fio jobs writing and verifying the first
# 128 MiB of NODE while its server grows (fio_finish NAME ends it).
grow_load() {
	fio_start "$1" --name="$1" --filename="$2" --rw=randwrite --bsrange=4k-64k --size=64M \
		--ioengine=io_uring --iodepth=16 --direct=1 --numjobs=2 --offset_increment=64M \
		--verify=crc32c --verify_backlog=32 --verify_fatal=1 --time_based --runtime="$3"
}
# new_space WHAT NAME NODE: the 192 MiB past the first 128 MiB written and
# verified, 64 KiB in every 256 KiB (sparse: the whole span is reached).
sparse=write:192k
new_space() {
	fio_check "$1: the new space" --name="$2" --filename="$3" --rw=$sparse --bs=64k \
		--offset=128M --size=192M --ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c \
		--do_verify=1 --verify_fatal=1
}

# null: grow, refuse to shrink without --shrink, shrink.
read -r _ node <<<"$("$VDUSECTL" add -t null --size 256M --name n0)"
expect_eq "resize prints the new size" "n0 $((512 * M))" "$("$VDUSECTL" resize n0 512M)"
expect_eq "$node after the resize" $((512 * M)) "$(size_of "$node")"
dd if="$node" of=/dev/null bs=1M skip=400 count=1 iflag=direct status=none ||
	fail "reading past the old end of $node failed"
expect_eq "show: size_bytes" $((512 * M)) "$(device_field n0 size_bytes)"
expect_status "shrink without --shrink" 2 "add --shrink" "$VDUSECTL" resize n0 128M
expect_status "null without a size" 2 "the null backend needs a size" "$VDUSECTL" resize n0
expect_status "not a multiple of the block size" 2 "not a multiple of the block size 512" "$VDUSECTL" resize n0 1000
expect_status "unparsable size" 2 "size 'lots'" "$VDUSECTL" resize n0 lots
expect_status "no such device" 1 "device 'nope' does not exist" "$VDUSECTL" resize nope 1G
"$VDUSECTL" resize n0 128M --shrink >/dev/null
expect_eq "$node after --shrink" $((128 * M)) "$(size_of "$node")"
# Relative sizes, as lvextend and truncate take them, and sizes in any IEC
# spelling (were refused: +64M, -32M, 1.5G).
"$VDUSECTL" resize n0 +64M >/dev/null
expect_eq "$node after +64M" $((192 * M)) "$(size_of "$node")"
expect_status "-32M without --shrink" 2 "add --shrink" "$VDUSECTL" resize n0 -32M
"$VDUSECTL" resize n0 -32M --shrink >/dev/null
expect_eq "$node after -32M --shrink" $((160 * M)) "$(size_of "$node")"
expect_status "shrinking to nothing" 2 "leaves nothing of its 160M" "$VDUSECTL" resize n0 -1G --shrink
"$VDUSECTL" resize n0 0.25GiB --shrink >/dev/null
expect_eq "$node after 0.25GiB" $((256 * M)) "$(size_of "$node")"
"$VDUSECTL" resize n0 128M --shrink >/dev/null
if dd if="$node" of=/dev/null bs=1M skip=200 count=1 iflag=direct status=none 2>/dev/null; then
	fail "a read past the new end succeeded"
fi
pass "null: grown, shrunk with --shrink only"
"$VDUSECTL" del n0

# A resize with the driver reset and gone, then resizes racing with resets
# (virtio_vdpa unbound and bound again, as a driver reload does): the driver
# that comes back reads the last size.
read -r _ node <<<"$("$VDUSECTL" add -t null --size 64M --name rz0)"
echo rz0 >/sys/bus/vdpa/drivers/virtio_vdpa/unbind
"$VDUSECTL" resize rz0 128M >/dev/null || fail "resize with no driver bound failed"
echo rz0 >/sys/bus/vdpa/drivers/virtio_vdpa/bind
wait_for 10 "rz0's node after the bind" vdpa_block_node rz0
expect_eq "the size the driver read after the reset" $((128 * M)) "$(size_of "$(vdpa_block_node rz0)")"
(for i in 1 2 3 4 5; do
	echo rz0 >/sys/bus/vdpa/drivers/virtio_vdpa/unbind
	sleep 0.2
	echo rz0 >/sys/bus/vdpa/drivers/virtio_vdpa/bind
	sleep 0.3
done) &
cycles=$!
for size in 192M 256M 320M 384M; do
	"$VDUSECTL" resize rz0 "$size" >/dev/null || fail "resize to $size during the resets failed"
	sleep 0.3
done
wait "$cycles"
wait_for 10 "rz0's node after the last bind" vdpa_block_node rz0
node=$(vdpa_block_node rz0)
expect_eq "$node after resizes racing with 5 resets" $((384 * M)) "$(size_of "$node")"
expect_eq "rz0's size in show" $((384 * M)) "$(device_field rz0 size_bytes)"
expect_eq "rz0's state" running "$(device_field rz0 state)"
dd if="$node" of=/dev/null bs=1M skip=383 count=1 iflag=direct status=none ||
	fail "reading the last MiB of $node failed"
pass "resized with the driver gone and during its resets: the driver read the last size"
"$VDUSECTL" del rz0

# file: grow while fio writes with verify; then the new space is verified.
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/f0.img" --size 128M --direct --queues 2 --name f0 --persistent)"
fio_start busy --name=busy --filename="$node" --rw=randwrite --bs=4k --size=96M --ioengine=io_uring --iodepth=16 \
	--direct=1 --numjobs=2 --offset_increment=48M --size=48M --time_based --runtime=8 \
	--verify=crc32c --verify_backlog=64 --verify_fatal=1
sleep 2
"$VDUSECTL" resize f0 384M >/dev/null || fail "resize f0 under fio failed"
expect_eq "$node grown under fio" $((384 * M)) "$(size_of "$node")"
expect_eq "the image grew" $((384 * M)) "$(stat -c %s "$img/f0.img")"
expect_eq "the persistent spec follows" $((384 * M)) "$(jq .size_bytes "$VDUSE_PERSIST_DIR/f0.json")"
fio_finish busy "while the device grew"
pass "fio wrote $(fio_total write.total_ios) verified blocks while f0 grew"
fio_check "the new space: write + verify" --name=new --filename="$node" --rw=$sparse --bs=64k \
	--offset=128M --size=256M --ioengine=io_uring --iodepth=16 --direct=1 \
	--verify=crc32c --do_verify=1 --verify_fatal=1
expect_status "f0 beyond the file without --shrink" 2 "add --shrink" "$VDUSECTL" resize f0 256M

# The new size survives a daemon crash and recovery.
pid=$(device_field f0 pid)
kill_dead "$pid" vdused
"$VDUSECTL" recover f0
expect_eq "size after recovery" $((384 * M)) "$(size_of "$node")"
fio_check "the new space after recovery: verify" --name=new --filename="$node" --rw=read:192k --bs=64k \
	--offset=128M --size=256M --ioengine=io_uring --iodepth=16 --direct=1 \
	--verify=crc32c --verify_only=1 --verify_fatal=1
"$VDUSECTL" resize f0 192M --shrink >/dev/null
expect_eq "the image shrank with --shrink" $((192 * M)) "$(stat -c %s "$img/f0.img")"
"$VDUSECTL" del f0

# A mounted ext4 grows online.
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/fs.img" --size 128M --name fs0)"
mkfs.ext4 -q -b 4096 "$node"
mkdir -p /run/mnt-fs0
mount "$node" /run/mnt-fs0
head -c 50M /dev/urandom >/run/mnt-fs0/before
"$VDUSECTL" resize fs0 512M >/dev/null
# resize2fs on the mounted file system, as an admin would (the test kernel
# has CONFIG_BLK_DEV_WRITE_MOUNTED as Debian's kernels do).
resize2fs "$node" >"$TMPDIR/resize2fs.out" 2>&1 ||
	fail "resize2fs on the mounted file system failed: $(cat "$TMPDIR/resize2fs.out")"
blocks=$(df -k --output=size /run/mnt-fs0 | tail -1)
[ "$blocks" -gt $((400 * 1024)) ] || fail "ext4 did not grow: $blocks KiB"
# More than the file system held before it grew.
head -c 120M /dev/urandom >/run/mnt-fs0/after
sum=$(cat /run/mnt-fs0/before /run/mnt-fs0/after | md5sum)
umount /run/mnt-fs0
e2fsck -fn "$node" >"$TMPDIR/fsck.out" 2>&1 || fail "e2fsck after the online grow: $(cat "$TMPDIR/fsck.out")"
mount "$node" /run/mnt-fs0
expect_eq "files written before and after the grow" "$sum" "$(cat /run/mnt-fs0/before /run/mnt-fs0/after | md5sum)"
umount /run/mnt-fs0
pass "ext4 grew online to $blocks KiB"
"$VDUSECTL" del fs0

# loop: the backing file grows by other means, resize with no size picks it up.
truncate -s 64M "$img/lo.img"
loopdev=$(losetup --find --show "$img/lo.img")
read -r _ node <<<"$("$VDUSECTL" add -t loop --file "$loopdev" --name lo0)"
truncate -s 160M "$img/lo.img"
losetup -c "$loopdev"
expect_status "a block device cannot be grown by resize" 1 "is larger than the block device" \
	"$VDUSECTL" resize lo0 1G
"$VDUSECTL" resize lo0 >/dev/null
expect_eq "loop device after resize with no size" $((160 * M)) "$(size_of "$node")"
fio_check "loop: the new space" --name=lo --filename="$node" --rw=$sparse --bs=64k --offset=64M \
	--size=96M --ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1
"$VDUSECTL" del lo0
losetup -d "$loopdev"

# nbd: the export grows on the server (nbdkit's file plugin takes the file's
# size at each connection); resize with no size follows it, under fio verify.
truncate -s 128M "$img/nbd.img"
nbd_start rs file "$img/nbd.img"
trap 'nbd_kill rs 2>/dev/null' EXIT
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "nbd+unix:///?socket=/run/nbd/rs.sock" \
	--queues 2 --name nb0)"
expect_status "nbd: resize to a size" 2 "resize the export there, then run 'vdusectl resize nb0'" \
	"$VDUSECTL" resize nb0 1G
grow_load nbdgrow "$node" 12
sleep 3
truncate -s 320M "$img/nbd.img"
expect_eq "resize follows the server" "nb0 $((320 * M))" "$("$VDUSECTL" resize nb0)"
expect_eq "$node after the export grew" $((320 * M)) "$(size_of "$node")"
expect_eq "nb0's size in show" $((320 * M)) "$(device_field nb0 size_bytes)"
fio_finish nbdgrow "across the nbd resize"
n=$(grep -c "closed to learn the export's size" /run/vduse/nb0.log)
[ "$n" -ge 1 ] || fail "vdused's log does not say it reconnected: $(tail -5 /run/vduse/nb0.log)"
pass "nbd grew from 128 MiB to 320 MiB under fio verify ($(fio_total write.total_ios) writes, $n connection(s) made again)"
new_space nbd nbnew "$node"
"$VDUSECTL" del nb0
nbd_kill rs
trap - EXIT

# vhost-user: the target comes back on a grown disk (qemu-storage-daemon 7.2
# keeps the size it opened the disk with: its export does not follow
# block_resize), under fio verify: vdused follows it at the connection (the
# target took the back-end channel, vhu-012), and resize with no size asks
# the target and says the same. A target that comes back smaller than the
# device is refused.
truncate -s 128M "$img/vhu.img"
vhu_start rv 2 "driver=file,node-name=rv,filename=$img/vhu.img"
trap 'vhu_stop rv 2>/dev/null' EXIT
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/rv.sock --queues 2 --name vu0)"
vhu_connected vu0 rv
expect_status "vhost-user: resize to a size" 2 "resize the target's disk there, then run 'vdusectl resize vu0'" \
	"$VDUSECTL" resize vu0 1G
grow_load vugrow "$node" 10
sleep 2
vhu_stop rv
truncate -s 320M "$img/vhu.img"
vhu_start rv 2 "driver=file,node-name=rv,filename=$img/vhu.img"
vhu_connected vu0 rv
expect_eq "resize follows the target" "vu0 $((320 * M))" "$("$VDUSECTL" resize vu0)"
expect_eq "$node after the target's disk grew" $((320 * M)) "$(size_of "$node")"
expect_eq "vu0's size in show" $((320 * M)) "$(device_field vu0 size_bytes)"
fio_finish vugrow "across the vhost-user resize"
pass "vhost-user grew from 128 MiB to 320 MiB under fio verify ($(fio_total write.total_ios) writes)"
new_space vhost-user vunew "$node"
vhu_stop rv
truncate -s 192M "$img/vhu.img"
vhu_start rv 2 "driver=file,node-name=rv,filename=$img/vhu.img"
wait_for 10 "vdused to refuse the smaller target" \
	grep -q "now has $((192 * M)) bytes, fewer than the device's $((320 * M))" /run/vduse/vu0.log
expect_status "resize without a target" 1 "no vhost-user target is connected at /run/vhu/rv.sock" \
	"$VDUSECTL" resize vu0
pass "vhost-user: a target smaller than the device refused"
"$VDUSECTL" del vu0
vhu_stop rv
trap - EXIT

# vhost: no driver yet; the config holds the size for when one starts.
read -r _ node <<<"$("$VDUSECTL" add -t null --size 64M --driver vhost --name vh0)"
"$VDUSECTL" resize vh0 128M >/dev/null
expect_eq "vhost device: size in show" $((128 * M)) "$(device_field vh0 size_bytes)"
grep -q "resized from $((64 * M)) to $((128 * M)) bytes" /run/vduse/vh0.log ||
	fail "vdused's log does not say it resized: $(tail -3 /run/vduse/vh0.log)"
"$VDUSECTL" del vh0

# A VM's device (the project's vhost client as its driver): grown under
# verified I/O, then grown while the VM restarts its driver again and again
# (each `info` is a reset, a start and a stop). Each start reads the size
# of that moment, the last one the last size, and verified I/O covers it.
read -r _ vnode <<<"$("$VDUSECTL" add -t file --file "$img/vr.img" --size 64M --driver vhost --name vr0)"
"$VHOST_CLIENT" -d "$vnode" verify -t 6 >"$TMPDIR/vr-verify.log" 2>&1 &
client=$!
sleep 2
"$VDUSECTL" resize vr0 128M >/dev/null || fail "resize of vr0 under the client's verified I/O failed"
wait "$client" || fail "the client's verified I/O across the resize: $(tail -5 "$TMPDIR/vr-verify.log")"
sectors() { "$VHOST_CLIENT" -d "$vnode" info | sed -n 's/^capacity: \([0-9]*\) sectors$/\1/p'; }
expect_eq "capacity a new driver reads after the resize" $((128 * M / 512)) "$(sectors)"
(for i in 1 2 3 4 5 6; do sectors >/dev/null || exit 1; done) &
restarts=$!
for size in 192M 256M 320M; do
	"$VDUSECTL" resize vr0 "$size" >/dev/null || fail "resize of vr0 to $size during driver restarts failed"
	sleep 0.5
done
wait "$restarts" || fail "a driver restart during the resizes failed"
expect_eq "capacity after resizes racing with driver restarts" $((320 * M / 512)) "$(sectors)"
out=$("$VHOST_CLIENT" -d "$vnode" verify -t 3 2>&1) || fail "verified I/O over the grown vr0: $out"
pass "a VM's device grew under verified I/O and during 6 driver restarts; verified I/O over all of it"
"$VDUSECTL" del vr0
# Through every grow, shrink, crash and refused target: no I/O error or
# broken ring in the kernel's log.
expect_quiet_kernel
expect_clean
