#!/bin/bash
# Run by vtest.service in "systemd" mode: the scenario, its exit status into the
# result share, then an immediate reboot (QEMU exits).
# systemd mounts a tmpfs over /run: the share sits at the root of the overlay.
share=/vtest-share
# shellcheck source=/dev/null
. "$share/job.env"
export TMPDIR=/tmp HOME=/root
cd /tmp || exit 1
echo "vtest: running $VTEST_SCENARIO (systemd mode)"
timeout -k 5 "$VTEST_TIMEOUT" bash "$VTEST_SCENARIO" 2>&1 | tee "$share/scenario.log"
rc=${PIPESTATUS[0]}
echo "$rc" >"$share/rc"
echo "vtest: scenario exited with $rc"
sync
systemctl reboot --force --force
