#!/bin/bash
# Runs inside the test guest (one boot): what vdused's busy-poll window
# costs under a light load. fio 4k random reads at QD1, held to a fixed rate
# (--rate_iops) and then unlimited, against vdused's null device, the same
# with BENCH_BASELINE (an older vdused) and qemu-storage-daemon's null-co
# export, interleaved rounds. Prints the IOPS reached, the serving process's
# CPU time per I/O and its share of one CPU over the run: at a light rate the
# share is what polling spins for nothing.
source "$VTEST_LIB"
runtime=${BENCH_RUNTIME:-5}
rounds=${BENCH_ROUNDS:-2}
results=$TMPDIR/bench-rate
: >"$results"
hz=$(getconf CLK_TCK)
targets=(vdused qsd)
[ -z "${BENCH_BASELINE:-}" ] || targets+=(baseline)
rates=(100 1000 3000 0) # 0: unlimited

proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start_target TARGET: sets node and pid.
start_target() {
	case $1 in
	vdused | baseline)
		local daemon=$VDUSED
		[ "$1" = baseline ] && daemon=$BENCH_BASELINE
		read -r _ node <<<"$(VDUSED=$daemon "$VDUSECTL" add -t null --size 1G --name bench-rate)"
		pid=$(device_field bench-rate pid)
		;;
	qsd)
		qemu-storage-daemon --blockdev driver=null-co,node-name=n0,size=1073741824,read-zeroes=on \
			--export type=vduse-blk,id=e0,node-name=n0,name=bench-qsd,writable=on,num-queues=1 &
		pid=$!
		wait_for 10 "/dev/vduse/bench-qsd" test -e /dev/vduse/bench-qsd
		vdpa dev add name bench-qsd mgmtdev vduse
		wait_for 10 "the qsd block device" vdpa_block_node bench-qsd
		node=$(vdpa_block_node bench-qsd)
		;;
	esac
}

stop_target() {
	case $1 in
	vdused | baseline) "$VDUSECTL" del bench-rate ;;
	qsd)
		vdpa dev del bench-qsd
		kill "$pid"
		wait "$pid" || true
		;;
	esac
}

# measure TARGET ROUND RATE
measure() {
	local target=$1 round=$2 rate=$3 out p0 p1 w0 w1 ios limit=()
	[ "$rate" = 0 ] || limit=(--rate_iops="$rate")
	local args=(--name=bench --filename="$node" --rw=randread --bs=4k --iodepth=1
		--ioengine=io_uring --direct=1 --time_based "${limit[@]}")
	fio "${args[@]}" --runtime=1 --output-format=json >/dev/null || fail "fio warm-up on $target failed"
	p0=$(proc_ticks "$pid")
	w0=$(date +%s%N)
	out=$(fio "${args[@]}" --runtime="$runtime" --output-format=json) || fail "fio on $target failed"
	w1=$(date +%s%N)
	p1=$(proc_ticks "$pid")
	[ "$(jq '.jobs[0].error' <<<"$out")" = 0 ] || fail "fio on $target reported errors"
	ios=$(jq '.jobs[0].read.total_ios' <<<"$out")
	[ "$ios" -gt 0 ] || fail "fio did no I/O on $target"
	printf '%s %s %s %s %s %s\n' "$target" "$round" "$rate" \
		"$(jq '.jobs[0].read.iops | floor' <<<"$out")" \
		"$(awk "BEGIN { printf \"%.0f\", ($p1 - $p0) * 1e6 / $hz / $ios }")" \
		"$(awk "BEGIN { printf \"%.0f\", ($p1 - $p0) / $hz * 1e9 * 100 / ($w1 - $w0) }")" >>"$results"
}

for round in $(seq "$rounds"); do
	for target in $(in_round_order "$round" "${targets[@]}"); do
		start_target "$target"
		for rate in "${rates[@]}"; do
			measure "$target" "$round" "$rate"
		done
		stop_target "$target"
	done
done

echo
echo "fio 4k randread QD1, io_uring, direct, at a fixed rate (0: unlimited); ${runtime}s each"
echo "after a 1 s warm-up; targets interleaved in each of $rounds rounds; one guest boot (TCG)."
echo "IOPS reached, the serving process's CPU us per I/O and its % of one CPU (r1/r2/...)"
printf '%-6s %-9s %-20s %-16s %-14s\n' rate target IOPS cpu/io "%cpu"
for rate in "${rates[@]}"; do
	for t in "${targets[@]}"; do
		col() { awk -v t="$t" -v r="$rate" -v c="$1" '$1 == t && $3 == r { printf "%s%s", s, $c; s = "/" }' "$results"; }
		printf '%-6s %-9s %-20s %-16s %-14s\n' "$rate" "$t" "$(col 4)" "$(col 5)" "$(col 6)"
	done
done
