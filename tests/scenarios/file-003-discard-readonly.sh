#!/bin/bash
# blkdiscard punches holes in the image; blkdiscard -z reads back zeros; data
# is in the image after del; a read-only device refuses writes and leaves the
# image byte-identical.
source "$VTEST_LIB"
img=$(scratch_fs)/d.img

read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img" --size 64M --name disc)"
dd if=/dev/urandom of="$node" bs=1M count=64 oflag=direct status=none
blocks_full=$(stat -c %b "$img")
blkdiscard -o $((8 << 20)) -l $((32 << 20)) "$node"
blocks_after=$(stat -c %b "$img")
[ "$blocks_after" -lt $((blocks_full - 60000)) ] ||
	fail "blkdiscard of 32 MiB freed too little: $blocks_full -> $blocks_after blocks"
pass "blkdiscard of 32 MiB freed image blocks: $blocks_full -> $blocks_after"
blkdiscard -z -o $((48 << 20)) -l $((4 << 20)) "$node"
expect_eq "sha256 after blkdiscard -z" "$(head -c 4M /dev/zero | sha256sum)" \
	"$(dd if="$node" bs=1M skip=48 count=4 iflag=direct status=none | sha256sum)"
dd if=/dev/urandom of="$TMPDIR/pattern" bs=1M count=2 status=none
dd if="$TMPDIR/pattern" of="$node" bs=1M seek=60 oflag=direct status=none
"$VDUSECTL" del disc
expect_eq "data in the image after del" "$(sha256sum <"$TMPDIR/pattern")" \
	"$(dd if="$img" bs=1M skip=60 count=2 status=none | sha256sum)"

before=$(sha256sum <"$img")
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img" --read-only --name ro)"
expect_eq "read-only flag" 1 "$(blockdev --getro "$node")"
expect_eq "show mode" buffered,ro "$(device_field ro mode)"
if dd if=/dev/zero of="$node" bs=4k count=1 oflag=direct status=none 2>/dev/null; then
	fail "a write to the read-only device succeeded"
fi
pass "writes to the read-only device fail"
if blkdiscard "$node" 2>/dev/null; then fail "discard on the read-only device succeeded"; fi
pass "discard on the read-only device fails"
head -c 1M "$node" >/dev/null
"$VDUSECTL" del ro
expect_eq "image unchanged by the read-only device" "$before" "$(sha256sum <"$img")"
expect_clean
