#!/bin/bash
# Two boots of a guest with systemd as PID 1 sharing /etc/vduse: a device
# added with --persistent comes back at the next boot through
# vduse-restore.service; one added without it does not; del of a persistent
# device removes its spec.
source "$VTEST_LIB"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
unset VDUSED
VDUSECTL=vdusectl
spec=/etc/vduse/devices/keep0.json
case $VTEST_BOOT in
1)
	[ ! -e $spec ] || fail "$spec exists before the first add"
	vdusectl add -t null --size 128M --queues 2 --serial keep-serial --name keep0 --persistent >/dev/null
	vdusectl add -t null --size 64M --name gone0 >/dev/null
	[ -e $spec ] || fail "add --persistent wrote no $spec"
	expect_eq "size in $spec" $((128 << 20)) "$(jq .size_bytes $spec)"
	expect_eq "show: persistent" true "$(vdusectl show keep0 --json | jq '.[0].persistent')"
	[ ! -e /etc/vduse/devices/gone0.json ] || fail "a device without --persistent was persisted"
	pass "boot 1: keep0 persisted, gone0 not"
	;;
2)
	expect_eq "vduse-restore.service result" success "$(systemctl show -P Result vduse-restore.service)"
	expect_eq "vduse-restore.service state" active "$(systemctl is-active vduse-restore.service)"
	json=$(vdusectl show keep0 --json | jq '.[0]')
	expect_eq "keep0 state after reboot" running "$(jq -r .state <<<"$json")"
	expect_eq "keep0 queues after reboot" 2 "$(jq -r .queues <<<"$json")"
	expect_eq "vdused@keep0.service" active "$(systemctl is-active vdused@keep0.service)"
	node=$(jq -r .node <<<"$json")
	expect_eq "size of $node" $((128 << 20)) "$(blockdev --getsize64 "$node")"
	expect_eq "serial of $node" keep-serial "$(cat /sys/block/"${node#/dev/}"/serial)"
	vdpa -j dev show | jq -e '.dev.keep0' >/dev/null || fail "vdpa dev show lacks keep0"
	if vdusectl show gone0 >/dev/null 2>&1; then fail "gone0 came back without --persistent"; fi
	pass "boot 2: keep0 restored, gone0 not"
	vdusectl del keep0
	[ ! -e $spec ] || fail "del left $spec"
	pass "del removed $spec"
	expect_clean
	;;
*) fail "unexpected boot $VTEST_BOOT" ;;
esac
