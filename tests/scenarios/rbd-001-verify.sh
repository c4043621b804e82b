#!/bin/bash
# The rbd backend against a real Ceph cluster (one mon, one memstore OSD,
# cephx) started in the guest: size from the image, fio verify (crc32c), the
# bytes written through /dev/vdX read back with librbd, a second writable
# mapping refused by the exclusive lock, read-only and snapshot mappings,
# kill -9 of vdused during fio + recover with 0 errors, the image grown with
# `rbd resize` and followed by `vdusectl resize`, bad input.
source "$VTEST_LIB"
ceph_up
pass "Ceph cluster up: $(grep -i 'ready' "$TMPDIR/ceph-up.log" | tail -1)"

# rbd_read OFFSET LENGTH FILE: bytes of rbd/img0 read with librbd (read-only).
rbd_read() {
	/usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys, rados, rbd
off, length, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with rados.Rados(conffile="/run/ceph/ceph.conf") as cluster:
    with cluster.open_ioctx("rbd") as io:
        with rbd.Image(io, "img0", read_only=True) as img:
            open(out, "wb").write(img.read(off, length))
PY
}

read -r _ node <<<"$("$VDUSECTL" add -t rbd --image rbd/img0 --ceph-conf "$conf" --queues 2 --name rbd0)"
expect_eq "size from the image" 268435456 "$(blockdev --getsize64 "$node")"
expect_eq "source in show" rbd:rbd/img0 "$(device_field rbd0 source)"
expect_eq "connection in show" connected "$(device_field rbd0 connection)"
fio_verify rbd "$node" 4k-512k 16M

dd if=/dev/urandom of="$TMPDIR/pattern" bs=1M count=4 status=none
dd if="$TMPDIR/pattern" of="$node" bs=1M seek=64 oflag=direct conv=fsync status=none
rbd_read $((64 << 20)) $((4 << 20)) "$TMPDIR/back"
cmp "$TMPDIR/pattern" "$TMPDIR/back" || fail "librbd reads other bytes than were written through $node"
pass "4 MiB written through $node read back with librbd"
blkdiscard -z -o $((64 << 20)) -l $((1 << 20)) "$node"
rbd_read $((64 << 20)) $((1 << 20)) "$TMPDIR/zero"
cmp "$TMPDIR/zero" <(head -c $((1 << 20)) /dev/zero) || fail "write zeroes did not reach the image"
pass "blkdiscard -z zeroed 1 MiB of the image"
dd if="$TMPDIR/pattern" of="$node" bs=1M seek=64 oflag=direct conv=fsync status=none

expect_status "a second writable mapping" 1 "exclusive lock" \
	"$VDUSECTL" add -t rbd --image rbd/img0 --ceph-conf "$conf" --name rbd1
read -r _ ro_node <<<"$("$VDUSECTL" add -t rbd --image rbd/img0 --ceph-conf "$conf" --read-only --name rbdro)"
expect_eq "read-only mapping" 1 "$(blockdev --getro "$ro_node")"
cmp "$TMPDIR/pattern" <(dd if="$ro_node" bs=1M skip=64 count=4 iflag=direct status=none) ||
	fail "the read-only mapping reads other bytes"
pass "a read-only second mapping reads what the writer wrote"
"$VDUSECTL" del rbdro

/usr/bin/python3 -c '
import rados, rbd
with rados.Rados(conffile="/run/ceph/ceph.conf") as c, c.open_ioctx("rbd") as io, rbd.Image(io, "img0") as img:
    img.create_snap("s1")' || fail "cannot create snapshot s1"
read -r _ snap_node <<<"$("$VDUSECTL" add -t rbd --image rbd/img0 --snap s1 --ceph-conf "$conf" --name snap0)"
expect_eq "a snapshot maps read-only" 1 "$(blockdev --getro "$snap_node")"
expect_eq "source names the snapshot" rbd:rbd/img0@s1 "$(device_field snap0 source)"
cmp "$TMPDIR/pattern" <(dd if="$snap_node" bs=1M skip=64 count=4 iflag=direct status=none) ||
	fail "the snapshot reads other bytes"
pass "the snapshot holds the pattern"
"$VDUSECTL" del snap0

# kill -9 of vdused during fio verify, then recover: no error.
fio_start crash --name=crash --filename="$node" --rw=randwrite --bsrange=4k-64k --size=32M \
	--ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --verify_backlog=16 \
	--verify_fatal=1 --time_based --runtime=14
sleep 4
pid=$(device_field rbd0 pid)
kill_dead "$pid" vdused
t0=$SECONDS
"$VDUSECTL" recover rbd0 >/dev/null || fail "recover failed: $(tail -5 /run/vduse/rbd0.log)"
took=$((SECONDS - t0))
# The dead vdused's lock is broken at once, not after the 30 s watch timeout.
[ "$took" -le 15 ] || fail "recover took $took s: the dead vdused's lock was not broken"
pass "recover took $took s (the new vdused broke its dead predecessor's lock)"
fio_finish crash "across kill -9 + recover"

# A write the driver saw done is on the OSDs, not in vdused's memory: kill
# -9 right after it, after a flush (which would turn a librbd cache from
# write-through to write-back), and recover: the data is there.
pid=$(device_field rbd0 pid)
dd if=/dev/zero of="$node" bs=4k count=1 oflag=direct conv=fsync status=none
dd if=/dev/urandom of="$TMPDIR/late" bs=1M count=4 status=none
dd if="$TMPDIR/late" of="$node" bs=1M seek=200 oflag=direct status=none
kill_dead "$pid" vdused
"$VDUSECTL" recover rbd0 >/dev/null || fail "recover failed: $(tail -5 /run/vduse/rbd0.log)"
cmp "$TMPDIR/late" <(dd if="$node" bs=1M skip=200 count=4 iflag=direct status=none) ||
	fail "4 MiB written (and done) just before vdused was killed are not on the image"
pass "4 MiB written just before kill -9 are on the image after recover"

# The image grows on the cluster; resize with no size follows it.
expect_status "rbd: resize to a size" 2 "resize the image there, then run 'vdusectl resize rbd0'" \
	"$VDUSECTL" resize rbd0 1G
rbd --conf "$conf" resize --size 384M rbd/img0 >"$TMPDIR/rbd-resize.out" 2>&1 ||
	fail "rbd resize: $(cat "$TMPDIR/rbd-resize.out")"
expect_eq "resize follows the image" "rbd0 $((384 << 20))" "$("$VDUSECTL" resize rbd0)"
expect_eq "$node after the image grew" $((384 << 20)) "$(blockdev --getsize64 "$node")"
# 64 KiB in every 256 KiB of it, to its end.
fio_check "rbd: the new space" --name=rbdnew --filename="$node" --rw=write:192k --bs=64k --offset=256M \
	--size=128M --ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1
"$VDUSECTL" del rbd0

expect_status "rbd without --image" 2 "needs --image POOL/IMAGE" "$VDUSECTL" add -t rbd --name b0
expect_status "image not POOL/IMAGE" 2 "is not POOL/IMAGE" "$VDUSECTL" add -t rbd --image img0 --name b0
expect_status "a missing image" 1 "b0: rbd:rbd/nosuch: cannot open the image" \
	"$VDUSECTL" add -t rbd --image rbd/nosuch --ceph-conf "$conf" --size 1G --name b0
expect_status "a missing pool" 1 "b0: rbd:nopool/img0: pool nopool" \
	"$VDUSECTL" add -t rbd --image nopool/img0 --ceph-conf "$conf" --name b0
expect_status "a missing snapshot" 1 "b0: rbd:rbd/img0@nosnap: cannot open the image" \
	"$VDUSECTL" add -t rbd --image rbd/img0 --snap nosnap --ceph-conf "$conf" --name b0
expect_status "an unknown user" 1 "cannot connect to the Ceph cluster as client.nobody" \
	"$VDUSECTL" add -t rbd --image rbd/img0 --ceph-conf "$conf" --id nobody --name b0
expect_status "a host without librbd" 1 "b0: rbd:rbd/img0: cannot load librbd.so.1 (Debian package librbd1): " \
	without_remote_libraries "$VDUSECTL" add -t rbd --image rbd/img0 --ceph-conf "$conf" --name b0
expect_status "a relative keyring path" 2 "'keys' is not an absolute path" \
	"$VDUSECTL" add -t rbd --image rbd/img0 --keyring keys --name b0
expect_clean
bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" down >/dev/null 2>&1 || true
