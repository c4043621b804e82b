#!/bin/bash
# Runs inside the test guest (one boot): fio 4k random reads against vdused's
# null device, qemu-storage-daemon's vduse-blk export on null-co, and the
# kernel's vdpasim_blk, and prints one table. Emulated timings: only the
# ratios within this table mean something.
source "$VTEST_LIB"
runtime=${BENCH_RUNTIME:-5}
depth=256
results=$TMPDIR/bench-results
: >"$results"

# measure LABEL QUEUES QD NODE
measure() {
	local label=$1 queues=$2 qd=$3 node=$4 out
	out=$(fio --output-format=json --name=bench --filename="$node" --rw=randread --bs=4k \
		--iodepth="$qd" --ioengine=io_uring --direct=1 --numjobs="$queues" --group_reporting \
		--ramp_time=1 --runtime="$runtime" --time_based) || fail "fio on $label failed"
	[ "$(jq '.jobs[0].error' <<<"$out")" = 0 ] || fail "fio on $label reported errors"
	printf '%s %s %s %s %s\n' "$label" "$queues" "$qd" \
		"$(jq '.jobs[0].read.iops | floor' <<<"$out")" \
		"$(jq '.jobs[0].read.lat_ns.mean / 1000 | . * 10 | floor / 10' <<<"$out")" >>"$results"
}

for queues in 1 2; do
	read -r name node <<<"$("$VDUSECTL" add -t null --size 1G --queues $queues --queue-depth $depth --name bench-vdused)"
	for qd in 1 32; do measure vdused $queues $qd "$node"; done
	"$VDUSECTL" del bench-vdused

	# shellcheck disable=SC2046
	qemu-storage-daemon --blockdev driver=null-co,node-name=n0,size=1073741824,read-zeroes=on \
		--export type=vduse-blk,id=e0,node-name=n0,name=bench-qsd,writable=on,num-queues=$queues,queue-size=$depth &
	qsd=$!
	wait_for 10 "/dev/vduse/bench-qsd" test -e /dev/vduse/bench-qsd
	vdpa dev add name bench-qsd mgmtdev vduse
	wait_for 10 "the qsd block device" vdpa_block_node bench-qsd
	node=$(vdpa_block_node bench-qsd)
	for qd in 1 32; do measure qsd $queues $qd "$node"; done
	vdpa dev del bench-qsd
	kill $qsd
	wait $qsd || true
done

# BENCH_BASELINE=PATH: another vdused (an older build) against this one, in
# interleaved rounds, to measure what a data-path change costs or buys.
if [ -n "${BENCH_BASELINE:-}" ]; then
	for queues in 1 2; do
		for round in $(seq "${BENCH_ROUNDS:-2}"); do
			for which in vdused baseline; do
				daemon=$VDUSED
				[ "$which" = baseline ] && daemon=$BENCH_BASELINE
				read -r _ node <<<"$(VDUSED=$daemon "$VDUSECTL" add -t null --size 1G --queues $queues \
					--queue-depth $depth --name bench-ab)"
				for qd in 1 32; do measure "$which-r$round" $queues $qd "$node"; done
				"$VDUSECTL" del bench-ab
			done
		done
	done
fi

vdpa dev add name bench-sim mgmtdev vdpasim_blk
wait_for 10 "the vdpasim_blk block device" vdpa_block_node bench-sim
node=$(vdpa_block_node bench-sim)
for qd in 1 32; do measure vdpasim_blk 1 $qd "$node"; done
vdpa dev del bench-sim

echo
echo "fio 4k randread, io_uring, direct; one job per queue; ${runtime}s each; one guest boot (TCG)"
printf '%-7s %-3s %9s %9s %9s %9s %9s %9s %8s %8s\n' queues QD "vdused" "lat(us)" "qsd" "lat(us)" "sim_blk" "lat(us)" "vs qsd" "vs sim"
for queues in 1 2; do
	for qd in 1 32; do
		read -r _ _ _ v_iops v_lat < <(grep "^vdused $queues $qd " "$results")
		read -r _ _ _ q_iops q_lat < <(grep "^qsd $queues $qd " "$results")
		s_iops=- s_lat=- vs_sim=-
		if [ "$queues" = 1 ]; then
			read -r _ _ _ s_iops s_lat < <(grep "^vdpasim_blk 1 $qd " "$results")
			vs_sim=$(awk "BEGIN { printf \"%.0f%%\", 100 * $v_iops / $s_iops }")
		fi
		printf '%-7s %-3s %9s %9s %9s %9s %9s %9s %8s %8s\n' "$queues" "$qd" "$v_iops" "$v_lat" \
			"$q_iops" "$q_lat" "$s_iops" "$s_lat" \
			"$(awk "BEGIN { printf \"%.2fx\", $v_iops / $q_iops }")" "$vs_sim"
	done
done
if [ -n "${BENCH_BASELINE:-}" ]; then
	echo
	echo "this vdused vs BENCH_BASELINE ($BENCH_BASELINE), null, interleaved rounds: IOPS (mean lat us)"
	printf '%-7s %-3s %-6s %18s %18s %8s\n' queues QD round "this" "baseline" "ratio"
	for queues in 1 2; do
		for qd in 1 32; do
			for round in $(seq "${BENCH_ROUNDS:-2}"); do
				read -r _ _ _ a_iops a_lat < <(grep "^vdused-r$round $queues $qd " "$results")
				read -r _ _ _ b_iops b_lat < <(grep "^baseline-r$round $queues $qd " "$results")
				printf '%-7s %-3s %-6s %18s %18s %8s\n' "$queues" "$qd" "$round" "$a_iops ($a_lat)" \
					"$b_iops ($b_lat)" "$(awk "BEGIN { printf \"%.2fx\", $a_iops / $b_iops }")"
			done
		done
	done
fi
