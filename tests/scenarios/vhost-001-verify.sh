#!/bin/bash
# --driver vhost, driven as a VM would drive it (vduse-vhost-client):
# verified I/O over every descriptor layout, 1 and 4 queues, on null, file,
# file with O_DIRECT (unaligned buffers bounced) and loop devices; the image
# holds what the client wrote; a read-only device refuses writes with IOERR.
source "$VTEST_LIB"
img=$(scratch_fs)

# vhost_node NAME: the /dev/vhost-vdpa-N that `add` printed for NAME.
add_vhost() {
	local out
	out=$("$VDUSECTL" add --driver vhost "$@")
	read -r _ node <<<"$out"
	case $node in /dev/vhost-vdpa-*) ;; *) fail "add $*: node '$node' is not /dev/vhost-vdpa-N" ;; esac
	echo "$node"
}

client_check() {
	local what=$1 out rc=0
	shift
	out=$("$VHOST_CLIENT" "$@" 2>&1) || rc=$?
	echo "$out" | sed 's/^/    /'
	[ "$rc" = 0 ] || fail "$what: vduse-vhost-client exited $rc"
	expect_contains "$what" "verify: passed" "$out"
}

for q in 1 4; do
	node=$(add_vhost -t null --size 256M --queues "$q" --serial "null-q$q" --name vnull)
	client_check "null, $q queue(s)" -d "$node" -q "$q" verify -t 3 --null --serial "null-q$q"
	"$VDUSECTL" del vnull
done
expect_clean

for q in 1 4; do
	rm -f "$img/v.img"
	node=$(add_vhost -t file --file "$img/v.img" --size 64M --queues "$q" --name vfile)
	client_check "file, $q queue(s)" -d "$node" -q "$q" verify -t 4 --initial-zero
	"$VDUSECTL" del vfile
done
expect_clean

# What the client wrote is what the image holds.
rm -f "$img/v.img"
node=$(add_vhost -t file --file "$img/v.img" --size 32M --queues 2 --name vimage)
client_check "file, image content" -d "$node" -q 2 verify -t 3 --initial-zero --no-trim \
	--expected-image "$img/expected"
"$VDUSECTL" del vimage
cmp "$img/v.img" "$img/expected" || fail "the image differs from what the client wrote"
pass "the image holds exactly what the client wrote"
rm -f "$img/expected"

# O_DIRECT on an ext4 file system: unaligned buffers are bounced.
truncate -s 200M "$img/fs.img"
loopdev=$(losetup --find --show "$img/fs.img")
mkfs.ext4 -q "$loopdev"
mkdir -p /run/ext && mount "$loopdev" /run/ext
node=$(add_vhost -t file --file /run/ext/v.img --size 64M --direct --queues 2 --name vdirect)
client_check "file --direct, unaligned buffers" -d "$node" -q 2 verify -t 4 --initial-zero
"$VDUSECTL" del vdirect
umount /run/ext

node=$(add_vhost -t loop --file "$loopdev" --queues 2 --name vloop)
client_check "loop" -d "$node" -q 2 verify -t 4
"$VDUSECTL" del vloop
losetup -d "$loopdev"
expect_clean

rm -f "$img/v.img"
truncate -s 16M "$img/v.img"
node=$(add_vhost -t file --file "$img/v.img" --read-only --name vro)
client_check "read-only" -d "$node" verify -t 2 --read-only --initial-zero
"$VDUSECTL" del vro
expect_eq "read-only image untouched" 0 "$(tr -d '\0' <"$img/v.img" | wc -c)"
expect_clean
