// A Ceph RBD image opened through librados and librbd, owning the cluster
// connection, the pool's I/O context and the image. Shared by vdusectl
// (which sizes the device from it) and vdused's rbd backend.
#pragma once

#include "base/result.h"
#include "state/device_spec.h"

#include <cstdint>
#include <memory>
#include <rados/librados.h>
#include <rbd/librbd.h>

namespace vduse
{

struct RbdImageInfo {
	uint64_t size = 0;
	bool exclusive_lock = false; // the image has the exclusive-lock feature
	uint64_t object_size = 0;
};

class RbdImage
{
public:
	enum class Access {
		probe, // read-only, no lock: what vdusectl looks at
		serve, // as the spec says; writable images take the exclusive lock
	};
	// Connects as client.ID (spec.rbd_user, default admin) with spec.ceph_conf
	// (default: $CEPH_CONF, then /etc/ceph/ceph.conf) and spec.keyring, and
	// opens spec.rbd_image (at spec.rbd_snap). A finite reconnect timeout
	// bounds every OSD and monitor operation.
	// dead_owner: the lock owner a dead predecessor recorded; if it still
	// holds the lock, it is broken (and that client fenced) at once rather
	// than after librbd's watch timeout (30 s).
	static Result<RbdImage> open(const DeviceSpec &spec, Access access,
	                             const std::string &dead_owner = "");
	// Who holds the exclusive lock ("" if nobody).
	std::string lock_owner() const;

	rbd_image_t image() const { return image_.get(); }
	Result<RbdImageInfo> info() const;

private:
	struct ClusterClose {
		void operator()(void *cluster) const { rados_shutdown(cluster); }
	};
	struct IoctxClose {
		void operator()(void *io) const { rados_ioctx_destroy(io); }
	};
	struct ImageClose {
		void operator()(void *image) const { rbd_close(image); }
	};
	// Destroyed in reverse: image, then I/O context, then the connection.
	std::unique_ptr<void, ClusterClose> cluster_;
	std::unique_ptr<void, IoctxClose> ioctx_;
	std::unique_ptr<void, ImageClose> image_;
};

} // namespace vduse
