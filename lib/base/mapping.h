// A move-only owner of an mmap()ed region.
#pragma once

#include <cstddef>
#include <sys/mman.h>
#include <utility>

namespace vduse
{

class Mapping
{
public:
	Mapping() = default;
	Mapping(void *addr, size_t length) : addr_(addr), length_(length) {}
	Mapping(Mapping &&other) noexcept
	        : addr_(std::exchange(other.addr_, nullptr)),
	          length_(std::exchange(other.length_, 0))
	{
	}
	Mapping &operator=(Mapping &&other) noexcept
	{
		if (this != &other) {
			unmap();
			addr_ = std::exchange(other.addr_, nullptr);
			length_ = std::exchange(other.length_, 0);
		}
		return *this;
	}
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;
	~Mapping() { unmap(); }

	void *data() const { return addr_; }
	size_t size() const { return length_; }

private:
	void unmap()
	{
		if (addr_)
			::munmap(addr_, length_);
		addr_ = nullptr;
	}
	void *addr_ = nullptr;
	size_t length_ = 0;
};

} // namespace vduse
