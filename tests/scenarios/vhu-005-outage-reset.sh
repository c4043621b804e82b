#!/bin/bash
# A VM reboots while its vhost-user target is away or frozen: a bridge
# device bound to vhost_vdpa has writes and reads in flight, and the driver
# (the project's vhost client, as a VMM would) resets the device with them
# held.
# - qemu-storage-daemon killed: the reset is answered at once (what was held
#   was never sent, or sent to a process that is gone), not when the target
#   returns; the target comes back while the client watches its memory:
#   nothing touches it; vdused keeps running; the next session verifies.
# - qemu-storage-daemon stopped (SIGSTOP) with the requests on the wire: the
#   reset waits for the target at most 8 s, then tears the connection down
#   and is answered, inside the kernel's 30 s; once continued, the target is
#   connected again (with new ring memory) and the next session verifies.
# - the same, with an IOTLB change instead of a reset.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 64M "$img/disk.img"
blockdev="driver=file,node-name=disk,filename=$img/disk.img"
vhu_start disk 1 "$blockdev"
read -r _ node <<<"$("$VDUSECTL" add --driver vhost -t vhost-user --socket /run/vhu/disk.sock --name vo0)"
pid=$(device_field vo0 pid)
log=/run/vduse/vo0.log
connected() { field_is vo0 connection connected; }
wait_for 15 "the bridge to connect" connected
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify before the outage: $(cat "$TMPDIR/client.log")"
pass "verify before the outage"

vhu_kill disk
(sleep 4 && vhu_start disk 1 "$blockdev") &
restart=$!
"$VHOST_CLIENT" -d "$node" outage --reads --requests 8 --hold 2 --watch 5 --reset-limit-ms 2000 \
	>"$TMPDIR/outage.log" 2>&1 || fail "the killed target and reset: $(cat "$TMPDIR/outage.log")"
pass "killed target: $(grep 'answered in' "$TMPDIR/outage.log")"
pass "$(grep 'nothing touched' "$TMPDIR/outage.log")"
wait "$restart" || fail "qemu-storage-daemon did not start again"
expect_eq "vdused's pid across the reset" "$pid" "$(device_field vo0 pid)"
grep -q -E 'never sent to a target are dropped|its process is gone' $log ||
	fail "vdused's log does not say what it dropped: $(tail -20 $log)"
pass "vdused logged: $(grep -E 'are dropped' $log | tail -1 | sed 's/.*queue/queue/')"
wait_for 20 "the bridge to connect again" connected
"$VHOST_CLIENT" -d "$node" verify -t 3 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the killed target: $(cat "$TMPDIR/client.log")"
pass "verify after the killed target and the reset"

# A target that stops answering with the writes on the wire.
target=$(cat /run/vhu/disk.pid)
kill -STOP "$target"
"$VHOST_CLIENT" -d "$node" outage --requests 8 --hold 2 --watch 2 --reset-limit-ms 15000 \
	>"$TMPDIR/outage.log" 2>&1 || fail "the stopped target and reset: $(cat "$TMPDIR/outage.log")"
pass "stopped target: $(grep 'answered in' "$TMPDIR/outage.log")"
grep -q 'the connection is torn down' $log ||
	fail "vdused's log does not say it tore the connection down: $(tail -20 $log)"
pass "vdused logged: $(grep 'the connection is torn down' $log | tail -1 | sed 's/.*queue/queue/' | cut -c1-100)..."
kill -CONT "$target"
if ! (wait_for 30 "the bridge to connect to the continued target" connected); then
	fail "not connected again: $(tail -15 $log; tail -5 /run/vhu/disk.log)"
fi
"$VHOST_CLIENT" -d "$node" verify -t 3 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the stopped target: $(cat "$TMPDIR/client.log")"
pass "verify after the stopped target and the reset"
grep -q 'new ring memory' $log || fail "vdused did not renew the ring memory after the teardown"
pass "the new connection got new ring memory"

# The same stopped target, and an IOTLB change instead of a reset (the VMM
# announces its memory again). The bridge cannot keep requests across it
# (the target maps the memory itself): it waits at most 8 s, then tears the
# connection down and fails them (IOERR), answering the kernel in time.
# Before, the change waited for the target: here until SIGCONT, 28 s on.
kill -STOP "$target"
(sleep 28 && kill -CONT "$target") &
resumer=$!
"$VHOST_CLIENT" -d "$node" outage --requests 8 --hold 2 --iotlb-remap --held-status ioerr \
	--watch 5 --reset-limit-ms 20000 >"$TMPDIR/outage.log" 2>&1 || {
	kill -CONT "$target"
	fail "the stopped target and the IOTLB change: $(cat "$TMPDIR/outage.log")"
}
pass "stopped target: $(grep 'IOTLB change was answered in' "$TMPDIR/outage.log")"
pass "stopped target: $(grep 'held requests finished' "$TMPDIR/outage.log")"
wait "$resumer"
if ! (wait_for 30 "the bridge to connect to the continued target" connected); then
	fail "not connected again: $(tail -15 $log; tail -5 /run/vhu/disk.log)"
fi
"$VHOST_CLIENT" -d "$node" verify -t 3 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the IOTLB change: $(cat "$TMPDIR/client.log")"
pass "verify after the stopped target and the IOTLB change"
expect_eq "vdused's pid at the end" "$pid" "$(device_field vo0 pid)"
kill -0 "$target" || fail "qemu-storage-daemon died: $(tail -5 /run/vhu/disk.log)"

"$VDUSECTL" del vo0
vhu_stop disk
expect_clean
