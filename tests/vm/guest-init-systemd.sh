#!/bin/bash
# PID 1 of the test guest in "systemd" mode, before systemd: builds a writable
# root (overlay: the host's read-only 9p root below a tmpfs), installs the
# test's units into it, pivots into it and execs systemd with vtest.target.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t tmpfs -o mode=0755 tmpfs /mnt
mkdir -p /mnt/lower /mnt/rw /mnt/new
mount --bind / /mnt/lower
mount -t tmpfs -o mode=0755 tmpfs /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work /mnt/new
new=/mnt/new
mkdir -p "$new/vtest-share"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 vtest "$new/vtest-share"
# systemd believes it runs in a container if this host file is there, and then
# ignores the kernel command line.
rm -f "$new/.dockerenv"
: >"$new/etc/machine-id"
units=$new/etc/systemd/system
mkdir -p "$units"
cp "$new"/vtest-share/units/* "$units/"
# shellcheck source=/dev/null
. "$new/vtest-share/job.env"
if [ "${VTEST_INSTALL:-0}" = 1 ]; then
	# As a package would: the binaries in the path the units name, the units,
	# the restore unit wanted by sysinit.target; /etc/vduse is kept in the
	# share so that a second boot sees what the first one persisted.
	mkdir -p "$new/usr/local/sbin" "$new/etc/vduse/devices" "$units/sysinit.target.wants"
	ln -sf "$VDUSECTL" "$new/usr/local/sbin/vdusectl"
	ln -sf "$VDUSED" "$new/usr/local/sbin/vdused"
	cp "$VTEST_BUILDDIR"/units/*.service "$VTEST_BUILDDIR"/units/*.target "$VTEST_BUILDDIR"/units/*.timer "$units/"
	ln -sf ../vduse-restore.service "$units/sysinit.target.wants/vduse-restore.service"
	mount --bind "$new/vtest-share/persist" "$new/etc/vduse/devices"
	# And the lines a scenario wants in /etc/fstab from the next boot on.
	[ ! -s "$new/vtest-share/fstab" ] || cat "$new/vtest-share/fstab" >>"$new/etc/fstab"
fi
for unit in systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer \
	apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
	e2scrub_reap.service dpkg-db-backup.timer fstrim.timer logrotate.timer \
	postgresql.service systemd-networkd.service systemd-resolved.service \
	systemd-timesyncd.service getty@.service serial-getty@.service \
	systemd-firstboot.service systemd-update-utmp.service systemd-logind.service \
	ssh.service cron.service rsyslog.service; do
	ln -sf /dev/null "$units/$unit"
done
mount --move /dev "$new/dev" 2>/dev/null
umount /proc
cd "$new" || exit 1
mkdir -p oldroot
pivot_root . oldroot
exec chroot . /lib/systemd/systemd --unit=vtest.target
