#!/bin/bash
# A socket path in a directory other users can write to is taken by another
# user once the server that made it is gone. vdused checks who serves the
# socket (SO_PEERCRED) against the owner recorded at add (the user serving
# it then, or --socket-owner) and hands nothing to anyone else: no vhost-user
# message (let alone the driver's memory), no NBD write. When the right
# server is back, it connects and the held requests land there.
source "$VTEST_LIB"
as_user() { local uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }
mkdir -p /run/vo
chmod 1777 /run/vo
img=$(scratch_fs)
truncate -s 64M "$img/vhu.img" "$img/nbd.img"
chown 65534:65534 "$img/vhu.img" "$img/nbd.img"

# A listener that only counts what it is sent, as another user. The waits
# for a server to start allow 30 s: python3 took more than 5 s to start
# beside another guest in CI.
rogue_start() { # PATH BYTES-FILE
	rm -f "$1"
	as_user 1 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(8)
total = 0
while True:
    c, _ = s.accept()
    c.settimeout(1)
    try:
        while (data := c.recv(65536)):
            total += len(data)
            open(sys.argv[2], "w").write(str(total))
    except OSError:
        pass
' "$1" "$2" &
	rogue=$!
	echo 0 >"$2"
	chmod 666 "$2"
	wait_for 30 "the rogue socket" test -S "$1"
}

# vhost-user: qemu-storage-daemon as nobody.
qsd_start() {
	rm -f /run/vo/t.sock
	as_user 65534 qemu-storage-daemon --daemonize --pidfile /run/vo/t.pid \
		--blockdev "driver=file,node-name=d,filename=$img/vhu.img" \
		--export "type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=/run/vo/t.sock,writable=on" \
		2>>/run/vo/qsd.log || fail "qemu-storage-daemon: $(cat /run/vo/qsd.log)"
	wait_for 30 "the target's socket" test -S /run/vo/t.sock
}
qsd_start
read -r _ node <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vo/t.sock --name own0)"
expect_eq "socket_owner in show" "nobody (uid 65534)" "$(device_field own0 socket_owner)"
pid=$(device_field own0 pid)
fio_check "vhost-user before" --name=w --filename="$node" --rw=randwrite --bs=4k --size=8M \
	--ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --do_verify=1
kill -9 "$(cat /run/vo/t.pid)"
rogue_start /run/vo/t.sock /run/vo/rogue-t.bytes
if ! (wait_for 15 "vdused to refuse the rogue target" grep -q 'is served by daemon (uid 1), not by its owner' /run/vduse/own0.log); then
	fail "vdused did not refuse the rogue target ($(cat /run/vo/rogue-t.bytes) bytes sent to it): $(tail -4 /run/vduse/own0.log)"
fi
sleep 3
expect_eq "bytes the rogue target received" 0 "$(cat /run/vo/rogue-t.bytes)"
pass "vdused: $(grep 'is served by daemon' /run/vduse/own0.log | head -1 | sed 's/.*own0: //')"
expect_contains "connection while the rogue serves" "reconnecting since" "$(device_field own0 connection)"
kill "$rogue"
qsd_start
wait_for 20 "show to say connected" field_is own0 connection connected
fio_check "vhost-user after" --name=w --filename="$node" --rw=randwrite --bs=4k --size=8M \
	--ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --do_verify=1
expect_eq "vdused's pid" "$pid" "$(device_field own0 pid)"
"$VDUSECTL" del own0
kill "$(cat /run/vo/t.pid)"

# nbd over a unix socket: nbdkit as nobody; the rogue is a real NBD server
# (another nbdkit, as daemon) that would take the device's writes.
nbdkit_start() { # UID PIDFILE ARGS...
	local uid=$1 pidfile=$2
	shift 2
	rm -f /run/vo/n.sock "$pidfile"
	as_user "$uid" nbdkit --unix /run/vo/n.sock --pidfile "$pidfile" "$@" 2>>/run/vo/nbdkit.log ||
		fail "nbdkit: $(cat /run/vo/nbdkit.log)"
	wait_for 30 "nbdkit's pid file" test -s "$pidfile"
}
nbdkit_start 65534 /run/vo/n.pid file "$img/nbd.img"
url="nbd+unix:///?socket=/run/vo/n.sock"
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --name own1)"
expect_eq "nbd socket_owner in show" "nobody (uid 65534)" "$(device_field own1 socket_owner)"
kill -9 "$(cat /run/vo/n.pid)"
nbdkit_start 1 /run/vo/rogue.pid memory 64M
head -c 65536 /dev/urandom >"$TMPDIR/pattern"
dd if="$TMPDIR/pattern" of="$node" bs=64k seek=10 oflag=direct status=none &
dd_pid=$!
if ! (wait_for 15 "vdused to refuse the rogue server" grep -q 'is served by daemon (uid 1), not by its owner' /run/vduse/own1.log); then
	fail "vdused did not refuse the rogue server: $(tail -4 /run/vduse/own1.log)"
fi
sleep 2
kill -0 "$dd_pid" 2>/dev/null || fail "the write completed while only the rogue server was there"
pass "the write is held while only the rogue server is there"
kill "$(cat /run/vo/rogue.pid)"
nbdkit_start 65534 /run/vo/n.pid file "$img/nbd.img"
wait "$dd_pid" || fail "the held write failed"
cmp "$TMPDIR/pattern" <(dd if="$img/nbd.img" bs=64k skip=10 count=1 status=none) ||
	fail "the held write did not reach the real server's image"
pass "the held write landed in the real server's image"
"$VDUSECTL" del own1
kill "$(cat /run/vo/n.pid)"

# Nothing of the other users' may outlive the scenario.
pkill -9 -u 1 || true
pkill -9 -u 65534 || true
wait 2>/dev/null || true
expect_status "socket owner for a file device" 2 "--socket-owner is for the vhost-user backend" \
	"$VDUSECTL" add -t file --file "$img/nbd.img" --socket-owner nobody --name b0
expect_status "an unknown socket owner" 2 "--socket-owner 'nosuchuser' is not a user" \
	"$VDUSECTL" add -t nbd --url "$url" --socket-owner nosuchuser --name b0
expect_clean
