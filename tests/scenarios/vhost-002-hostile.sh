#!/bin/bash
# A hostile driver on the vhost path: malformed rings and requests from
# vduse-vhost-client's hostile mode, on a file device (asynchronous backend,
# 4 KiB blocks), then on a null device. Each case is answered as the virtio
# spec says or stops the queue until a reset; both daemons stay up and serve
# verified I/O afterwards.
source "$VTEST_LIB"
img=$(scratch_fs)

read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/h.img" --size 64M --block-size 4096 \
	--driver vhost --name hostile)"
read -r _ other <<<"$("$VDUSECTL" add -t null --size 64M --driver vhost --name bystander)"
pid=$(device_field hostile pid)

rc=0
out=$("$VHOST_CLIENT" -d "$node" hostile --async-backend 2>&1) || rc=$?
echo "$out" | sed 's/^/    /'
[ "$rc" = 0 ] || fail "hostile cases: vduse-vhost-client exited $rc"
cases=$("$VHOST_CLIENT" -d "$node" hostile --async-backend --list | wc -l)
expect_contains "every case passed" "hostile: $cases passed, 0 failed, 0 not applicable" "$out"

expect_eq "the daemon of the attacked device still runs (pid)" "$pid" \
	"$(device_field hostile pid)"
kill -0 "$pid" || fail "vdused $pid is gone"
# Without systemd (this guest), vdused logs to the state directory.
log=/run/vduse/hostile.log
[ -f "$log" ] || fail "no daemon log at $log"
expect_contains "the daemon log says why a queue stopped" \
	"has no status byte to answer in; the queue is stopped until the driver resets the device" "$(cat "$log")"
expect_contains "the daemon log names a corrupt avail ring" "the driver corrupted the avail ring" "$(cat "$log")"
expect_contains "the daemon log refuses DRIVER_OK for a ring it cannot map" "DRIVER_OK refused" "$(cat "$log")"

expect_contains "the daemon log refuses memory past its file's end" \
	"runs past the end of the driver's memory file" "$(cat "$log")"

# The same cases on the null device, whose reads are written by vdused
# itself (a buffer past the end of the VMM's memory file was SIGBUS, and
# the daemon died, before the file's size was checked).
bpid=$(device_field bystander pid)
rc=0
out=$("$VHOST_CLIENT" -d "$other" hostile 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "hostile cases on the null device: vduse-vhost-client exited $rc: $out"
expect_contains "no case failed on the null device" ", 0 failed," "$out"
expect_contains "the null device" "data-past-the-memory-file-end (answered) pass" "$(tr -s ' ' <<<"$out")"
# A memory file shrunk after vdused mapped it: its touch is SIGBUS, which
# killed the daemon before; now the queue stops until the reset.
expect_contains "the null device" "memory-file-shrunk-after-mapping (stopped) pass" "$(tr -s ' ' <<<"$out")"
expect_contains "the null device's log says why its queue stopped" \
	"is gone (SIGBUS: the file behind its IOTLB region was shrunk)" "$(cat /run/vduse/bystander.log)"
kill -0 "$bpid" || fail "vdused $bpid of the null device is gone"

out=$("$VHOST_CLIENT" -d "$node" verify -t 2 2>&1) || fail "verified I/O after the hostile cases: $out"
pass "verified I/O on the attacked device after the hostile cases"
out=$("$VHOST_CLIENT" -d "$other" verify -t 2 --null 2>&1) || fail "the bystander device: $out"
pass "verified I/O on the bystander device"

"$VDUSECTL" del hostile
"$VDUSECTL" del bystander
expect_clean
