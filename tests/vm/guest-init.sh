#!/bin/bash
# PID 1 of the test guest in "init" mode: mounts what a scenario needs, runs
# it, stores its exit status in the result share and reboots (QEMU runs with
# -no-reboot, so it exits).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm 2>/dev/null
# devtmpfs lacks the /dev/fd links that bash process substitution needs.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mkdir -p /run/vtest-share
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 vtest /run/vtest-share
# shellcheck source=/dev/null
. /run/vtest-share/job.env
# /tmp gets a tmpfs unless the tree under test lives there (the guest sees the
# host's paths as they are, and a tmpfs would hide it).
case "$VTEST_BUILDDIR/ $VTEST_SRCDIR/" in
*/tmp/*) ;;
*) mount -t tmpfs tmpfs /tmp ;;
esac
mkdir -p /run/tmp /run/lock
export TMPDIR=/run/tmp HOME=/run/tmp
ip link set lo up 2>/dev/null
hostname vtest-guest 2>/dev/null
cd /run/tmp || exit 1
# The watchdog: if the scenario is not done 20 s after its timeout (a task
# that no signal ends holds it up), it lists on the console what every
# process waits for, before the host gives up on the guest: each user
# task's state, wait channel and kernel stack, then the kernel's own list of
# blocked tasks (SysRq w). Shell builtins only (tests/lib/tasks.sh; read's
# timeout on a FIFO for a sleep): a guest whose 9p root no longer answers
# cannot start a program.
# shellcheck source=tests/lib/tasks.sh
source "${VTEST_LIB%/*}/tasks.sh"
mkfifo /run/vtest-watchdog
(
	read -r -t $((VTEST_TIMEOUT + 20)) <>/run/vtest-watchdog || true
	exec >/dev/console 2>&1
	echo "vtest: $VTEST_SCENARIO outlived its timeout of $VTEST_TIMEOUT s; its tasks follow"
	task_report all
) &
watchdog=$!
echo "vtest: running $VTEST_SCENARIO (init mode)"
# tee runs beside, not in a pipeline: a daemon the scenario started and left
# running (a failed scenario's qemu-storage-daemon, say) holds tee's pipe
# open, and a pipeline would wait for it: the guest was held until the host
# gave up, and the scenario's exit status was lost.
timeout -k 5 "$VTEST_TIMEOUT" bash "$VTEST_SCENARIO" > >(exec tee /run/vtest-share/scenario.log) 2>&1
rc=$?
tee_pid=$!
kill "$watchdog" 2>/dev/null
# Give tee half a second to end by itself; then end what the scenario left
# running (kernel threads ignore the signal), so that tee reads to the end.
for tick in $(seq 30); do
	kill -0 "$tee_pid" 2>/dev/null || break
	if [ "$tick" -eq 5 ]; then
		for task in /proc/[0-9]*; do
			task=${task#/proc/}
			[ "$task" = 1 ] || [ "$task" = "$tee_pid" ] || [ "$task" = "$BASHPID" ] ||
				kill -TERM "$task" 2>/dev/null
		done
	fi
	read -r -t 0.1 <>/run/vtest-watchdog || true
done
if [ "$rc" -eq 124 ]; then
	echo "vtest: the scenario did not end within its timeout of $VTEST_TIMEOUT s"
elif [ "$rc" -gt 128 ]; then
	echo "vtest: the scenario was killed by signal $((rc - 128)); the kernel's last messages:"
	dmesg | tail -n 20
fi
echo "$rc" >/run/vtest-share/rc
echo "vtest: scenario exited with $rc"
sync
umount /run/vtest-share
echo b >/proc/sysrq-trigger
