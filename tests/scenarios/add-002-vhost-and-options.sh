#!/bin/bash
# --driver vhost gives /dev/vhost-vdpa-N; --block-size, --queue-depth,
# --read-only and --name reach the kernel.
source "$VTEST_LIB"

out=$("$VDUSECTL" add -t null --size 256M --driver vhost --name vm-disk)
read -r name node <<<"$out"
expect_eq "name" vm-disk "$name"
case $node in /dev/vhost-vdpa-*) pass "node $node" ;; *) fail "node '$node' is not /dev/vhost-vdpa-N" ;; esac
test -c "$node" || fail "$node is not a character device"
expect_eq "bound driver" vhost_vdpa "$(basename "$(readlink /sys/bus/vdpa/devices/vm-disk/driver)")"
expect_eq "show driver" vhost_vdpa "$(device_field vm-disk driver)"
"$VDUSECTL" del vm-disk
test ! -e "$node" || fail "$node still exists after del"
expect_clean

out=$("$VDUSECTL" add -t null --size 64M --block-size 4096 --queue-depth 256 --queues 4 --read-only --name ro4k)
read -r name node <<<"$out"
expect_eq "logical block size" 4096 "$(blockdev --getss "$node")"
expect_eq "read-only" 1 "$(blockdev --getro "$node")"
expect_eq "vdpa max_vq_size" 256 "$(vdpa -j dev show ro4k | jq '.dev.ro4k.max_vq_size')"
expect_eq "vdpa max_vqs" 4 "$(vdpa -j dev show ro4k | jq '.dev.ro4k.max_vqs')"
# Linux's virtio_blk uses at most one queue per CPU.
cpus=$(nproc)
expect_eq "hardware queues" $((cpus < 4 ? cpus : 4)) "$(ls "/sys/block/$(basename "$node")/mq" | wc -l)"
if dd if=/dev/zero of="$node" bs=4k count=1 oflag=direct status=none 2>/dev/null; then
	fail "a write to the read-only device succeeded"
fi
pass "writes to the read-only device fail"
fio_check "fio 4k reads on the 4k device" --name=r --filename="$node" --rw=randread --bs=4k \
	--iodepth=16 --ioengine=io_uring --direct=1 --runtime=1 --time_based
"$VDUSECTL" del ro4k
expect_clean

# persist and unpersist: the persistent spec and the record's flag follow.
# The root is read-only in this guest: a persistent directory of its own.
export VDUSE_PERSIST_DIR=/run/persist-test
persist_dir=$VDUSE_PERSIST_DIR
"$VDUSECTL" add -t null --size 64M --name keep0 >/dev/null
expect_eq "persist prints" "keep0 persistent" "$("$VDUSECTL" persist keep0)"
expect_eq "backend in the persistent spec" null "$(jq -r .backend "$persist_dir/keep0.json")"
expect_eq "size in the persistent spec" $((64 << 20)) "$(jq -r .size_bytes "$persist_dir/keep0.json")"
expect_eq "show after persist" true "$(device_field keep0 persistent)"
expect_eq "persist --json" '["keep0",true]' "$("$VDUSECTL" persist keep0 --json=short | jq -c '[.[0].name, .[0].persistent]')"
expect_eq "unpersist prints" "keep0 not persistent" "$("$VDUSECTL" unpersist keep0)"
[ ! -e "$persist_dir/keep0.json" ] || fail "unpersist left $persist_dir/keep0.json"
expect_eq "show after unpersist" false "$(device_field keep0 persistent)"
expect_eq "still running after unpersist" running "$(device_field keep0 state)"
expect_status "persist of a device that is not there" 1 "nothere" "$VDUSECTL" persist nothere
expect_status "persist without a name" 2 "persist: NAMES is required (see vdusectl persist --help)" "$VDUSECTL" persist
# A spec whose device is gone (it failed to come back at boot) can be taken out.
"$VDUSECTL" persist keep0 >/dev/null
"$VDUSECTL" del keep0
mkdir -p "$persist_dir"
echo '{"name":"ghost0","backend":"null","size_bytes":1048576,"queues":1,"queue_depth":128,"block_size":512,"read_only":false,"driver":"virtio_vdpa"}' >"$persist_dir/ghost0.json"
expect_eq "unpersist of a spec without a device" "ghost0 not persistent" "$("$VDUSECTL" unpersist ghost0)"
[ ! -e "$persist_dir/ghost0.json" ] || fail "unpersist left $persist_dir/ghost0.json"

# --cpus: queue threads and their completion work on the CPUs asked for.
[ "$(nproc)" -ge 2 ] || fail "this scenario needs 2 CPUs in the guest, it has $(nproc)"
read -r _ node <<<"$("$VDUSECTL" add -t null --size 64M --queues 2 --name cpu0)"
expect_eq "cpus by default" all "$(device_field cpu0 cpus)"
expect_pinned cpu0 0 0
expect_pinned cpu0 1 1
"$VDUSECTL" del cpu0
read -r _ node <<<"$("$VDUSECTL" add -t null --size 64M --queues 2 --cpus 1 --name cpu1)"
expect_pinned cpu1 0 1
expect_pinned cpu1 1 1
fio_check "fio on two queues pinned to CPU 1" --name=r --filename="$node" --rw=randread --bs=4k \
	--ioengine=io_uring --iodepth=8 --direct=1 --numjobs=2 --runtime=1 --time_based
expect_eq "cpus in show" 1 "$(device_field cpu1 cpus)"
"$VDUSECTL" del cpu1
read -r _ node <<<"$("$VDUSECTL" add -t null --size 64M --cpus any --name cpu2)"
expect_eq "--cpus any: the driver's completion CPUs (all)" 3 "$(cat /sys/class/vduse/cpu2/vq0/irq_cb_affinity)"
"$VDUSECTL" del cpu2
expect_status "--cpus beyond the online CPUs" 1 "CPU 64 of --cpus is not online" \
	"$VDUSECTL" add -t null --size 64M --cpus 0,64 --name cpu3
expect_status "--cpus not a list" 2 "CPU list 'two' is not CPU numbers" \
	"$VDUSECTL" add -t null --size 64M --cpus two --name cpu3
expect_status "--cpus reversed" 2 "has a reversed range" \
	"$VDUSECTL" add -t null --size 64M --cpus 1-0 --name cpu3
expect_clean
