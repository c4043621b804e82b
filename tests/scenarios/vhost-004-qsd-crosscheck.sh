#!/bin/bash
# The client checked against a server nobody here wrote: qemu-storage-daemon's
# vduse-blk export (null-co and a file), bound to vhost_vdpa, passes the same
# verification as vdused's devices. Indirect tables are left out: with them
# qemu-storage-daemon 7.2 stops answering within seconds (requests stay in
# flight for good), which vdused does not.
source "$VTEST_LIB"
layouts=simple,split,merged,unaligned
img=$(scratch_fs)

# qsd_run NAME BLOCKDEV QUEUES: starts qemu-storage-daemon exporting BLOCKDEV.
qsd_run() {
	qemu-storage-daemon --blockdev "$2" \
		--export "type=vduse-blk,id=e0,node-name=n0,name=$1,writable=on,num-queues=$3,queue-size=128" &
	qsd=$!
	wait_for 10 "/dev/vduse/$1" test -e "/dev/vduse/$1"
	vdpa dev add name "$1" mgmtdev vduse
}
qsd_stop() {
	vdpa dev del "$1"
	kill "$qsd"; wait "$qsd" 2>/dev/null || true
	wait_for 10 "/dev/vduse/$1 to go" test ! -e "/dev/vduse/$1"
}
trap 'kill $qsd 2>/dev/null || true' EXIT

for q in 1 2; do
	qsd_run qnull "driver=null-co,node-name=n0,size=$((256 << 20)),read-zeroes=on" $q
	node=$(bind_vhost qnull)
	out=$("$VHOST_CLIENT" -d "$node" -q $q verify -t 3 --null --layouts $layouts 2>&1) ||
		fail "qemu-storage-daemon null-co, $q queue(s): $out"
	echo "$out" | sed 's/^/    /'
	pass "qemu-storage-daemon null-co over vhost-vdpa, $q queue(s): verified"
	qsd_stop qnull
done

truncate -s 64M "$img/q.img"
qsd_run qfile "driver=file,filename=$img/q.img,node-name=n0" 2
node=$(bind_vhost qfile)
out=$("$VHOST_CLIENT" -d "$node" -q 2 verify -t 4 --initial-zero --no-trim --layouts $layouts \
	--expected-image "$img/q.expected" 2>&1) || fail "qemu-storage-daemon file: $out"
echo "$out" | sed 's/^/    /'
qsd_stop qfile
cmp "$img/q.img" "$img/q.expected" || fail "qemu-storage-daemon's image differs from what the client wrote"
pass "qemu-storage-daemon file export over vhost-vdpa: verified, and the image holds what the client wrote"
