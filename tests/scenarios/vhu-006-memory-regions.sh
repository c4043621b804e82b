#!/bin/bash
# A VM's memory in many IOTLB entries through the vhost-user bridge: the
# vhost client announces its memory in 1 MiB and then 64 KiB entries (a
# VMM may cut it so; a vIOMMU does), far more than the 32 memory slots
# qemu-storage-daemon's vhost-user server has. vdused joins the entries
# that map one file contiguously into one target region, so verify passes
# with the target never refusing a region; before, the target dropped the
# connection at the 33rd region, vdused reconnected for ever and the
# client's requests were never answered. A buffer is cut where its entries
# meet (our mappings of two entries may sit side by side in the other
# order), and vdused raises its open file limit, since each entry it maps
# keeps an fd (1000 entries of 64 KiB passed the soft limit of 1024).
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
vhu_start disk 1 "driver=file,node-name=disk,filename=$img/disk.img"
read -r _ node <<<"$("$VDUSECTL" add --driver vhost -t vhost-user --socket /run/vhu/disk.sock --name mr0)"
log=/run/vduse/mr0.log
for chunk in 1M 64K; do
	out=$(timeout 60 "$VHOST_CLIENT" -d "$node" --iotlb-chunk $chunk -D 64 verify -t 3 2>&1) ||
		fail "verify with $chunk IOTLB entries: $(tail -3 <<<"$out"); vdused: $(grep -v "not in memory" $log | tail -8)"
	pass "verify with the client's memory in $chunk IOTLB entries: $(grep 'queue 0:' <<<"$out" | head -1)"
done
grep -E 'closed the connection|memory regions and has' $log &&
	fail "the bridge lost its target or refused a region"
pass "the target kept the connection and took every region"
"$VDUSECTL" del mr0
vhu_stop disk
expect_clean
