#!/bin/bash
# A file system on a file-backed device survives del and re-add: files keep
# their checksums and e2fsck finds it clean; the data is in the image.
source "$VTEST_LIB"
img=$(scratch_fs)/fs.img
mnt=/run/mnt
mkdir -p "$mnt"

read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img" --size 512M --queues 2 --name fs)"
mkfs.ext4 -q -F "$node"
mount "$node" "$mnt"
for i in 1 2 3 4; do
	head -c $((i * 3 << 20)) /dev/urandom >"$mnt/file$i"
done
(cd "$mnt" && sha256sum file* >"$TMPDIR/sums")
umount "$mnt"
"$VDUSECTL" del fs
pass "wrote 4 files, unmounted, deleted the device"

read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img" --name fs)"
expect_eq "re-added size from the image" $((512 << 20)) "$(blockdev --getsize64 "$node")"
e2fsck -fn "$node" >/dev/null || fail "e2fsck -fn reports problems"
pass "e2fsck -fn is clean"
mount "$node" "$mnt"
(cd "$mnt" && sha256sum -c --quiet "$TMPDIR/sums") || fail "checksums differ after re-add"
pass "all checksums match after del and re-add"
umount "$mnt"
"$VDUSECTL" del fs
e2fsck -fn "$img" >/dev/null || fail "e2fsck -fn on the image file reports problems"
pass "the image file itself holds a clean file system"
expect_clean
