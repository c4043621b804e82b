#!/bin/bash
# Images on file systems other than tmpfs, where the kernel pins the
# driver's buffers even for buffered I/O (9p) or transfers come back short
# (a FUSE file system that moves at most 11776 bytes per read, and per write
# when buffered, tests/helpers/short_io_fuse.cpp): fio crc32c verification, buffered and
# O_DIRECT, 1 and 4 queues. Then a failing backend: the first failure is in
# vdused's log with its errno and offset, later ones are counted there and
# in stats, not logged one by one. And the deepest queue that add accepts,
# on a file system that zeroes in place (write zeroes offered).
source "$VTEST_LIB"

# check NAME BLOCK-SIZES ADD-OPTIONS...: fio verify, then zeroing (BLKZEROOUT,
# as mkfs.ext4 and ext4's lazy init do): neither 9p nor the FUSE helper can
# zero a range in place (no fallocate), so add says so and the device does
# not offer write zeroes; the kernel writes the zeros itself, without an
# error. Before, the device offered write zeroes and failed every one of
# them with UNSUPP: the kernel logged "operation not supported error" each
# time.
check() {
	local name=$1 bs=$2 out
	shift 2
	out=$("$VDUSECTL" add --name "$name" "$@" 2>"$TMPDIR/add.err") ||
		fail "$name: add: $(cat "$TMPDIR/add.err")"
	read -r _ node <<<"$out"
	expect_contains "$name: add says" "cannot zero a range in place" "$(cat "$TMPDIR/add.err")"
	expect_eq "$name: write zeroes offered (sysfs)" 0 \
		"$(cat "/sys/block/${node#/dev/}/queue/write_zeroes_max_bytes")"
	fio_verify "$name" "$node" "$bs" 8M
	dmesg --clear
	blkdiscard -z -o 1M -l 1M "$node" || fail "$name: blkdiscard -z failed"
	expect_eq "$name: the zeroed MiB" "$(head -c 1M /dev/zero | sha256sum)" \
		"$(dd if="$node" bs=1M skip=1 count=1 iflag=direct 2>/dev/null | sha256sum)"
	dmesg | grep -E 'error|I/O' && fail "$name: the kernel logged errors while zeroing"
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
out=$("$VDUSECTL" add --name deep -t file --file "$img/deep.img" --size 64M --queue-depth 32768 2>&1)
read -r _ node <<<"$out"
# A file system that punches holes: write zeroes offered, nothing said.
expect_eq "add on $(stat -f -c %T "$img") says" "deep $node" "$out"
[ "$(cat "/sys/block/${node#/dev/}/queue/write_zeroes_max_bytes")" -gt 0 ] ||
	fail "an image on $(stat -f -c %T "$img") offers no write zeroes"
fio_check "queue depth 32768: random write + verify" --name=deep --filename="$node" --rw=randwrite \
	--bs=4k --size=8M --ioengine=io_uring --iodepth=256 --direct=1 --verify=crc32c --verify_fatal=1
"$VDUSECTL" del deep
expect_clean
