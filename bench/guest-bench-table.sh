#!/bin/bash
# Runs inside the test guest (one boot): every backend against its peer, one
# table. Each pair serves the same kind of storage from a server that runs
# for the whole boot:
#   null        vdused -t null            qsd null-co
#   file        vdused -t file            qsd file, aio=io_uring (same image on tmpfs)
#   loop        vdused -t loop (O_DIRECT) qsd file, aio=io_uring, O_DIRECT on the loop device's
#                                         image (qsd's host_device with O_DIRECT on the loop
#                                         device fails every read where VDUSE maps its bounce
#                                         pages VM_IO, 6.12.118: docs/ARCHITECTURE.md)
#   nbd         vdused -t nbd             qsd's nbd driver (one nbdkit memory server)
#   rbd         vdused -t rbd             qsd's rbd driver (one Ceph cluster, an image each)
#   vhost-user  vdused bridging qsd's     qsd's vduse-blk export of the image, options as the
#               vhost-user-blk export     target's: the path without the bridge (the bridge's
#                                         CPU: vdused's + its target's)
#   vhost-direct  the same target with      the same (CPU: vdused's + its target's)
#               --rings direct (it serves the driver's rings)
#   vhost-path  vdused null on vhost_vdpa qsd null-co on vhost_vdpa (vduse-vhost-client bench)
# One queue; fio io_uring direct, a 1 s ramp before each point; the rounds
# interleave (every pair, vdused then peer, then again). Then, in the same
# boot, guest-bench.sh: vdused null against qsd, ublksrv's null target (UBLK)
# and vdpasim_blk at 1 and 2 queues (not when BENCH_PAIRS picks pairs).
# BENCH_BASELINE=VDUSED: that vdused binary (an older build) serves a third
# device of each pair in the same rounds. Emulated timings: only the ratios
# within one table mean something.
source "$VTEST_LIB"
runtime=${BENCH_RUNTIME:-3}
rounds=${BENCH_ROUNDS:-2}
results=$TMPDIR/bench-table
: >"$results"
hz=$(getconf CLK_TCK)
ip link set lo up
points=("randread 4k 1" "randread 4k 32" "randwrite 4k 32" "read 1M 8")
read -r -a pairs <<<"${BENCH_PAIRS:-null file loop nbd rbd vhost-user vhost-direct vhost-path}"
size=128

# The servers, up for the whole boot.
dir=$(scratch_fs 1G)
dd if=/dev/urandom of="$dir/bench.img" bs=1M count=$size status=none
cp "$dir/bench.img" "$dir/loop.img"
loopdev=$(losetup --find --show "$dir/loop.img")
trap 'losetup -d "$loopdev"' EXIT
case " ${pairs[*]} " in *" nbd "*) nbd_start bench --threads 16 memory size=${size}M ;; esac
case " ${pairs[*]} " in *" rbd "*)
	RBD_SIZE=${size}M bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" up >"$TMPDIR/ceph.log" 2>&1 ||
		fail "Ceph did not start: $(tail "$TMPDIR/ceph.log")"
	/usr/bin/python3 -c '
import rados, rbd
with rados.Rados(conffile="/run/ceph/ceph.conf") as c, c.open_ioctx("rbd") as io:
    rbd.RBD().create(io, "img1", '$size' << 20)' || fail "cannot create rbd/img1"
	;;
esac

# own_target PAIR: vdused's side of PAIR reaches a target of its own (a
# qemu-storage-daemon started and stopped with the device).
own_target() { [ "$1" = vhost-user ] || [ "$1" = vhost-direct ]; }

# cpu_ticks PID...: their user + system time, summed.
cpu_ticks() { local p t=0; for p; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $t; }

# qsd_vduse NAME BLOCKDEV [EXPORT...]: qemu-storage-daemon exporting BLOCKDEV
# (node n0) as the vduse-blk device NAME (and any more exports); sets qpid.
qsd_vduse() {
	local name=$1 blockdev=$2
	shift 2
	qemu-storage-daemon --blockdev "$blockdev,node-name=n0" \
		--export "type=vduse-blk,id=e0,node-name=n0,name=$name,writable=on,num-queues=1,queue-size=128" \
		"$@" &
	qpid=$!
	wait_for 20 "/dev/vduse/$name" test -e "/dev/vduse/$name"
	vdpa dev add name "$name" mgmtdev vduse
}

# start SIDE PAIR: sets node (a block device or /dev/vhost-vdpa-N) and pid
# (the serving processes) of vdused's device or the peer's.
start() {
	local side=$1 pair=$2 args=() daemon=$VDUSED
	[ "$side" != baseline ] || daemon=$BENCH_BASELINE
	if [ "$side" != qsd ]; then
		case $pair in
		null | vhost-path) args=(-t null --size "${size}M") ;;
		file) args=(-t file --file "$dir/bench.img") ;;
		loop) args=(-t loop --file "$loopdev") ;;
		nbd) args=(-t nbd --url "nbd+unix:///?socket=/run/nbd/bench.sock") ;;
		rbd) args=(-t rbd --image rbd/img0 --ceph-conf /run/ceph/ceph.conf) ;;
		vhost-user | vhost-direct)
			mkdir -p /run/vhu
			rm -f /run/vhu/bench.sock
			qemu-storage-daemon --blockdev "driver=file,filename=$dir/bench.img,node-name=n0" \
				--export type=vhost-user-blk,id=e1,node-name=n0,addr.type=unix,addr.path=/run/vhu/bench.sock,writable=on,num-queues=1 &
			qpid=$!
			wait_for 20 "the vhost-user socket" test -S /run/vhu/bench.sock
			args=(-t vhost-user --socket /run/vhu/bench.sock)
			[ "$pair" != vhost-direct ] || args+=(--rings direct)
			;;
		esac
		[ "$pair" != vhost-path ] || args+=(--driver vhost)
		read -r _ node <<<"$(VDUSED=$daemon "$VDUSECTL" add "${args[@]}" --queues 1 --queue-depth 128 --name bt-v)"
		[ -n "$node" ] || fail "the $side $pair device did not come up"
		pid=$(device_field bt-v pid)
		! own_target "$pair" || pid="$pid $qpid"
		return
	fi
	case $pair in
	null | vhost-path) qsd_vduse bt-q "driver=null-co,size=$((size << 20)),read-zeroes=on" ;;
	file) qsd_vduse bt-q "driver=file,filename=$dir/bench.img,aio=io_uring" ;;
	loop) qsd_vduse bt-q "driver=file,filename=$dir/loop.img,aio=io_uring,cache.direct=on" ;;
	nbd) qsd_vduse bt-q "driver=nbd,server.type=unix,server.path=/run/nbd/bench.sock,cache.direct=on" ;;
	rbd) qsd_vduse bt-q "driver=rbd,pool=rbd,image=img1,conf=/run/ceph/ceph.conf,user=admin,cache.direct=on" ;;
	vhost-user | vhost-direct) qsd_vduse bt-q "driver=file,filename=$dir/bench.img" ;;
	esac
	pid=$qpid
	if [ "$pair" = vhost-path ]; then
		node=$(bind_vhost bt-q)
	else
		wait_for 10 "the qsd block device" vdpa_block_node bt-q
		node=$(vdpa_block_node bt-q)
	fi
}

stop() {
	if [ "$1" != qsd ]; then
		"$VDUSECTL" del bt-v
	else
		vdpa dev del bt-q
	fi
	if [ "$1" = qsd ] || own_target "$2"; then
		kill "$qpid"
		wait "$qpid" || true
	fi
}

# record SIDE PAIR POINT ROUND IOPS TICKS IOS
record() {
	echo "$1 $2 $3 $4 $5 $(awk -v t="$6" -v hz="$hz" -v n="$7" 'BEGIN { printf "%.0f", n ? t / hz * 1e6 / n : 0 }')" >>"$results"
}

# measure SIDE PAIR ROUND: every point on $node.
measure() {
	local side=$1 pair=$2 round=$3 rw bs qd t0 t1 out field
	for point in "${points[@]}"; do
		read -r rw bs qd <<<"$point"
		if [ "$pair" = vhost-path ]; then
			# The client's bench mode does 4k random reads only.
			[ "$rw $bs" = "randread 4k" ] || continue
			# shellcheck disable=SC2086 # one or two pids
			t0=$(cpu_ticks $pid)
			out=$(timeout $((runtime + 30)) "$VHOST_CLIENT" -d "$node" -q 1 -D "$qd" --iotlb-chunk 0 \
				--max-io 64K bench -t "$runtime" --ramp 1 --json 2>&1) || fail "bench on $side $pair: $out"
			# shellcheck disable=SC2086
			t1=$(cpu_ticks $pid)
			iops=$(jq '.iops | floor' <<<"$out") || fail "bench on $side $pair: $out"
			record "$side" "$pair" "$rw-$bs-QD$qd" "$round" "$iops" $((t1 - t0)) $((iops * (runtime + 1)))
			continue
		fi
		fio --name=ramp --filename="$node" --rw="$rw" --bs="$bs" --iodepth="$qd" --size=${size}M \
			--ioengine=io_uring --direct=1 --runtime=1 --time_based >/dev/null 2>&1 ||
			fail "fio ramp $point on $side $pair failed"
		# shellcheck disable=SC2086 # one or two pids
		t0=$(cpu_ticks $pid)
		fio --output-format=json --output="$TMPDIR/f.json" --name=bench --filename="$node" \
			--rw="$rw" --bs="$bs" --iodepth="$qd" --size=${size}M --ioengine=io_uring --direct=1 \
			--runtime="$runtime" --time_based >/dev/null 2>&1 || fail "fio $point on $side $pair failed"
		# shellcheck disable=SC2086
		t1=$(cpu_ticks $pid)
		out=$(sed -n '/^{/,$p' "$TMPDIR/f.json")
		[ "$(jq '.jobs[0].error' <<<"$out")" = 0 ] || fail "fio $point on $side $pair reported errors"
		field="read"
		case $rw in *write) field="write" ;; esac
		record "$side" "$pair" "$rw-$bs-QD$qd" "$round" "$(jq ".jobs[0].$field.iops | floor" <<<"$out")" \
			$((t1 - t0)) "$(jq ".jobs[0].$field.total_ios" <<<"$out")"
	done
}

for round in $(seq "$rounds"); do
	for pair in "${pairs[@]}"; do
		for side in $(in_round_order "$round" vdused ${BENCH_BASELINE:+baseline} qsd); do
			echo "bench: round $round, $pair, $side"
			start "$side" "$pair"
			# Reads of never-written NBD pages or RBD objects are answered
			# without touching data: write the region once on each first.
			if [ "$round" = 1 ] && { [ "$pair" = nbd ] || [ "$pair" = rbd ]; }; then
				dd if=/dev/urandom of="$node" bs=1M count=$size oflag=direct status=none ||
					fail "cannot fill $node"
			fi
			measure "$side" "$pair" "$round"
			stop "$side" "$pair"
		done
	done
done

echo
echo "Every backend against its peer, one queue of 128, fio io_uring direct (vhost-path: vduse-vhost-client's"
echo "bench on vhost_vdpa), ${runtime}s per point after a 1 s ramp, $rounds interleaved rounds (r1/r2), one boot (TCG)."
echo "IOPS; CPU = the serving processes' user+system time per I/O in microseconds (vhost-user, vhost-direct: vdused + qsd)"
printf '%-12s %-18s %-15s %-15s %-12s %-11s %-11s\n' backend workload "vdused IOPS" "peer IOPS" ratio "vdused CPU" "peer CPU"
# series SIDE COLUMN: "r1/r2" of SIDE at $pair and $point (5 IOPS, 6 CPU per I/O).
series() {
	awk -v s="$1" -v c="$2" -v b="$pair" -v p="$point" \
		'$1 == s && $2 == b && $3 == p { printf "%s%s", sep, $c; sep = "/" }' "$results"
}
# ratio SIDE: its IOPS over the peer's, round by round.
ratio() {
	awk -v s="$1" -v b="$pair" -v p="$point" '$2 == b && $3 == p { if ($1 == s) v[$4] = $5; else if ($1 == "qsd") q[$4] = $5 }
		END { for (i = 1; i in v; i++) printf "%s%.2fx", (i > 1 ? "/" : ""), q[i] ? v[i] / q[i] : 0 }' "$results"
}
for pair in "${pairs[@]}"; do
	for point in randread-4k-QD1 randread-4k-QD32 randwrite-4k-QD32 read-1M-QD8; do
		[ -n "$(series vdused 5)" ] || continue
		printf '%-12s %-18s %-15s %-15s %-12s %-11s %-11s\n' "$pair" "$point" "$(series vdused 5)" \
			"$(series qsd 5)" "$(ratio vdused)" "$(series vdused 6)" "$(series qsd 6)"
		[ -z "${BENCH_BASELINE:-}" ] || printf '%-12s %-18s %-15s %-15s %-12s %-11s %-11s\n' "" "  baseline" \
			"$(series baseline 5)" "" "$(ratio baseline)" "$(series baseline 6)" ""
	done
done
case " ${pairs[*]} " in *" rbd "*) bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" down >/dev/null 2>&1 ;; esac
case " ${pairs[*]} " in *" nbd "*) nbd_kill bench ;; esac

[ -z "${BENCH_PAIRS:-}" ] || exit 0
echo
echo "vdused null against qemu-storage-daemon, ublksrv and vdpasim_blk (same boot):"
bash "$VTEST_SRCDIR/bench/guest-bench.sh"
