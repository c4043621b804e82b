#!/bin/bash
# A VM reboots while its NBD server is away: an nbd device bound to
# vhost_vdpa has writes in flight when nbdkit is killed, and the driver (the
# project's vhost client, as a VMM would) resets the device with them held.
# The reset is answered at once, not after the kernel's 30 s message timeout
# (which breaks the device for good); nothing touches the driver's memory
# afterwards, even when the server returns meanwhile; vdused keeps running;
# the next driver session verifies its data; del leaves nothing behind.
# Then the same outage with an IOTLB change instead of a reset (a VMM that
# adds memory, or one that announces its memory again), a server that stops
# answering (SIGSTOP) with the writes on the wire, and the hostile driver's
# cases while the server is away.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 64M "$img/disk.img"
nbd_start disk file "$img/disk.img"
url="nbd+unix:///?socket=/run/nbd/disk.sock"
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --driver vhost --name out0)"
pid=$(device_field out0 pid)
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify before the outage: $(cat "$TMPDIR/client.log")"
pass "verify before the outage"

nbd_kill disk
# The server comes back while the client watches its memory after the reset.
# One thread: nbdkit 1.32 aborts (connections.c, raw_send_socket: "Assertion
# `sock >= 0' failed") when a client closes its socket while another of its
# threads still works on a request, which the stopped-server case below does.
(sleep 4 && nbd_start disk --threads 1 file "$img/disk.img") &
restart=$!
"$VHOST_CLIENT" -d "$node" outage --requests 8 --hold 2 --watch 5 >"$TMPDIR/outage.log" 2>&1 ||
	fail "the outage and reset: $(cat "$TMPDIR/outage.log")"
pass "$(grep 'answered in' "$TMPDIR/outage.log")"
pass "$(grep 'nothing touched' "$TMPDIR/outage.log")"
wait "$restart" || fail "nbdkit did not start again"
expect_eq "vdused's pid across the reset" "$pid" "$(device_field out0 pid)"
grep -q 'dropped, unanswered' /run/vduse/out0.log || fail "vdused's log does not say what it dropped"
pass "vdused logged: $(grep 'dropped, unanswered' /run/vduse/out0.log | tail -1 | sed 's/.*queue/queue/')"
wait_for 15 "show to say connected" field_is out0 connection connected
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the outage: $(cat "$TMPDIR/client.log")"
pass "verify after the outage and the reset"

# iotlb_outage FLAG WHAT: the server killed, 8 requests held, then the
# client's IOTLB change FLAG; answered at once, the held requests finish
# with OK once the server is back (8 s later), and the next session verifies.
iotlb_outage() {
	nbd_kill disk
	(sleep 8 && nbd_start disk --threads 1 file "$img/disk.img") &
	restart=$!
	"$VHOST_CLIENT" -d "$node" outage --reads --requests 8 --hold 2 "$1" --watch 25 \
		--reset-limit-ms 2000 >"$TMPDIR/outage.log" 2>&1 ||
		fail "the outage and $2: $(cat "$TMPDIR/outage.log")"
	pass "$2: $(grep 'IOTLB change was answered in' "$TMPDIR/outage.log")"
	pass "$2: $(grep 'held requests finished' "$TMPDIR/outage.log")"
	wait "$restart" || fail "nbdkit did not start again"
	expect_eq "vdused's pid across $2" "$pid" "$(device_field out0 pid)"
	"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
		fail "verify after $2: $(cat "$TMPDIR/client.log")"
	pass "verify after the outage and $2"
}

# A VMM that adds memory while the server is away: its new memory table
# reaches vdused as a change of every IOTLB entry (vduse_vdpa_set_map). What
# vdused mapped is unchanged, so the change is answered at once, not after
# the held requests (before: when the server came back, or never).
iotlb_outage --iotlb-change "the added memory"

# The same, but the new memory table announces all the memory again in
# entries of another size (a VMM whose memory sections merged or split):
# every region vdused mapped changed, including those the held requests'
# buffers are in. The change is answered at once (before: after 7 s, when
# the server came back); the held requests finish into the mappings vdused
# kept for them (the same memory file), and those go once they finished.
iotlb_outage --iotlb-remap "the remapped memory"
grep -q 'IOTLB change finished; the memory they used is released' /run/vduse/out0.log ||
	fail "vdused's log does not say it released the memory kept across the change"

# A server that stops answering without closing the connection (SIGSTOP):
# the writes are on the wire. The reset severs the connection rather than
# wait for replies that may never come.
server=$(cat /run/nbd/disk.pid)
kill -STOP "$server"
"$VHOST_CLIENT" -d "$node" outage --requests 8 --hold 2 --watch 2 >"$TMPDIR/outage.log" 2>&1 ||
	fail "the stopped server and reset: $(cat "$TMPDIR/outage.log")"
pass "stopped server: $(grep 'answered in' "$TMPDIR/outage.log")"
grep -q 'severed with' /run/vduse/out0.log || fail "vdused's log does not say it severed the connection"
kill -CONT "$server"
# What the stopped server had read before it stopped, it may still carry
# out once continued (NBD has no way to take back a command sent): wait
# for that before the next session writes the same blocks.
sleep 2
wait_for 20 "show to say connected" field_is out0 connection connected
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the stopped server: $(cat "$TMPDIR/client.log")"
pass "verify after the stopped server and the reset"

# A hostile driver while the server is away: every case of vhost-002 that
# does not need the server's answer, each followed by a good request held
# for the server and a reset that voids it (answered within 5 s).
nbd_kill disk
rc=0
out=$("$VHOST_CLIENT" -d "$node" hostile --async-backend --server-down 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "hostile cases with the server down: $out"
pass "server down: $(grep '^hostile:' <<<"$out")"
nbd_start disk --threads 1 file "$img/disk.img"
wait_for 20 "show to say connected" field_is out0 connection connected
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the hostile cases: $(cat "$TMPDIR/client.log")"
pass "verify after the hostile cases with the server down"
expect_eq "vdused's pid at the end" "$pid" "$(device_field out0 pid)"

"$VDUSECTL" del out0
expect_clean
