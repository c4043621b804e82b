// Throughput: each queue's thread keeps depth requests of one size in
// flight at random aligned offsets, for a ramp and then a measured time;
// IOPS, mean and 99th percentile latency, and the client's CPU per I/O.
#include "modes.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sys/resource.h>
#include <thread>

namespace vduse::client
{

namespace
{

using Clock = std::chrono::steady_clock;

struct QueueResult {
	uint64_t ios = 0;
	std::vector<uint32_t> latencies_ns; // measured phase only
	std::string error;
};

double cpu_seconds()
{
	rusage ru{};
	::getrusage(RUSAGE_SELF, &ru);
	return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void run_queue(BlkSession &s, const BenchOptions &o, uint32_t q, Clock::time_point measure_from,
               Clock::time_point until, QueueResult &out)
{
	DriverRing &ring = s.ring(q);
	uint16_t depth = s.options().depth;
	std::mt19937_64 rng(q + 1);
	uint64_t blocks = s.capacity_bytes() / o.block;
	std::vector<Clock::time_point> started(depth);
	std::vector<int> head_slot(ring.size(), -1);
	out.latencies_ns.reserve(1 << 20);
	auto submit = [&](uint16_t k) {
		BlkCommand cmd;
		cmd.type = o.write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
		cmd.sector = rng() % blocks * (o.block / 512);
		cmd.data = s.slot(q, k).data;
		cmd.len = o.block;
		auto head = s.submit(q, k, cmd, Layout::simple, rng);
		if (head) {
			head_slot[*head] = k;
			started[k] = Clock::now();
		}
		return head.has_value();
	};
	for (uint16_t k = 0; k < depth; ++k)
		if (!submit(k)) {
			out.error = "the ring is too small for depth " + std::to_string(depth);
			return;
		}
	ring.kick();
	unsigned in_flight = depth;
	bool stopping = false;
	while (in_flight > 0) {
		bool got = false;
		bool submitted = false;
		while (auto used = ring.next_used()) {
			got = true;
			auto k = static_cast<uint16_t>(head_slot[used->id]);
			ring.release_chain(static_cast<uint16_t>(used->id));
			auto now = Clock::now();
			if (now >= measure_from && !stopping) {
				++out.ios;
				out.latencies_ns.push_back(static_cast<uint32_t>(std::min<int64_t>(
				        UINT32_MAX,
				        std::chrono::duration_cast<std::chrono::nanoseconds>(
				                now - started[k])
				                .count())));
			}
			if (*s.slot(q, k).answer != VIRTIO_BLK_S_OK) {
				out.error = "request failed with status " +
				            std::to_string(*s.slot(q, k).answer);
				return;
			}
			stopping = stopping || now >= until;
			if (stopping)
				--in_flight;
			else
				submitted = submit(k) || submitted;
		}
		// Whatever went into the ring is kicked, also when the time ran
		// out later in the same batch: unkicked, it waited for ever on a
		// device that had gone to sleep (the bench's "no completion in
		// 10 s" as a point ended).
		if (submitted)
			ring.kick();
		if (!got && !ring.wait_call(10000)) {
			// Tell a device that completed without a call (an interrupt
			// lost on the way) from one that completed nothing.
			out.error = ring.has_used() ? "completions came without a call in 10 s"
			                            : "no completion in 10 s";
			out.error += " (" + std::to_string(in_flight) + " in flight)";
			return;
		}
	}
}

} // namespace

int run_bench(BlkSession &s, const BenchOptions &o)
{
	if (o.block % s.block_size() != 0 || o.block > s.options().max_io) {
		(void)std::fprintf(stderr,
		                   "block %u does not fit the device's block size or --max-io\n",
		                   o.block);
		return 2;
	}
	uint32_t queues = s.options().queues;
	auto start = Clock::now();
	auto measure_from = start + std::chrono::duration_cast<Clock::duration>(
	                                    std::chrono::duration<double>(o.ramp));
	auto until = measure_from + std::chrono::duration_cast<Clock::duration>(
	                                    std::chrono::duration<double>(o.seconds));
	std::vector<QueueResult> results(queues);
	std::vector<std::thread> threads;
	double cpu_before = 0;
	for (uint32_t q = 0; q < queues; ++q)
		threads.emplace_back(
		        [&, q] { run_queue(s, o, q, measure_from, until, results[q]); });
	std::this_thread::sleep_until(measure_from);
	cpu_before = cpu_seconds();
	for (auto &t : threads)
		t.join();
	double cpu = cpu_seconds() - cpu_before;
	std::vector<uint32_t> all;
	uint64_t ios = 0;
	for (auto &r : results) {
		if (!r.error.empty()) {
			(void)std::fprintf(stderr, "bench: %s\n", r.error.c_str());
			return 1;
		}
		ios += r.ios;
		all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
	}
	if (ios == 0) {
		(void)std::fprintf(stderr, "bench: no request completed in the measured time\n");
		return 1;
	}
	std::sort(all.begin(), all.end());
	double mean = 0;
	for (uint32_t v : all)
		mean += v;
	mean /= static_cast<double>(all.size()) * 1000;
	double p99 = all[std::min(all.size() - 1, all.size() * 99 / 100)] / 1000.0;
	double iops = static_cast<double>(ios) / o.seconds;
	double cpu_us = cpu * 1e6 / static_cast<double>(ios);
	if (o.json)
		std::printf("{\"queues\":%u,\"depth\":%u,\"rw\":\"%s\",\"block\":%u,\"iops\":%.0f,"
		            "\"mean_us\":%.1f,\"p99_us\":%.1f,\"client_cpu_us_per_io\":%.2f}\n",
		            queues, s.options().depth, o.write ? "randwrite" : "randread", o.block,
		            iops, mean, p99, cpu_us);
	else
		std::printf("queues=%u depth=%u %s bs=%u: %.0f IOPS, mean %.1f us, p99 %.1f us, "
		            "client CPU %.2f us/IO\n",
		            queues, s.options().depth, o.write ? "randwrite" : "randread", o.block,
		            iops, mean, p99, cpu_us);
	return 0;
}

} // namespace vduse::client
