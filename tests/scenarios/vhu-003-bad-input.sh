#!/bin/bash
# add -t vhost-user with a socket or a target that cannot serve: a one-line
# error naming the device and the cause, exit 1 (2 for a usage error), and
# nothing left behind.
source "$VTEST_LIB"
py=/usr/bin/python3
# The test servers below run until the scenario ends.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
img=$(scratch_fs)
mkdir -p /run/vhu

expect_status "no socket given" 2 "needs --socket" "$VDUSECTL" add -t vhost-user --name b0
expect_status "a relative socket path" 2 "not an absolute path" "$VDUSECTL" add -t vhost-user --socket vhu.sock --name b0
expect_status "--socket for another backend" 2 "--socket is for the vhost-user backend" \
	"$VDUSECTL" add -t null --size 1M --socket /run/vhu/x.sock --name b0
expect_status "a socket path that is missing" 1 "b0: vhost-user socket /run/vhu/missing.sock: No such file or directory" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/missing.sock --name b0
touch /run/vhu/plain
expect_status "a regular file as socket" 1 "b0: vhost-user socket /run/vhu/plain: not a unix socket" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/plain --name b0
# A socket file nobody listens on (what a killed target leaves).
$py -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("/run/vhu/stale.sock")'
expect_status "nobody listening" 1 "b0: cannot connect to the vhost-user target at /run/vhu/stale.sock (is it running?): Connection refused" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/stale.sock --name b0

# Peers that are not vhost-user-blk targets.
serve() { # SOCKET MODE: a unix server that echoes, or closes after the first message
	$py - "$1" "$2" <<'PY' &
import os, socket, sys
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(4)
while True:
    c, _ = s.accept()
    data = c.recv(4096)
    if mode == "echo":
        while data:
            c.sendall(data)
            data = c.recv(4096)
    c.close()
PY
	wait_for 30 "the test server on $1" test -S "$1"
}
serve /run/vhu/echo.sock echo
expect_status "an echo server" 1 "b0: vhost-user target at /run/vhu/echo.sock: unexpected answer to message 1: not a vhost-user target" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/echo.sock --name b0
serve /run/vhu/close.sock close
expect_status "a target that closes mid-negotiation" 1 "b0: vhost-user target at /run/vhu/close.sock: it closed the connection (during message 1)" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/close.sock --name b0
# A listener that never answers (a server of another protocol waiting for
# its client to speak first) is given up on after the timeout.
$py -c '
import socket, time
s = socket.socket(socket.AF_UNIX); s.bind("/run/vhu/mute.sock"); s.listen(4)
c, _ = s.accept(); time.sleep(60)' &
wait_for 30 "the mute server" test -S /run/vhu/mute.sock
start=$SECONDS
expect_status "a target that never answers" 1 "b0: vhost-user target at /run/vhu/mute.sock: no answer to message 1" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/mute.sock --name b0
[ $((SECONDS - start)) -le 10 ] || fail "add waited $((SECONDS - start)) s for a mute target"

# Values the target cannot honour.
truncate -s 64M "$img/disk.img"
vhu_start disk 2 "driver=file,node-name=disk,filename=$img/disk.img" "logical-block-size=4096"
expect_status "more queues than the target serves" 1 "b0: the vhost-user target at /run/vhu/disk.sock serves at most 2 queue(s), not 4 (--queues)" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --queues 4 --name b0
expect_status "a size larger than the target" 1 "b0: --size 134217728 is larger than the vhost-user target at /run/vhu/disk.sock (67108864 bytes)" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --size 128M --name b0
expect_status "a block size below the target's" 2 "b0: block size 512 is smaller than the target's 4096" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --block-size 512 --name b0
expect_status "a queue depth above what a target takes" 2 "b0: queue depth 2048 is more than a vhost-user target takes (1024)" \
	"$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --queue-depth 2048 --name b0
# The target's block size is taken when none is asked for.
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/disk.sock --name b0)"
expect_eq "logical block size from the target" 4096 "$(blockdev --getss "$node")"
expect_status "resize of a vhost-user device to a size" 2 \
	"b0: a vhost-user device's size is its target's: resize the target's disk there, then run 'vdusectl resize b0' without a size" \
	"$VDUSECTL" resize b0 1G
expect_eq "resize without a size takes the target's" "b0 $((64 << 20))" "$("$VDUSECTL" resize b0)"
"$VDUSECTL" del b0
expect_clean b0
