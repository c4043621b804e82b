#!/bin/bash
# Crash recovery under systemd, with data verification: a file-backed device
# with 4 queues at QD32 under fio random writes with verify_backlog; vdused
# is killed every 2 s, 4 times (VTEST_KILLS; the long form by hand:
# --env VTEST_KILLS=20 --env VTEST_RESTARTS=10), and Restart=on-failure
# brings it back. Odd kills are kill -9 at whatever moment; even kills use the
# debug hook that dies right after taking a request, so at least one request
# is owed and must be resubmitted (a kill -9 alone may find none in flight); then `vdusectl restart` 3 times (VTEST_RESTARTS). fio ends
# with zero errors and every block verifies; vdpa and list agree after a
# kill; del cleans up everything.
source "$VTEST_LIB"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
unset VDUSED
VDUSECTL=vdusectl
name=rec1
unit=vdused@$name.service
img=$(scratch_fs 1G)/rec.img
# The debug hooks (SIGUSR1: die after the next request is taken) for this unit.
mkdir -p /run/systemd/system/$unit.d
printf '[Service]\nEnvironment=VDUSED_DEBUG_HOOKS=1\n' >/run/systemd/system/$unit.d/90-test-hooks.conf
systemctl daemon-reload
out=$(vdusectl add -t file --file "$img" --size 256M --queues 4 --queue-depth 64 --name $name)
node=${out#* }

# verify_backlog makes fio read back and check what it wrote while it writes.
fio_start verify --name=verify --filename="$node" --rw=randwrite --bs=4k --ioengine=io_uring \
	--iodepth=32 --numjobs=4 --offset_increment=64M --size=64M --direct=1 \
	--verify=crc32c --verify_backlog=256 --verify_fatal=1 --do_verify=1 \
	--time_based --runtime=600
fio_alive() { kill -0 $fio_pid 2>/dev/null || fail "fio ended early: $(cat "$TMPDIR/verify.out" "$TMPDIR/verify.json")"; }
main_pid() { systemctl show -P MainPID $unit; }
restarts() { systemctl show -P NRestarts $unit; }

sleep 3
kills=0
worst_ms=0
total_ms=0
for i in $(seq 1 "${VTEST_KILLS:-4}"); do
	sleep 2
	fio_alive
	pid=$(main_pid)
	[ "$pid" != 0 ] || fail "$unit has no main process before kill $i"
	before=$(restarts)
	t0=$(date +%s%N)
	if [ $((i % 2)) = 0 ]; then kill -USR1 "$pid"; else kill -9 "$pid"; fi
	back() { [ "$(restarts)" -gt "$before" ] && [ "$(systemctl is-active $unit)" = active ]; }
	wait_for 15 "systemd to restart $unit after kill $i" back
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	total_ms=$((total_ms + ms))
	[ $ms -le $worst_ms ] || worst_ms=$ms
	kills=$((kills + 1))
	if [ $i = 1 ]; then
		json=$(vdusectl show $name --json | jq '.[0]')
		expect_eq "show after a kill: state" running "$(jq -r .state <<<"$json")"
		expect_eq "vdpa after a kill" block "$(vdpa -jp dev show $name | jq -r ".dev.$name.type")"
		expect_eq "show after a kill: node" "$node" "$(jq -r .node <<<"$json")"
	fi
done
pass "$kills kills (kill -9 and the hook's SIGKILL) under systemd, back active after $((total_ms / kills)) ms on average, $worst_ms ms at worst"

restarts=${VTEST_RESTARTS:-3}
for i in $(seq 1 "$restarts"); do
	sleep 1
	fio_alive
	vdusectl restart $name >/dev/null
done
pass "$restarts vdusectl restart"
sleep 2
fio_alive
fio_stop verify "across kills and restarts"
writes=$(fio_total write.total_ios)
reads=$(fio_total read.total_ios)
[ "$writes" -gt 0 ] && [ "$reads" -gt 0 ] || fail "fio wrote $writes and verified $reads blocks"
grep -q -i "verify" "$TMPDIR/verify.out" && grep -i -E "bad|fail|mismatch" "$TMPDIR/verify.out" &&
	fail "fio reported a verification failure: $(cat "$TMPDIR/verify.out")"
pass "fio: $writes writes, $reads verified reads, no error, across $kills kills and $restarts restarts"
expect_quiet_kernel
journalctl --sync
n=$(journalctl -o cat -u $unit | grep -c 'resubmitting the request at head' || true)
# Each hook kill leaves at least one request owed: a recovery that
# resubmits fewer did not recover what the dead one owed.
hook_kills=$((kills / 2))
[ "$n" -ge "$hook_kills" ] || fail "$n request(s) resubmitted over $hook_kills kills after a taken request"
pass "$n requests resubmitted over all restarts"
# Kill to taking over, from the journal's own timestamps: systemd's "Main
# process exited, code=killed" to the new vdused's "queue 0: taking over"
# (it resubmits and serves at once).
journalctl -u $unit -o short-unix --no-pager | awk '
	/Main process exited, code=killed/ { t = $1 }
	/queue 0: taking over/ && t { d = ($1 - t) * 1000; n++; sum += d; if (d > max) max = d; t = 0 }
	END { if (n) printf "ok: kill to taking over (journal): %d times, mean %.0f ms, max %.0f ms\n", n, sum / n, max }'


rm /run/systemd/system/$unit.d/90-test-hooks.conf
systemctl daemon-reload
vdusectl del $name
[ ! -e /run/vduse/$name.inflight ] || fail "del left the in-flight log"
expect_eq "$unit after del" inactive "$(systemctl is-active $unit || true)"
expect_clean
