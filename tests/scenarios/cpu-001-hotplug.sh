#!/bin/bash
# CPUs that go and come under a running device (run-in-guest --cpus 4: CPUs
# 0-3, 0 and 1 online). VDUSE runs a queue's completion work on a CPU of the
# queue's irq_cb_affinity, and loops in the kernel for ever when none of them
# is online (drivers/vdpa/vdpa_user/vduse_dev.c, vduse_vq_update_effective_cpu;
# docs/ARCHITECTURE.md). vdused steers queue 1 of a 2-queue device to CPU 1
# and pins the queue's thread there; CPU 1 goes offline and CPU 2, whose
# requests blk-mq sends to queue 1, comes online: fio verify from CPU 2
# completes, queue 1 serves it, and its interrupts are on an online CPU.
# Then a device whose queue the driver binds to offline CPUs only, across a
# reset: served, and the kernel quiet.
source "$VTEST_LIB"
img=$(scratch_fs)
cpu_online() { echo "$2" >"/sys/devices/system/cpu/cpu$1/online" || fail "cannot set CPU $1 online=$2"; }

read -r _ node <<<"$("$VDUSECTL" add -t file --file "$img/c0.img" --size 128M --queues 2 --name c0)"
dev=${node#/dev/}
expect_eq "the CPUs blk-mq sends to queue 1" "2, 3" "$(cat "/sys/block/$dev/mq/1/cpu_list")"
expect_eq "queue 1's interrupts steered to CPU 1" 2 "$(cat /sys/class/vduse/c0/vq1/irq_cb_affinity)"
fio_verify "c0 on CPUs 0 and 1" "$node" 4k-128k 16M

cpu_online 2 1
cpu_online 1 0
writes_before=$("$VDUSECTL" stats c0 --json | jq '.[0].queues[1].writes')
fio_check "queue 1 from CPU 2, its steered CPU 1 offline" --name=moved --filename="$node" \
	--rw=randwrite --bsrange=4k-128k --size=16M --ioengine=io_uring --iodepth=32 --direct=1 \
	--cpus_allowed=2 --verify=crc32c --verify_backlog=64 --verify_fatal=1
writes_after=$("$VDUSECTL" stats c0 --json | jq '.[0].queues[1].writes')
[ "$writes_after" -gt "$writes_before" ] ||
	fail "queue 1 served no write from CPU 2 ($writes_before before, $writes_after after)"
mask=$(cat /sys/class/vduse/c0/vq1/irq_cb_affinity)
[ $((0x$mask & 0x5)) -ne 0 ] || fail "queue 1's interrupts are on no online CPU: $mask"
grep -q "queue 1's interrupts were bound to offline CPUs only" /run/vduse/c0.log ||
	fail "vdused did not say it moved queue 1's interrupts: $(tail -5 /run/vduse/c0.log)"
pass "queue 1 served $((writes_after - writes_before)) writes with its steered CPU gone; its interrupts now on $mask"

# The driver's own masks (no steering: --cpus any): queue 1 bound to CPUs 2
# and 3, both offline at the driver's next start (a reset).
cpu_online 1 1
read -r _ node2 <<<"$("$VDUSECTL" add -t file --file "$img/c1.img" --size 128M --queues 2 --cpus any --name c1)"
expect_eq "c1's queue 1 as the driver binds it" c "$(cat /sys/class/vduse/c1/vq1/irq_cb_affinity)"
cpu_online 2 0
ext4_across_reset c1 "$node2"
mask=$(cat /sys/class/vduse/c1/vq1/irq_cb_affinity)
[ $((0x$mask & 0x3)) -ne 0 ] || fail "c1's queue 1 is bound to offline CPUs only after the reset: $mask"
pass "after the reset, c1's queue 1 is bound to online CPUs ($mask)"
expect_quiet_kernel
"$VDUSECTL" del c0
"$VDUSECTL" del c1
expect_clean c0
expect_clean c1
