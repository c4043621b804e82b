// The mailbox between librbd's (or a connection's) threads and a queue's
// worker, and how a reset retires requests that cannot be taken back.
#include "backends/completion_mailbox.h"

#include <gtest/gtest.h>
#include <linux/virtio_blk.h>
#include <thread>

namespace vduse
{
namespace
{

using Posted = CompletionMailbox::Posted;

std::unique_ptr<CompletionMailbox> make_mailbox()
{
	auto mailbox = CompletionMailbox::create();
	EXPECT_TRUE(mailbox);
	return std::move(*mailbox);
}

TEST(CompletionMailbox, DeliversWhatIsPostedOnce)
{
	auto mailbox = make_mailbox();
	mailbox->post(3, VIRTIO_BLK_S_OK, mailbox->generation());
	mailbox->post(7, VIRTIO_BLK_S_IOERR, mailbox->generation());
	std::vector<Posted> out;
	std::vector<uint32_t> retired;
	mailbox->take(out, retired);
	ASSERT_EQ(out.size(), 2u);
	EXPECT_EQ(out[0].key, 3u);
	EXPECT_EQ(out[1].status, VIRTIO_BLK_S_IOERR);
	EXPECT_TRUE(retired.empty());
	out.clear();
	mailbox->take(out, retired);
	EXPECT_TRUE(out.empty());
}

TEST(CompletionMailbox, RetiredRequestsComeBackAsKeysOnly)
{
	auto mailbox = make_mailbox();
	uint64_t old = mailbox->generation();
	// Three started: one finished before the reset and not taken, two run on.
	mailbox->post(1, VIRTIO_BLK_S_OK, old);
	mailbox->retire(3);
	EXPECT_EQ(mailbox->retired_running(), 2u);
	EXPECT_NE(mailbox->generation(), old);
	// A request of the new session, and a late one of the old.
	mailbox->post(9, VIRTIO_BLK_S_OK, mailbox->generation());
	mailbox->post(2, VIRTIO_BLK_S_OK, old);
	EXPECT_EQ(mailbox->retired_running(), 1u);
	std::vector<Posted> out;
	std::vector<uint32_t> retired;
	mailbox->take(out, retired);
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0].key, 9u);
	EXPECT_EQ(retired, (std::vector<uint32_t>{1, 2}));
	mailbox->post(4, VIRTIO_BLK_S_IOERR, old);
	EXPECT_EQ(mailbox->retired_running(), 0u);
}

// A queue keyed like RbdQueue: a slot per request, free again when reaped.
class KeyedQueue final : public MailboxQueue
{
public:
	using MailboxQueue::MailboxQueue;
	std::optional<uint8_t> submit(const BlkRequest &, uint16_t) override { return {}; }
	void abandon() override { retire_in_flight(); }
	void start(SplitRequest &request, unsigned operations)
	{
		request.expect(operations, mailbox().generation());
		started();
	}
	CompletionMailbox &box() { return mailbox(); }
	std::vector<uint32_t> freed;

private:
	uint16_t tag_of(uint32_t key) override
	{
		freed.push_back(key);
		return static_cast<uint16_t>(key + 100);
	}
	void retired_finished(uint32_t key) override { freed.push_back(key); }
};

TEST(MailboxQueue, AResetLeavesRequestsRunningWithoutWaitingForThem)
{
	KeyedQueue queue(make_mailbox());
	SplitRequest a, b;
	a.key = 0;
	b.key = 1;
	queue.start(a, 2);
	queue.start(b, 1);
	a.operation_done(0, queue.box()); // one of a's two operations
	EXPECT_EQ(queue.in_flight(), 2u);
	queue.abandon();
	EXPECT_EQ(queue.in_flight(), 0u);
	EXPECT_EQ(queue.detached(), 2u);
	std::vector<Completion> out;
	queue.reap(out, true); // must not block: nothing is in flight
	EXPECT_TRUE(out.empty());
	// The next session's request finishes; so do the old ones, on a
	// thread of their own, and are not completed.
	SplitRequest c;
	c.key = 2;
	queue.start(c, 1);
	std::thread late([&] {
		a.operation_done(EIO, queue.box());
		b.operation_done(0, queue.box());
	});
	late.join();
	c.operation_done(0, queue.box());
	queue.reap(out, true);
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0].tag, 102);
	EXPECT_EQ(queue.detached(), 0u);
	EXPECT_EQ(queue.freed, (std::vector<uint32_t>{0, 1, 2}));
}

} // namespace
} // namespace vduse
