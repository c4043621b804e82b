# Helpers shared by the guest scenarios: source "$VTEST_LIB".
# shellcheck source=tests/lib/tasks.sh
source "${BASH_SOURCE[0]%/*}/tasks.sh"
# Every check prints what it checked; the first failure ends the scenario.
set -euo pipefail

fail() {
	echo "FAIL: $* [${SECONDS}s]" >&2
	# With systemd as PID 1, the journal tells what the units did.
	local init=
	{ read -r init </proc/1/comm; } 2>/dev/null || true
	if [ "$init" = systemd ]; then
		echo "----- journal (last 60 lines) -----" >&2
		journalctl -b --no-pager -n 60 >&2 2>/dev/null || true
	fi
	exit 1
}
# Each line ends with the scenario's seconds so far: a log shows where the
# time went.
pass() { echo "ok: $* [${SECONDS}s]"; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
	pass "$1 = '$3'"
}

# expect_le WHAT LIMIT ACTUAL, expect_ge WHAT LIMIT ACTUAL: integers.
expect_le() {
	[[ $3 =~ ^[0-9]+$ ]] && [ "$3" -le "$2" ] || fail "$1: expected at most $2, got '$3'"
	pass "$1 = $3 (at most $2)"
}
expect_ge() {
	[[ $3 =~ ^[0-9]+$ ]] && [ "$3" -ge "$2" ] || fail "$1: expected at least $2, got '$3'"
	pass "$1 = $3 (at least $2)"
}

# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
	case $3 in
	*"$2"*) pass "$1 contains '$2'" ;;
	*) fail "$1: '$2' not found in: $3" ;;
	esac
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
	local deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@" >/dev/null; do
		[ $SECONDS -lt $deadline ] || fail "timed out waiting for $what"
		sleep 0.1
	done
}

# gone PID: the process has exited (kill is a builtin: no program per look).
gone() { ! kill -0 "$1" 2>/dev/null; }

# kill_dead PID [WHAT]: kill -9 PID and wait until it is gone (10 s at most).
kill_dead() {
	local pid=$1 what=${2:-process $1}
	kill -9 "$pid" || fail "kill -9 of $what ($pid) failed"
	wait_for 10 "$what ($pid) to go after kill -9" gone "$pid"
}

# nap SECONDS: sleeps without starting a program (read's timeout on a
# FIFO), so a watchdog still wakes in a guest whose root file system (9p)
# no longer answers.
nap() {
	[ -p "$TMPDIR/.nap" ] || mkfifo "$TMPDIR/.nap"
	read -r -t "$1" <>"$TMPDIR/.nap" || true
}

# blocked_tasks [PID...]: what a hang waits for (tasks.sh): every task in
# uninterruptible sleep (D) and each PID's threads, with their stacks, then
# the kernel's list of blocked tasks on the console (SysRq w).
blocked_tasks() {
	echo "----- tasks in D state, and of: ${*:-none} -----"
	task_report blocked "$@"
}

# vdpa_block_node NAME: prints /dev/vdX of the vdpa device NAME bound to virtio_vdpa.
vdpa_block_node() {
	local dir
	for dir in /sys/bus/vdpa/devices/"$1"/virtio*/block/*; do
		[ -e "$dir" ] && { echo "/dev/$(basename "$dir")"; return 0; }
	done
	return 1
}

# expect_zeros DEVICE BYTES: the first BYTES of DEVICE read back as zeros.
expect_zeros() {
	local sum zero
	sum=$(head -c "$2" "$1" | sha256sum | cut -d' ' -f1)
	zero=$(head -c "$2" /dev/zero | sha256sum | cut -d' ' -f1)
	expect_eq "sha256 of the first $2 bytes of $1" "$zero" "$sum"
}

# qsd_export_args NAME SIZE QUEUES: qemu-storage-daemon arguments exporting a
# null-co block node as the vduse-blk device NAME.
qsd_export_args() {
	echo "--blockdev driver=null-co,node-name=n0,size=$2,read-zeroes=on" \
		"--export type=vduse-blk,id=e0,node-name=n0,name=$1,writable=on,num-queues=$3,queue-size=256"
}

# qsd_check_null_export NAME SIZE: with qemu-storage-daemon serving NAME, attach
# it with iproute2's vdpa, check the block device and detach it.
qsd_check_null_export() {
	local name=$1 size=$2 node
	wait_for 10 "/dev/vduse/$name" test -e "/dev/vduse/$name"
	vdpa dev add name "$name" mgmtdev vduse
	wait_for 10 "a block device under vdpa device $name" vdpa_block_node "$name"
	node=$(vdpa_block_node "$name")
	wait_for 10 "$node" test -b "$node"
	expect_eq "size of $node" "$size" "$(blockdev --getsize64 "$node")"
	expect_zeros "$node" $((4 << 20))
	expect_contains "vdpa dev show" "\"$name\"" "$(vdpa -j dev show)"
	vdpa dev del "$name"
	wait_for 10 "$node to go" test ! -e "$node"
	pass "vdpa dev del $name removed $node"
}

# bind_vhost NAME: binds the vdpa device NAME (made by anyone) to vhost_vdpa;
# prints its /dev/vhost-vdpa-N.
bind_vhost() {
	local dev=/sys/bus/vdpa/devices/$1 n
	if [ -e "$dev/driver" ]; then echo "$1" >"$dev/driver/unbind"; fi
	echo vhost_vdpa >"$dev/driver_override"
	echo "$1" >/sys/bus/vdpa/drivers_probe
	wait_for 10 "vhost-vdpa node of $1" sh -c "ls -d $dev/vhost-vdpa-* >/dev/null 2>&1"
	n=$(basename "$(ls -d "$dev"/vhost-vdpa-*)")
	wait_for 10 "/dev/$n" test -c "/dev/$n"
	echo "/dev/$n"
}

# --- vduse-tools helpers ---
VDUSECTL=${VDUSECTL:-vdusectl}
export VDUSED=${VDUSED:-}

# expect_status WHAT EXPECTED_RC EXPECTED_MESSAGE_PART COMMAND...: runs COMMAND,
# checks its exit status and that its stderr is exactly one line containing
# the message (which must not be empty: an empty needle matches anything).
expect_status() {
	local what=$1 want_rc=$2 want_msg=$3 rc=0 err lines
	shift 3
	[ -n "$want_msg" ] || fail "$what: expect_status needs a message to look for"
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" = "$want_rc" ] || fail "$what: exit status $rc, expected $want_rc (stderr: $err)"
	case $err in
	*"$want_msg"*) ;;
	*) fail "$what: stderr '$err' lacks '$want_msg'" ;;
	esac
	# $(...) drops trailing newlines: what is left has one line per newline + 1.
	lines=$(printf '%s\n' "$err" | wc -l)
	[ "$lines" -eq 1 ] || fail "$what: the error is $lines lines, not one: $err"
	pass "$what: exit $rc, '$err'"
}

# expect_clean: nothing that vdusectl makes for a device is left: no VDUSE
# device, vdpa device, vdused process, state record, in-flight log, daemon
# log, unit drop-in or persistent spec.
expect_clean() {
	local left
	left=$(ls /dev/vduse | grep -v '^control$' || true)
	[ -z "$left" ] || fail "VDUSE devices left behind: $left"
	left=$(vdpa dev show 2>/dev/null | cut -d: -f1)
	[ -z "$left" ] || fail "vdpa devices left behind: $left"
	left=$(pgrep -a vdused || true)
	[ -z "$left" ] || fail "vdused processes left behind: $left"
	left=$(ls /run/vduse/*.json 2>/dev/null || true)
	[ -z "$left" ] || fail "state records left behind: $left"
	left=$(ls /run/vduse/*.inflight 2>/dev/null || true)
	[ -z "$left" ] || fail "in-flight logs left behind: $left"
	left=$(ls /run/vduse/*.link 2>/dev/null || true)
	[ -z "$left" ] || fail "connection states left behind: $left"
	left=$(ls /run/vduse/*.log 2>/dev/null || true)
	[ -z "$left" ] || fail "daemon logs left behind: $left"
	left=$(ls -d /run/systemd/system/vdused@*.service.d \
		/run/systemd/system/vduse-detach@*.service.d 2>/dev/null || true)
	[ -z "$left" ] || fail "unit drop-ins left behind: $left"
	left=$(ls "${VDUSE_PERSIST_DIR:-/etc/vduse/devices}"/*.json 2>/dev/null || true)
	[ -z "$left" ] || fail "persistent specs left behind: $left"
	pass "nothing left behind"
}

# documented_device_fields: the keys vdusectl(8) lists under DEVICE FIELDS.
documented_device_fields() {
	awk '/^# /{f = ($0 == "# DEVICE FIELDS"); next} f && /^\*[a-z_]+\*$/{gsub(/\*/, ""); print}' \
		"$VTEST_SRCDIR/man/vdusectl.8.scd"
}

# fio_check NAME FIO-ARGS...: runs fio with JSON output; fails on any error or no I/O.
fio_check() {
	local what=$1
	shift
	# JSON to a file: fio prints its warnings on stdout too.
	fio --output-format=json --output="$TMPDIR/fio.json" "$@" >"$TMPDIR/fio.out" 2>&1 ||
		fail "$what: fio failed: $(cat "$TMPDIR/fio.out" "$TMPDIR/fio.json")"
	fio_errors fio "$what"
	pass "$what: $((fio_sums[1] + fio_sums[2])) I/Os, ${fio_sums[3]} read IOPS, no errors"
}

# fio_start JOB FIO-ARGS...: fio in the background (its pid in fio_pid), its
# JSON report in $TMPDIR/JOB.json and anything else it prints in JOB.out.
fio_start() {
	local job=$1
	shift
	fio "$@" --output-format=json --output="$TMPDIR/$job.json" >"$TMPDIR/$job.out" 2>&1 &
	fio_pid=$!
}

# fio_finish JOB WHAT [SECONDS]: waits for fio_start's JOB (at most SECONDS
# if given: then fio's tasks, the devices, under systemd the workers' last
# journal lines, and the servers the scenario started say where it hangs);
# fails if fio failed or counted an
# error. Its report is then in fio_report (fio_total reads it).
fio_finish() {
	local job=$1 what=$2 deadline=$((SECONDS + ${3:-0}))
	while [ -n "${3:-}" ] && kill -0 "$fio_pid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "fio ($what) is still running after $3 s: its tasks, the devices, the workers' journal"
			blocked_tasks "$fio_pid"
			"${VDUSECTL:-vdusectl}" list 2>&1 || true
			[ "$(cat /proc/1/comm)" != systemd ] ||
				journalctl -n 60 --no-pager -u 'vdused@*' -u 'vduse-detach@*' 2>&1 || true
			# The servers the scenario started, and why one may be gone.
			echo "----- servers -----"
			pgrep -a 'nbdkit|qemu-storage' 2>&1 || echo "(no nbdkit or qemu-storage-daemon runs)"
			for log in /run/nbd/*.log /run/vhu/*.log; do
				[ -s "$log" ] && echo "$log:" && tail -n 5 "$log"
			done
			[ "$(cat /proc/1/comm)" != systemd ] ||
				journalctl -n 20 --no-pager -t nbdkit -t qemu-storage-daemon 2>&1 || true
			dmesg | grep -i -E 'killed process|segfault|out of memory|general protection' | tail -n 10 || true
			fail "fio ($what) did not finish within $3 s"
		fi
		nap 1
	done
	wait "$fio_pid" ||
		fail "fio failed ($what): $(tail -n 20 "$TMPDIR/$job.out"; cat "$TMPDIR/$job.json")"
	fio_errors "$job" "$what"
}

# fio_verify_during NODE JOB SECONDS: fio_start's JOB, random writes of 4k to
# 256k with verify_backlog on 2 jobs of 64 MiB each (faults are injected
# meanwhile); fio_verified JOB [DEADLINE] finishes it as fio_finish does and
# says how many blocks were written and verified.
fio_verify_during() {
	fio_start "$2" --name="$2" --filename="$1" --rw=randwrite --bsrange=4k-256k --size=64M \
		--ioengine=io_uring --iodepth=16 --direct=1 --numjobs=2 --offset_increment=64M \
		--verify=crc32c --verify_backlog=32 --verify_fatal=1 --time_based --runtime="$3"
}
fio_verified() {
	fio_finish "$1" "$1" ${2:+"$2"}
	pass "fio wrote $(fio_total write.total_ios) verified blocks ($1)"
}

# fio_stop JOB WHAT: ends fio_start's time-based JOB now (SIGINT: fio still
# writes its report) and checks it as fio_finish does.
fio_stop() {
	kill -INT "$fio_pid"
	# The exit status after a signal says nothing; the report does.
	wait "$fio_pid" || true
	fio_errors "$1" "$2"
}

# fio_errors JOB WHAT: JOB's report into fio_report, and its most used
# totals into fio_sums (one jq for them all: jq 1.6 takes 0.4 s to start in
# the TCG guest); fails unless it did I/O and counted no error.
fio_errors() {
	# fio may start the file with a warning line before the JSON object.
	fio_report=$(sed -n '/^{/,$p' "$TMPDIR/$1.json")
	[ -n "$fio_report" ] || fail "fio ($2) wrote no report: $(tail -n 20 "$TMPDIR/$1.out")"
	local sums
	sums=$(jq -r '[.jobs[]] | [(map(.error) | add), (map(.read.total_ios) | add),
		(map(.write.total_ios) | add), (map(.read.iops) | add | floor)] | @sh' <<<"$fio_report") ||
		fail "fio ($2): its report is not fio's JSON: $(head -c 300 <<<"$fio_report")"
	read -r -a fio_sums <<<"$sums"
	expect_eq "fio errors ($2)" 0 "${fio_sums[0]}"
	[ $((fio_sums[1] + fio_sums[2])) -gt 0 ] || fail "fio ($2) did no I/O"
}

# fio_total FIELD: FIELD (e.g. write.total_ios) summed over fio_report's jobs.
fio_total() {
	case $1 in
	error) echo "${fio_sums[0]}" ;;
	read.total_ios) echo "${fio_sums[1]}" ;;
	write.total_ios) echo "${fio_sums[2]}" ;;
	*) jq "[.jobs[].$1] | add" <<<"$fio_report" ;;
	esac
}

# scratch_fs: a tmpfs at /run/img for image files; prints its path.
scratch_fs() {
	mkdir -p /run/img
	mountpoint -q /run/img || mount -t tmpfs -o size=${1:-3G} tmpfs /run/img
	echo /run/img
}

# fio_verify WHAT NODE BS-RANGE SIZE: writes then verifies (crc32c), and does
# random writes with verify_backlog; fails on any error or mismatch.
fio_verify() {
	local what=$1 node=$2 bs=$3 size=$4
	fio_check "$what: sequential write + verify, bs $bs" --name=seq --filename="$node" --rw=write \
		--bsrange="$bs" --size="$size" --ioengine=io_uring --iodepth=16 --direct=1 \
		--verify=crc32c --do_verify=1 --verify_fatal=1
	fio_check "$what: random write with verify_backlog, bs $bs" --name=rand --filename="$node" \
		--rw=randwrite --bsrange="$bs" --size="$size" --ioengine=io_uring --iodepth=32 --direct=1 \
		--numjobs=2 --offset_increment="$size" --verify=crc32c --verify_backlog=64 --verify_fatal=1
}

# on_last_queue NODE QUEUES NAME WHAT: fio verify on the device's last queue,
# from the CPU of that number brought online for it (run-in-guest --cpus:
# blk-mq maps possible CPU i to queue i), then offline again; fails unless
# vdused's counters show that queue served it.
on_last_queue() {
	local node=$1 queues=$2 name=$3 what=$4
	local cpu=$((queues - 1))
	local online=/sys/devices/system/cpu/cpu$cpu/online
	[ -w "$online" ] || fail "$what: no CPU $cpu to bring online (run-in-guest --cpus $queues)"
	echo 1 >"$online" || fail "$what: cannot bring CPU $cpu online"
	expect_eq "the CPU of queue $cpu" "$cpu" "$(cat "/sys/block/${node#/dev/}/mq/$cpu/cpu_list")"
	local before
	before=$("$VDUSECTL" stats "$name" --json | jq ".[0].queues[$cpu].writes")
	fio_check "$what: write + verify from CPU $cpu" --name=last --filename="$node" --rw=randwrite \
		--bsrange=4k-128k --size=16M --ioengine=io_uring --iodepth=32 --direct=1 \
		--cpus_allowed="$cpu" --verify=crc32c --verify_backlog=64 --verify_fatal=1
	local after
	after=$("$VDUSECTL" stats "$name" --json | jq ".[0].queues[$cpu].writes")
	echo 0 >"$online" || fail "$what: cannot take CPU $cpu offline"
	[ "$after" -gt "$before" ] ||
		fail "$what: queue $cpu served no write ($before before fio, $after after)"
	pass "$what: queue $cpu served $((after - before)) writes"
}

# ceph_up: the one-node Ceph cluster of tests/lib/ceph-cluster.sh on the
# loopback; sets conf (its ceph.conf) and exports CEPH_CONF.
ceph_up() {
	ip link set lo up
	bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" up >"$TMPDIR/ceph-up.log" 2>&1 ||
		fail "the Ceph cluster did not start: $(tail -20 "$TMPDIR/ceph-up.log")"
	conf=/run/ceph/ceph.conf
	export CEPH_CONF=$conf
}

# nbd_start NAME NBDKIT-ARGS...: an nbdkit server on the unix socket
# /run/nbd/NAME.sock (with --port P in the arguments, on 127.0.0.1:P instead),
# its pid in /run/nbd/NAME.pid. nbdkit listens before it returns.
nbd_start() {
	local name=$1
	shift
	mkdir -p /run/nbd
	rm -f "/run/nbd/$name.sock" # a killed server leaves it behind
	local listen=(--unix "/run/nbd/$name.sock")
	case " $* " in *" --port "*) listen=(--ipaddr 127.0.0.1) ;; esac
	nbdkit --pidfile "/run/nbd/$name.pid" "${listen[@]}" "$@" \
		2>>"/run/nbd/$name.log" || fail "nbdkit $name did not start: $(cat "/run/nbd/$name.log")"
	wait_for 30 "nbdkit $name's pid file" test -s "/run/nbd/$name.pid"
}

# nbd_kill NAME: SIGKILL, as a crash (nbdkit would wait for its clients on SIGTERM).
nbd_kill() {
	local pid
	pid=$(cat "/run/nbd/$1.pid")
	kill -9 "$pid"
	wait_for 10 "nbdkit $1 ($pid) to go after kill -9" gone "$pid"
	rm -f "/run/nbd/$1.pid"
}

# without_remote_libraries CMD...: CMD as on a host without libnbd0 and
# librbd1: in a mount namespace of its own, each library an empty file.
without_remote_libraries() {
	unshare --mount sh -c 'for lib in libnbd.so.0 librbd.so.1; do
		path=$(ldconfig -p | awk -v l="$lib" "\$1 == l { print \$NF; exit }")
		[ -n "$path" ] && mount --bind /dev/null "$(realpath "$path")" || exit 99
	done
	exec "$@"' sh "$@"
}

# device_field NAME KEY: one field of `vdusectl show --json NAME`, as jq -r
# prints it. A string without escapes, a number, a boolean or null that the
# object has once is read by bash (jq 1.6 takes 0.4 s to start in the TCG
# guest, and scenarios read hundreds of fields); anything else by jq.
device_field() {
	local json re="\"$2\":(\"([^\"\\\\]*)\"|-?[0-9]+|true|false|null)[,}]"
	json=$("$VDUSECTL" show "$1" --json=short) || return
	if [[ $json =~ $re ]] && [[ ${json#*\"$2\":} != *\"$2\":* ]]; then
		case ${BASH_REMATCH[1]} in
		\"*) echo "${BASH_REMATCH[2]}" ;;
		*) echo "${BASH_REMATCH[1]}" ;;
		esac
		return
	fi
	jq -r ".[0].$2" <<<"$json"
}

# field_is NAME KEY VALUE, field_starts NAME KEY PREFIX: device_field NAME
# KEY is VALUE, or starts with PREFIX (for wait_for).
field_is() { [ "$(device_field "$1" "$2")" = "$3" ]; }
field_starts() { [[ $(device_field "$1" "$2") == "$3"* ]]; }

# vhu_start NAME QUEUES BLOCKDEV [EXPORT-OPTIONS]: qemu-storage-daemon serving
# BLOCKDEV (a --blockdev value whose node-name is NAME) as a vhost-user-blk
# target on /run/vhu/NAME.sock, its pid in /run/vhu/NAME.pid, its stderr in
# /run/vhu/NAME.log. Not --daemonize, which sends stderr to /dev/null (an
# assertion's message with it): a background child of a subshell that exits.
vhu_start() {
	local name=$1 queues=$2 blockdev=$3 extra=${4:+,$4}
	mkdir -p /run/vhu
	rm -f "/run/vhu/$name.sock" "/run/vhu/$name.pid"
	# VHU_OBJECT: a --object for the blockdev (a LUKS image's secret).
	(qemu-storage-daemon --pidfile "/run/vhu/$name.pid" \
		${VHU_OBJECT:+--object "$VHU_OBJECT"} --blockdev "$blockdev" \
		--export "type=vhost-user-blk,id=e-$name,node-name=$name,addr.type=unix,addr.path=/run/vhu/$name.sock,writable=on,num-queues=$queues$extra" \
		</dev/null >/dev/null 2>>"/run/vhu/$name.log" &)
	local deadline=$((SECONDS + 5))
	until [ -S "/run/vhu/$name.sock" ] && [ -s "/run/vhu/$name.pid" ]; do
		[ $SECONDS -lt $deadline ] ||
			fail "qemu-storage-daemon $name did not start: $(cat "/run/vhu/$name.log")"
		sleep 0.05
	done
}

# dpdk_start IMAGE [QUEUES]: tests/lib/dpdk-vhost-blk (DPDK's vhost library,
# SPDK's) serving IMAGE with QUEUES (2) queues on /run/vhu/spdk.sock, its pid in
# /run/vhu/spdk.pid (for vhu_maps_bounce), its output appended to
# /run/vhu/spdk.log. The guest needs hugepages=64 and a CPU with SSE4.2.
dpdk_start() {
	mkdir -p /run/vhu
	rm -f /run/vhu/spdk.sock
	"$(dirname "$VTEST_LIB")/dpdk-vhost-blk" /run/vhu/spdk.sock "$1" "${2:-2}" \
		>>/run/vhu/spdk.log 2>&1 &
	echo $! >/run/vhu/spdk.pid
	local deadline=$((SECONDS + 20))
	until [ -S /run/vhu/spdk.sock ]; do
		[ $SECONDS -lt $deadline ] ||
			fail "the DPDK target did not start in 20 s: $(tail -5 /run/vhu/spdk.log)"
		sleep 0.1
	done
}

# vhu_stop NAME: SIGTERM, and wait until it is gone.
vhu_stop() {
	local pid
	pid=$(cat "/run/vhu/$1.pid")
	kill "$pid"
	wait_for 10 "qemu-storage-daemon $1 to exit" gone "$pid"
}

# vhu_kill NAME: SIGKILL, as a crash.
vhu_kill() {
	local pid
	pid=$(cat "/run/vhu/$1.pid")
	# A target that died on its own is a finding, not a kill to make.
	kill -9 "$pid" 2>/dev/null ||
		fail "qemu-storage-daemon $1 ($pid) had already exited: $(tail -5 "/run/vhu/$1.log") $(dmesg | grep -E 'segfault|killed process|general protection|traps:' | tail -3)"
	wait_for 10 "qemu-storage-daemon $1 ($pid) to go after kill -9" gone "$pid"
	rm -f "/run/vhu/$1.pid"
}

# vhu_connected NAME TARGET: waits up to 15 s for show to say NAME is
# connected to its vhost-user target; else prints vdused's log, the logs in
# /run/vhu of TARGET (and of anything else there) and the kernel's last lines.
vhu_connected() {
	local name=$1 target=$2 deadline=$((SECONDS + 15)) log
	until field_is "$name" connection connected; do
		[ $SECONDS -lt $deadline ] && { sleep 0.1; continue; }
		echo "----- vdused's log -----"
		tail -15 "/run/vduse/$name.log"
		for log in /run/vhu/*.log; do
			echo "----- $log -----"
			tail -8 "$log"
		done
		pgrep -a qemu-storage || echo "no qemu-storage-daemon runs (target $target)"
		"$VDUSECTL" show "$name"
		dmesg | tail -8
		fail "timed out waiting for show to say $name is connected"
	done
}

# vhu_maps_bounce TARGET DEVICE: qemu-storage-daemon TARGET has DEVICE's
# bounce memfd (vdused's --bounce-memory hugepage) mapped, in 2 MiB pages
# (its smaps entry for the memfd says KernelPageSize 2048 kB).
vhu_maps_bounce() {
	local pid entry
	pid=$(cat "/run/vhu/$1.pid")
	entry=$(awk -v m="vduse-bounce:$2" '$0 ~ m {f = 1; print; next} f && /^[0-9a-f]+-[0-9a-f]+ / {f = 0} f' "/proc/$pid/smaps")
	[ -n "$entry" ] || fail "qemu-storage-daemon ($pid) has no mapping of vdused's bounce memfd: $(grep -c . "/proc/$pid/maps") mappings, $(grep -E 'memfd|vduse' "/proc/$pid/maps" | head -5)"
	grep -q "KernelPageSize: *2048 kB" <<<"$entry" ||
		fail "the target maps the bounce memory in pages that are not 2 MiB: $entry"
	pass "the target ($pid) maps the bounce memfd in 2 MiB pages: $(head -1 <<<"$entry" | awk '{print $1, $6}')"
}

# del_bounce_device NAME FREE_BEFORE: for a bridge to a target without
# memory slots (--bounce-memory): no request fell outside the bounce memory,
# then NAME deleted, nothing left, and the free huge pages back to
# FREE_BEFORE.
del_bounce_device() {
	local name=$1 free_before=$2
	grep -q "is not the bounce memory" "/run/vduse/$name.log" &&
		fail "a request outside the bounce memory: $(grep 'is not the bounce memory' "/run/vduse/$name.log")"
	"$VDUSECTL" del "$name"
	expect_clean "$name"
	wait_for 10 "the huge pages to be given back" sh -c \
		"[ \$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages) = $free_before ]"
}

# ext4_across_reset NAME NODE: ext4 on NODE with an 8 MiB file, the device
# NAME detached and bound again (a reset of the driver), then e2fsck and the
# file's checksum.
ext4_across_reset() {
	local name=$1 node=$2 sum
	mkfs.ext4 -q -F "$node"
	mkdir -p /run/mnt
	mount "$node" /run/mnt
	head -c $((8 << 20)) /dev/urandom >/run/mnt/f1
	sum=$(sha256sum </run/mnt/f1)
	umount /run/mnt
	"$VDUSECTL" detach "$name" || fail "detach of $name failed"
	read -r _ node <<<"$("$VDUSECTL" bind "$name")"
	e2fsck -fn "$node" >/dev/null || fail "e2fsck found errors after the reset"
	mount "$node" /run/mnt
	expect_eq "file checksum after detach + bind" "$sum" "$(sha256sum </run/mnt/f1)"
	umount /run/mnt
	pass "ext4 and its file intact across a reset"
}

# expect_pinned NAME QUEUE CPU: vdused's thread vqQUEUE may run only on CPU,
# and the kernel's completion work for the queue (irq_cb_affinity) too.
expect_pinned() {
	local name=$1 q=$2 cpu=$3 pid tid
	pid=$(device_field "$name" pid)
	tid=$(grep -lx "vq$q" /proc/"$pid"/task/*/comm | cut -d/ -f5)
	[ -n "$tid" ] || fail "$name: no thread vq$q in vdused $pid"
	expect_eq "$name: CPUs of thread vq$q" "$cpu" "$(taskset -pc "$tid" | sed 's/.*: //')"
	expect_eq "$name: irq_cb_affinity of vq$q" "$(printf '%x' $((1 << cpu)))" \
		"$(cat "/sys/class/vduse/$name/vq$q/irq_cb_affinity")"
}

# expect_quiet_kernel: what the kernel logged since boot holds no I/O error,
# no ring the virtio driver took for broken (drivers/virtio/virtio_ring.c,
# BAD_RING: "is not a head", "out of range") and no VDUSE message that timed
# out or device it marked broken (drivers/vdpa/vdpa_user/vduse_dev.c).
expect_quiet_kernel() {
	local errors
	errors=$(dmesg | grep -i -E 'I/O error|blk_update_request|is not a head|out of range|vduse.*(timeout|broken)' || true)
	[ -z "$errors" ] || fail "the kernel logged: $errors"
	pass "the kernel logged no I/O error, broken ring or VDUSE timeout"
}

# expect_schema WHAT DEFINITION JSON [WHAT DEFINITION JSON]...: each JSON
# (one document, or one a line) matches its DEFINITION of
# docs/json/vdusectl.schema.json, checked by Debian's python3-jsonschema in
# one run (it takes seconds to start in the guest: give it all at once).
expect_schema() {
	local dir out line i=0 args=() whats=()
	[ $(($# % 3)) -eq 0 ] && [ $# -gt 0 ] || fail "expect_schema: $# arguments, not triples"
	dir=$(mktemp -d)
	while [ $# -gt 0 ]; do
		whats+=("$1")
		printf '%s\n' "$3" >"$dir/$i.json"
		args+=("$2" "$dir/$i.json")
		i=$((i + 1))
		shift 3
	done
	out=$(/usr/bin/python3 "$(dirname "$VTEST_LIB")/check-json" "${args[@]}" 2>&1) || {
		rm -rf "$dir"
		fail "${whats[*]}: $out"
	}
	rm -rf "$dir"
	i=0
	while IFS= read -r line; do
		pass "${whats[$i]}: $line"
		i=$((i + 1))
	done <<<"$out"
	[ "$i" -eq "${#whats[@]}" ] || fail "expect_schema: check-json said $i lines for ${#whats[@]} documents: $out"
}

# stats_total NAME FIELD: one counter of the device's total in vdusectl stats.
stats_total() { "$VDUSECTL" stats "$1" --json=short | jq -r ".[0].total.$2"; }

# nothing_in_flight NAME: stats count no request in flight.
nothing_in_flight() { [ "$(stats_total "$1" in_flight)" = 0 ]; }

# within_1pct WHAT EXPECTED GOT
within_1pct() {
	local diff=$(($3 - $2))
	[ "${diff#-}" -le $(($2 / 100)) ] || fail "$1: stats say $3, expected $2 (more than 1% off)"
	pass "$1: stats say $3, fio did $2"
}

# stats_match_fio NAME NODE [MIB]: fio random writes of 4k and reads of 16k
# (two jobs of MIB each, 64 by default, at 0 and 64 MiB), then vdusectl stats
# must count them
# (requests and bytes within 1%), no errors, nothing in flight at rest, each
# queue of a 2-queue device busy, interrupts, and a latency. Prints the JSON.
stats_match_fio() {
	local name=$1 node=$2 size=${3:-64}M json fio_reads fio_writes mean p99 before after
	# One jq a report (jq takes 0.4 s to start in the guest): reads,
	# writes, read bytes, write bytes, then (after) errors, queues, each
	# queue's writes, interrupts, latency mean and p99.
	before=$("$VDUSECTL" stats "$name" --json=short |
		jq -r '.[0].total | [.reads, .writes, .read_bytes, .write_bytes] | @sh')
	read -r -a before <<<"$before"
	fio --name=w --filename="$node" --rw=randwrite --bs=4k --size="$size" --ioengine=io_uring --iodepth=16 \
		--direct=1 --numjobs=2 --offset_increment=64M --output-format=json --output="$TMPDIR/w.json" >/dev/null ||
		fail "fio randwrite failed"
	fio --name=r --filename="$node" --rw=randread --bs=16k --size="$size" --ioengine=io_uring --iodepth=16 \
		--direct=1 --numjobs=2 --offset_increment=64M --output-format=json --output="$TMPDIR/r.json" >/dev/null ||
		fail "fio randread failed"
	read -r fio_writes fio_reads < <({ sed -n '/^{/,$p' "$TMPDIR/w.json"; sed -n '/^{/,$p' "$TMPDIR/r.json"; } |
		jq -rs '[(.[0].jobs | map(.write.total_ios) | add), (.[1].jobs | map(.read.total_ios) | add)] | @sh')
	json=$("$VDUSECTL" stats "$name" --json=short)
	expect_schema "$name: stats --json" stats "$json"
	after=$(jq -r '.[0] | [.total.reads, .total.writes, .total.read_bytes, .total.write_bytes,
		.total.errors, (.queues | length), .queues[0].writes, .queues[1].writes,
		.total.interrupts, .total.latency_mean_us, .total.latency_p99_us] | @sh' <<<"$json")
	read -r -a after <<<"$after"
	within_1pct "$name: writes" "$fio_writes" $((after[1] - before[1]))
	within_1pct "$name: reads" "$fio_reads" $((after[0] - before[0]))
	within_1pct "$name: bytes written" $((fio_writes * 4096)) $((after[3] - before[3]))
	within_1pct "$name: bytes read" $((fio_reads * 16384)) $((after[2] - before[2]))
	expect_eq "$name: errors" 0 "${after[4]}"
	# Direct rings count what they see at a wake-up or a scan every 0.5 s.
	wait_for 3 "$name: nothing in flight at rest" nothing_in_flight "$name"
	pass "$name: nothing in flight at rest"
	expect_eq "$name: queues reported" 2 "${after[5]}"
	[ "${after[6]}" -gt 0 ] || fail "$name: queue 0 counted no writes"
	[ "${after[7]}" -gt 0 ] || fail "$name: queue 1 counted no writes"
	[ "${after[8]}" -gt 0 ] || fail "$name: no interrupts counted"
	mean=${after[9]} p99=${after[10]}
	awk -v m="$mean" -v p="$p99" 'BEGIN { exit !(m > 0 && p >= m / 2) }' ||
		fail "$name: latency mean $mean us, p99 $p99 us"
	pass "$name: latency mean $mean us, p99 <= $p99 us"
}

# in_round_order ROUND WORD...: the words one per line, in order in odd
# rounds and reversed in even ones. The benches measure their devices in
# this order: what comes first in a round is measured slower under TCG
# (two copies of one vdused binary were 0.65x to 1.02x of each other, the
# first behind in 9 of 10 points), so each device takes both ends in turn.
in_round_order() {
	local round=$1 i
	shift
	if ((round % 2)); then
		printf '%s\n' "$@"
	else
		for ((i = $#; i >= 1; i--)); do printf '%s\n' "${!i}"; done
	fi
}
