#!/bin/bash
# Runs inside the test guest (one boot): vdused's nbd or rbd backend
# (BENCH_NET=nbd|rbd) against qemu-storage-daemon's vduse-blk export of the
# same kind of server through its own nbd or rbd driver. The servers run in
# the guest: nbdkit's memory plugin on a unix socket, or a one-node Ceph
# cluster (tests/lib/ceph-cluster.sh; one image per client, since a
# writer holds the exclusive lock). BENCH_NET=vhost-user: one
# qemu-storage-daemon exports one image on tmpfs twice, as vduse-blk (the
# direct path) and as vhost-user-blk bridged by vdused; the bridge's CPU is
# vdused's plus qsd's; a third device bridges it with --bounce-memory
# hugepage (the target then maps vdused's huge-page bounce memfd: the SPDK
# path, one copy; the guest boots with hugepages=64), a fourth with --rings
# direct (the target serves the driver's rings). 1 and 4 queues; the devices exist at
# once and the rounds interleave (vdused qsd vdused qsd), a ramp before each
# point. Prints IOPS, the ratio and each daemon's CPU time per I/O.
# BENCH_BASELINE=VDUSED: one more device served by that vdused binary (an
# older build), measured in the same rounds. BENCH_QUEUES: the queue counts
# (default "1 4").
# Emulated timings: only the ratios within this table mean something.
source "$VTEST_LIB"
net=${BENCH_NET:-nbd}
runtime=${BENCH_RUNTIME:-5}
rounds=${BENCH_ROUNDS:-2}
results=$TMPDIR/bench-net
: >"$results"
ip link set lo up
hz=$(getconf CLK_TCK)

case $net in
nbd)
	nbd_start bench --threads 16 memory size=512M
	url="nbd+unix:///?socket=/run/nbd/bench.sock"
	vdused_args=(-t nbd --url "$url")
	qsd_blockdev="driver=nbd,server.type=unix,server.path=/run/nbd/bench.sock,cache.direct=on"
	;;
rbd)
	RBD_SIZE=128M bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" up >"$TMPDIR/ceph.log" 2>&1 ||
		fail "Ceph did not start: $(tail "$TMPDIR/ceph.log")"
	/usr/bin/python3 -c '
import rados, rbd
with rados.Rados(conffile="/run/ceph/ceph.conf") as c, c.open_ioctx("rbd") as io:
    rbd.RBD().create(io, "img1", 128 << 20)
    rbd.RBD().create(io, "img2", 128 << 20)' || fail "cannot create rbd/img1 and img2"
	vdused_args=(-t rbd --image rbd/img0 --ceph-conf /run/ceph/ceph.conf)
	baseline_args=(-t rbd --image rbd/img2 --ceph-conf /run/ceph/ceph.conf)
	qsd_blockdev="driver=rbd,pool=rbd,image=img1,conf=/run/ceph/ceph.conf,user=admin,cache.direct=on"
	;;
vhost-user)
	img=$(scratch_fs 1G)/bench.img
	dd if=/dev/urandom of="$img" bs=1M count=512 status=none
	vdused_args=(-t vhost-user --socket /run/vhu/bench.sock)
	baseline_args=(-t vhost-user --socket /run/vhu/bench-b.sock --rings "${BENCH_BASELINE_RINGS:-bridge}")
	;;
*) fail "BENCH_NET must be nbd, rbd or vhost-user, not $net" ;;
esac

# cpu_ticks PID...: their user + system time, summed.
cpu_ticks() { local p t=0; for p; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $t; }

# measure TARGET QUEUES NODE PID ROUND
measure() {
	local target=$1 queues=$2 node=$3 pid=$4 round=$5 point jobs t0 t1 out ios
	jobs=1
	[ "$queues" -gt 1 ] && jobs=2 # one job per vCPU: virtio_blk maps queues by CPU
	for point in "randread 4k 1" "randread 4k 32" "randwrite 4k 1" "randwrite 4k 32" "read 1M 8" "write 1M 8"; do
		read -r rw bs qd <<<"$point"
		fio --name=ramp --filename="$node" --rw="$rw" --bs="$bs" --iodepth="$qd" --size=64M \
			--ioengine=io_uring --direct=1 --runtime=1 --time_based --numjobs=$jobs \
			--offset_increment=64M >/dev/null 2>&1 || fail "fio ramp $point on $target failed"
		# shellcheck disable=SC2086 # one or two pids
		t0=$(cpu_ticks $pid)
		fio --output-format=json --output="$TMPDIR/f.json" --name=bench --filename="$node" \
			--rw="$rw" --bs="$bs" --iodepth="$qd" --size=64M --ioengine=io_uring --direct=1 \
			--runtime="$runtime" --time_based --numjobs=$jobs --offset_increment=64M \
			--group_reporting >/dev/null 2>&1 || fail "fio $point on $target failed"
		# shellcheck disable=SC2086
		t1=$(cpu_ticks $pid)
		out=$(sed -n '/^{/,$p' "$TMPDIR/f.json")
		[ "$(jq '.jobs[0].error' <<<"$out")" = 0 ] || fail "fio $point on $target reported errors"
		dir=read
		case $rw in *write) dir=write ;; esac
		ios=$(jq ".jobs[0].$dir.total_ios" <<<"$out")
		echo "$target $queues $rw-$bs-QD$qd $round $(jq ".jobs[0].$dir.iops | floor" <<<"$out")" \
			"$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$ios" 'BEGIN { printf "%.0f", n ? t / hz * 1e6 / n : 0 }')" >>"$results"
	done
}

for queues in ${BENCH_QUEUES:-1 4}; do
	if [ "$net" = vhost-user ]; then
		mkdir -p /run/vhu
		rm -f /run/vhu/bench.sock
		rm -f /run/vhu/bench-h.sock /run/vhu/bench-b.sock /run/vhu/bench-d.sock
		# One vhost-user export per front-end (a target serves one).
		baseline_export=()
		[ -z "${BENCH_BASELINE:-}" ] ||
			baseline_export=(--export "type=vhost-user-blk,id=e3,node-name=n0,addr.type=unix,addr.path=/run/vhu/bench-b.sock,writable=on,num-queues=$queues")
		qemu-storage-daemon --blockdev "driver=file,filename=$img,node-name=n0" \
			--export type=vduse-blk,id=e0,node-name=n0,name=bench-q,writable=on,num-queues=$queues,queue-size=128 \
			--export type=vhost-user-blk,id=e1,node-name=n0,addr.type=unix,addr.path=/run/vhu/bench.sock,writable=on,num-queues=$queues \
			--export type=vhost-user-blk,id=e2,node-name=n0,addr.type=unix,addr.path=/run/vhu/bench-h.sock,writable=on,num-queues=$queues \
			--export type=vhost-user-blk,id=e4,node-name=n0,addr.type=unix,addr.path=/run/vhu/bench-d.sock,writable=on,num-queues=$queues \
			"${baseline_export[@]}" &
		qpid=$!
		wait_for 20 "the vhost-user socket" test -S /run/vhu/bench.sock
		read -r _ hnode <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/bench-h.sock \
			--bounce-memory hugepage --bounce-size 64M --queues $queues --name bench-h)"
		hpid="$("$VDUSECTL" show bench-h --json | jq -r '.[0].pid') $qpid"
		read -r _ dnode <<<"$("$VDUSECTL" add -t vhost-user --socket /run/vhu/bench-d.sock \
			--rings direct --queues $queues --name bench-d)"
		dpid="$("$VDUSECTL" show bench-d --json | jq -r '.[0].pid') $qpid"
	fi
	read -r _ vnode <<<"$("$VDUSECTL" add "${vdused_args[@]}" --queues $queues --name bench-v)"
	vpid=$("$VDUSECTL" show bench-v --json | jq -r '.[0].pid')
	if [ -n "${BENCH_BASELINE:-}" ]; then
		[ "$net" != nbd ] || baseline_args=("${vdused_args[@]}")
		read -r _ bnode <<<"$(VDUSED=$BENCH_BASELINE "$VDUSECTL" add "${baseline_args[@]}" --queues $queues --name bench-b)"
		[ -n "$bnode" ] || fail "the baseline device did not come up"
		bpid=$("$VDUSECTL" show bench-b --json | jq -r '.[0].pid')
		[ "$net" != vhost-user ] || bpid="$bpid $qpid"
	fi
	if [ "$net" != vhost-user ]; then
		qemu-storage-daemon --blockdev "$qsd_blockdev,node-name=n0" \
			--export type=vduse-blk,id=e0,node-name=n0,name=bench-q,writable=on,num-queues=$queues,queue-size=128 &
		qpid=$!
	else
		vpid="$vpid $qpid"
	fi
	wait_for 20 "/dev/vduse/bench-q" test -e /dev/vduse/bench-q
	vdpa dev add name bench-q mgmtdev vduse
	wait_for 10 "the qsd block device" vdpa_block_node bench-q
	qnode=$(vdpa_block_node bench-q)
	# Reads of never-written RBD objects (or NBD pages) are answered without
	# touching the data: write the measured region once on both first.
	if [ "$queues" = 1 ] && [ "$net" != vhost-user ]; then
		for node in "$vnode" "$qnode" ${bnode:+"$bnode"}; do
			dd if=/dev/urandom of="$node" bs=1M count=128 oflag=direct status=none ||
				fail "cannot fill $node"
		done
	fi
	for round in $(seq "$rounds"); do
		devices=(vdused)
		[ "$net" != vhost-user ] || devices+=(hugepage direct)
		[ -z "${BENCH_BASELINE:-}" ] || devices+=(baseline)
		devices+=(qsd)
		for device in $(in_round_order "$round" "${devices[@]}"); do
			case $device in
			vdused) measure vdused $queues "$vnode" "$vpid" "$round" ;;
			hugepage) measure hugepage $queues "$hnode" "$hpid" "$round" ;;
			direct) measure direct $queues "$dnode" "$dpid" "$round" ;;
			baseline) measure baseline $queues "$bnode" "$bpid" "$round" ;;
			qsd) measure qsd $queues "$qnode" "$qpid" "$round" ;;
			esac
		done
	done
	[ "$net" != vhost-user ] || "$VDUSECTL" del bench-h bench-d
	[ -z "${BENCH_BASELINE:-}" ] || "$VDUSECTL" del bench-b
	vdpa dev del bench-q
	"$VDUSECTL" del bench-v
	kill $qpid
	wait $qpid || true
done

echo
if [ "$net" = vhost-user ]; then
	echo "vdused bridging qemu-storage-daemon's vhost-user-blk export vs the same qsd's vduse-blk export"
	echo "of the same image (512 MiB file on tmpfs), fio io_uring direct,"
else
	echo "$net backend vs qemu-storage-daemon's $net driver (vduse-blk export), fio io_uring direct,"
fi
echo "${runtime}s per point after a 1 s ramp, $rounds interleaved rounds (r1 / r2 ...), 1 job per queue up to the 2 vCPUs (TCG)"
echo "IOPS; CPU = the daemon's user+system CPU time per I/O in microseconds (bridge: vdused + qsd)"
printf '%-6s %-20s %-17s %-17s %-13s %-11s %-11s\n' queues workload "vdused IOPS" "qsd IOPS" "ratio" "vdused CPU" "qsd CPU"
[ "$net" != vhost-user ] || echo "(vdused: the bridge with the kernel's bounce pages; the hugepage rows below it: --bounce-memory hugepage; direct: --rings direct)"
# series TARGET COLUMN: the results of TARGET at $queues and $point, round
# after round ("r1/r2"); COLUMN 5 is IOPS, 6 CPU per I/O.
series() {
	awk -v t="$1" -v c="$2" -v q="$queues" -v p="$point" \
		'$1 == t && $2 == q && $3 == p { printf "%s%s", sep, $c; sep = "/" }' "$results"
}
# ratio TARGET: its IOPS over qsd's, round by round.
ratio() {
	awk -v t="$1" -v q="$queues" -v p="$point" '$2 == q && $3 == p { if ($1 == t) v[$4] = $5; else if ($1 == "qsd") s[$4] = $5 }
		END { for (i = 1; i in v; i++) printf "%s%.2fx", (i > 1 ? "/" : ""), v[i] / s[i] }' "$results"
}
for queues in ${BENCH_QUEUES:-1 4}; do
	for point in randread-4k-QD1 randread-4k-QD32 randwrite-4k-QD1 randwrite-4k-QD32 read-1M-QD8 write-1M-QD8; do
		printf '%-6s %-20s %-17s %-17s %-13s %-11s %-11s\n' "$queues" "$point" "$(series vdused 5)" \
			"$(series qsd 5)" "$(ratio vdused)" "$(series vdused 6)" "$(series qsd 6)"
		for other in hugepage direct baseline; do
			[ "$other" != baseline ] && [ "$net" != vhost-user ] && continue
			[ "$other" = baseline ] && [ -z "${BENCH_BASELINE:-}" ] && continue
			printf '%-6s %-20s %-17s %-17s %-13s %-11s %-11s\n' "" "  $other" "$(series $other 5)" "" \
				"$(ratio $other)" "$(series $other 6)" ""
		done
	done
done
[ "$net" = rbd ] && bash "$VTEST_SRCDIR/tests/lib/ceph-cluster.sh" down >/dev/null 2>&1
true
