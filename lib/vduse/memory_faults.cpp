#include "vduse/memory_faults.h"

#include <sys/mman.h>
#include <unistd.h>
#include <utility>

namespace vduse
{

MemoryFaults &MemoryFaults::instance()
{
	static MemoryFaults faults;
	return faults;
}

void MemoryFaults::install()
{
	if (installed_.exchange(true))
		return;
	struct sigaction action {
	};
	action.sa_sigaction = on_sigbus;
	action.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&action.sa_mask);
	(void)::sigaction(SIGBUS, &action, nullptr);
}

MemoryFaults::Watch MemoryFaults::watch(const void *base, size_t length, uint64_t iova)
{
	auto begin = reinterpret_cast<uintptr_t>(base);
	for (size_t i = 0; i < slots; ++i) {
		Range &range = ranges_[i];
		uintptr_t expected = 0;
		// Taken with a placeholder first, published whole with begin.
		if (range.begin.load(std::memory_order_relaxed) != 0 ||
		    !range.begin.compare_exchange_strong(expected, UINTPTR_MAX,
		                                         std::memory_order_acquire))
			continue;
		range.end.store(begin + length, std::memory_order_relaxed);
		range.iova.store(iova, std::memory_order_relaxed);
		range.begin.store(begin, std::memory_order_release);
		return Watch(static_cast<int>(i));
	}
	return Watch();
}

void MemoryFaults::release(int slot)
{
	ranges_[static_cast<size_t>(slot)].begin.store(0, std::memory_order_release);
}

int MemoryFaults::find(uintptr_t address) const
{
	for (size_t i = 0; i < slots; ++i) {
		uintptr_t begin = ranges_[i].begin.load(std::memory_order_acquire);
		if (begin == 0 || begin == UINTPTR_MAX || address < begin)
			continue;
		if (address < ranges_[i].end.load(std::memory_order_relaxed))
			return static_cast<int>(i);
	}
	return -1;
}

void MemoryFaults::on_sigbus(int signo, siginfo_t *info, void * /*context*/)
{
	// Only what is async-signal-safe: atomics, sysconf, mmap, signal.
	MemoryFaults &self = instance();
	auto address = reinterpret_cast<uintptr_t>(info->si_addr);
	int slot = info->si_code == BUS_ADRERR ? self.find(address) : -1;
	if (slot >= 0) {
		auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
		// The page that holds the address, from the pointer the kernel gave.
		void *start = static_cast<char *>(info->si_addr) - (address & (page - 1));
		// The missing page becomes private anonymous memory: the faulting
		// access completes when the handler returns.
		void *patched = ::mmap(start, page, PROT_READ | PROT_WRITE,
		                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (patched != MAP_FAILED) {
			const Range &range = self.ranges_[static_cast<size_t>(slot)];
			self.last_iova_.store(
			        range.iova.load(std::memory_order_relaxed) +
			                (address - range.begin.load(std::memory_order_relaxed)),
			        std::memory_order_relaxed);
			self.count_.fetch_add(1, std::memory_order_release);
			return;
		}
	}
	// Not the driver's memory: the default action, at the same access.
	(void)::signal(signo, SIG_DFL);
}

MemoryFaults::Watch::Watch(Watch &&other) noexcept : slot_(std::exchange(other.slot_, -1))
{
}

MemoryFaults::Watch &MemoryFaults::Watch::operator=(Watch &&other) noexcept
{
	if (this != &other) {
		if (slot_ >= 0)
			instance().release(slot_);
		slot_ = std::exchange(other.slot_, -1);
	}
	return *this;
}

MemoryFaults::Watch::~Watch()
{
	if (slot_ >= 0)
		instance().release(slot_);
}

} // namespace vduse
