#!/bin/bash
# --bounce-size and --bounce-memory: vdused supplies the kernel's bounce
# buffer from 2 MiB huge pages (or shmem) with VDUSE_IOTLB_REG_UMEM, and the
# file and loop backends read and write it as io_uring fixed buffers. Data
# verifies with fio on 1 and 4 queues, an ext4 file system round-trips, kill
# -9 + recover under fio verify loses nothing, a driver reset registers the
# memory again, show reports it, and bad input is refused with one line and
# nothing left behind. The guest boots with hugepages=VTEST_HUGEPAGES.
source "$VTEST_LIB"
img=$(scratch_fs 2G)
M=$((1 << 20))
hp_free() { cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages; }
reserved=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
[ "$reserved" -ge 64 ] || fail "the guest has $reserved huge pages reserved, not the 64 asked on its command line"
pass "$reserved huge pages of 2 MiB reserved at boot"
pid_of() { device_field "$1" pid; }
vmpin_kib() { awk '/^VmPin:/ {print $2}' "/proc/$1/status"; }

# ---- bad input: usage errors first, then what the machine lacks ----
truncate -s 256M "$img/a.img"
expect_status "bounce size below 1 MiB" 2 "bounce size 524288 is not a multiple of 4 KiB from 1 MiB to 1 GiB" \
	"$VDUSECTL" add -t file --file "$img/a.img" --direct --name b0 --bounce-size 512K
expect_status "bounce size above 1 GiB" 2 "from 1 MiB to 1 GiB" \
	"$VDUSECTL" add -t file --file "$img/a.img" --direct --name b0 --bounce-size 2G
expect_status "bounce size not a number" 2 "b0" \
	"$VDUSECTL" add -t file --file "$img/a.img" --direct --name b0 --bounce-size lots
expect_status "hugepage bounce size not a multiple of 2 MiB" 2 "is not a multiple of the 2 MiB huge page size" \
	"$VDUSECTL" add -t file --file "$img/a.img" --direct --name b0 --bounce-size 3M --bounce-memory hugepage
expect_status "unknown bounce memory" 2 "bounce memory 'gold' is not default, hugepage, shmem or auto" \
	"$VDUSECTL" add -t file --file "$img/a.img" --direct --name b0 --bounce-memory gold
expect_status "bounce memory for the vhost driver" 2 "are for the virtio driver" \
	"$VDUSECTL" add -t null --size 64M --driver vhost --name b0 --bounce-memory hugepage
sysctl -q vm.nr_hugepages=0
expect_status "no huge pages reserved" 1 "reserve them with 'sysctl vm.nr_hugepages=N'" \
	"$VDUSECTL" add -t file --file "$img/a.img" --direct --name b0 --bounce-memory hugepage
expect_clean
# auto takes shmem when there are no huge pages.
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/a.img" --direct --name b0 --bounce-memory auto)"
dd if="$node" of=/dev/null bs=4k count=16 iflag=direct status=none
expect_eq "auto without huge pages: memory in use" shmem "$(device_field b0 bounce_in_use)"
expect_eq "auto without huge pages: registered after I/O" true "$(device_field b0 bounce_registered)"
"$VDUSECTL" del b0
sysctl -q vm.nr_hugepages="$reserved"
expect_eq "huge pages free again" "$reserved" "$(hp_free)"

# ---- file, O_DIRECT, 1 queue, huge pages, the default 64 MiB ----
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/a.img" --direct --name b1 --bounce-memory hugepage)"
expect_eq "bounce size (the kernel's default)" $((64 * M)) "$(device_field b1 bounce_size)"
expect_eq "bounce memory asked" hugepage "$(device_field b1 bounce_memory)"
expect_eq "bounce memory in use" hugepage "$(device_field b1 bounce_in_use)"
expect_eq "huge pages taken by b1" $((reserved - 32)) "$(hp_free)"
fio_verify "hugepage, 1 queue" "$node" 4k-256k 96M
expect_eq "registered with the kernel after I/O" true "$(device_field b1 bounce_registered)"
pin=$(vmpin_kib "$(pid_of b1)")
[ "$pin" -ge $((64 * 1024)) ] || fail "vdused pins $pin KiB, less than its 64 MiB of bounce memory"
pass "vdused pins $pin KiB (the bounce memory, and the io_uring fixed buffer)"
show=$("$VDUSECTL" show b1)
expect_contains "show" "hugepage" "$show"
"$VDUSECTL" del b1
expect_eq "huge pages free after del" "$reserved" "$(hp_free)"

# ---- 4 queues, 32 MiB, verify + ext4 round trip + a driver reset ----
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/a.img" --direct --queues 4 --name b4 \
	--bounce-size 32M --bounce-memory hugepage)"
expect_eq "bounce size" $((32 * M)) "$(device_field b4 bounce_size)"
expect_eq "the kernel's bounce size" $((32 * M)) "$(cat /sys/class/vduse/b4/bounce_size)"
fio_verify "hugepage, 4 queues" "$node" 4k-1M 48M
echo 16777216 >/sys/class/vduse/b4/bounce_size 2>/dev/null &&
	fail "the kernel took a new bounce size after the device was attached"
pass "the kernel refuses a new bounce size once attached"
mnt=/run/mnt-b4
mkdir -p $mnt
mkfs.ext4 -q -F "$node"
mount "$node" $mnt
for i in 1 2 3 4; do head -c 8M /dev/urandom >"$mnt/f$i"; done
sums=$(cd $mnt && sha256sum f1 f2 f3 f4)
umount $mnt
# A driver reset deregisters the memory; the next driver's I/O registers it.
echo b4 >/sys/bus/vdpa/drivers/virtio_vdpa/unbind
wait_for 10 "b4 deregistered at the reset" field_is b4 bounce_registered false
pass "the reset deregistered the bounce memory"
echo b4 >/sys/bus/vdpa/drivers/virtio_vdpa/bind
wait_for 10 "b4's node after the rebind" vdpa_block_node b4
node=$(vdpa_block_node b4)
mount "$node" $mnt
expect_eq "ext4 files after umount, reset and mount" "$sums" "$(cd $mnt && sha256sum f1 f2 f3 f4)"
umount $mnt
e2fsck -f -n "$node" >/dev/null 2>&1 || fail "e2fsck found errors on $node"
pass "e2fsck is clean"
expect_eq "registered again after the rebind" true "$(device_field b4 bounce_registered)"

# ---- kill -9 + recover under fio verify ----
fio_start crash --name=crash --filename="$node" --rw=randwrite --bs=4k --size=96M --ioengine=io_uring \
	--iodepth=32 --direct=1 --numjobs=2 --offset_increment=96M --verify=crc32c \
	--verify_backlog=64 --verify_fatal=1 --time_based --runtime=300
for i in 1 2 3; do
	sleep 2
	kill -0 $fio_pid 2>/dev/null || fail "fio ended early (kill $i): $(cat "$TMPDIR/crash.json")"
	pid=$(pid_of b4)
	kill_dead "$pid" vdused
	"$VDUSECTL" recover b4 >/dev/null
done
sleep 3
expect_eq "registered by the third successor" true "$(device_field b4 bounce_registered)"
fio_stop crash "after 3 kills"
pass "3 kill -9 + recover under fio verify: $(fio_total write.total_ios) writes, 0 errors"
expect_quiet_kernel
fio_verify "after the kills" "$node" 4k-64k 16M
expect_status "b4 to the vhost driver" 2 "only the virtio driver uses" "$VDUSECTL" bind b4 --driver vhost
"$VDUSECTL" del b4

# ---- loop, and shmem ----
loopdev=$(losetup --find --show "$img/a.img")
read -r _ node <<<"$("$VDUSECTL" add -t loop --file "$loopdev" --queues 4 --name bl --bounce-memory hugepage)"
fio_verify "loop, hugepage, 4 queues" "$node" 4k-1M 32M
expect_eq "loop: registered" true "$(device_field bl bounce_registered)"
"$VDUSECTL" del bl
losetup -d "$loopdev"
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/a.img" --direct --name bs --bounce-memory shmem --bounce-size 16M)"
fio_verify "shmem, 16 MiB" "$node" 4k-256k 32M
expect_eq "shmem in use" shmem "$(device_field bs bounce_in_use)"
"$VDUSECTL" del bs
expect_eq "huge pages free at the end" "$reserved" "$(hp_free)"
expect_clean
