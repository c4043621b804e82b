# shellcheck shell=bash
# What a hang waits for, with shell builtins only: a guest whose 9p root no
# longer answers cannot start a program. Sourced by common.sh (blocked_tasks)
# and tests/vm/guest-init.sh (its watchdog); safe under set -euo pipefail.

# task_report all|blocked [PID...]: one line per task (thread) with its
# state and wait channel, then its kernel stack, indented: every user task
# (all: kernel threads are skipped), or (blocked) those in uninterruptible
# sleep (D) and the threads of each PID. Then the kernel's own list of
# blocked tasks on the console (SysRq w, the console's log level raised).
task_report() {
	local which=$1 task pid stat comm wchan line field
	shift
	for task in /proc/[0-9]*/task/[0-9]*; do
		pid=${task#/proc/}
		pid=${pid%%/*}
		stat='' comm='' wchan=''
		{ read -r stat <"$task/stat"; } 2>/dev/null || continue
		# The state is the first field after the command's name, the flags
		# the seventh; PF_KTHREAD is 0x00200000.
		read -r -a field <<<"${stat##*) }"
		if [ "$which" = all ]; then
			(((field[6] & 0x00200000) == 0)) || continue
		else
			[ "${field[0]}" = D ] || [[ " $* " == *" $pid "* ]] || continue
		fi
		{ read -r comm <"$task/comm"; } 2>/dev/null || true
		{ read -r wchan <"$task/wchan"; } 2>/dev/null || true
		echo "$pid/${task##*/} $comm state=${field[0]} wchan=$wchan"
		{ while read -r line; do echo "    $line"; done <"$task/stack"; } 2>/dev/null || true
	done
	echo 8 >/proc/sys/kernel/printk 2>/dev/null || true
	echo w >/proc/sysrq-trigger 2>/dev/null || true
}
