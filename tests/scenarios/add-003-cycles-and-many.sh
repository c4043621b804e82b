#!/bin/bash
# Add/del cycles leave nothing (6 in the CI form; the long form by hand:
# --env VTEST_CYCLES=100); 4 devices at once work side by side.
source "$VTEST_LIB"

cycles=${VTEST_CYCLES:-6}
for i in $(seq 1 "$cycles"); do
	read -r name node <<<"$("$VDUSECTL" add -t null --size 128M --queues 2)"
	test -b "$node" || fail "cycle $i: $node is not a block device"
	head -c 4096 "$node" >/dev/null || fail "cycle $i: cannot read $node"
	"$VDUSECTL" del "$name"
	test ! -e "$node" || fail "cycle $i: $node left behind"
done
pass "$cycles add/del cycles"
expect_clean

nodes=()
for i in 0 1 2 3; do
	read -r name node <<<"$("$VDUSECTL" add -t null --size $((i + 1))G --name many$i --queues 2)"
	nodes+=("$node")
done
expect_eq "devices listed" 4 "$("$VDUSECTL" list --json | jq length)"
for i in 0 1 2 3; do
	expect_eq "size of many$i" $(((i + 1) << 30)) "$(blockdev --getsize64 "${nodes[$i]}")"
done
pids=()
for node in "${nodes[@]}"; do
	fio --output-format=json --name=r --filename="$node" --rw=randread --bs=4k --iodepth=8 \
		--ioengine=io_uring --direct=1 --runtime=2 --time_based >"$TMPDIR/fio-$(basename "$node").json" &
	pids+=($!)
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || fail "fio on ${nodes[$i]} failed"
	expect_eq "fio errors on ${nodes[$i]}" 0 "$(jq '.jobs[0].error' "$TMPDIR/fio-$(basename "${nodes[$i]}").json")"
done
"$VDUSECTL" del --all
expect_clean
