#!/bin/bash
# Harness check against a peer: qemu-storage-daemon's vduse-blk export on
# null-co attaches with `vdpa dev add`, reads zeros, detaches.
source "$VTEST_LIB"
name=qsd0
size=$((1 << 30))
# shellcheck disable=SC2046
qemu-storage-daemon $(qsd_export_args "$name" "$size" 2) &
qsd=$!
trap "kill $qsd 2>/dev/null || true" EXIT
qsd_check_null_export "$name" "$size"
kill "$qsd"
wait "$qsd" || true
wait_for 10 "/dev/vduse/$name to go" test ! -e "/dev/vduse/$name"
pass "qemu-storage-daemon exit removed /dev/vduse/$name"
