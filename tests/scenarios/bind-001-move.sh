#!/bin/bash
# vdusectl bind: a running device moves from the host to a VM's driver and
# back with its data intact; bind refuses while the node is mounted or open
# and names who holds it; --force unbinds an open /dev/vdX but never a held
# /dev/vhost-vdpa-N; the record and the persistent spec follow.
source "$VTEST_LIB"
img=$(scratch_fs 1G)
export VDUSE_PERSIST_DIR=/run/persist-test # / is read-only in this mode
M=$((1 << 20))

truncate -s 64M "$img/b0.img"
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/b0.img" --queues 2 --name b0 --persistent)"

# In use: mounted, then open.
mkfs.ext4 -q "$node"
mkdir -p /run/mb
mount "$node" /run/mb
expect_status "bind while mounted" 1 "mounted on /run/mb" "$VDUSECTL" bind b0 --driver vhost
umount /run/mb
exec 3<"$node"
expect_status "bind while open" 1 "open in pid $$" "$VDUSECTL" bind b0 --driver vhost
exec 3<&-
expect_status "bind to an unknown driver" 2 "unknown driver 'pci'" "$VDUSECTL" bind b0 --driver pci
expect_status "bind of no device" 1 "device 'nope' does not exist" "$VDUSECTL" bind nope --driver vhost
expect_eq "bind to the driver bound already" "b0 $node" "$("$VDUSECTL" bind b0 --driver virtio)"
dd if=/dev/zero of="$node" bs=1M count=64 oflag=direct status=none

# To the VM's driver: verified I/O from a vhost-vdpa client.
read -r _ vnode <<<"$("$VDUSECTL" bind b0 --driver vhost)"
case $vnode in /dev/vhost-vdpa-*) ;; *) fail "bind --driver vhost: node '$vnode'" ;; esac
[ ! -e "$node" ] || fail "$node still exists after the move to vhost"
expect_eq "show: driver" vhost_vdpa "$(device_field b0 driver)"
expect_eq "show: bound_driver" vhost_vdpa "$(device_field b0 bound_driver)"
expect_eq "the persistent spec follows" vhost_vdpa "$(jq -r .driver "$VDUSE_PERSIST_DIR/b0.json")"
out=$("$VHOST_CLIENT" -d "$vnode" -q 2 verify -t 3 --initial-zero --no-trim --serial b0 \
	--expected-image "$TMPDIR/expected" 2>&1) || fail "vduse-vhost-client after bind: $out"
expect_contains "verified I/O through $vnode after the move" "verify: passed" "$out"

# A held vhost node is refused, even with --force.
exec 3<>"$vnode"
expect_status "bind while $vnode is held" 1 "close it first" "$VDUSECTL" bind b0 --driver virtio
expect_status "bind --force while $vnode is held" 1 "close it first" "$VDUSECTL" bind b0 --driver virtio --force
exec 3<&-

# Back to the host: the bytes the client wrote are there.
read -r _ node <<<"$("$VDUSECTL" bind b0 --driver virtio)"
case $node in /dev/vd*) ;; *) fail "bind --driver virtio: node '$node'" ;; esac
expect_eq "size after the moves" $((64 * M)) "$(blockdev --getsize64 "$node")"
cmp "$node" "$TMPDIR/expected" || fail "$node differs from what the vhost-vdpa client wrote"
pass "the host sees exactly what the VM's driver wrote"
fio_verify "b0 after two moves" "$node" 4k-64k 16M

# --force unbinds an open /dev/vdX.
exec 3<"$node"
read -r _ vnode <<<"$("$VDUSECTL" bind b0 --driver vhost --force)"
exec 3<&-
case $vnode in /dev/vhost-vdpa-*) ;; *) fail "bind --force: node '$vnode'" ;; esac
read -r _ node <<<"$("$VDUSECTL" bind b0 --driver virtio)"
fio_check "b0 after --force and back" --name=v --filename="$node" --rw=randrw --bs=4k --size=32M \
	--ioengine=io_uring --iodepth=8 --direct=1 --runtime=3 --time_based
"$VDUSECTL" del b0
expect_clean
