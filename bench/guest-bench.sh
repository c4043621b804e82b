#!/bin/bash
# Runs inside the test guest (one boot): fio 4k random reads against vdused's
# null device, qemu-storage-daemon's vduse-blk export on null-co, ublksrv's
# null target (if UBLK names its ublk binary) and the kernel's vdpasim_blk
# (one queue: all it has), in interleaved rounds (A B C D, D C B A), a
# warm-up run before each measured one. Prints IOPS, mean and p99 latency,
# CPU time per I/O: the serving process's (user + system, all threads) and
# the whole guest's (every CPU's busy time, fio's too), and the guest's
# context switches per I/O. Emulated timings: only the ratios within this
# table mean something.
source "$VTEST_LIB"
runtime=${BENCH_RUNTIME:-5}
rounds=${BENCH_ROUNDS:-2}
depth=256
results=$TMPDIR/bench-results
: >"$results"
hz=$(getconf CLK_TCK)
targets=(vdused qsd)
# BENCH_WITH_ANY=1: also vdused with --cpus any (no pinning, no steering).
[ "${BENCH_WITH_ANY:-0}" = 1 ] && targets+=(vdused-any)
if [ -n "${UBLK:-}" ]; then
	[ -x "$UBLK" ] || fail "UBLK=$UBLK is not an executable"
	modprobe ublk_drv 2>/dev/null || true
	targets+=(ublk)
else
	echo "UBLK is not set: ublksrv's null target is left out (see bench/run --help)"
fi
targets+=(vdpasim)
[ -z "${BENCH_BASELINE:-}" ] || targets+=(baseline)
points=("1 1" "1 32" "2 1" "2 32" "2 128")

busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
switches() { awk '/^ctxt / {print $2}' /proc/stat; }
proc_ticks() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }

# start_target TARGET QUEUES: sets node and pid (the serving process; empty
# for the in-kernel vdpasim_blk), or returns 1 if TARGET has no such shape.
start_target() {
	local target=$1 queues=$2 out
	pid=
	case $target in
	vdused | vdused-any | baseline)
		local daemon=$VDUSED extra=()
		[ "$target" = baseline ] && daemon=$BENCH_BASELINE
		[ "$target" = vdused-any ] && extra=(--cpus any)
		read -r _ node <<<"$(VDUSED=$daemon "$VDUSECTL" add -t null --size 1G --queues "$queues" \
			--queue-depth $depth --name bench-vdused "${extra[@]}")"
		pid=$(device_field bench-vdused pid)
		;;
	qsd)
		qemu-storage-daemon --blockdev driver=null-co,node-name=n0,size=1073741824,read-zeroes=on \
			--export type=vduse-blk,id=e0,node-name=n0,name=bench-qsd,writable=on,num-queues="$queues",queue-size=$depth &
		pid=$!
		wait_for 10 "/dev/vduse/bench-qsd" test -e /dev/vduse/bench-qsd
		vdpa dev add name bench-qsd mgmtdev vduse
		wait_for 10 "the qsd block device" vdpa_block_node bench-qsd
		node=$(vdpa_block_node bench-qsd)
		;;
	ublk)
		"$UBLK" add -t null -n 0 -q "$queues" -d $depth >/dev/null
		wait_for 10 "/dev/ublkb0" test -b /dev/ublkb0
		node=/dev/ublkb0
		pid=$("$UBLK" list -n 0 | sed -n 's/.*daemon pid \([0-9]*\).*/\1/p')
		;;
	vdpasim)
		[ "$queues" = 1 ] || return 1
		vdpa dev add name bench-sim mgmtdev vdpasim_blk
		wait_for 10 "the vdpasim_blk block device" vdpa_block_node bench-sim
		node=$(vdpa_block_node bench-sim)
		;;
	esac
}

stop_target() {
	case $1 in
	vdused | vdused-any | baseline) "$VDUSECTL" del bench-vdused ;;
	qsd)
		vdpa dev del bench-qsd
		kill "$pid"
		wait "$pid" || true
		;;
	ublk) "$UBLK" del -n 0 >/dev/null ;;
	vdpasim) vdpa dev del bench-sim ;;
	esac
}

# measure TARGET ROUND QUEUES QD
measure() {
	local target=$1 round=$2 queues=$3 qd=$4 out t0 t1 p0 p1 c0 c1 ios
	local args=(--name=bench --filename="$node" --rw=randread --bs=4k --iodepth="$qd"
		--ioengine=io_uring --direct=1 --numjobs="$queues" --group_reporting --time_based)
	fio "${args[@]}" --runtime=1 --output-format=json >/dev/null || fail "fio warm-up on $target failed"
	t0=$(busy_ticks)
	c0=$(switches)
	p0=$(proc_ticks "$pid")
	out=$(fio "${args[@]}" --runtime="$runtime" --output-format=json) || fail "fio on $target failed"
	t1=$(busy_ticks)
	c1=$(switches)
	p1=$(proc_ticks "$pid")
	[ "$(jq '.jobs[0].error' <<<"$out")" = 0 ] || fail "fio on $target reported errors"
	ios=$(jq '.jobs[0].read.total_ios' <<<"$out")
	[ "$ios" -gt 0 ] || fail "fio did no I/O on $target"
	local proc_us=-
	[ -z "$pid" ] || proc_us=$(awk "BEGIN { printf \"%.1f\", ($p1 - $p0) * 1e6 / $hz / $ios }")
	printf '%s %s %s %s %s %s %s %s %s %s\n' "$target" "$round" "$queues" "$qd" \
		"$(jq '.jobs[0].read.iops | floor' <<<"$out")" \
		"$(jq '.jobs[0].read.lat_ns.mean / 1000 | . * 10 | floor / 10' <<<"$out")" \
		"$(jq '.jobs[0].read.clat_ns.percentile["99.000000"] / 1000 | floor' <<<"$out")" \
		"$proc_us" "$(awk "BEGIN { printf \"%.1f\", ($t1 - $t0) * 1e6 / $hz / $ios }")" \
		"$(awk "BEGIN { printf \"%.2f\", ($c1 - $c0) / $ios }")" >>"$results"
}

for round in $(seq "$rounds"); do
	for queues in 1 2; do
		for target in $(in_round_order "$round" "${targets[@]}"); do
			start_target "$target" "$queues" || continue
			for point in "${points[@]}"; do
				read -r q qd <<<"$point"
				[ "$q" = "$queues" ] && measure "$target" "$round" "$queues" "$qd"
			done
			stop_target "$target"
		done
	done
done

echo
echo "fio 4k randread, io_uring, direct; one job per queue; ${runtime}s each after a 1 s warm-up;"
echo "targets interleaved in each of $rounds rounds; one guest boot (TCG, $(nproc) vCPUs)."
echo "IOPS, mean latency (us), p99 completion latency (us), CPU us per I/O: the serving"
echo "process's, and the whole guest's (fio and the kernel included); context switches per I/O"
printf '%-6s %-4s %-9s %-5s %9s %8s %8s %9s %9s %7s\n' queues QD target round IOPS mean p99 cpu/io sys/io cs/io
sort -k3,3n -k4,4n -k2,2n "$results" | while read -r t r q qd iops mean p99 cpu sys cs; do
	printf '%-6s %-4s %-9s %-5s %9s %8s %8s %9s %9s %7s\n' "$q" "$qd" "$t" "$r" "$iops" "$mean" "$p99" "$cpu" "$sys" "$cs"
done
echo
echo "vdused's IOPS over each peer's, per round (round 1 / round 2 / ...):"
printf '%-6s %-4s' queues QD
for t in "${targets[@]}"; do [ "$t" = vdused ] || printf ' %18s' "vs $t"; done
echo
for point in "${points[@]}"; do
	read -r q qd <<<"$point"
	printf '%-6s %-4s' "$q" "$qd"
	for t in "${targets[@]}"; do
		[ "$t" = vdused ] && continue
		ratios=
		for round in $(seq "$rounds"); do
			a=$(awk -v r="$round" -v q="$q" -v d="$qd" '$1 == "vdused" && $2 == r && $3 == q && $4 == d {print $5}' "$results")
			b=$(awk -v t="$t" -v r="$round" -v q="$q" -v d="$qd" '$1 == t && $2 == r && $3 == q && $4 == d {print $5}' "$results")
			if [ -n "$a" ] && [ -n "$b" ]; then
				ratios+="${ratios:+/}$(awk "BEGIN { printf \"%.2f\", $a / $b }")"
			fi
		done
		printf ' %18s' "${ratios:--}"
	done
	echo
done
