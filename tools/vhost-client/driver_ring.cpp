#include "driver_ring.h"

#include <atomic>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>

namespace vduse::client
{

namespace
{

constexpr size_t page = 4096;

size_t round_page(size_t n)
{
	return (n + page - 1) / page * page;
}

size_t used_offset(uint16_t size)
{
	return round_page(sizeof(vring::Desc) * size + vring::avail_bytes(size));
}

} // namespace

size_t DriverRing::bytes_needed(uint16_t size)
{
	return used_offset(size) + round_page(vring::used_bytes(size));
}

DriverRing::DriverRing(DriverMemory &memory, uint64_t offset, uint32_t index, uint16_t size)
        : memory_(memory), offset_(offset), index_(index), size_(size)
{
	desc_ = memory_.at<vring::Desc>(offset_);
	avail_ = memory_.at<uint16_t>(offset_ + sizeof(vring::Desc) * size_);
	used_ = memory_.at<uint16_t>(offset_ + used_offset(size_));
}

Status DriverRing::attach(VhostVdpaDevice &device, uint16_t announced_size, uint64_t announced_desc)
{
	std::memset(memory_.at<uint8_t>(offset_), 0, bytes_needed(size_));
	avail_shadow_ = 0;
	last_used_ = 0;
	free_.clear();
	for (uint16_t i = size_; i-- > 0;)
		free_.push_back(i);
	kick_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	call_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!kick_fd_ || !call_fd_)
		return errno_error("eventfd");
	VringSetup v;
	v.index = index_;
	v.size = announced_size ? announced_size : size_;
	v.desc = announced_desc ? announced_desc : memory_.iova(desc_);
	v.avail = memory_.iova(avail_);
	v.used = memory_.iova(used_);
	v.kick_fd = kick_fd_.get();
	v.call_fd = call_fd_.get();
	return device.setup_vring(v);
}

std::optional<std::vector<uint16_t>> DriverRing::alloc(size_t count)
{
	if (free_.size() < count)
		return std::nullopt;
	std::vector<uint16_t> out(free_.end() - static_cast<ptrdiff_t>(count), free_.end());
	free_.resize(free_.size() - count);
	for (size_t i = 0; i + 1 < out.size(); ++i) {
		desc_[out[i]].flags = vring::desc_f_next;
		desc_[out[i]].next = out[i + 1];
	}
	desc_[out.back()].flags = 0;
	desc_[out.back()].next = 0;
	return out;
}

void DriverRing::release_chain(uint16_t head)
{
	uint16_t i = head;
	for (uint16_t n = 0; n < size_; ++n) {
		free_.push_back(i);
		if (!(desc_[i].flags & vring::desc_f_next))
			return;
		i = desc_[i].next;
	}
}

void DriverRing::place(uint16_t head)
{
	avail_[2 + (avail_shadow_ % size_)] = head;
	++avail_shadow_;
}

void DriverRing::publish(uint16_t head)
{
	place(head);
	std::atomic_ref<uint16_t>(avail_[1]).store(avail_shadow_, std::memory_order_release);
}

void DriverRing::kick()
{
	std::atomic_thread_fence(std::memory_order_seq_cst);
	if (std::atomic_ref<uint16_t>(used_[0]).load(std::memory_order_acquire) &
	    vring::used_f_no_notify)
		return;
	force_kick();
}

void DriverRing::force_kick()
{
	uint64_t one = 1;
	// An eventfd write fails only on overflow, when a kick is pending anyway.
	[[maybe_unused]] ssize_t written = ::write(kick_fd_.get(), &one, sizeof(one));
}

bool DriverRing::wait_call(int timeout_ms)
{
	pollfd p{call_fd_.get(), POLLIN, 0};
	if (::poll(&p, 1, timeout_ms) <= 0)
		return false;
	uint64_t count;
	return ::read(call_fd_.get(), &count, sizeof(count)) == sizeof(count);
}

bool DriverRing::has_used() const
{
	return std::atomic_ref<uint16_t>(used_[1]).load(std::memory_order_acquire) != last_used_;
}

std::optional<vring::UsedElem> DriverRing::next_used()
{
	if (!has_used())
		return std::nullopt;
	vring::UsedElem elem;
	std::memcpy(&elem,
	            reinterpret_cast<uint8_t *>(used_ + 2) +
	                    sizeof(vring::UsedElem) * (last_used_ % size_),
	            sizeof(elem));
	++last_used_;
	return elem;
}

} // namespace vduse::client
