#!/bin/bash
# Day-two robustness: broken records in the state directory do not hide the
# good ones; del --force removes what is left of a device whose record is
# unreadable, whose record is lost, or whose daemon cannot start; a record
# whose VDUSE device is gone shows as stale. Also: add --spec, del
# --keep-spec, the serial defaulting to the name, the lock-wait message and
# "must be root".
source "$VTEST_LIB"
img=$(scratch_fs 1G)
export VDUSE_PERSIST_DIR=/run/persist-test # / is read-only in this mode
state=/run/vduse

# The serial defaults to the name.
read -r _ node <<<"$("$VDUSECTL" add -t null --size 256M --name g0)"
expect_eq "serial of $node defaults to the name" g0 "$(cat "/sys/block/${node#/dev/}/serial")"
expect_eq "show: serial" g0 "$(device_field g0 serial)"

# Root-only verbs say so before doing anything; list and show do not need root.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
expect_status "add as a user" 1 "add: must be root" as_nobody "$VDUSECTL" add -t null --size 1G
expect_status "del as a user" 1 "del: must be root" as_nobody "$VDUSECTL" del g0
expect_eq "list as a user" g0 "$(as_nobody "$VDUSECTL" list --no-legend -o name)"

# Waiting for the lock is said after a second, with the holder's pid; the
# holder lets go once it is said (a fixed hold raced with a slow start of
# vdusectl on a busy machine), and add goes on.
(
	flock 9
	echo "$BASHPID" >"$state/lock"
	exec sleep 60
) 9>>"$state/lock" &
holder=$!
wait_for 10 "the test's hold of the lock" grep -qx "$holder" "$state/lock"
"$VDUSECTL" add -t null --size 64M --name w0 >/dev/null 2>"$TMPDIR/wait.err" &
adder=$!
wait_for 30 "add to say it waits for the lock" grep -q "waiting for another vdusectl" "$TMPDIR/wait.err"
kill "$holder"
wait "$holder" 2>/dev/null || true
wait "$adder" || fail "add after the wait failed: $(cat "$TMPDIR/wait.err")"
expect_contains "the lock wait is said" "waiting for another vdusectl (pid $holder)" "$(cat "$TMPDIR/wait.err")"
"$VDUSECTL" del w0

# Broken records beside a good device.
good=$state/g0.json
head -c 40 "$good" >"$state/trunc.json"
jq '.pid = "x" | .spec.name = "typed"' "$good" >"$state/typed.json"
mkdir "$state/dir.json"
mkfifo "$state/fifo.json"
ln -s /nonexistent "$state/dangling.json"
rc=0
out=$(timeout 10 "$VDUSECTL" list --no-legend -o name,state 2>"$TMPDIR/list.err") || rc=$?
expect_eq "list exit status with bad records" 1 "$rc"
expect_eq "list shows the good device" "g0 running" "$(tr -s ' ' <<<"$out")"
for want in "trunc.json is not valid JSON" "typed.json: malformed device record" \
	"dir.json is a directory" "fifo.json is a FIFO" "dangling.json is a dangling symbolic link"; do
	grep -qF "$want" "$TMPDIR/list.err" || fail "list's stderr lacks '$want': $(cat "$TMPDIR/list.err")"
done
expect_eq "one stderr line per bad record" 5 "$(wc -l <"$TMPDIR/list.err")"
pass "list: the good device listed, each bad record named"
rc=0
timeout 10 "$VDUSECTL" show --json=short >/dev/null 2>&1 || rc=$?
expect_eq "show exit status with bad records" 1 "$rc"

# A record whose VDUSE device is gone: stale, with the hint, and del forgets it.
jq '.spec.name = "s0"' "$good" >"$state/s0.json"
expect_eq "a record without its device" stale "$(device_field s0 state)"
expect_contains "its hint" "vdusectl del s0" "$(device_field s0 hint)"
"$VDUSECTL" del s0
[ ! -e "$state/s0.json" ] || fail "del left the stale record"
expect_eq "g0 untouched" running "$(device_field g0 state)"

# A live device whose record is truncated: del refuses, del --force removes it.
"$VDUSECTL" add -t null --size 64M --name f1 --queues 2 >/dev/null
truncate -s 20 "$state/f1.json"
expect_status "del of a truncated record" 1 "f1.json is not valid JSON" "$VDUSECTL" del f1
"$VDUSECTL" del --force f1 2>"$TMPDIR/force.err" || fail "del --force f1: $(cat "$TMPDIR/force.err")"
[ ! -e /dev/vduse/f1 ] || fail "del --force left /dev/vduse/f1"
vdpa -j dev show | jq -e '.dev.f1' >/dev/null 2>&1 && fail "del --force left the vdpa device f1"
pgrep -af "vdused.* f1( |$)" && fail "del --force left f1's vdused"
pass "del --force: a live device with a truncated record is gone"

# A file device whose image was deleted and whose daemon died: a plain del
# cannot start a daemon to answer the detach; del --force answers it itself.
"$VDUSECTL" add -t file --file "$img/f2.img" --size 64M --name f2 >/dev/null
rm "$img/f2.img"
pid=$(device_field f2 pid)
kill_dead "$pid" vdused
expect_eq "f2 after its daemon died" daemon-dead "$(device_field f2 state)"
rc=0
"$VDUSECTL" del f2 2>"$TMPDIR/del.err" || rc=$?
expect_eq "del of a device whose daemon cannot start" 1 "$rc"
start=$(date +%s%N)
"$VDUSECTL" del --force f2 || fail "del --force f2 failed"
ms=$((($(date +%s%N) - start) / 1000000))
[ ! -e /dev/vduse/f2 ] || fail "del --force left /dev/vduse/f2"
[ "$ms" -lt 10000 ] || fail "del --force f2 took $ms ms (the reset was not answered)"
pass "del --force: a device whose image is gone removed in $ms ms"

# A device whose record was lost (vdusectl killed mid-add): not listed, del
# says it does not exist, del --force removes the VDUSE and vdpa devices.
"$VDUSECTL" add -t null --size 64M --name f3 >/dev/null
pid=$(device_field f3 pid)
kill_dead "$pid" vdused
rm "$state/f3.json"
expect_status "del of a device without a record" 1 "device 'f3' does not exist" "$VDUSECTL" del f3
"$VDUSECTL" del --force f3 || fail "del --force f3 failed"
[ ! -e /dev/vduse/f3 ] || fail "del --force left /dev/vduse/f3"
vdpa -j dev show | jq -e '.dev.f3' >/dev/null 2>&1 && fail "del --force left the vdpa device f3"
pass "del --force: a device without a record removed"
expect_status "del --force of nothing" 1 "device 'nothing' does not exist" "$VDUSECTL" del --force nothing

# del --all goes on past the bad records and names them; --force takes them too.
rc=0
"$VDUSECTL" del --all 2>"$TMPDIR/all.err" || rc=$?
expect_eq "del --all exit status with bad records" 1 "$rc"
[ ! -e /dev/vduse/g0 ] || fail "del --all left g0"
expect_eq "del --all names each bad record" 5 "$(wc -l <"$TMPDIR/all.err")"
"$VDUSECTL" del --all --force || fail "del --all --force failed"
expect_clean

# add --spec and del --keep-spec.
"$VDUSECTL" add -t file --file "$img/sp.img" --size 64M --queues 2 --name sp0 --persistent >/dev/null
spec=$VDUSE_PERSIST_DIR/sp0.json
"$VDUSECTL" del --keep-spec sp0
[ -e "$spec" ] || fail "del --keep-spec removed $spec"
[ ! -e /dev/vduse/sp0 ] || fail "del --keep-spec left the device"
read -r _ node <<<"$("$VDUSECTL" add --spec "$spec")"
expect_eq "add --spec: queues" 2 "$(device_field sp0 queues)"
expect_eq "add --spec: size" $((64 << 20)) "$(blockdev --getsize64 "$node")"
expect_eq "add --spec: file" "$img/sp.img" "$(device_field sp0 file)"
expect_status "add --spec with a spec option" 2 "--queues cannot be given with --spec" \
	"$VDUSECTL" add --spec "$spec" --queues 4
expect_status "add --spec of a taken name" 1 "device 'sp0' already exists" "$VDUSECTL" add --spec "$spec"
head -c 30 "$spec" >"$TMPDIR/broken.json"
expect_status "add --spec of a broken file" 1 "broken.json is not valid JSON" \
	"$VDUSECTL" add --spec "$TMPDIR/broken.json"
jq '.backend = "null" | .file = "" | .name = "x"' "$spec" >"$TMPDIR/null.json"
read -r _ node <<<"$("$VDUSECTL" add --spec "$TMPDIR/null.json" --name sp1)"
expect_eq "add --spec --name: the new name" running "$(device_field sp1 state)"
expect_eq "add --spec --name: serial from the spec" sp0 "$(device_field sp1 serial)"
"$VDUSECTL" del sp0 sp1
[ ! -e "$spec" ] || fail "del left $spec"

# gc: what no record claims. A device whose record was lost (vdusectl killed
# mid-add) and its log, a stray drop-in, a stray in-flight log; a VDUSE device
# another program serves (qemu-storage-daemon) is not ours and is left alone.
"$VDUSECTL" add -t null --size 64M --name o1 >/dev/null
pid=$(device_field o1 pid)
kill_dead "$pid" vdused
rm "$state/o1.json"
mkdir -p /run/systemd/system/vdused@o2.service.d
echo "[Service]" >/run/systemd/system/vdused@o2.service.d/50-vdusectl.conf
echo stale >"$state/o3.inflight"
# shellcheck disable=SC2046
qemu-storage-daemon $(qsd_export_args q0 $((64 << 20)) 1) &
qsd_pid=$!
trap 'kill $qsd_pid 2>/dev/null || true' EXIT
wait_for 10 /dev/vduse/q0 test -e /dev/vduse/q0
out=$("$VDUSECTL" gc --json=short) || fail "gc failed"
expect_eq "gc finds the lost device" "device" "$(jq -r '.[] | select(.name == "o1" and .kind == "device") | .kind' <<<"$out")"
expect_eq "gc finds its log" "state file" "$(jq -r '.[] | select(.what == "/run/vduse/o1.log") | .kind' <<<"$out")"
expect_eq "gc finds the stray drop-in" "unit drop-in" "$(jq -r '.[] | select(.name == "o2") | .kind' <<<"$out")"
expect_eq "gc finds the stray in-flight log" "state file" "$(jq -r '.[] | select(.name == "o3") | .kind' <<<"$out")"
expect_eq "gc leaves qemu-storage-daemon's device alone" "" "$(jq -r '.[] | select(.name == "q0") | .name' <<<"$out")"
expect_eq "gc without --yes removes nothing" true "$(test -e /dev/vduse/o1 && echo true)"
"$VDUSECTL" gc 2>"$TMPDIR/gc.err" >/dev/null
expect_contains "gc says how to remove them" "vdusectl gc --yes" "$(cat "$TMPDIR/gc.err")"
"$VDUSECTL" gc --yes >/dev/null || fail "gc --yes failed"
[ ! -e /dev/vduse/o1 ] || fail "gc --yes left /dev/vduse/o1"
[ ! -e /run/systemd/system/vdused@o2.service.d ] || fail "gc --yes left the drop-in"
[ ! -e "$state/o3.inflight" ] || fail "gc --yes left o3.inflight"
[ -e /dev/vduse/q0 ] || fail "gc --yes removed qemu-storage-daemon's device"
expect_eq "gc after --yes finds nothing" "[]" "$("$VDUSECTL" gc --json=short)"
kill "$qsd_pid"
wait "$qsd_pid" || true
pass "gc: found and removed the leftovers, left qemu-storage-daemon's device alone"
expect_clean

# Names that would collide with the control node or read as an option.
expect_status "name control" 2 "is reserved" "$VDUSECTL" add -t null --size 1G --name control
expect_status "name starting with -" 2 "starts with '-'" "$VDUSECTL" add -t null --size 1G --name=-x
expect_clean
