#!/bin/bash
# Runs inside the test guest (one boot, booted with huge pages reserved):
# vdused's file (O_DIRECT) and loop backends with the kernel's own bounce
# pages (--bounce-memory default) against vdused's huge-page bounce memory,
# which the queues also register as io_uring fixed buffers (hugepage).
# 4k random and 1 MiB sequential reads, QD1 and QD32, 1 and 4 queues (one fio
# job per queue), rounds interleaved. Prints IOPS, MB/s and vdused's CPU time
# per I/O. Emulated timings: only the ratios within this table mean something.
source "$VTEST_LIB"
runtime=${BENCH_RUNTIME:-3}
rounds=${BENCH_ROUNDS:-2}
results=$TMPDIR/bench-bounce
: >"$results"
hz=$(getconf CLK_TCK)
img=$(scratch_fs 1G)/bench.img
dd if=/dev/urandom of="$img" bs=1M count=512 status=none
loopdev=$(losetup --find --show "$img")
trap 'losetup -d "$loopdev"' EXIT
points=("randread 4k 1" "randread 4k 32" "read 1M 1" "read 1M 32")

# measure BACKEND MEMORY ROUND QUEUES NODE PID
measure() {
	local backend=$1 memory=$2 round=$3 queues=$4 node=$5 pid=$6 rw bs qd out p0 p1 ios
	for point in "${points[@]}"; do
		read -r rw bs qd <<<"$point"
		local args=(--name=bench --filename="$node" --rw="$rw" --bs="$bs" --iodepth="$qd"
			--ioengine=io_uring --direct=1 --numjobs="$queues" --offset_increment=$((512 / queues))M
			--size=$((512 / queues))M --group_reporting --time_based)
		fio "${args[@]}" --runtime=1 --output-format=json >/dev/null || fail "fio warm-up failed"
		p0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		out=$(fio "${args[@]}" --runtime="$runtime" --output-format=json) || fail "fio $point failed"
		p1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		[ "$(jq '.jobs[0].error' <<<"$out")" = 0 ] || fail "fio $point reported errors"
		ios=$(jq '.jobs[0].read.total_ios' <<<"$out")
		echo "$backend $queues $rw-$bs-QD$qd $memory $round $(jq '.jobs[0].read.iops | floor' <<<"$out") \
$(jq '.jobs[0].read.bw_bytes / 1000000 | floor' <<<"$out") \
$(awk "BEGIN { printf \"%.1f\", ($p1 - $p0) * 1e6 / $hz / $ios }")" >>"$results"
	done
}

for round in $(seq "$rounds"); do
	for backend in file loop; do
		for queues in 1 4; do
			for memory in $(in_round_order "$round" default hugepage); do
				src=(-t file --file "$img" --direct)
				[ "$backend" = loop ] && src=(-t loop --file "$loopdev")
				read -r _ node <<<"$("$VDUSECTL" add "${src[@]}" --queues "$queues" --name bb \
					--bounce-memory "$memory")"
				measure "$backend" "$memory" "$round" "$queues" "$node" "$(device_field bb pid)"
				[ "$memory" = default ] || [ "$(device_field bb bounce_registered)" = true ] ||
					fail "the huge-page bounce memory was not registered"
				"$VDUSECTL" del bb
			done
		done
	done
done

echo
echo "vdused file (O_DIRECT, image on tmpfs) and loop; fio reads, io_uring, direct, one job per"
echo "queue; ${runtime}s each after a 1 s warm-up; $rounds interleaved rounds; one guest boot (TCG)."
echo "IOPS, MB/s, vdused CPU us per I/O: default bounce pages vs hugepage + fixed buffers"
printf '%-8s %-6s %-18s %-6s %22s %22s %10s\n' backend queues point round default hugepage ratio
sort -k1,1 -k2,2n -k3,3 -k5,5n "$results" | awk '
	$4 == "default" { d[$1" "$2" "$3" "$5] = $6 " " $7 " " $8 }
	$4 == "hugepage" { h[$1" "$2" "$3" "$5] = $6 " " $7 " " $8; order[++n] = $1" "$2" "$3" "$5 }
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]; split(k, f, " "); split(d[k], a, " "); split(h[k], b, " ")
			printf "%-8s %-6s %-18s %-6s %22s %22s %9.2fx\n", f[1], f[2], f[3], f[4],
				a[1] " " a[2] "MB/s " a[3] "us", b[1] " " b[2] "MB/s " b[3] "us", b[1] / a[1]
		}
	}'
