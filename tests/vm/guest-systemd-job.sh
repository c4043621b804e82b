#!/bin/bash
# Run by vtest.service in "systemd" mode: the scenario, its exit status into the
# result share, then an immediate reboot (QEMU exits), or an orderly one if the
# scenario created /run/vtest-orderly-reboot.
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
# A scenario that tests what happens at shutdown asks for an orderly one.
if [ -e /run/vtest-orderly-reboot ]; then
	# What systemctl reboot asks of systemd (logind is masked in the guest),
	# once this script has exited: vtest.service stopped while it runs would
	# fail, and its FailureAction= would force the reboot, unordered.
	# AccuracySec: a timer's default accuracy is a minute (systemd.timer(5)):
	# the reboot came up to a minute late (42.8 s once, sd-003 in CI).
	systemd-run --quiet --on-active=2 --timer-property=AccuracySec=100ms \
		systemctl start reboot.target --job-mode=replace-irreversibly
else
	systemctl reboot --force --force
fi
