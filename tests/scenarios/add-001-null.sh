#!/bin/bash
# vdusectl add -t null: a 1 GiB, 2-queue host block device that reads zeros,
# survives fio, agrees with iproute2's vdpa, and del leaves nothing.
source "$VTEST_LIB"

json=$("$VDUSECTL" add -t null --size 1G --queues 2 --serial SN-TEST-1 --json)
name=$(jq -r .name <<<"$json")
node=$(jq -r .node <<<"$json")
pid=$(jq -r .pid <<<"$json")
expect_eq "default name" vduse0 "$name"
test -b "$node" || fail "$node is not a block device"
pass "$node is a block device"
expect_eq "blockdev --getsize64" 1073741824 "$(blockdev --getsize64 "$node")"
expect_eq "blockdev --getss" 512 "$(blockdev --getss "$node")"
expect_eq "serial in sysfs" SN-TEST-1 "$(cat "/sys/block/$(basename "$node")/serial")"
# The storage client libraries are loaded only by the backends that use them.
expect_eq "libnbd, librbd and librados in a null device's vdused" 0 \
	"$(grep -cE '/lib(nbd|rbd|rados)\.so' "/proc/$pid/maps")"

# show --json against the kernel's own view through iproute2.
show=$("$VDUSECTL" show "$name" --json | jq '.[0]')
vdpa=$(vdpa -jp dev show "$name")
expect_eq "vdpa mgmtdev" vduse "$(jq -r ".dev.\"$name\".mgmtdev" <<<"$vdpa")"
expect_eq "vdpa type" block "$(jq -r ".dev.\"$name\".type" <<<"$vdpa")"
expect_eq "queues: show vs vdpa max_vqs" "$(jq .queues <<<"$show")" "$(jq ".dev.\"$name\".max_vqs" <<<"$vdpa")"
expect_eq "depth: show vs vdpa max_vq_size" "$(jq .queue_depth <<<"$show")" "$(jq ".dev.\"$name\".max_vq_size" <<<"$vdpa")"
expect_eq "driver: show vs sysfs" "$(basename "$(readlink "/sys/bus/vdpa/devices/$name/driver")")" "$(jq -r .driver <<<"$show")"
expect_eq "bound_driver: show vs sysfs" "$(basename "$(readlink "/sys/bus/vdpa/devices/$name/driver")")" "$(jq -r .bound_driver <<<"$show")"
expect_eq "show state" running "$(jq -r .state <<<"$show")"
expect_eq "show node" "$node" "$(jq -r .node <<<"$show")"
expect_eq "show size_bytes" 1073741824 "$(jq .size_bytes <<<"$show")"
documented=$(documented_device_fields)
[ "$(wc -l <<<"$documented")" -ge 20 ] || fail "vdusectl(8) documents too few device fields: $documented"
expect_eq "show --json keys vs vdusectl(8) DEVICE FIELDS" "$(sort <<<"$documented")" "$(jq -r 'keys[]' <<<"$show" | sort)"
expect_eq "list --json keys vs show --json keys" "$(jq -r 'keys[]' <<<"$show" | sort)" \
	"$("$VDUSECTL" list --json | jq -r '.[0] | keys[]' | sort)"
expect_eq "show --json=short is one line" 1 "$("$VDUSECTL" show "$name" --json=short | wc -l)"
text=$("$VDUSECTL" show "$name")
expect_contains "show's size for people" "size: 1G" "$text"
expect_contains "show's booleans for people" "read_only: no" "$text"
grep -qE '^(connection|file|direct|hint|reconnect_timeout):' <<<"$text" &&
	fail "show prints fields that do not apply to a running null device: $text"
pass "show leaves out what does not apply to a null device"
expect_schema "add --json" add "$json" \
	"show --json" show "$("$VDUSECTL" show --json)" \
	"list --json" list "$("$VDUSECTL" list --json)"
expect_eq "show of one device is an array" array "$("$VDUSECTL" show "$name" --json | jq -r type)"
expect_eq "show of several devices is an array" array "$("$VDUSECTL" show "$name" "$name" --json | jq -r type)"
expect_contains "list -o name,node,state" "$name  $node  running" "$("$VDUSECTL" list -o name,node,state --no-legend)"
expect_eq "list --json entries" 1 "$(jq length <<<"$("$VDUSECTL" list --json)")"
expect_contains "list" "$node" "$("$VDUSECTL" list)"

expect_zeros "$node" $((16 << 20))
expect_eq "sha256 of the last MiB" "$(head -c 1M /dev/zero | sha256sum)" \
	"$(dd if="$node" bs=1M skip=1023 count=1 status=none | sha256sum)"

for qd in 1 8 32 64; do
	fio_check "fio randread QD$qd x2 jobs" --name=r --filename="$node" --rw=randread --bs=4k \
		--iodepth=$qd --ioengine=io_uring --direct=1 --numjobs=2 --runtime=2 --time_based
done
fio_check "fio randwrite QD16" --name=w --filename="$node" --rw=randwrite --bs=64k \
	--iodepth=16 --ioengine=io_uring --direct=1 --runtime=2 --time_based
blkdiscard "$node" && pass "blkdiscard succeeds"
blkdiscard -z -o 0 -l 1M "$node" && pass "blkdiscard -z succeeds"

# Its queues busy-poll for a window after their last work (up to --poll-us,
# adapting) and then sleep: an idle device's vdused takes no CPU in top.
# (The window it learnt under fio is gone in well under a second.)
sleep 1
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
t0=$(ticks)
sleep 3
idle=$(($(ticks) - t0))
[ "$idle" -le 6 ] ||
	fail "vdused took $idle clock ticks of CPU in 3 s of an idle device ($(getconf CLK_TCK) a second): it spins while idle"
pass "vdused of an idle device: $idle clock ticks of CPU in 3 s"

"$VDUSECTL" del "$name"
test ! -e "$node" || fail "$node still exists after del"
test ! -e "/proc/$pid" || fail "vdused ($pid) still runs after del"
expect_clean

# A host without libnbd0 and librbd1 (the package only recommends them):
# a null device is added, serves and goes.
out=$(without_remote_libraries sh -c 'set -e; added=$("$0" add -t null --size 64M --name nolibs)
	dd if="${added#* }" of=/dev/null bs=64k count=16 iflag=direct status=none
	"$0" del nolibs; echo "$added, read and deleted"' "$VDUSECTL" 2>&1) ||
	fail "a null device without libnbd and librbd: $out"
pass "a null device without libnbd and librbd: $out"
expect_clean
