#include "vhost_vdpa_device.h"

#include "linux_vhost.h"
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

namespace vduse::client
{

Result<DriverMemory> DriverMemory::create(size_t bytes, uint64_t iova_base)
{
	UniqueFd fd(::memfd_create("vduse-vhost-client", MFD_CLOEXEC));
	if (!fd)
		return errno_error("memfd_create");
	if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) < 0)
		return errno_error("cannot size the driver memory to " + std::to_string(bytes));
	void *addr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
	                    fd.get(), 0);
	if (addr == MAP_FAILED)
		return errno_error("cannot map the driver memory");
	return DriverMemory(std::move(fd), Mapping(addr, bytes), iova_base);
}

Status DriverMemory::truncate_file(size_t bytes) const
{
	if (::ftruncate(fd_.get(), static_cast<off_t>(bytes)) < 0)
		return errno_error("cannot truncate the driver memory to " + std::to_string(bytes));
	return {};
}

Result<VhostVdpaDevice> VhostVdpaDevice::open(const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
	if (!fd)
		return errno_error("cannot open " + path);
	VhostVdpaDevice dev(std::move(fd), path);
	int f = dev.fd_.get();
	if (::ioctl(f, VHOST_SET_OWNER) < 0)
		return errno_error(path + ": VHOST_SET_OWNER");
	uint32_t id = 0;
	if (::ioctl(f, VHOST_VDPA_GET_DEVICE_ID, &id) < 0)
		return errno_error(path + ": VHOST_VDPA_GET_DEVICE_ID");
	if (id != VIRTIO_ID_BLOCK)
		return failure(path + ": virtio device id " + std::to_string(id) +
		               ", not a block device");
	uint64_t backend = 0;
	if (::ioctl(f, VHOST_GET_BACKEND_FEATURES, &backend) < 0)
		return errno_error(path + ": VHOST_GET_BACKEND_FEATURES");
	uint64_t want =
	        (1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2) | (1ULL << VHOST_BACKEND_F_IOTLB_BATCH);
	if ((backend & want) != want)
		return failure(path + ": the device lacks IOTLB_MSG_V2 or IOTLB_BATCH");
	if (::ioctl(f, VHOST_SET_BACKEND_FEATURES, &want) < 0)
		return errno_error(path + ": VHOST_SET_BACKEND_FEATURES");
	if (::ioctl(f, VHOST_GET_FEATURES, &dev.device_features_) < 0)
		return errno_error(path + ": VHOST_GET_FEATURES");
	if (::ioctl(f, VHOST_VDPA_GET_VRING_NUM, &dev.max_ring_size_) < 0)
		return errno_error(path + ": VHOST_VDPA_GET_VRING_NUM");
	if (::ioctl(f, VHOST_VDPA_GET_CONFIG_SIZE, &dev.config_size_) < 0)
		return errno_error(path + ": VHOST_VDPA_GET_CONFIG_SIZE");
	return dev;
}

std::vector<uint8_t> VhostVdpaDevice::config() const
{
	std::vector<uint8_t> buf(sizeof(vhost_vdpa_config) + config_size_);
	auto *cfg = reinterpret_cast<vhost_vdpa_config *>(buf.data());
	cfg->off = 0;
	cfg->len = config_size_;
	if (::ioctl(fd_.get(), VHOST_VDPA_GET_CONFIG, cfg) < 0)
		return {};
	return {buf.begin() + sizeof(vhost_vdpa_config), buf.end()};
}

Status VhostVdpaDevice::set_status(uint8_t status)
{
	if (::ioctl(fd_.get(), VHOST_VDPA_SET_STATUS, &status) < 0)
		return errno_error(path_ + ": VHOST_VDPA_SET_STATUS " + std::to_string(status));
	status_ = status;
	return {};
}

Result<uint8_t> VhostVdpaDevice::status() const
{
	uint8_t status = 0;
	if (::ioctl(fd_.get(), VHOST_VDPA_GET_STATUS, &status) < 0)
		return errno_error(path_ + ": VHOST_VDPA_GET_STATUS");
	return status;
}

Status VhostVdpaDevice::reset()
{
	return set_status(0);
}

Status VhostVdpaDevice::negotiate(uint64_t features)
{
	if (auto st = reset(); !st)
		return st;
	if (auto st = set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER); !st)
		return st;
	features_ = features & device_features_;
	if (::ioctl(fd_.get(), VHOST_SET_FEATURES, &features_) < 0)
		return errno_error(path_ + ": VHOST_SET_FEATURES");
	return add_status(VIRTIO_CONFIG_S_FEATURES_OK, "refused the features");
}

Status VhostVdpaDevice::iotlb_message(uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr,
                                      uint8_t perm)
{
	vhost_msg_v2 msg{};
	msg.type = VHOST_IOTLB_MSG_V2;
	msg.iotlb.iova = iova;
	msg.iotlb.size = size;
	msg.iotlb.uaddr = uaddr;
	msg.iotlb.perm = perm;
	msg.iotlb.type = type;
	if (::write(fd_.get(), &msg, sizeof(msg)) != sizeof(msg))
		return errno_error(path_ + ": IOTLB message type " + std::to_string(type) + " at " +
		                   std::to_string(iova));
	return {};
}

Status VhostVdpaDevice::map(uint64_t iova, uint64_t size, const void *uaddr, uint8_t perm,
                            uint64_t chunk)
{
	return map_batch(false, iova, size, uaddr, perm, chunk);
}

Status VhostVdpaDevice::remap(uint64_t iova, uint64_t size, const void *uaddr, uint8_t perm,
                              uint64_t chunk)
{
	return map_batch(true, iova, size, uaddr, perm, chunk);
}

Status VhostVdpaDevice::map_batch(bool invalidate_first, uint64_t iova, uint64_t size,
                                  const void *uaddr, uint8_t perm, uint64_t chunk)
{
	if (chunk == 0)
		chunk = size;
	if (auto st = iotlb_message(VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0, 0); !st)
		return st;
	if (invalidate_first) {
		if (auto st = iotlb_message(VHOST_IOTLB_INVALIDATE, iova, size, 0, 0); !st)
			return st;
	}
	auto addr = reinterpret_cast<uint64_t>(uaddr);
	for (uint64_t done = 0; done < size; done += chunk) {
		uint64_t len = std::min(chunk, size - done);
		if (auto st =
		            iotlb_message(VHOST_IOTLB_UPDATE, iova + done, len, addr + done, perm);
		    !st)
			return st;
	}
	return iotlb_message(VHOST_IOTLB_BATCH_END, 0, 0, 0, 0);
}

Status VhostVdpaDevice::unmap(uint64_t iova, uint64_t size)
{
	if (auto st = iotlb_message(VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0, 0); !st)
		return st;
	if (auto st = iotlb_message(VHOST_IOTLB_INVALIDATE, iova, size, 0, 0); !st)
		return st;
	return iotlb_message(VHOST_IOTLB_BATCH_END, 0, 0, 0, 0);
}

Status VhostVdpaDevice::setup_vring(const VringSetup &v)
{
	int f = fd_.get();
	std::string what = path_ + ": queue " + std::to_string(v.index) + ": ";
	vhost_vring_state num{v.index, v.size};
	if (::ioctl(f, VHOST_SET_VRING_NUM, &num) < 0)
		return errno_error(what + "VHOST_SET_VRING_NUM " + std::to_string(v.size));
	vhost_vring_addr addr{};
	addr.index = v.index;
	addr.desc_user_addr = v.desc;
	addr.avail_user_addr = v.avail;
	addr.used_user_addr = v.used;
	if (::ioctl(f, VHOST_SET_VRING_ADDR, &addr) < 0)
		return errno_error(what + "VHOST_SET_VRING_ADDR");
	vhost_vring_state base{v.index, 0};
	if (::ioctl(f, VHOST_SET_VRING_BASE, &base) < 0)
		return errno_error(what + "VHOST_SET_VRING_BASE");
	vhost_vring_file kick{v.index, v.kick_fd};
	if (::ioctl(f, VHOST_SET_VRING_KICK, &kick) < 0)
		return errno_error(what + "VHOST_SET_VRING_KICK");
	vhost_vring_file call{v.index, v.call_fd};
	if (::ioctl(f, VHOST_SET_VRING_CALL, &call) < 0)
		return errno_error(what + "VHOST_SET_VRING_CALL");
	vhost_vring_state enable{v.index, 1};
	if (::ioctl(f, VHOST_VDPA_SET_VRING_ENABLE, &enable) < 0)
		return errno_error(what + "VHOST_VDPA_SET_VRING_ENABLE");
	return {};
}

Status VhostVdpaDevice::add_status(uint8_t bit, const char *refused)
{
	if (auto st = set_status(status_ | bit); !st)
		return st;
	// The device may refuse a status bit: read it back.
	auto now = status();
	if (!now)
		return now.error();
	if (!(*now & bit))
		return failure(path_ + ": the device " + refused + " (status " +
		               std::to_string(*now) + ")");
	return {};
}

Status VhostVdpaDevice::driver_ok()
{
	return add_status(VIRTIO_CONFIG_S_DRIVER_OK, "did not take DRIVER_OK");
}

} // namespace vduse::client
