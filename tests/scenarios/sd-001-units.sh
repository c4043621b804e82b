#!/bin/bash
# systemd as PID 1, vduse-tools installed as a package would be: add starts
# vdused@NAME.service (Type=notify, hardened), logs go to the journal with
# the device and queue as fields, the status line shows the device state, a
# control thread that stops pinging is killed by the watchdog and restarted,
# del stops the unit and leaves nothing.
source "$VTEST_LIB"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
unset VDUSED
VDUSECTL=vdusectl
expect_eq "vdusectl found in PATH" /usr/local/sbin/vdusectl "$(command -v vdusectl)"

vdusectl check >"$TMPDIR/check.txt" || fail "vdusectl check failed in the guest: $(cat "$TMPDIR/check.txt")"
expect_eq "failed checks in vdusectl check --json" 0 "$(vdusectl check --json | jq '[.[] | select(.ok | not)] | length')"

name=sd0
out=$(vdusectl -v add -t null --size 256M --queues 2 --name $name)
node=${out#* }
unit=vdused@$name.service
expect_eq "$unit state" active "$(systemctl is-active $unit)"
expect_eq "$unit type" notify "$(systemctl show -P Type $unit)"
expect_contains "$unit status line" "serving $name with 2 queue(s)" "$(systemctl show -P StatusText $unit)"
json=$(vdusectl show $name --json | jq '.[0]')
expect_eq "show: unit" "$unit" "$(jq -r .unit <<<"$json")"
expect_eq "show: state" running "$(jq -r .state <<<"$json")"
expect_eq "show: pid is the unit's MainPID" "$(systemctl show -P MainPID $unit)" "$(jq -r .pid <<<"$json")"
expect_contains "show: unit state" "active (running)" "$(jq -r .unit_state <<<"$json")"
expect_contains "list shows the unit's status" "serving $name" "$(vdusectl list --json | jq -r '.[0].status')"
fio_check "fio randread through $unit" --name=r --filename="$node" --rw=randread --bs=4k \
	--ioengine=io_uring --iodepth=16 --direct=1 --numjobs=2 --runtime=2 --time_based
expect_zeros "$node" $((1 << 20))
# The hardening lets vdused pin its queue threads and steer completions.
expect_pinned $name 0 0
expect_pinned $name 1 1

# The journal: structured fields for the device and each queue.
journalctl --sync
n=$(journalctl -o cat VDUSE_DEVICE=$name | wc -l)
[ "$n" -gt 0 ] || fail "no journal entries with VDUSE_DEVICE=$name"
pass "$n journal entries with VDUSE_DEVICE=$name"
expect_contains "journal entry of queue 1" "queue 1: worker running" \
	"$(journalctl -o cat VDUSE_DEVICE=$name VDUSE_QUEUE=1)"

# The hardening still lets the file backend write its image (ReadWritePaths
# from vdusectl's drop-in), and nothing else.
img=$(scratch_fs 1G)/sd.img
out=$(vdusectl add -t file --file "$img" --size 64M --name sdf)
fnode=${out#* }
expect_contains "drop-in of vdused@sdf.service" "ReadWritePaths=\"$img\"" \
	"$(cat /run/systemd/system/vdused@sdf.service.d/50-vdusectl.conf)"
fio_check "fio verify on the hardened file backend" --name=v --filename="$fnode" --rw=randwrite \
	--bs=4k --size=16M --ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --verify_fatal=1
vdusectl del sdf

# A control thread that hangs: the watchdog kills it and Restart= brings it back.
mkdir -p /run/systemd/system/$unit.d
printf '[Service]\nWatchdogSec=2s\nEnvironment=VDUSED_DEBUG_HOOKS=1\n' \
	>/run/systemd/system/$unit.d/90-test-watchdog.conf
systemctl daemon-reload
systemctl restart $unit
old_pid=$(systemctl show -P MainPID $unit)
kill -USR2 "$old_pid"
restarted() { [ "$(systemctl show -P NRestarts $unit)" -ge 1 ]; }
wait_for 20 "the watchdog to restart $unit" restarted
new_pid=$(systemctl show -P MainPID $unit)
[ "$new_pid" != "$old_pid" ] && [ "$new_pid" != 0 ] || fail "MainPID still $new_pid after the watchdog"
pass "watchdog replaced vdused $old_pid by $new_pid"
expect_contains "journal of $unit" "Watchdog timeout" "$(journalctl -o cat -u $unit)"
rm /run/systemd/system/$unit.d/90-test-watchdog.conf
systemctl daemon-reload

# A unit that fails to start: add reports it with the unit's last journal
# lines, and leaves nothing behind.
mkdir -p /etc/systemd/system/vdused@bad0.service.d
printf '[Service]\nExecStart=\nExecStart=/bin/sh -c "echo vdused-test-marker: broken on purpose >&2; exit 3"\n' \
	>/etc/systemd/system/vdused@bad0.service.d/90-broken.conf
systemctl daemon-reload
rc=0
err=$(vdusectl add -t null --size 16M --name bad0 2>&1 >/dev/null) || rc=$?
expect_eq "exit status of add with a failing unit" 1 "$rc"
expect_contains "add's error" "bad0: vdused@bad0.service: job failed" "$err"
expect_contains "add's error shows the unit's journal" "vdused-test-marker: broken on purpose" "$err"
[ ! -e /dev/vduse/bad0 ] || fail "/dev/vduse/bad0 left behind"
[ ! -e /run/vduse/bad0.json ] || fail "state record of bad0 left behind"
expect_eq "vdused@bad0.service after the failed add" inactive "$(systemctl is-active vdused@bad0.service || true)"
rm -r /etc/systemd/system/vdused@bad0.service.d
systemctl daemon-reload

vdusectl del $name
expect_eq "$unit after del" inactive "$(systemctl is-active $unit || true)"
expect_clean
[ ! -e /run/systemd/system/$unit.d/50-vdusectl.conf ] || fail "drop-in of $unit left behind"
pass "drop-in removed"
