// vdused's io_uring queue against a real file on the host: transfers that
// the kernel answers short (the end of the file), staged (unaligned) writes,
// and the failure log. The guest scenario file-005 covers the file systems
// that answer short everywhere (FUSE) and the kernel's pinning.
#include "backends/failure_log.h"
#include "backends/uring_queue.h"

#include <array>
#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sstream>
#include <unistd.h>

namespace vduse
{
namespace
{

class TempFile
{
public:
	explicit TempFile(size_t size, int flags = O_RDWR)
	{
		std::string pattern = ::testing::TempDir() + "uring_queue_testXXXXXX";
		int fd = ::mkstemp(pattern.data());
		EXPECT_GE(fd, 0);
		path_ = pattern;
		std::vector<uint8_t> bytes(size);
		for (size_t i = 0; i < size; ++i)
			bytes[i] = static_cast<uint8_t>(i * 7 + 1);
		EXPECT_EQ(::write(fd, bytes.data(), size), static_cast<ssize_t>(size));
		::close(fd);
		fd_ = ::open(path_.c_str(), flags | O_CLOEXEC);
		EXPECT_GE(fd_, 0);
	}
	~TempFile()
	{
		::close(fd_);
		::unlink(path_.c_str());
	}
	TempFile(const TempFile &) = delete;
	TempFile &operator=(const TempFile &) = delete;
	int fd() const { return fd_; }

private:
	std::string path_;
	int fd_ = -1;
};

std::shared_ptr<spdlog::logger> capture(std::ostringstream &out)
{
	auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
	auto log = std::make_shared<spdlog::logger>("test", sink);
	log->set_pattern("%v");
	return log;
}

std::unique_ptr<QueueBackend> queue(int fd, std::shared_ptr<spdlog::logger> log,
                                    uint32_t alignment = 0)
{
	UringQueue::Options options;
	options.fd = fd;
	options.direct_alignment = alignment;
	options.depth = 4;
	options.log = std::move(log);
	auto q = UringQueue::create(std::move(options));
	EXPECT_TRUE(q) << (q ? "" : q.error().message);
	return q ? std::move(*q) : nullptr;
}

uint8_t run(QueueBackend &q, const BlkRequest &req)
{
	if (auto now = q.submit(req, 0))
		return *now;
	q.flush();
	std::vector<Completion> done;
	while (done.empty())
		q.reap(done, true);
	EXPECT_EQ(done.size(), 1u);
	EXPECT_EQ(done[0].tag, 0);
	return done[0].status;
}

TEST(UringQueue, ReadPastTheEndOfTheFileIsResubmittedAndReadsZeros)
{
	TempFile file(16384);
	std::ostringstream log;
	auto q = queue(file.fd(), capture(log));
	std::array<uint8_t, 3000> a{};
	std::array<uint8_t, 5192> b{};
	a.fill(0xee);
	b.fill(0xee);
	BlkRequest req;
	req.type = VIRTIO_BLK_T_IN;
	req.offset = 16384 - 4096;
	req.data = {{a.data(), a.size()}, {b.data(), b.size()}};
	req.data_len = a.size() + b.size();
	ASSERT_EQ(run(*q, req), VIRTIO_BLK_S_OK);
	for (size_t i = 0; i < a.size(); ++i)
		ASSERT_EQ(a[i], static_cast<uint8_t>((req.offset + i) * 7 + 1)) << i;
	for (size_t i = 0; i < 4096 - a.size(); ++i)
		ASSERT_EQ(b[i], static_cast<uint8_t>((req.offset + a.size() + i) * 7 + 1)) << i;
	for (size_t i = 4096 - a.size(); i < b.size(); ++i)
		ASSERT_EQ(b[i], 0) << i;
	EXPECT_EQ(log.str(), "");
}

TEST(UringQueue, UnalignedWriteIsStagedAndLandsWhole)
{
	TempFile file(65536);
	std::ostringstream log;
	// Buffered, but told that O_DIRECT needs 512: the unaligned buffers go
	// through a staging buffer.
	auto q = queue(file.fd(), capture(log), 512);
	std::vector<uint8_t> data(8192 + 1);
	for (size_t i = 0; i < data.size(); ++i)
		data[i] = static_cast<uint8_t>(i ^ 0x5a);
	BlkRequest req;
	req.type = VIRTIO_BLK_T_OUT;
	req.offset = 4096;
	req.data = {{data.data() + 1, 4096}, {data.data() + 1 + 4096, 4096}};
	req.data_len = 8192;
	ASSERT_EQ(run(*q, req), VIRTIO_BLK_S_OK);
	std::vector<uint8_t> back(8192);
	ASSERT_EQ(::pread(file.fd(), back.data(), back.size(), 4096), 8192);
	EXPECT_TRUE(std::equal(back.begin(), back.end(), data.begin() + 1));
}

// A request larger than the staging window, as a hostile driver may send
// (seg_max x size_max): staged window after window, read and written whole.
TEST(UringQueue, ALargeStagedRequestGoesThroughWindowAfterWindow)
{
	constexpr size_t size = 7 * UringQueue::staging_window + 4096;
	TempFile file(size + 65536);
	std::ostringstream log;
	auto q = queue(file.fd(), capture(log), 512);
	// Segments of 1 MiB at odd addresses: staged.
	std::vector<uint8_t> memory(size + 1);
	auto segments = [&] {
		std::vector<iovec> iov;
		for (size_t at = 0; at < size; at += 1u << 20)
			iov.push_back(
			        {memory.data() + 1 + at, std::min<size_t>(1u << 20, size - at)});
		return iov;
	};
	BlkRequest req;
	req.type = VIRTIO_BLK_T_IN;
	req.offset = 65536;
	req.data = segments();
	req.data_len = size;
	ASSERT_EQ(run(*q, req), VIRTIO_BLK_S_OK);
	for (size_t i = 0; i < size; ++i)
		ASSERT_EQ(memory[1 + i], static_cast<uint8_t>((req.offset + i) * 7 + 1)) << i;
	for (size_t i = 0; i < size; ++i)
		memory[1 + i] = static_cast<uint8_t>(i ^ 0xa5);
	req.type = VIRTIO_BLK_T_OUT;
	ASSERT_EQ(run(*q, req), VIRTIO_BLK_S_OK);
	std::vector<uint8_t> back(size);
	ASSERT_EQ(::pread(file.fd(), back.data(), size, 65536), static_cast<ssize_t>(size));
	EXPECT_TRUE(std::equal(back.begin(), back.end(), memory.begin() + 1));
	EXPECT_LE(static_cast<UringQueue &>(*q).staging_bytes(), UringQueue::staging_window);
	EXPECT_EQ(log.str(), "");
}

// Many of the largest requests at once: the staging buffers never map more
// than the budget; the requests past it wait and are all served.
TEST(UringQueue, StagingMemoryStaysWithinTheBudgetWhateverIsAsked)
{
	constexpr uint32_t depth = 64;
	constexpr size_t size = 4u << 20; // 64 x 4 MiB asked: 256 MiB
	TempFile file(size);
	std::ostringstream log;
	UringQueue::Options options;
	options.fd = file.fd();
	options.direct_alignment = 512;
	options.depth = depth;
	options.log = capture(log);
	auto created = UringQueue::create(std::move(options));
	ASSERT_TRUE(created);
	auto &q = static_cast<UringQueue &>(**created);
	std::vector<uint8_t> memory(size + 1);
	std::vector<BlkRequest> reqs(depth);
	for (uint16_t tag = 0; tag < depth; ++tag) {
		BlkRequest &req = reqs[tag];
		req.type = VIRTIO_BLK_T_IN;
		req.offset = 0;
		for (size_t at = 0; at < size; at += 1u << 20)
			req.data.push_back({memory.data() + 1 + at, 1u << 20});
		req.data_len = size;
		ASSERT_FALSE(q.submit(req, tag));
	}
	q.flush();
	uint64_t most = q.staging_bytes();
	std::vector<Completion> done;
	while (done.size() < depth) {
		q.reap(done, true);
		most = std::max(most, q.staging_bytes());
	}
	EXPECT_LE(most, UringQueue::staging_budget);
	for (const Completion &c : done)
		EXPECT_EQ(c.status, VIRTIO_BLK_S_OK) << c.tag;
	for (size_t i = 0; i < size; i += 4099)
		ASSERT_EQ(memory[1 + i], static_cast<uint8_t>(i * 7 + 1)) << i;
	EXPECT_EQ(log.str(), "");
}

TEST(UringQueue, FailuresAreLoggedOncePerKindAndFailTheRequest)
{
	TempFile file(8192, O_WRONLY); // reads fail with EBADF
	std::ostringstream log;
	auto q = queue(file.fd(), capture(log));
	std::array<uint8_t, 4096> buffer{};
	BlkRequest req;
	req.type = VIRTIO_BLK_T_IN;
	req.offset = 4096;
	req.data = {{buffer.data(), buffer.size()}};
	req.data_len = buffer.size();
	for (int i = 0; i < 3; ++i)
		ASSERT_EQ(run(*q, req), VIRTIO_BLK_S_IOERR);
	std::string text = log.str();
	EXPECT_NE(
	        text.find(
	                "read of 4096 bytes at offset 4096 failed: Bad file descriptor (errno 9)"),
	        std::string::npos)
	        << text;
	EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

TEST(UringQueue, TheDeepestQueueAddAcceptsGetsARing)
{
	TempFile file(4096);
	UringQueue::Options options;
	options.fd = file.fd();
	options.depth = limits::queue_depth_max;
	auto q = UringQueue::create(std::move(options));
	EXPECT_TRUE(q) << (q ? "" : q.error().message);
}

TEST(FailureLog, LogsTheFirstOfAKindThenACountEveryInterval)
{
	std::ostringstream out;
	FailureLog log(capture(out));
	FailureLog::Clock::time_point t{};
	log.failed("write", 5, 0, 512, t);
	log.failed("write", 5, 512, 512, t + std::chrono::seconds(1));
	log.failed("write", 28, 1024, 512, t + std::chrono::seconds(2)); // another kind
	log.failed("write", 5, 2048, 512, t + std::chrono::seconds(3));
	std::string first = out.str();
	EXPECT_EQ(std::count(first.begin(), first.end(), '\n'), 2) << first;
	log.failed("write", 5, 4096, 512, t + FailureLog::interval);
	std::string text = out.str();
	EXPECT_NE(text.find("3 more write failures: Input/output error (errno 5), the last of 512 "
	                    "bytes at offset 4096"),
	          std::string::npos)
	        << text;
	EXPECT_EQ(log.count("write", 5), 4u);
	EXPECT_EQ(log.count("write", 28), 1u);
	EXPECT_EQ(log.count("read", 5), 0u);
}

} // namespace
} // namespace vduse
