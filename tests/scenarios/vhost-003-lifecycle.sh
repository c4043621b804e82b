#!/bin/bash
# The vhost path's life cycle: a client killed mid-I/O leaves the device
# ready for the next one; `del` while a process holds /dev/vhost-vdpa-N
# waits for it (--wait) and otherwise refuses, naming the holder, without
# touching the device; kill -9 of vdused with requests in flight, then
# `recover`: the client's verification completes with no error.
source "$VTEST_LIB"
img=$(scratch_fs)

read -r _ node <<<"$("$VDUSECTL" add -t null --size 128M --queues 2 --driver vhost --name life)"
for round in 1 2 3; do
	"$VHOST_CLIENT" -d "$node" -q 2 verify -t 20 --null >"$TMPDIR/client.out" 2>&1 &
	client=$!
	sleep 1.5
	kill -9 "$client"
	wait "$client" 2>/dev/null || true
	out=$("$VHOST_CLIENT" -d "$node" -q 2 verify -t 1 --null 2>&1) ||
		fail "round $round: the next client after a kill -9 failed: $out"
	pass "round $round: a client killed mid-I/O, the next one verified"
done
pid=$(device_field life pid)
kill -0 "$pid" || fail "vdused is gone after the clients were killed"

# del while the node is held: refused at once with --wait 0, naming the holder.
(exec 3<>"$node"; exec sleep 30) &
holder=$!
wait_for 30 "the holder to open $node" sh -c "ls -l /proc/$holder/fd | grep -q vhost-vdpa"
expect_status "del while a client holds the node" 1 "is held open by pid $holder (sleep)" \
	"$VDUSECTL" del --wait 0 life
expect_eq "the device after the refused del" running "$(device_field life state)"
kill "$holder"; wait "$holder" 2>/dev/null || true
out=$("$VHOST_CLIENT" -d "$node" -q 2 verify -t 1 --null 2>&1) || fail "after the refused del: $out"
pass "the device serves after the refused del"
# A holder that closes within --wait: del waits for it and succeeds. The
# holder closes once del has said it waits (a fixed 2 s hold raced with a
# slow start of vdusectl on a busy machine).
(exec 3<>"$node"; exec sleep 60) &
holder=$!
wait_for 30 "the holder to open $node" sh -c "ls -l /proc/$holder/fd | grep -q vhost-vdpa"
"$VDUSECTL" del --wait 20 life >/dev/null 2>"$TMPDIR/del.err" &
deleter=$!
wait_for 20 "del to say it waits" grep -q "waiting up to 20 s" "$TMPDIR/del.err"
expect_contains "del says what it waits for" "waiting up to 20 s for pid $holder (sleep)" "$(cat "$TMPDIR/del.err")"
kill "$holder"
wait "$holder" 2>/dev/null || true
t0=$SECONDS
wait "$deleter" || fail "del --wait 20: $(cat "$TMPDIR/del.err")"
[ $((SECONDS - t0)) -le 10 ] || fail "del took $((SECONDS - t0)) s after the holder closed the node"
pass "del waited for the holder to close the node, then deleted"
expect_clean

# Crash recovery on the vhost path, file backend, 3 kills.
read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/r.img" --size 64M --queues 2 \
	--driver vhost --name vrec)"
"$VHOST_CLIENT" -d "$node" -q 2 verify -t 14 --initial-zero >"$TMPDIR/client.out" 2>&1 &
client=$!
for kill_round in 1 2 3; do
	sleep 2
	pid=$(device_field vrec pid)
	kill_dead "$pid" vdused
	"$VDUSECTL" recover vrec >/dev/null
	pass "kill $kill_round: vdused $pid killed, recovered"
done
rc=0
wait "$client" || rc=$?
sed 's/^/    /' "$TMPDIR/client.out"
[ "$rc" = 0 ] || fail "the client's verification failed across 3 kills of vdused"
expect_contains "verification across 3 kills and recovers" "verify: passed" "$(cat "$TMPDIR/client.out")"
log=/run/vduse/vrec.log
grep -q "taking over at avail index" "$log" || fail "the new vdused did not take the queues over"
pass "the new vdused took the queues over: $(grep -c 'resubmitting the request' "$log") request(s) resubmitted"
"$VDUSECTL" del vrec
expect_clean
