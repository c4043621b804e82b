#!/bin/bash
# The guest kernel offers VDUSE and the vdpa bus.
source "$VTEST_LIB"
test -c /dev/vduse/control || fail "/dev/vduse/control is missing"
pass "/dev/vduse/control is a character device"
mgmt=$(vdpa -j mgmtdev show)
expect_contains "vdpa mgmtdev show" '"vduse"' "$mgmt"
expect_contains "vdpa mgmtdev show" '"vdpasim_blk"' "$mgmt"
pass "guest kernel: Linux $(uname -r)"
