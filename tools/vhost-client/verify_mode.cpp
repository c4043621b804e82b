// Verified I/O: each queue's thread owns a stripe of the device, keeps what
// every block should hold (a generation per block), and checks every read,
// status byte and used length against it, over every descriptor layout.
#include "modes.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <thread>

namespace vduse::client
{

namespace
{

constexpr uint32_t unknown = std::numeric_limits<uint32_t>::max();

struct Counts {
	uint64_t reads = 0, writes = 0, flushes = 0, discards = 0, zeroes = 0, ids = 0;
	uint64_t bytes = 0;
	uint64_t failures = 0;
};

struct InFlight {
	BlkCommand cmd;
	uint64_t first = 0; // block
	uint32_t blocks = 0;
	uint32_t generation = 0;
	Layout layout = Layout::simple;
	bool busy = false;
};

class QueueVerifier
{
public:
	QueueVerifier(BlkSession &s, const VerifyOptions &o, uint32_t q,
	              std::vector<uint32_t> &shadow, uint64_t first, uint64_t end)
	        : s_(s), o_(o), q_(q), shadow_(shadow), first_(first), end_(end),
	          rng_(o.seed * 7919 + q), slots_(s.options().depth),
	          head_slot_(s.ring(q).size(), -1), busy_(end - first, 0)
	{
	}

	void run(std::chrono::steady_clock::time_point deadline);
	Counts counts;
	std::string error;

private:
	void fail(const std::string &what)
	{
		++counts.failures;
		if (counts.failures <= 10)
			(void)std::fprintf(stderr, "queue %u: %s\n", q_, what.c_str());
	}
	bool issue(uint16_t k);
	void complete(uint16_t k, uint32_t used_len);
	uint32_t pick_type();

	BlkSession &s_;
	const VerifyOptions &o_;
	uint32_t q_;
	std::vector<uint32_t> &shadow_;
	uint64_t first_, end_;
	std::mt19937_64 rng_;
	std::vector<InFlight> slots_;
	std::vector<int> head_slot_;
	std::vector<uint8_t> busy_;
	std::vector<uint8_t> expected_; // reused: one block as it should read
	uint32_t next_generation_ = 1;
	uint64_t issued_ = 0;
};

uint32_t QueueVerifier::pick_type()
{
	bool can_trim = o_.trim && !o_.read_only;
	for (;;) {
		uint32_t r = static_cast<uint32_t>(rng_() % 100);
		if (r < 45)
			return VIRTIO_BLK_T_OUT;
		if (r < 85)
			return VIRTIO_BLK_T_IN;
		if (r < 89 && s_.has_feature(VIRTIO_BLK_F_FLUSH))
			return VIRTIO_BLK_T_FLUSH;
		if (r < 93 && can_trim && s_.has_feature(VIRTIO_BLK_F_DISCARD))
			return VIRTIO_BLK_T_DISCARD;
		if (r < 97 && can_trim && s_.has_feature(VIRTIO_BLK_F_WRITE_ZEROES))
			return VIRTIO_BLK_T_WRITE_ZEROES;
		if (r >= 97)
			return VIRTIO_BLK_T_GET_ID;
	}
}

bool QueueVerifier::issue(uint16_t k)
{
	InFlight &f = slots_[k];
	const Slot &slot = s_.slot(q_, k);
	uint32_t bs = s_.block_size();
	uint32_t max_blocks = std::max<uint32_t>(1, s_.options().max_io / bs);
	f = InFlight{};
	f.cmd.type = pick_type();
	f.layout = o_.layouts[rng_() % o_.layouts.size()];
	if (!s_.has_feature(vring::f_indirect_desc) && f.layout == Layout::indirect)
		f.layout = Layout::simple;
	f.cmd.data = BlkSession::data_for(slot, f.layout, rng_);
	switch (f.cmd.type) {
	case VIRTIO_BLK_T_FLUSH:
		break;
	case VIRTIO_BLK_T_GET_ID:
		f.cmd.len = VIRTIO_BLK_ID_BYTES;
		std::memset(f.cmd.data, 0, f.cmd.len);
		break;
	default: {
		// Mostly small requests, sometimes up to max_io; never over a block
		// that a request in flight uses.
		uint32_t blocks = rng_() % 2 ? 1 + static_cast<uint32_t>(rng_() % 8)
		                             : 1 + static_cast<uint32_t>(rng_() % max_blocks);
		blocks = static_cast<uint32_t>(std::min<uint64_t>(
		        {uint64_t{blocks}, uint64_t{max_blocks}, end_ - first_}));
		uint64_t first = 0;
		bool found = false;
		for (int attempt = 0; attempt < 8 && !found; ++attempt) {
			first = first_ + rng_() % (end_ - first_ - blocks + 1);
			found = true;
			for (uint32_t b = 0; b < blocks; ++b)
				found = found && !busy_[first - first_ + b];
		}
		if (!found)
			return false;
		f.first = first;
		f.blocks = blocks;
		f.cmd.sector = first * (bs / 512);
		if (f.cmd.type == VIRTIO_BLK_T_IN) {
			f.cmd.len = blocks * bs;
			std::memset(f.cmd.data, 0x5a, f.cmd.len);
		} else if (f.cmd.type == VIRTIO_BLK_T_OUT) {
			f.cmd.len = blocks * bs;
			f.generation = next_generation_++ * 64 + q_ + 1;
			for (uint32_t b = 0; b < blocks; ++b)
				fill_pattern(f.cmd.data + size_t{b} * bs, bs, first + b,
				             f.generation);
		} else {
			virtio_blk_discard_write_zeroes seg{};
			seg.sector = f.cmd.sector;
			seg.num_sectors = blocks * (bs / 512);
			seg.flags = f.cmd.type == VIRTIO_BLK_T_WRITE_ZEROES && rng_() % 2
			                    ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP
			                    : 0;
			std::memcpy(f.cmd.data, &seg, sizeof(seg));
			f.cmd.len = sizeof(seg);
		}
		for (uint32_t b = 0; b < blocks; ++b)
			busy_[first - first_ + b] = 1;
	}
	}
	auto head = s_.submit(q_, k, f.cmd, f.layout, rng_);
	if (!head) {
		for (uint32_t b = 0; b < f.blocks; ++b)
			busy_[f.first - first_ + b] = 0;
		return false;
	}
	f.busy = true;
	head_slot_[*head] = k;
	++issued_;
	return true;
}

void QueueVerifier::complete(uint16_t k, uint32_t used_len)
{
	InFlight &f = slots_[k];
	const Slot &slot = s_.slot(q_, k);
	uint32_t bs = s_.block_size();
	uint8_t status = *slot.answer;
	bool writes = f.cmd.type == VIRTIO_BLK_T_OUT || f.cmd.type == VIRTIO_BLK_T_DISCARD ||
	              f.cmd.type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint8_t expect = writes && o_.read_only ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	if (writes && o_.read_only && f.cmd.type != VIRTIO_BLK_T_OUT)
		expect = VIRTIO_BLK_S_UNSUPP;
	std::string what = std::string("type ") + std::to_string(f.cmd.type) + " sector " +
	                   std::to_string(f.cmd.sector) + " len " + std::to_string(f.cmd.len) +
	                   " layout " + layout_name(f.layout);
	if (status != expect)
		fail(what + ": status " + std::to_string(status) + ", expected " +
		     std::to_string(expect));
	uint32_t want_len = 1;
	if (status == VIRTIO_BLK_S_OK && f.cmd.type == VIRTIO_BLK_T_IN)
		want_len = f.cmd.len + 1;
	if (f.cmd.type == VIRTIO_BLK_T_GET_ID)
		want_len = used_len; // at most 21, checked below
	if (used_len != want_len || used_len > f.cmd.len + 1)
		fail(what + ": used length " + std::to_string(used_len) + ", expected " +
		     std::to_string(want_len));
	expected_.resize(bs);
	switch (f.cmd.type) {
	case VIRTIO_BLK_T_IN:
		++counts.reads;
		counts.bytes += f.cmd.len;
		for (uint32_t b = 0; b < f.blocks && status == VIRTIO_BLK_S_OK; ++b) {
			uint32_t gen = o_.null_device ? 0 : shadow_[f.first + b];
			if (gen == unknown)
				continue;
			fill_pattern(expected_.data(), bs, f.first + b, gen);
			if (std::memcmp(expected_.data(), f.cmd.data + size_t{b} * bs, bs) != 0)
				fail(what + ": block " + std::to_string(f.first + b) +
				     " does not hold generation " + std::to_string(gen));
		}
		break;
	case VIRTIO_BLK_T_OUT:
		++counts.writes;
		counts.bytes += f.cmd.len;
		if (status == VIRTIO_BLK_S_OK && !o_.null_device)
			for (uint32_t b = 0; b < f.blocks; ++b)
				shadow_[f.first + b] = f.generation;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		bool zero = f.cmd.type == VIRTIO_BLK_T_WRITE_ZEROES;
		++(zero ? counts.zeroes : counts.discards);
		if (status == VIRTIO_BLK_S_OK && !o_.null_device)
			for (uint32_t b = 0; b < f.blocks; ++b)
				shadow_[f.first + b] = zero ? 0 : unknown;
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		++counts.flushes;
		break;
	case VIRTIO_BLK_T_GET_ID:
		++counts.ids;
		if (!o_.serial.empty()) {
			std::string id(
			        reinterpret_cast<char *>(f.cmd.data),
			        strnlen(reinterpret_cast<char *>(f.cmd.data), VIRTIO_BLK_ID_BYTES));
			if (id != o_.serial.substr(0, VIRTIO_BLK_ID_BYTES))
				fail("GET_ID returned '" + id + "', expected '" + o_.serial + "'");
		}
		break;
	default:
		break;
	}
	for (uint32_t b = 0; b < f.blocks; ++b)
		busy_[f.first - first_ + b] = 0;
	f.busy = false;
}

void QueueVerifier::run(std::chrono::steady_clock::time_point deadline)
{
	DriverRing &ring = s_.ring(q_);
	uint16_t depth = s_.options().depth;
	unsigned in_flight = 0;
	auto more = [&] {
		return o_.requests ? issued_ < o_.requests
		                   : std::chrono::steady_clock::now() < deadline;
	};
	while (more() || in_flight > 0) {
		bool issued = false;
		for (uint16_t k = 0; k < depth && more(); ++k) {
			if (!slots_[k].busy && issue(k)) {
				++in_flight;
				issued = true;
			}
		}
		if (issued)
			ring.kick();
		if (in_flight == 0)
			continue;
		if (!ring.wait_call(10000)) {
			error = "queue " + std::to_string(q_) + ": no completion in 10 s with " +
			        std::to_string(in_flight) + " request(s) in flight";
			return;
		}
		while (auto used = ring.next_used()) {
			if (used->id >= head_slot_.size() || head_slot_[used->id] < 0) {
				error = "queue " + std::to_string(q_) +
				        ": the device completed head " + std::to_string(used->id) +
				        ", which is not in flight";
				return;
			}
			auto k = static_cast<uint16_t>(head_slot_[used->id]);
			head_slot_[used->id] = -1;
			ring.release_chain(static_cast<uint16_t>(used->id));
			complete(k, used->len);
			--in_flight;
		}
	}
}

Status dump_expected(BlkSession &s, const std::vector<uint32_t> &shadow, const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
	if (!fd)
		return errno_error("cannot create " + path);
	uint32_t bs = s.block_size();
	std::vector<uint8_t> block(bs);
	for (uint64_t b = 0; b < shadow.size(); ++b) {
		if (shadow[b] == unknown)
			return failure("block " + std::to_string(b) + " has unknown content");
		fill_pattern(block.data(), bs, b, shadow[b]);
		if (::write(fd.get(), block.data(), bs) != static_cast<ssize_t>(bs))
			return errno_error("writing " + path);
	}
	return {};
}

} // namespace

int run_verify(BlkSession &s, const VerifyOptions &o)
{
	uint64_t blocks = s.capacity_bytes() / s.block_size();
	uint32_t queues = s.options().queues;
	if (blocks < queues * 16ULL) {
		(void)std::fprintf(stderr, "the device is too small to verify (%llu blocks)\n",
		                   static_cast<unsigned long long>(blocks));
		return 1;
	}
	std::vector<uint32_t> shadow(blocks, o.initial_zero ? 0 : unknown);
	std::vector<std::unique_ptr<QueueVerifier>> verifiers;
	for (uint32_t q = 0; q < queues; ++q)
		verifiers.push_back(std::make_unique<QueueVerifier>(
		        s, o, q, shadow, blocks * q / queues, blocks * (q + 1) / queues));
	auto deadline = std::chrono::steady_clock::now() +
	                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
	                        std::chrono::duration<double>(o.seconds));
	std::vector<std::thread> threads;
	threads.reserve(verifiers.size());
	for (auto &v : verifiers)
		threads.emplace_back([&v, deadline] { v->run(deadline); });
	for (auto &t : threads)
		t.join();
	bool ok = true;
	for (uint32_t q = 0; q < queues; ++q) {
		const Counts &c = verifiers[q]->counts;
		std::printf("queue %u: %llu reads, %llu writes, %llu flushes, %llu discards, "
		            "%llu write-zeroes, %llu get-id, %llu MiB, %llu failure(s)\n",
		            q, static_cast<unsigned long long>(c.reads),
		            static_cast<unsigned long long>(c.writes),
		            static_cast<unsigned long long>(c.flushes),
		            static_cast<unsigned long long>(c.discards),
		            static_cast<unsigned long long>(c.zeroes),
		            static_cast<unsigned long long>(c.ids),
		            static_cast<unsigned long long>(c.bytes >> 20),
		            static_cast<unsigned long long>(c.failures));
		if (!verifiers[q]->error.empty()) {
			(void)std::fprintf(stderr, "%s\n", verifiers[q]->error.c_str());
			ok = false;
		}
		ok = ok && c.failures == 0 && c.reads + c.writes > 0;
	}
	if (ok && !o.expected_image.empty()) {
		if (auto st = dump_expected(s, shadow, o.expected_image); !st) {
			(void)std::fprintf(stderr, "%s\n", st.error().message.c_str());
			ok = false;
		}
	}
	std::printf("verify: %s\n", ok ? "passed" : "FAILED");
	return ok ? 0 : 1;
}

} // namespace vduse::client
