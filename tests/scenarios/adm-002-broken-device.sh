#!/bin/bash
# A device the kernel gave up on: vdused frozen (SIGSTOP) while a driver
# opens the device, so a VDUSE message is not answered within the kernel's
# 30 s and the device is marked broken for good. Once vdused runs again it
# says so and exits; `del` (without --force) then removes the device and
# everything vdusectl made for it, and the name serves a new device.
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
wait_for 15 "vdused $pid to exit on the broken device" sh -c "! kill -0 $pid 2>/dev/null"
expect_contains "vdused's log" "the kernel reports the device broken" "$(cat /run/vduse/bk0.log)"
"$VDUSECTL" show bk0 >"$TMPDIR/show.txt" 2>&1 || true
pass "show of the broken device: $(tr '\n' ' ' <"$TMPDIR/show.txt" | cut -c1-200)"
out=$("$VDUSECTL" del bk0 2>&1) || fail "del of the broken device failed: $out"
pass "del of the broken device: ${out:-no output}"
expect_clean
read -r _ node <<<"$("$VDUSECTL" add -t null --size 64M --driver vhost --name bk0)"
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify on a new bk0: $(cat "$TMPDIR/client.log")"
pass "the name serves a new device"
"$VDUSECTL" del bk0
expect_clean
