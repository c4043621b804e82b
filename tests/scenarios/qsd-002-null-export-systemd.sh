#!/bin/bash
# As qsd-001, with systemd as PID 1 and qemu-storage-daemon in a transient unit.
source "$VTEST_LIB"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
name=qsd1
size=$((512 << 20))
# shellcheck disable=SC2046
systemd-run --unit=qsd-test --service-type=simple \
	qemu-storage-daemon $(qsd_export_args "$name" "$size" 1)
expect_eq "qsd-test.service state" active "$(systemctl is-active qsd-test.service)"
qsd_check_null_export "$name" "$size"
systemctl stop qsd-test.service
wait_for 10 "/dev/vduse/$name to go" test ! -e "/dev/vduse/$name"
pass "stopping qsd-test.service removed /dev/vduse/$name"
