#!/bin/bash
# qcow2 and LUKS images, which users ask the ublk tools for, served through
# the vhost-user bridge from qemu-storage-daemon (the README's recipe): fio
# verify through /dev/vdX, an ext4 round trip across del, a target restart
# and add again; the qcow2 image passes qemu-img check and grew only as
# written; the LUKS image holds no plaintext of what was written.
source "$VTEST_LIB"
img=$(scratch_fs 2G)

# fs_round_trip NAME SOCKET: mkfs, a file with a known checksum, del; the
# target restarted by the caller in between; add again, the file intact.
write_fs() {
	local node=$1
	mkfs.ext4 -q -F "$node" || fail "mkfs.ext4 on $node"
	mkdir -p /run/mnt-vt
	mount "$node" /run/mnt-vt || fail "mount $node"
	# A recognisable text, to look for in the image file afterwards.
	{ yes "vduse-tools plaintext marker" || true; } | head -c 8M >/run/mnt-vt/marker.txt
	head -c 16M /dev/urandom >/run/mnt-vt/data
	sum=$(sha256sum </run/mnt-vt/data)
	umount /run/mnt-vt
}
check_fs() {
	local node=$1
	fsck.ext4 -f -n "$node" >"$TMPDIR/fsck.log" 2>&1 || fail "fsck.ext4: $(cat "$TMPDIR/fsck.log")"
	mount "$node" /run/mnt-vt || fail "mount $node again"
	expect_eq "the file after del, a target restart and add" "$sum" "$(sha256sum </run/mnt-vt/data)"
	umount /run/mnt-vt
}

# qcow2: thin, grows as written.
qemu-img create -q -f qcow2 "$img/disk.qcow2" 1G
qcow2="driver=qcow2,node-name=qc,file.driver=file,file.filename=$img/disk.qcow2"
vhu_start qc 2 "$qcow2"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/qc.sock --queues 2 --name qc0)"
expect_eq "qcow2: the device's size is the image's virtual size" 1073741824 "$(blockdev --getsize64 "$node")"
fio_verify "qcow2" "$node" 4k-256k 64M
write_fs "$node"
"$VDUSECTL" del qc0
vhu_stop qc
out=$(qemu-img check "$img/disk.qcow2" 2>&1) || fail "qemu-img check of the qcow2 image: $out"
pass "qemu-img check: $(tail -1 <<<"$out")"
# The plaintext check below can see: the unencrypted qcow2 holds the text.
grep -q "vduse-tools plaintext marker" "$img/disk.qcow2" || fail "the qcow2 image lacks the text written"
used=$(du -k "$img/disk.qcow2" | cut -f1)
[ "$used" -lt $((600 * 1024)) ] || fail "the qcow2 image takes $used KiB for a 1 GiB disk"
pass "the qcow2 image takes $used KiB of its 1 GiB"
vhu_start qc 2 "$qcow2"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/qc.sock --queues 2 --name qc0)"
check_fs "$node"
"$VDUSECTL" del qc0
vhu_stop qc

# LUKS: qemu-storage-daemon decrypts; vdused sees plaintext, the file none.
secret="secret,id=sec0,data=correct-horse-battery"
qemu-img create -q -f luks --object "$secret" -o key-secret=sec0,iter-time=10 "$img/disk.luks" 256M
luks="driver=luks,node-name=lk,key-secret=sec0,file.driver=file,file.filename=$img/disk.luks"
VHU_OBJECT=$secret vhu_start lk 1 "$luks"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/lk.sock --name lk0)"
fio_verify "LUKS" "$node" 4k-64k 32M
write_fs "$node"
"$VDUSECTL" del lk0
vhu_stop lk
cryptsetup luksDump "$img/disk.luks" >"$TMPDIR/luks.txt" 2>&1 || fail "cryptsetup luksDump: $(cat "$TMPDIR/luks.txt")"
pass "cryptsetup sees a LUKS header: $(grep -m1 '^Version' "$TMPDIR/luks.txt" | tr -s '\t ' ' ')"
grep -q "vduse-tools plaintext marker" "$img/disk.luks" && fail "the LUKS image holds the plaintext"
pass "the LUKS image holds no plaintext of the file written"
VHU_OBJECT=$secret vhu_start lk 1 "$luks"
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/lk.sock --name lk0)"
check_fs "$node"
grep -q "vduse-tools plaintext marker" "$node" || fail "the plaintext is not readable through the device"
"$VDUSECTL" del lk0
vhu_stop lk
expect_clean
