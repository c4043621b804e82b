#!/bin/bash
# Data written through file and loop devices reads back intact: fio crc32c
# verification for buffered and O_DIRECT images and a loop device, block sizes
# 512 and 4096, 1 and 4 queues, I/O sizes from 512 B (4 KiB) to 1 MiB.
source "$VTEST_LIB"
img=$(scratch_fs)

# name | add options | fio block sizes
check() {
	local name=$1 bs=$2
	shift 2
	read -r _ node <<<"$("$VDUSECTL" add --name "$name" "$@")"
	fio_verify "$name" "$node" "$bs" 24M
	"$VDUSECTL" del "$name"
}
check buffered-512 512-1M -t file --file "$img/a.img" --size 128M --queues 1
check direct-4k 4k-1M -t file --file "$img/b.img" --size 128M --queues 4 --block-size 4096 --direct
truncate -s 128M "$img/loop.img"
loopdev=$(losetup --find --show "$img/loop.img")
check loop-512 512-1M -t loop --file "$loopdev" --queues 4
expect_eq "loop backend block size" 512 "$(jq -r .block_size <<<"$("$VDUSECTL" add -t loop --file "$loopdev" --name lb --json)")"
"$VDUSECTL" del lb
losetup -d "$loopdev"
loopdev=$(losetup --find --show --sector-size 4096 "$img/loop.img")
read -r _ node <<<"$("$VDUSECTL" add -t loop --file "$loopdev" --name loop-4k)"
expect_eq "block size taken from the 4k loop device" 4096 "$(blockdev --getss "$node")"
fio_verify loop-4k "$node" 4k-1M 24M
"$VDUSECTL" del loop-4k
losetup -d "$loopdev"
expect_clean
