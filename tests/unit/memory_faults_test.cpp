// MemoryFaults against real SIGBUS: a shared mapping of a memfd that is
// shrunk under it, as a VMM may do to the memory it gave the device.
#include "base/mapping.h"
#include "base/unique_fd.h"
#include "vduse/memory_faults.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

namespace vduse
{
namespace
{

struct ShrunkFile {
	UniqueFd fd;
	Mapping mapping;
	size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

	ShrunkFile()
	{
		fd.reset(::memfd_create("memory-faults-test", MFD_CLOEXEC));
		EXPECT_TRUE(fd);
		EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(4 * page)), 0);
		void *addr =
		        ::mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
		EXPECT_NE(addr, MAP_FAILED);
		mapping = Mapping(addr, 4 * page);
		static_cast<volatile uint8_t *>(addr)[0] = 1;
		// Only the first page is left: the others fault.
		EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(page)), 0);
	}
	volatile uint8_t *at(size_t offset) const
	{
		return static_cast<volatile uint8_t *>(mapping.data()) + offset;
	}
};

TEST(MemoryFaults, AWatchedMissingPageBecomesAnonymousAndIsCounted)
{
	MemoryFaults &faults = MemoryFaults::instance();
	faults.install();
	ShrunkFile file;
	auto watch = faults.watch(file.mapping.data(), file.mapping.size(), 0x100000);
	ASSERT_TRUE(watch.active());
	uint64_t before = faults.count();
	*file.at(2 * file.page + 5) = 7; // past the end: SIGBUS, handled
	EXPECT_EQ(*file.at(2 * file.page + 5), 7);
	EXPECT_EQ(faults.count(), before + 1);
	EXPECT_EQ(faults.last_iova(), 0x100000 + 2 * file.page + 5);
	// The page before the end is the file's as it was.
	EXPECT_EQ(*file.at(0), 1);
	// Another missing page is one more fault; the patched one is not.
	EXPECT_EQ(*file.at(3 * file.page), 0);
	EXPECT_EQ(*file.at(2 * file.page + 6), 0);
	EXPECT_EQ(faults.count(), before + 2);
}

TEST(MemoryFaults, AnUnwatchedMappingStillDiesOfSigbus)
{
	MemoryFaults::instance().install();
	EXPECT_EXIT(
	        {
		        ShrunkFile file;
		        *file.at(2 * file.page) = 7;
		        ::_exit(0);
	        },
	        ::testing::KilledBySignal(SIGBUS), "");
}

TEST(MemoryFaults, AReleasedWatchNoLongerCovers)
{
	MemoryFaults &faults = MemoryFaults::instance();
	faults.install();
	EXPECT_EXIT(
	        {
		        ShrunkFile file;
		        {
			        auto watch =
			                faults.watch(file.mapping.data(), file.mapping.size(), 0);
		        }
		        *file.at(2 * file.page) = 7;
		        ::_exit(0);
	        },
	        ::testing::KilledBySignal(SIGBUS), "");
}

} // namespace
} // namespace vduse
