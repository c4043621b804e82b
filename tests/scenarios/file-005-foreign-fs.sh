#!/bin/bash
# Images on file systems other than tmpfs, where the kernel pins the
# driver's buffers even for buffered I/O (9p) or transfers come back short
# (a FUSE file system that moves at most 11776 bytes per read, and per write
# when buffered, tests/helpers/short_io_fuse.cpp): fio crc32c verification, buffered and
# O_DIRECT, 1 and 4 queues. Then a failing backend: the first failure is in
# vdused's log with its errno and offset, later ones are counted there and
# in stats, not logged one by one. And the deepest queue that add accepts.
source "$VTEST_LIB"

# name | fio block sizes | add options
check() {
	local name=$1 bs=$2
	shift 2
	read -r _ node <<<"$("$VDUSECTL" add --name "$name" "$@")"
	fio_verify "$name" "$node" "$bs" 16M
	expect_eq "$name: errors in stats" 0 "$("$VDUSECTL" stats "$name" --json=short | jq '.[0].total.errors')"
	"$VDUSECTL" del "$name"
}

# The guest's writable 9p share (cache=none: reads and writes pin the pages).
share=/run/vtest-share
check 9p-buffered 512-1M -t file --file "$share/a.img" --size 64M --queues 1
check 9p-direct 4k-1M -t file --file "$share/b.img" --size 64M --queues 4 --block-size 4096 --direct
rm -f "$share/a.img" "$share/b.img"

# A FUSE file that answers every read and write with at most 11776 bytes.
[ -x "${SHORT_IO_FUSE:-}" ] ||
	fail "no short-io-fuse helper (SHORT_IO_FUSE='${SHORT_IO_FUSE:-}'): the build lacked libfuse3-dev"
grep -qw fuse /proc/filesystems ||
	fail "the guest's kernel has no FUSE (CONFIG_FUSE_FS, in tests/vm/kernel.config)"
chunk=11776
mkdir -p /run/fuse
"$SHORT_IO_FUSE" /run/fuse $((64 << 20)) "$chunk" >"$TMPDIR/fuse.log" 2>&1 &
wait_for 10 "the FUSE file system" test -f /run/fuse/disk
got=$(dd if=/run/fuse/disk bs=64k count=1 2>/dev/null | wc -c)
expect_eq "a 64 KiB read(2) of the FUSE file moves (short transfer)" "$chunk" "$got"
check fuse-buffered 512-1M -t file --file /run/fuse/disk --queues 1
umount /run/fuse
wait
# O_DIRECT: short reads only, since FUSE itself fails an asynchronous
# O_DIRECT write that its server answers short (fs/fuse/file.c,
# fuse_get_res_by_io).
"$SHORT_IO_FUSE" --reads-only /run/fuse $((64 << 20)) "$chunk" >"$TMPDIR/fuse.log" 2>&1 &
wait_for 10 "the FUSE file system" test -f /run/fuse/disk
check fuse-direct 4k-1M -t file --file /run/fuse/disk --queues 4 --block-size 4096 --direct
umount /run/fuse
wait

# A FUSE file whose byte 1 MiB cannot be read or written.
"$SHORT_IO_FUSE" /run/fuse $((16 << 20)) $((1 << 20)) $((1 << 20)) >"$TMPDIR/fuse.log" 2>&1 &
wait_for 10 "the FUSE file system" test -f /run/fuse/disk
read -r _ node <<<"$("$VDUSECTL" add --name bad -t file --file /run/fuse/disk)"
for _ in $(seq 20); do
	dd if="$node" of=/dev/null bs=4k count=1 skip=256 iflag=direct 2>/dev/null &&
		fail "a read of the failing block succeeded"
done
pass "20 reads of the failing block fail"
dd if="$node" of=/dev/null bs=4k count=1 skip=255 iflag=direct 2>/dev/null ||
	fail "a read of the block before it failed"
pass "the block before it reads"
log=/run/vduse/bad.log
wait_for 10 "vdused's log of the failure" grep -q 'read of 4096 bytes at offset 1048576 failed: Input/output error (errno 5)' "$log"
expect_eq "lines in vdused's log about the failing read" 1 "$(grep -c 'failed: Input/output error' "$log")"
errors=$("$VDUSECTL" stats bad --json=short | jq '.[0].total.io_errors')
[ "$errors" -ge 20 ] || fail "stats counts $errors I/O errors, not at least 20"
pass "stats counts $errors I/O errors"
"$VDUSECTL" del bad
umount /run/fuse
wait

# The deepest queue add accepts gets an io_uring (its completion ring is
# clamped to what io_uring allows).
img=$(scratch_fs)
read -r _ node <<<"$("$VDUSECTL" add --name deep -t file --file "$img/deep.img" --size 64M --queue-depth 32768)"
fio_check "queue depth 32768: random write + verify" --name=deep --filename="$node" --rw=randwrite \
	--bs=4k --size=8M --ioengine=io_uring --iodepth=256 --direct=1 --verify=crc32c --verify_fatal=1
"$VDUSECTL" del deep
expect_clean
