#!/bin/bash
# An NBD server that goes silent without closing the connection: it hangs
# (SIGSTOP here; a process stuck in the kernel, or a host that froze, in
# life) with requests in hand, and a replacement is started on the same
# socket path. Nothing ever arrives on the old connection, so without a
# deadline of its own vdused would wait for those replies for ever, and
# fio with it. With --io-timeout 5 the connection is severed 5 s after the
# last reply, made again (to the replacement) and the requests sent again:
# fio verify finishes with 0 errors. The hung server is then killed without
# ever running what it held.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
nbd_start disk file "$img/disk.img"
url="nbd+unix:///?socket=/run/nbd/disk.sock"
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --io-timeout 5 --name silent0)"
expect_eq "io_timeout in show" 5 "$(device_field silent0 io_timeout)"
fio_start silent --name=silent --filename="$node" --rw=randwrite --bsrange=4k-64k --size=64M \
	--ioengine=io_uring --iodepth=16 --direct=1 --verify=crc32c --verify_backlog=64 \
	--verify_fatal=1 --time_based --runtime=20
sleep 3
hung=$(cat /run/nbd/disk.pid)
kill -STOP "$hung"
# The replacement takes the socket path; the hung one keeps its connection.
nbd_start disk file "$img/disk.img"
pass "server hung with requests in hand, a replacement started"
if ! (wait_for 30 "vdused to sever the silent connection" grep -q 'no reply for 5 s' /run/vduse/silent0.log); then
	fail "vdused did not sever the silent connection: $(tail -3 /run/vduse/silent0.log)"
fi
pass "vdused: $(grep 'no reply for' /run/vduse/silent0.log | head -1 | sed 's/.*connection/connection/')"
fio_finish silent "across the silent server" 40
pass "vdused: $(grep 'restored; resubmitting' /run/vduse/silent0.log | tail -1 | sed 's/.*connection/connection/')"
kill -9 "$hung"
fio_check "read back after the silent server" --name=check --filename="$node" --rw=read --size=64M \
	--ioengine=io_uring --iodepth=16 --direct=1 --bs=64k

# The server hangs while the wire is idle, and then one read comes: its
# deadline starts with it (before, the connection's thread slept without
# one and the read waited for ever; the CI once met that under fio).
severed=$(grep -c 'no reply for 5 s' /run/vduse/silent0.log)
hung=$(cat /run/nbd/disk.pid)
kill -STOP "$hung"
nbd_start disk file "$img/disk.img"
sleep 1
timeout 30 dd if="$node" of=/dev/null bs=4k count=1 skip=99 iflag=direct 2>"$TMPDIR/dd.err" ||
	fail "a read after the server hung on an idle wire did not finish in 30 s: $(cat "$TMPDIR/dd.err")"
[ "$(grep -c 'no reply for 5 s' /run/vduse/silent0.log)" -gt "$severed" ] ||
	fail "the read finished without the silent connection being severed: $(tail -3 /run/vduse/silent0.log)"
pass "a read on an idle wire to a hung server: severed after 5 s, answered by the replacement"
kill -9 "$hung"
"$VDUSECTL" del silent0

expect_status "io timeout on a file device" 2 "--io-timeout is for the nbd backend" \
	"$VDUSECTL" add -t file --file "$img/disk.img" --io-timeout 5 --name b0
expect_status "io timeout not a number" 2 "--io-timeout 'soon' is not a number of seconds" \
	"$VDUSECTL" add -t nbd --url "$url" --io-timeout soon --name b0
expect_clean
