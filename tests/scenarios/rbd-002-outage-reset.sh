#!/bin/bash
# A VM reboots while its Ceph cluster holds I/O: an rbd device bound to
# vhost_vdpa has reads and writes waiting in librbd when the OSDs are paused
# (`ceph osd pause`, or the OSD process stopped), and the driver (the project's vhost client, as a VMM
# would) resets the device. librbd cannot cancel an operation, so the reset
# must not wait for them: it is answered at once, and when the cluster comes
# back and librbd finishes the reads, their data lands in fenced memory, not
# in the driver's (the client watches its buffers). vdused keeps running and
# releases the fence once librbd is done; the next driver session verifies;
# del leaves nothing behind. Then the monitor killed and restarted around a
# reset, and an IOTLB change (not a reset) while librbd holds requests.
source "$VTEST_LIB"
ceph_up
# vdused turns librbd's cache off: every request waits for the cluster.
read -r _ node <<<"$("$VDUSECTL" add -t rbd --image rbd/img0 --ceph-conf "$conf" \
	--driver vhost --name rout)"
pid=$(device_field rout pid)
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify before the pause: $(cat "$TMPDIR/client.log")"
pass "verify before the pause"

pause() { ceph --conf "$conf" osd pause >/dev/null 2>&1 && sleep 1; } # until librbd has the map
unpause() { ceph --conf "$conf" osd unpause >/dev/null 2>&1; }
osd_pid=$(cat /run/ceph/run/osd.0.pid)
stop_osd() { kill -STOP "$osd_pid"; }
continue_osd() { kill -CONT "$osd_pid"; }

# outage_reset LABEL [HOLD RESUME]: reads and writes held by the cluster
# (HOLD: paused OSDs by default), then a reset; the cluster comes back
# (RESUME) 8 s later, while the client still watches.
outage_reset() {
	local hold=${2:-pause} resume=${3:-unpause}
	$hold || fail "$1: $hold"
	(sleep 8 && $resume) &
	local resumer=$!
	"$VHOST_CLIENT" -d "$node" outage --reads --requests 8 --hold 2 --watch 12 \
		>"$TMPDIR/outage.log" 2>&1 || {
		$resume
		fail "$1: $(cat "$TMPDIR/outage.log")"
	}
	wait "$resumer" || fail "$1: $resume"
	pass "$1: $(grep 'answered before' "$TMPDIR/outage.log")"
	pass "$1: $(grep 'answered in' "$TMPDIR/outage.log")"
	pass "$1: $(grep 'nothing touched' "$TMPDIR/outage.log")"
}
outage_reset "paused OSDs"
expect_eq "vdused's pid across the reset" "$pid" "$(device_field rout pid)"
grep -q 'left running in the backend' /run/vduse/rout.log ||
	fail "vdused's log does not say what it left running: $(tail -5 /run/vduse/rout.log)"
# fence_gone COUNT: vdused has released its fences COUNT times (librbd
# finished every held request once the OSD answered again). After a
# SIGSTOP/SIGCONT of the OSD that took more than 10 s from the outage's end
# once in CI (two loaded TCG guests; cause not seen), so the bound is 40 s,
# the time taken is printed, and a failure shows where vdused and the
# cluster stood.
fences_released() { [ "$(grep -c 'their memory is released' /run/vduse/rout.log)" -ge "$1" ]; }
fence_gone() {
	local start=$SECONDS
	(wait_for 40 "the fence to go" fences_released "$1") ||
		fail "the fence did not go within 40 s of the outage's end: vdused: \
$(tail -4 /run/vduse/rout.log | tr '\n' '|'); \
cluster: $(timeout 10 ceph --conf "$conf" -s 2>&1 | grep -E 'health|osd:|pgs:' | tr -s ' \n' ' ')"
	fence_wait=$((SECONDS - start))
}
fence_gone 1
pass "vdused (${fence_wait} s after the outage's end): $(grep 'their memory is released' /run/vduse/rout.log | tail -1 | sed 's/.*rout: //')"
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the pause and the reset: $(cat "$TMPDIR/client.log")"
pass "verify after the pause and the reset"

# Once more in a row: slots and fences are reused, not piled up; this time
# the OSD process itself is stopped (SIGSTOP), not paused.
outage_reset "stopped OSD" stop_osd continue_osd
fence_gone 2
pass "vdused: the second fence went ${fence_wait} s after the outage's end"
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after three resets: $(cat "$TMPDIR/client.log")"
pass "verify after three paused resets"

# The monitor killed (-9) as well as the OSD stopped, then the monitor
# started again: librbd finds its new session, the reset is answered at once
# meanwhile, and the next session verifies.
mon_pid=$(cat /run/ceph/run/mon.a.pid)
stop_mon_and_osd() { kill -9 "$mon_pid" && stop_osd; }
restart_mon_and_osd() { ceph-mon -i a >>"$TMPDIR/mon-restart.log" 2>&1 && continue_osd; }
outage_reset "monitor killed, OSD stopped" stop_mon_and_osd restart_mon_and_osd
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the monitor's restart: $(cat "$TMPDIR/client.log")"
pass "verify after the monitor's restart and the reset"

# An IOTLB change that touches the memory of the requests librbd holds
# (the VMM announces its memory again): answered at once, and librbd's
# reads land in the memory the driver gave when it made them, through the
# mappings vdused keeps for them.
pause || fail "the pause for the IOTLB change"
(sleep 8 && unpause) &
resumer=$!
"$VHOST_CLIENT" -d "$node" outage --reads --requests 8 --hold 2 --iotlb-remap --watch 25 \
	--reset-limit-ms 2000 >"$TMPDIR/outage.log" 2>&1 || {
	unpause
	fail "the remapped memory during the pause: $(cat "$TMPDIR/outage.log")"
}
wait "$resumer" || fail "unpause"
pass "remap: $(grep 'IOTLB change was answered in' "$TMPDIR/outage.log")"
pass "remap: $(grep 'held requests finished' "$TMPDIR/outage.log")"
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the remapped memory: $(cat "$TMPDIR/client.log")"
pass "verify after the pause and the remapped memory"
expect_eq "vdused's pid at the end" "$pid" "$(device_field rout pid)"

"$VDUSECTL" del rout
expect_clean
bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" down >/dev/null 2>&1 || true
