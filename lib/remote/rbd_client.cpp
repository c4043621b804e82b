#include "remote/rbd_client.h"

#include "remote/lazy_library.h"

#include <array>
#include <cstring>
#include <string>

namespace vduse
{

namespace
{

Error rados_error(int r, const std::string &what)
{
	return system_error(-r, what);
}

} // namespace

std::string RbdImage::lock_owner() const
{
	rbd_lock_mode_t mode{};
	std::array<char *, 4> owners{};
	size_t count = owners.size();
	if (rbd_lock_get_owners(image(), &mode, owners.data(), &count) < 0 || count == 0)
		return "";
	std::string first = owners[0];
	rbd_lock_get_owners_cleanup(owners.data(), count);
	return first;
}

Result<RbdImage> RbdImage::open(const DeviceSpec &spec, Access access,
                                const std::string &dead_owner)
{
	RbdImage img;
	std::string user = spec.rbd_user.empty() ? "admin" : spec.rbd_user;
	std::string where = "rbd:" + spec.rbd_image;
	if (auto loaded = load_remote_library(RemoteLibrary::rbd); !loaded)
		return with_context(where, loaded.error());
	rados_t cluster = nullptr;
	int r = rados_create2(&cluster, "ceph", ("client." + user).c_str(), 0);
	if (r < 0)
		return rados_error(r, where + ": cannot create a Ceph client");
	img.cluster_.reset(cluster);
	// An explicit file wins; else $CEPH_CONF, else the default search.
	r = rados_conf_read_file(cluster,
	                         spec.ceph_conf.empty() ? nullptr : spec.ceph_conf.c_str());
	if (r < 0 && !spec.ceph_conf.empty())
		return rados_error(r, where + ": cannot read " + spec.ceph_conf);
	(void)rados_conf_parse_env(cluster, nullptr);
	if (!spec.keyring.empty() &&
	    (r = rados_conf_set(cluster, "keyring", spec.keyring.c_str())) < 0)
		return rados_error(r, where + ": keyring " + spec.keyring);
	// An unreachable cluster fails the connection in seconds, not the
	// default five minutes; a finite reconnect timeout also bounds each
	// operation (librados retries lost connections by itself).
	(void)rados_conf_set(cluster, "client_mount_timeout", "15");
	if (spec.reconnect_timeout_s != 0) {
		std::string t = std::to_string(spec.reconnect_timeout_s);
		(void)rados_conf_set(cluster, "rados_osd_op_timeout", t.c_str());
		(void)rados_conf_set(cluster, "rados_mon_op_timeout", t.c_str());
	}
	// librbd's cache would keep writes the driver was told are done in
	// this process only (write-back after the driver's first flush): a
	// vdused killed then loses them, which recover cannot undo. Off, as
	// krbd has none and QEMU turns it off for cache.direct=on; it is also
	// a copy less on every read. The kernel's page cache is above the
	// device.
	(void)rados_conf_set(cluster, "rbd_cache", "false");
	// librados logs to stderr by default; vdused's log is the journal.
	(void)rados_conf_set(cluster, "log_to_stderr", "false");
	(void)rados_conf_set(cluster, "err_to_stderr", "false");
	if ((r = rados_connect(cluster)) < 0)
		return rados_error(r, where + ": cannot connect to the Ceph cluster as client." +
		                              user);
	std::string pool = spec.rbd_image.substr(0, spec.rbd_image.find('/'));
	std::string name = spec.rbd_image.substr(spec.rbd_image.find('/') + 1);
	rados_ioctx_t io = nullptr;
	if ((r = rados_ioctx_create(cluster, pool.c_str(), &io)) < 0)
		return rados_error(r, where + ": pool " + pool);
	img.ioctx_.reset(io);
	rados_ioctx_set_namespace(io, spec.rbd_namespace.c_str());
	const char *snap = spec.rbd_snap.empty() ? nullptr : spec.rbd_snap.c_str();
	rbd_image_t image = nullptr;
	bool read_only = access == Access::probe || spec.read_only;
	r = read_only ? rbd_open_read_only(io, name.c_str(), &image, snap)
	              : rbd_open(io, name.c_str(), &image, snap);
	if (r < 0)
		return rados_error(r, where + (snap ? "@" + spec.rbd_snap : std::string()) +
		                              ": cannot open the image");
	img.image_.reset(image);
	if (access == Access::serve && !read_only) {
		uint64_t features = 0;
		if (rbd_get_features(image, &features) == 0 &&
		    (features & RBD_FEATURE_EXCLUSIVE_LOCK)) {
			// A predecessor that died holding the lock: break it (which
			// blocklists that client, so no late write of it lands) instead
			// of waiting for its watch to time out.
			if (!dead_owner.empty() && img.lock_owner() == dead_owner)
				(void)rbd_lock_break(image, RBD_LOCK_MODE_EXCLUSIVE,
				                     dead_owner.c_str());
			// Held until close and never handed over on request: a second
			// writer is refused instead of taking turns with us.
			r = rbd_lock_acquire(image, RBD_LOCK_MODE_EXCLUSIVE);
			if (r < 0)
				return rados_error(
				        r, where + ": cannot take the image's exclusive lock "
				                   "(is it mapped for writing elsewhere?)");
		}
	}
	return img;
}

Result<RbdImageInfo> RbdImage::info() const
{
	RbdImageInfo info;
	int r = rbd_get_size(image(), &info.size);
	if (r < 0)
		return rados_error(r, "cannot read the image's size");
	uint64_t features = 0;
	if (rbd_get_features(image(), &features) == 0)
		info.exclusive_lock = features & RBD_FEATURE_EXCLUSIVE_LOCK;
	rbd_image_info_t stat{};
	if (rbd_stat(image(), &stat, sizeof(stat)) == 0)
		info.object_size = stat.obj_size;
	return info;
}

} // namespace vduse
