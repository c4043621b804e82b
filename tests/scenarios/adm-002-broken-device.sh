#!/bin/bash
# A device the kernel gave up on: vdused frozen (SIGSTOP) while a driver
# opens the device, so a VDUSE message is not answered within the kernel's
# 30 s and the device is marked broken for good. Once vdused runs again it
# says so and exits; show says "broken" and what to do, recover refuses it,
# and `del` (without --force) removes the device and everything vdusectl
# made for it; the name then serves a new device.
source "$VTEST_LIB"
read -r _ node <<<"$("$VDUSECTL" add -t null --size 64M --driver vhost --name bk0)"
pid=$(device_field bk0 pid)
kill -STOP "$pid"
t0=$(date +%s)
"$VHOST_CLIENT" -d "$node" verify -t 1 >"$TMPDIR/client.log" 2>&1 &&
	fail "the client's session worked while vdused was stopped: $(cat "$TMPDIR/client.log")"
t1=$(date +%s)
[ $((t1 - t0)) -ge 25 ] || fail "the client failed after $((t1 - t0)) s, before the kernel's timeout: $(cat "$TMPDIR/client.log")"
pass "the driver's session failed after $((t1 - t0)) s: $(tail -1 "$TMPDIR/client.log")"
kill -CONT "$pid"
wait_for 15 "vdused $pid to exit on the broken device" gone "$pid"
expect_contains "vdused's log" "the kernel marked the device broken" "$(cat /run/vduse/bk0.log)"
expect_eq "state of the broken device" broken "$(device_field bk0 state)"
expect_contains "its hint" "fix: vdusectl del bk0, then vdusectl add ... --name bk0 again" "$(device_field bk0 hint)"
expect_status "recover of the broken device" 1 "bk0: cannot recover a broken device: the kernel gave up on the device" \
	"$VDUSECTL" recover bk0
t0=$(date +%s)
out=$("$VDUSECTL" del bk0 2>&1) || fail "del of the broken device failed: $out"
expect_eq "what del of the broken device says" "" "$out"
pass "del of the broken device took $(($(date +%s) - t0)) s"
expect_clean
read -r _ node <<<"$("$VDUSECTL" add -t null --size 64M --driver vhost --name bk0)"
"$VHOST_CLIENT" -d "$node" verify -t 2 --null >"$TMPDIR/client.log" 2>&1 ||
	fail "verify on a new bk0: $(cat "$TMPDIR/client.log")"
pass "the name serves a new device"
"$VDUSECTL" del bk0
expect_clean
