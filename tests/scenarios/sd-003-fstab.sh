#!/bin/bash
# An ext4 listed in /etc/fstab on a persistent VDUSE file device, across an
# orderly reboot: the file system is unmounted at shutdown before its vdused
# stops (else the unmount waits on a device nobody serves and the file system
# is left dirty), and it is mounted at the next boot after vduse-restore
# recreated the device. Data written just before the reboot, without a sync,
# is read back after it, and the journal needs no recovery.
source "$VTEST_LIB"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
unset VDUSED
VDUSECTL=vdusectl
share=/vtest-share
img=$share/fstab-test.img
sum=$share/fstab-test.sum
mnt=/srv/vdfs
mount_unit=$(systemd-escape -p --suffix=mount "$mnt")
link=/dev/disk/by-id/virtio-fs0
case $VTEST_BOOT in
1)
	truncate -s 256M "$img"
	vdusectl add -t file --file "$img" --name fs0 --persistent >/dev/null
	udevadm settle
	[ -b $link ] || fail "$link does not exist after add (serial defaults to the name)"
	mkfs.ext4 -q -F $link
	# The harness appends $share/fstab to /etc/fstab at the next boot.
	# commit=600 and no periodic writeback: nothing reaches the device
	# before the shutdown but what the unmount writes. Pass 0: no fsck at
	# boot, which would replay the journal and hide an unclean unmount.
	echo "$link $mnt ext4 defaults,commit=600 0 0" >"$share/fstab"
	cat "$share/fstab" >>/etc/fstab
	mkdir -p "$mnt"
	systemctl daemon-reload
	systemctl start "$mount_unit"
	expect_eq "source of $mnt" "$(device_field fs0 node)" "$(findmnt -no SOURCE "$mnt")"
	# What orders the unmount before vdused stops at shutdown.
	before=$(systemctl show -P Before vdused@fs0.service)
	expect_contains "vdused@fs0.service Before=" local-fs-pre.target "$before"
	expect_contains "vdused@fs0.service Before=" lvm2-monitor.service "$before"
	expect_contains "$mount_unit After=" local-fs-pre.target \
		"$(systemctl show -P After "$mount_unit")"
	# Left in the page cache, not synced: only an unmount that can still
	# reach vdused writes it out.
	sysctl -q vm.dirty_writeback_centisecs=0 vm.dirty_expire_centisecs=360000
	head -c 32M /dev/urandom >"$mnt/data"
	mkdir "$mnt/tree" && for i in $(seq 100); do echo "file $i" >"$mnt/tree/$i"; done
	{ sha256sum <"$mnt/data"; cat "$mnt"/tree/* | sha256sum; } >"$sum"
	pass "boot 1: fs0 mounted from /etc/fstab, 32 MiB and 100 files written, not synced"
	# Boot 1's shutdown on the console, with the kernel's times, for whoever
	# reads a failure of boot 2's check below (the harness prints the
	# console): systemd's own messages (units stopping and stopped) go to
	# the kernel log, and the console prints up to info.
	systemd-analyze log-target kmsg
	dmesg -n 7
	# guest-systemd-job.sh: an orderly reboot (units stopped in order), not a forced one.
	touch /run/vtest-orderly-reboot
	;;
2)
	expect_eq "vduse-restore.service result" success "$(systemctl show -P Result vduse-restore.service)"
	expect_eq "$mount_unit" active "$(systemctl is-active "$mount_unit")"
	node=$(device_field fs0 node)
	expect_eq "source of $mnt after reboot" "$node" "$(findmnt -no SOURCE "$mnt")"
	# Mounted after the device came up: the mount waited for it.
	restored=$(systemctl show -P ExecMainExitTimestampMonotonic vduse-restore.service)
	mounted=$(systemctl show -P ActiveEnterTimestampMonotonic "$mount_unit")
	[ "$mounted" -ge "$restored" ] ||
		fail "$mount_unit active at $mounted us, before vduse-restore finished at $restored us"
	expect_eq "data and files written before the reboot" "$(cat "$sum")" \
		"$({ sha256sum <"$mnt/data"; cat "$mnt"/tree/* | sha256sum; })"
	dev=${node#/dev/}
	if dmesg | grep -E "EXT4-fs \($dev\).*(recovery|orphan|errors)"; then
		fail "the file system on $node was not cleanly unmounted at shutdown"
	fi
	pass "boot 2: mounted from /etc/fstab after restore, data intact, no journal recovery"
	# Boot 1 went down without waiting for a reset nobody answers: vdused@'s
	# ExecStop took the device off the vdpa bus while vdused still served it
	# (vdusectl detach --at-shutdown). Before, the kernel's reset of the
	# virtio device at reboot waited the VDUSE message timeout (30 s) for a
	# vdused that was gone. Boot 1's console, from the scenario's end to the
	# kernel's restart (the 2 s timer of the orderly reboot included):
	down_s=$(awk -F'[][]' '/===== boot 2/ {exit}
		/vtest: scenario exited/ {t0 = $2} /reboot: Restarting system/ {t1 = $2}
		END {if (t0 == "" || t1 == "") print "?"; else printf "%.1f", t1 - t0}' "$share/console.log")
	[ "$down_s" != "?" ] || fail "boot 1's console ($share/console.log) has no scenario end or restart line"
	awk -v s="$down_s" 'BEGIN {exit !(s < 25)}' ||
		fail "boot 1 took $down_s s from the scenario's end to the restart (the kernel waited for a reset?)"
	pass "boot 1 went down in $down_s s after the scenario (a reset nobody answers would hold it 30 s)"
	umount "$mnt"
	fsck_out=$(e2fsck -fn "$node" 2>&1) || fail "e2fsck -fn $node: $fsck_out"
	vdusectl del fs0
	rm -f "$img" "$sum"
	expect_clean
	;;
*) fail "unexpected boot $VTEST_BOOT" ;;
esac
