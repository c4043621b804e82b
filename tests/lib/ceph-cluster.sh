#!/bin/bash
# ceph-cluster.sh up|down: a throw-away one-node Ceph cluster for the guest
# scenarios and benchmarks (rbd backend): one monitor, one OSD, no manager,
# everything in memory (the monitor's store on tmpfs, the OSD on memstore),
# listening on 127.0.0.1 only. `up` creates pool "rbd" and the image
# rbd/$RBD_IMAGE, and prints where the configuration is; clients need only
# CEPH_CONF=$CEPH_DIR/ceph.conf (it names the admin keyring). `down` stops
# the daemons through their pid files and deletes $CEPH_DIR.
#
# Environment: CEPH_DIR (/run/ceph), RBD_IMAGE (img0; empty: none),
# RBD_SIZE (256M), CEPH_TIMEOUT (seconds a step may take, 300).
# Needs ceph-mon, ceph-osd, ceph-common, python3-rados, python3-rbd; about
# 15 s under TCG, 60 MB of memory plus what is written to the image.
set -euo pipefail
dir=${CEPH_DIR:-/run/ceph}
image=${RBD_IMAGE-img0}
size=${RBD_SIZE:-256M}
timeout=${CEPH_TIMEOUT:-300}
say() { echo "ceph-cluster: $*"; }
die() { echo "ceph-cluster: $*" >&2; exit 1; }

# stop PIDFILE: SIGTERM, SIGKILL after 10 s.
stop() {
	local pid
	[ -s "$1" ] || return 0
	pid=$(cat "$1")
	kill "$pid" 2>/dev/null || return 0
	timeout 10 tail --pid="$pid" -f /dev/null || kill -9 "$pid" 2>/dev/null || true
}

down() {
	[ -d "$dir" ] || return 0
	for f in "$dir"/run/osd.*.pid "$dir"/run/mon.*.pid; do stop "$f"; done
	rm -rf "$dir"
	say "stopped"
}

# A cephx key: base64 of type 1 (AES), a zero creation time, length 16 and 16
# random bytes (what ceph-authtool makes, without its second of start-up).
key() { { printf '\001\000\000\000\000\000\000\000\000\000\020\000'; head -c 16 /dev/urandom; } | base64; }

up() {
	[ ! -e "$dir/ceph.conf" ] || die "$dir already holds a cluster (ceph-cluster.sh down first)"
	mkdir -p "$dir"/{mon/a,osd/0,log,run}
	local conf=$dir/ceph.conf
	export CEPH_CONF=$conf
	cat >"$conf" <<-CONF
	[global]
	fsid = $(cat /proc/sys/kernel/random/uuid)
	mon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
	mon initial members = a
	public network = 127.0.0.1/32
	keyring = $dir/keyring
	log file = $dir/log/\$name.log
	pid file = $dir/run/\$name.pid
	admin socket = $dir/run/\$name.asok
	run dir = $dir/run
	mon data = $dir/mon/\$id
	osd data = $dir/osd/\$id
	mon cluster log file = $dir/log/cluster.log
	log to stderr = false
	err to stderr = false
	ms bind ipv6 = false
	# One OSD holds the only copy of everything.
	osd pool default size = 1
	osd pool default min size = 1
	mon allow pool size one = true
	osd pool default pg num = 8
	osd pool default pgp num = 8
	osd pool default pg autoscale mode = off
	osd crush chooseleaf type = 0
	mon warn on pool no redundancy = false
	mon warn on no mgr = false
	mon osd down out interval = 0
	mon data avail warn = 1
	mon data avail crit = 0
	# The erasure-code plugins die of SIGILL on QEMU's TCG CPU; only
	# replicated pools are used.
	osd erasure code plugins =
	# Propose map changes at once instead of batching them for a second.
	paxos propose interval = 0.1
	paxos min wait = 0.01

	[osd]
	osd objectstore = memstore
	memstore device bytes = 1073741824
	# Pages of 4 KiB: a sparse write costs its own size, not its object's.
	memstore page set = true
	memstore page size = 4096
	# Short PG logs, or every recent write stays in memory twice.
	osd min pg log entries = 16
	osd max pg log entries = 16
	osd pg log trim min = 8
	osd pg log dups tracked = 16
	osd op num shards = 1
	osd op num threads per shard = 2
	crush location = root=default host=localhost
	osd class load list = *
	osd class default list = *
	CONF
	cat >"$dir/keyring" <<-KEYS
	[mon.]
		key = $(key)
		caps mon = "allow *"
	[client.admin]
		key = $(key)
		caps mon = "allow *"
		caps osd = "allow *"
	[osd.0]
		key = $(key)
		caps mon = "allow profile osd"
		caps osd = "allow *"
	KEYS
	chmod 600 "$dir/keyring"
	local uuid
	uuid=$(cat /proc/sys/kernel/random/uuid)
	# The OSD's store (no monitor needed for it) while the monitor starts.
	ceph-osd -i 0 --mkfs --no-mon-config --osd-uuid "$uuid" >"$dir/log/osd-mkfs.log" 2>&1 &
	local mkfs=$!
	ceph-mon --mkfs -i a --keyring "$dir/keyring" >"$dir/log/mon-mkfs.log" 2>&1 &&
		ceph-mon -i a >>"$dir/log/mon-mkfs.log" 2>&1 ||
		die "the monitor did not start: $(tail -5 "$dir/log/mon-mkfs.log")"
	wait "$mkfs" || die "ceph-osd --mkfs failed: $(tail -5 "$dir/log/osd-mkfs.log")"
	# The rest talks to the monitor from one Python process: each call of
	# the ceph command costs seconds under TCG.
	OSD_UUID=$uuid IMAGE=$image SIZE=$size TIMEOUT=$timeout /usr/bin/python3 - <<-'PY' ||
	import json, os, subprocess, sys, time
	import rados, rbd

	env = os.environ
	timeout = env["TIMEOUT"]
	cluster = rados.Rados(conffile=env["CEPH_CONF"], name="client.admin",
	                      conf={"client_mount_timeout": timeout,
	                            "rados_osd_op_timeout": timeout,
	                            "rados_mon_op_timeout": timeout})
	cluster.connect()

	def mon(prefix, **args):
	    args.update(prefix=prefix, format="json")
	    ret, out, err = cluster.mon_command(json.dumps(args), b"")
	    if ret < 0:
	        sys.exit("ceph-cluster: %s: %s" % (prefix, err))
	    return json.loads(out) if out else None

	mon("osd new", uuid=env["OSD_UUID"])
	subprocess.run(["ceph-osd", "-i", "0"], check=True)
	mon("osd pool create", pool="rbd", pg_num=8)
	mon("osd pool application enable", pool="rbd", app="rbd")
	deadline = time.time() + float(timeout)
	while not mon("osd dump")["osds"][0]["up"]:
	    if time.time() > deadline:
	        sys.exit("ceph-cluster: osd.0 did not come up")
	    time.sleep(0.2)
	ioctx = cluster.open_ioctx("rbd")
	rbd.RBD().pool_init(ioctx, False)
	if env["IMAGE"]:
	    text = env["SIZE"].upper()
	    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
	    rbd.RBD().create(ioctx, env["IMAGE"], int(text.rstrip("KMG")) * scale,
	                     old_format=False)
	ioctx.close()
	cluster.shutdown()
	PY
		die "setting up the pool failed (logs in $dir/log)"
	say "ready in $SECONDS s: export CEPH_CONF=$conf"
}

case ${1:-} in
up) up ;;
down) down ;;
*)
	echo "usage: ceph-cluster.sh up|down" >&2
	exit 2
	;;
esac
