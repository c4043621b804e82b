#!/bin/bash
# Runs inside the test guest (one boot): vdused's file backend against
# qemu-storage-daemon's vduse-blk export of the same image
# (driver=file,aio=io_uring), buffered and O_DIRECT, 1 queue. Emulated
# timings: only the ratios within this table mean something.
source "$VTEST_LIB"
runtime=${BENCH_RUNTIME:-3}
img=$(scratch_fs 2G)/bench.img
truncate -s 1G "$img"
dd if=/dev/urandom of="$img" bs=1M count=1024 status=none conv=notrunc
results=$TMPDIR/bench-file
: >"$results"

# measure TARGET MODE NODE
measure() {
	local target=$1 mode=$2 node=$3 point out
	for point in "randread 4k 1" "randread 4k 32" "randwrite 4k 1" "randwrite 4k 32" "read 1M 8" "write 1M 8"; do
		read -r rw bs qd <<<"$point"
		fio --output-format=json --output="$TMPDIR/f.json" --name=bench --filename="$node" --rw="$rw" \
			--bs="$bs" --iodepth="$qd" --ioengine=io_uring --direct=1 --ramp_time=1 \
			--runtime="$runtime" --time_based >/dev/null 2>&1 || fail "fio $point on $target failed"
		out=$(sed -n '/^{/,$p' "$TMPDIR/f.json")
		[ "$(jq '.jobs[0].error' <<<"$out")" = 0 ] || fail "fio $point on $target reported errors"
		dir=read
		case $rw in *write) dir=write ;; esac
		echo "$target $mode $rw-$bs-QD$qd $(jq ".jobs[0].$dir.iops | floor" <<<"$out")" >>"$results"
	done
}

for mode in buffered direct; do
	flag=
	qsd_direct=off
	[ $mode = direct ] && flag=--direct && qsd_direct=on
	read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img" $flag --queue-depth 256 --name bench-file)"
	measure vdused $mode "$node"
	"$VDUSECTL" del bench-file

	qemu-storage-daemon --blockdev driver=file,node-name=f0,filename="$img",aio=io_uring,cache.direct=$qsd_direct \
		--export type=vduse-blk,id=e0,node-name=f0,name=bench-qsd,writable=on,num-queues=1,queue-size=256 &
	qsd=$!
	wait_for 10 "/dev/vduse/bench-qsd" test -e /dev/vduse/bench-qsd
	vdpa dev add name bench-qsd mgmtdev vduse
	wait_for 10 "the qsd block device" vdpa_block_node bench-qsd
	measure qsd $mode "$(vdpa_block_node bench-qsd)"
	vdpa dev del bench-qsd
	kill $qsd
	wait $qsd || true
done

echo
echo "file backend, 1 GiB image on tmpfs, 1 queue of 256; fio io_uring direct on the device; ${runtime}s each (TCG)"
printf '%-9s %-20s %9s %9s %7s\n' image workload "vdused" "qsd" ratio
for mode in buffered direct; do
	for point in randread-4k-QD1 randread-4k-QD32 randwrite-4k-QD1 randwrite-4k-QD32 read-1M-QD8 write-1M-QD8; do
		v=$(awk -v m=$mode -v p=$point '$1 == "vdused" && $2 == m && $3 == p { print $4 }' "$results")
		q=$(awk -v m=$mode -v p=$point '$1 == "qsd" && $2 == m && $3 == p { print $4 }' "$results")
		printf '%-9s %-20s %9s %9s %7s\n' $mode $point "$v" "$q" "$(awk "BEGIN { printf \"%.2fx\", $v / $q }")"
	done
done
