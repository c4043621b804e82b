#!/bin/bash
# Bad backing files get a clear one-line error and nothing is created.
source "$VTEST_LIB"
img=$(scratch_fs)

expect_status "loop without a file" 2 "needs --file PATH" "$VDUSECTL" add -t loop
expect_status "loop on a missing file" 1 "/run/img/missing.img does not exist" "$VDUSECTL" add -t loop --file "$img/missing.img"
expect_status "new file without a size" 1 "give --size to create it" "$VDUSECTL" add -t file --file "$img/new.img"
test ! -e "$img/new.img" || fail "a failed add created the image"
mkdir "$img/dir"
expect_status "a directory" 1 "/run/img/dir is a directory" "$VDUSECTL" add -t file --file "$img/dir"
mkfifo "$img/fifo"
expect_status "a FIFO" 1 "/run/img/fifo is neither a regular file nor a block device" "$VDUSECTL" add -t file --file "$img/fifo"
expect_status "null with a file" 2 "null backend takes no --file" "$VDUSECTL" add -t null --size 1M --file "$img/x"

truncate -s 64M "$img/e.img"
expect_status "smaller size than the image" 2 "size 33554432 is smaller than /run/img/e.img (67108864 bytes)" \
	"$VDUSECTL" add -t file --file "$img/e.img" --size 32M
expect_status "larger size without --grow" 2 "add --grow to grow it" \
	"$VDUSECTL" add -t file --file "$img/e.img" --size 128M
expect_eq "image size unchanged" 67108864 "$(stat -c %s "$img/e.img")"
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/e.img" --size 128M --grow --name grown)"
expect_eq "grown device size" 134217728 "$(blockdev --getsize64 "$node")"
expect_status "a file already backing a device" 1 "already backs device 'grown'" \
	"$VDUSECTL" add -t file --file "$img/e.img"
"$VDUSECTL" del grown

mkdir -p /run/ro
mount --bind -o ro "$img" /run/ro
expect_status "read-only file without --read-only" 1 "(use --read-only)" "$VDUSECTL" add -t file --file /run/ro/e.img
read -r _ node <<<"$("$VDUSECTL" add -t file --file /run/ro/e.img --read-only --name ro)"
pass "the same file works with --read-only ($node)"
"$VDUSECTL" del ro
umount /run/ro

loopdev=$(losetup --find --show "$img/e.img")
mkfs.ext4 -q "$loopdev"
mkdir -p /run/mnt
mount "$loopdev" /run/mnt
expect_status "a mounted block device" 1 "is in use" "$VDUSECTL" add -t loop --file "$loopdev"
umount /run/mnt
losetup -d "$loopdev"
expect_clean
