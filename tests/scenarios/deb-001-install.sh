#!/bin/bash
# The Debian package in a guest with systemd, as an admin uses it: apt
# installs it (binaries, units, restore at boot, man pages, completions),
# vdusectl add runs a device under systemd with the installed vdused, a
# removal is refused while a device is mounted, and apt purge stops the
# daemons, removes the devices and every file, and forgets the persistent
# specs. VTEST_DEB is the package deb-test.sh built.
source "$VTEST_LIB"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
[ -f "${VTEST_DEB:-}" ] || fail "no package to install (VTEST_DEB='${VTEST_DEB:-}')"
unset VDUSED
VDUSECTL=vdusectl
export DEBIAN_FRONTEND=noninteractive
! command -v vdusectl >/dev/null || fail "vdusectl is installed before the package: $(command -v vdusectl)"
# man-db's index update after each install and removal takes a minute
# under emulation and tests nothing of ours.
rm -f /var/lib/man-db/auto-update
# apt reads the package lists (this host's, about 20 MB) into a cache at
# every call, half a minute each under emulation: it is given none, so that
# it knows only the installed packages and ours. A dependency the package
# names and the system lacks still fails the install.
apt_lists=$(mktemp -d)
apt_get() {
	apt-get -o Dir::State::Lists="$apt_lists" -o Dir::Etc::SourceList=/dev/null \
		-o Dir::Etc::SourceParts="$apt_lists" "$@"
}

out=$(apt_get install -y --no-install-recommends "$VTEST_DEB" 2>&1) ||
	fail "apt-get install $VTEST_DEB: $out"
expect_eq "package status" "install ok installed" "$(dpkg-query -W -f='${Status}' vduse-tools)"
expect_eq "vdusectl in the path" /usr/sbin/vdusectl "$(command -v vdusectl)"
for page in vdusectl.8 vdused.8 vduse-spec.5; do
	[ -f "/usr/share/man/man${page##*.}/$page.gz" ] || fail "man page $page is not installed"
done
expect_contains "man vdusectl" "vdusectl del" "$(MANWIDTH=200 man -P cat vdusectl 2>/dev/null)"
completion=$(bash -c 'source /usr/share/bash-completion/bash_completion
	_completion_loader vdusectl; complete -p vdusectl' 2>&1)
expect_contains "bash completion of vdusectl" "complete -F" "$completion"
[ -f /usr/share/zsh/vendor-completions/_vdusectl ] || fail "no zsh completion"
[ -f /usr/share/fish/vendor_completions.d/vdusectl.fish ] || fail "no fish completion"
expect_eq "vduse.target" enabled "$(systemctl is-enabled vduse.target)"
expect_contains "units wanting vduse-restore.service" sysinit.target \
	"$(systemctl show -P WantedBy vduse-restore.service)"
expect_contains "units wanting vduse-restore-network.service" multi-user.target \
	"$(systemctl show -P WantedBy vduse-restore-network.service)"
pass "installed: binaries, units, restore at boot, man pages, completions"

# A device under systemd, served by the installed vdused.
node=$(vdusectl add -t null --size 64M --name pk0 | awk '{print $2}')
expect_eq "vdused@pk0.service" active "$(systemctl is-active vdused@pk0.service)"
expect_eq "vdused@pk0's program" /usr/sbin/vdused \
	"$(readlink "/proc/$(systemctl show -P MainPID vdused@pk0.service)/exe")"
fio_check "fio reads $node" --name=r --filename="$node" --rw=randread --bs=4k --size=16M \
	--ioengine=io_uring --iodepth=8 --direct=1
img=$(scratch_fs 512M)/pk1.img
fnode=$(vdusectl add -t file --file "$img" --size 64M --name pk1 --persistent | awk '{print $2}')
[ -f /etc/vduse/devices/pk1.json ] || fail "add --persistent wrote no /etc/vduse/devices/pk1.json"
fio_check "fio verify on $fnode" --name=v --filename="$fnode" --rw=randwrite --bs=4k --size=16M \
	--ioengine=io_uring --iodepth=8 --direct=1 --verify=crc32c --verify_fatal=1
mkfs.ext4 -q "$fnode"
mkdir -p /srv/pk1
mount "$fnode" /srv/pk1
echo kept >/srv/pk1/file
pass "devices pk0 (null) and pk1 (file, persistent, mounted) run under systemd"

# Removing the package while a device is mounted would lose its data: refused.
if out=$(apt_get remove -y vduse-tools 2>&1); then
	fail "apt-get remove succeeded while pk1 was mounted: $out"
fi
expect_contains "apt-get remove with pk1 mounted" "$fnode is in use (mounted on /srv/pk1)" "$out"
expect_eq "package status after the refused removal" "install ok installed" \
	"$(dpkg-query -W -f='${Status}' vduse-tools)"
expect_eq "pk1 after the refused removal" running "$(device_field pk1 state)"
umount /srv/pk1
pass "removal refused while $fnode was mounted; the device still runs"

out=$(apt_get purge -y vduse-tools 2>&1) || fail "apt-get purge vduse-tools: $out"
rm -rf "$apt_lists"
! dpkg -s vduse-tools >/dev/null 2>&1 || fail "dpkg still knows vduse-tools after purge: $(dpkg -s vduse-tools)"
left=$(systemctl list-units --no-legend --plain 'vdused@*' | awk '$3 == "active"')
[ -z "$left" ] || fail "units still active after purge: $left"
for path in /usr/sbin/vdusectl /usr/sbin/vdused /lib/systemd/system/vdused@.service \
	/usr/share/man/man8/vdusectl.8.gz /usr/share/bash-completion/completions/vdusectl \
	/etc/vduse /run/vduse; do
	[ ! -e "$path" ] || fail "$path is left after purge"
done
# No VDUSE or vdpa device, vdused, state file, drop-in or spec.
expect_clean
[ -f "$img" ] || fail "purge removed the image $img (it is the admin's data)"
pass "purged: daemons stopped, devices removed, files and specs gone, the image kept"
