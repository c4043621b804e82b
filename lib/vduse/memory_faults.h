// Guest memory that is not there. A VMM may give an IOTLB region whose file
// it shrinks later (ftruncate of its memfd): our accesses to the pages past
// the new end fault with SIGBUS (mm/shmem.c, shmem_fault), in a worker, in a
// library's thread (libnbd, librbd) or wherever the driver's memory is
// touched, and SIGBUS kills the process. vdused registers each mapping of a
// driver's file here; the handler puts an anonymous page where a missing
// one faulted, so that the access completes, and counts the fault. The
// queues stop at their next look at the count: the driver broke its
// memory, as for a corrupt ring. A SIGBUS anywhere else is not ours: the
// default action runs (a core dump).
#pragma once

#include <array>
#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdint>

namespace vduse
{

class MemoryFaults
{
public:
	// The process's one registry: a signal handler has no other way in.
	static MemoryFaults &instance();
	// Installs the SIGBUS handler (once per process).
	void install();

	// A registered mapping, unregistered when destroyed (before the
	// mapping goes).
	class Watch
	{
	public:
		Watch() = default;
		Watch(Watch &&other) noexcept;
		Watch &operator=(Watch &&other) noexcept;
		Watch(const Watch &) = delete;
		Watch &operator=(const Watch &) = delete;
		~Watch();
		bool active() const { return slot_ >= 0; }

	private:
		friend class MemoryFaults;
		explicit Watch(int slot) : slot_(slot) {}
		int slot_ = -1;
	};
	// Watches [base, base + length), the driver's memory at iova. An
	// inactive Watch if every slot is taken (the mapping is not covered).
	Watch watch(const void *base, size_t length, uint64_t iova);

	// Faults handled so far, and the IOVA of the last.
	uint64_t count() const { return count_.load(std::memory_order_acquire); }
	uint64_t last_iova() const { return last_iova_.load(std::memory_order_relaxed); }

private:
	MemoryFaults() = default;
	static void on_sigbus(int signo, siginfo_t *info, void *context);
	// The slot holding address, or -1.
	int find(uintptr_t address) const;
	void release(int slot);

	struct Range {
		std::atomic<uintptr_t> begin{0}; // 0: a free slot
		std::atomic<uintptr_t> end{0};
		std::atomic<uint64_t> iova{0};
	};
	// A VM's memory in 64 KiB IOTLB entries is a thousand mappings or more.
	static constexpr size_t slots = 16384;
	std::array<Range, slots> ranges_{};
	std::atomic<uint64_t> count_{0};
	std::atomic<uint64_t> last_iova_{0};
	std::atomic<bool> installed_{false};
};

} // namespace vduse
