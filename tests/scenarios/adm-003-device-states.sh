#!/bin/bash
# The device state model, on real devices: each state (daemon-dead,
# detached, stale, stale and persistent) is made as an admin meets it; every
# verb that cannot act on it refuses with the state's name and show's hint
# word for word; following the hint's fix gets the device running again, its
# node answering reads. Also what restore and del say about persistent
# devices (issue 28: the hints sent the admin in circles or to data loss).
source "$VTEST_LIB"
export VDUSE_PERSIST_DIR=/run/persist-states # / is read-only in this mode
state=/run/vduse

# make_state NAME STATE [PERSISTENT]: a null device NAME left in STATE.
make_state() {
	local name=$1 want=$2 persistent=${3:+--persistent}
	# shellcheck disable=SC2086
	"$VDUSECTL" add -t null --size 64M --name "$name" $persistent >/dev/null
	case $want in
	daemon-dead) kill -9 "$(device_field "$name" pid)" ;;
	detached) vdpa dev del "$name" ;;
	stale)
		# The record outlives its device (a state directory kept across a
		# reboot, or the device removed by hand).
		cp "$state/$name.json" "$TMPDIR/$name.json"
		"$VDUSECTL" del --keep-spec "$name" 2>/dev/null
		cp "$TMPDIR/$name.json" "$state/$name.json"
		;;
	esac
	wait_for 10 "$name to be $want" field_is $name state $want
}

# The verbs and the states they act on (device_state.h, Need).
declare -A allowed=(
	[resize]="running"
	[bind]="running detached"
	[recover]="daemon-dead"
	[restart]="running daemon-dead detached"
	[detach]="running detached"
)
declare -A args=([resize]="+1M" [bind]="" [recover]="" [restart]="" [detach]="")

# follow NAME: runs each step of the hint's fix ("vdusectl A, then vdusectl
# B"); an "add ..." step is the device added again as it was made.
follow() {
	local name=$1 hint fix step
	hint=$(device_field "$name" hint)
	fix=${hint#*fix: }
	[ "$fix" != "$hint" ] || fail "$name: the hint has no fix: $hint"
	while [ -n "$fix" ]; do
		step=${fix%%, then *}
		[ "$step" = "$fix" ] && fix="" || fix=${fix#*, then }
		step=${step#vdusectl }
		case $step in
		"add ... --name $name again") step="add -t null --size 64M --name $name" ;;
		esac
		# shellcheck disable=SC2086
		out=$("$VDUSECTL" $step 2>&1) || fail "$name: the fix's step 'vdusectl $step' failed: $out"
		pass "$name: followed 'vdusectl $step': $(tr '\n' ' ' <<<"$out")"
	done
}

schemas=() # expect_schema's triples, checked in one run below
for case in daemon-dead detached stale stale:persistent; do
	want=${case%%:*}
	persistent=${case#"$want"}
	name=st-${want%%-*}${persistent:+p}
	make_state "$name" "$want" "$persistent"
	hint=$(device_field "$name" hint)
	pass "$name: state $want, hint '$hint'"
	schemas+=("show --json of a $want device" show "$("$VDUSECTL" show "$name" --json)")
	for verb in resize bind recover restart detach; do
		case " ${allowed[$verb]} " in
		*" $want "*) continue ;; # the fix, or covered by rec-001 and bind-001
		esac
		# shellcheck disable=SC2086
		expect_status "$verb of a $want device" 1 "$name: cannot $verb a $want device: $hint" \
			"$VDUSECTL" "$verb" "$name" ${args[$verb]}
	done
	follow "$name"
	expect_eq "$name after following the hint" running "$(device_field "$name" state)"
	node=$(device_field "$name" node)
	dd if="$node" of=/dev/null bs=64k count=16 iflag=direct status=none ||
		fail "$name: reads from $node after the fix"
	expect_eq "$name: persistent as before" "${persistent:+true}" \
		"$(device_field "$name" persistent | sed 's/false//')"
	pass "$name: running again, $node answers reads"
done

# detach takes a running device off the vdpa bus (detached, bind's fix puts
# it back), not while its node is open; again, it changes nothing; with
# --at-shutdown, while the system runs, it does nothing at all.
"$VDUSECTL" add -t null --size 64M --name dt0 >/dev/null
node=$(device_field dt0 node)
expect_eq "detach --at-shutdown while the system runs says" "" "$("$VDUSECTL" detach --at-shutdown dt0 2>&1)"
expect_eq "dt0 after detach --at-shutdown" running "$(device_field dt0 state)"
sleep 600 <"$node" &
holder=$!
expect_status "detach of a device held open" 1 "dt0: $node is in use ($node open in pid $holder (sleep))" \
	"$VDUSECTL" detach dt0
kill "$holder"
wait "$holder" 2>/dev/null || true
expect_eq "detach says" "" "$("$VDUSECTL" detach dt0 2>&1)"
expect_eq "dt0 after detach" detached "$(device_field dt0 state)"
[ ! -e "$node" ] || fail "$node is still there after detach"
expect_eq "detach of a detached device says" "" "$("$VDUSECTL" detach dt0 2>&1)"
follow dt0
expect_eq "dt0 after the hint's fix" running "$(device_field dt0 state)"
"$VDUSECTL" del dt0

# restore alone recreates a stale persistent device and says what it did
# and skipped (it printed nothing and exited 0).
make_state rs0 stale persistent
out=$("$VDUSECTL" restore 2>"$TMPDIR/restore.err") || fail "restore: $(cat "$TMPDIR/restore.err")"
expect_contains "restore says it made rs0 again" "rs0: its VDUSE device was gone" "$(cat "$TMPDIR/restore.err")"
expect_contains "restore prints rs0's node" "rs0 /dev/" "$out"
expect_contains "restore says what it skipped" "st-stalep skipped (running)" "$out"
expect_eq "rs0 after restore" running "$(device_field rs0 state)"
expect_status "restore of a device that is not persistent" 1 \
	"st-daemon: not a persistent device (no spec in $VDUSE_PERSIST_DIR)" "$VDUSECTL" restore st-daemon

# del of a persistent device says that its spec goes too; --keep-spec says
# that it stays, and restore NAME brings the device back.
expect_status "del of a persistent device" 0 "rs0: its spec $VDUSE_PERSIST_DIR/rs0.json is removed too" \
	"$VDUSECTL" del rs0
[ ! -e "$VDUSE_PERSIST_DIR/rs0.json" ] || fail "del left rs0's spec"
expect_status "del --keep-spec" 0 "st-stalep: its spec $VDUSE_PERSIST_DIR/st-stalep.json is kept" \
	"$VDUSECTL" del --keep-spec st-stalep
out=$("$VDUSECTL" restore st-stalep) || fail "restore st-stalep"
expect_contains "restore NAME" "st-stalep /dev/" "$out"

expect_schema "${schemas[@]}" "check --json" check "$("$VDUSECTL" check --json)" \
	"gc --json" gc "$("$VDUSECTL" gc --json)"
"$VDUSECTL" del --all 2>/dev/null
expect_clean
