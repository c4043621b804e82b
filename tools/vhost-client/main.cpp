// vduse-vhost-client: drives a virtio-blk device over /dev/vhost-vdpa-N as a
// VMM would, to test and measure the VM path without a VM.
#include "base/size.h"
#include "modes.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <linux/virtio_config.h>

using namespace vduse;
using namespace vduse::client;

namespace
{

int info(BlkSession &s)
{
	const virtio_blk_config &c = s.config();
	std::printf("device: %s\nfeatures: %#llx (negotiated %#llx)\nmax ring size: %u\n"
	            "capacity: %llu sectors\nblock size: %u\nqueues: %u\nread-only: %s\n",
	            s.device().path().c_str(),
	            static_cast<unsigned long long>(s.device().device_features()),
	            static_cast<unsigned long long>(s.device().features()),
	            s.device().max_ring_size(), static_cast<unsigned long long>(c.capacity),
	            s.block_size(), s.has_feature(VIRTIO_BLK_F_MQ) ? c.num_queues : 1,
	            s.read_only() ? "yes" : "no");
	return 0;
}

int run(int argc, char **argv)
{
	CLI::App app{
	        "Drive a virtio-blk device over /dev/vhost-vdpa-N as a VMM would: verified I/O, "
	        "throughput, and a driver that breaks the rules on purpose."};
	app.require_subcommand(1);
	std::string path;
	SessionOptions so;
	std::string max_io = "1M", chunk = "2M";
	app.add_option("-d,--device", path, "the vhost-vdpa node, e.g. /dev/vhost-vdpa-0")
	        ->required();
	app.add_option("-q,--queues", so.queues, "queues to use")->check(CLI::Range(1, 64));
	app.add_option("-D,--depth", so.depth, "requests in flight per queue")
	        ->check(CLI::Range(1, 1024));
	app.add_option("--max-io", max_io, "largest request, e.g. 1M (default 1M)");
	app.add_option("--iotlb-chunk", chunk,
	               "announce the driver memory in IOTLB entries of this size; 0: one entry "
	               "(default 2M)");
	bool no_indirect = false;
	app.add_flag("--no-indirect", no_indirect, "do not negotiate indirect descriptors");

	VerifyOptions vo;
	auto *verify = app.add_subcommand("verify", "random verified I/O over every layout");
	verify->add_option("-t,--seconds", vo.seconds, "how long (default 5)");
	verify->add_option("-n,--requests", vo.requests, "requests per queue instead of a time");
	verify->add_option("--seed", vo.seed, "random seed");
	verify->add_flag("--null", vo.null_device, "the device reads zeros and drops writes");
	verify->add_flag("--initial-zero", vo.initial_zero,
	                 "the device reads zeros where nothing was written yet");
	bool no_trim = false;
	verify->add_flag("--no-trim", no_trim, "no DISCARD or WRITE_ZEROES");
	verify->add_flag("--read-only", vo.read_only, "writes must fail with IOERR");
	verify->add_option("--serial", vo.serial, "GET_ID must return this");
	verify->add_option("--expected-image", vo.expected_image,
	                   "write what the device should now hold into this file");
	std::vector<std::string> layouts;
	verify->add_option("--layouts", layouts,
	                   "descriptor layouts to use: simple, split, merged, indirect, "
	                   "unaligned (default: all)")
	        ->delimiter(',');

	BenchOptions bo;
	std::string block = "4K";
	auto *bench = app.add_subcommand("bench", "random I/O of one size at a fixed depth");
	bench->add_option("-t,--seconds", bo.seconds, "measured time (default 5)");
	bench->add_option("--ramp", bo.ramp, "unmeasured time first (default 1)");
	bench->add_flag("--write", bo.write, "writes instead of reads");
	bench->add_option("-b,--block", block, "request size (default 4K)");
	bench->add_flag("--json", bo.json, "one JSON object");

	HostileOptions ho;
	auto *hostile = app.add_subcommand("hostile", "malformed rings and requests");
	hostile->add_option("--case", ho.only, "run only this case");
	hostile->add_flag("--list", ho.list, "list the cases");
	hostile->add_flag("--async-backend", ho.async_backend,
	                  "the device completes reads later (file, loop): test a head offered "
	                  "twice");
	hostile->add_flag("--target-process", ho.target_process,
	                  "the data is read and written by a vhost-user target, not vdused");
	hostile->add_flag("--server-down", ho.server_down,
	                  "the device's server is down: good requests are held, and each reset "
	                  "with one held must be answered within 5 s");

	OutageOptions oo;
	auto *outage = app.add_subcommand(
	        "outage", "writes in flight that cannot finish, then a reset: answered at once, "
	                  "and the memory left alone");
	outage->add_option("-n,--requests", oo.requests, "writes in flight (default 8)");
	outage->add_flag("--reads", oo.reads,
	                 "every other request a read, whose buffer must stay untouched");
	outage->add_option("--hold", oo.hold, "seconds before the reset (default 2)");
	outage->add_option("--watch", oo.watch, "seconds to watch afterwards (default 5)");
	outage->add_option("--reset-limit-ms", oo.reset_limit_ms,
	                   "longest acceptable reset (default 5000)");
	outage->add_flag("--iotlb-change", oo.iotlb_change,
	                 "add an IOTLB entry instead of resetting: answered at once, and the "
	                 "held requests finish with OK within --watch");
	outage->add_flag("--iotlb-remap", oo.iotlb_remap,
	                 "like --iotlb-change, but announce all the driver memory again in "
	                 "entries of another size: every region the device mapped changes")
	        ->excludes("--iotlb-change");
	std::string held_status = "ok";
	outage->add_option("--held-status", held_status,
	                   "what the held requests finish with after the IOTLB change: ok "
	                   "(default) or ioerr")
	        ->check(CLI::IsMember({"ok", "ioerr"}));

	FloodOptions fo;
	auto *flood = app.add_subcommand(
	        "flood", "the largest requests the device allows, kept in flight (with the "
	                 "same driver memory under every segment)");
	flood->add_option("-n,--requests", fo.requests, "requests in flight (default 32)");
	flood->add_option("--segments", fo.segments, "segments per request (default seg_max)");
	flood->add_option("--segment-bytes", fo.segment_bytes,
	                  "bytes per segment, a multiple of 512 (default size_max, at most 1 MiB)")
	        ->check(CLI::Range(512u, 1u << 20));
	flood->add_flag("--write", fo.write, "writes instead of reads");
	flood->add_flag("--unaligned", fo.unaligned, "data at an odd address");
	flood->add_option("-t,--seconds", fo.seconds, "seconds of new requests (default 10)");
	flood->add_option("--drain", fo.drain_seconds,
	                  "seconds the requests then in flight may take (default 60)");

	auto *show = app.add_subcommand("info", "the device's features and configuration");

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		return app.exit(e);
	}
	vo.trim = !no_trim;
	oo.held_status =
	        held_status == "ioerr" ? uint8_t{VIRTIO_BLK_S_IOERR} : uint8_t{VIRTIO_BLK_S_OK};
	if (!layouts.empty()) {
		vo.layouts.clear();
		for (const std::string &name : layouts) {
			auto it = std::find_if(std::begin(all_layouts), std::end(all_layouts),
			                       [&](Layout l) { return name == layout_name(l); });
			if (it == std::end(all_layouts)) {
				(void)std::fprintf(stderr,
				                   "vduse-vhost-client: unknown layout '%s'\n",
				                   name.c_str());
				return 2;
			}
			vo.layouts.push_back(*it);
		}
	}
	so.indirect = !no_indirect;
	auto io = parse_size(max_io);
	auto ch = parse_size(chunk);
	auto bl = parse_size(block);
	if (!io || *io < 512 || *io > (16u << 20) || !ch || !bl || *bl > UINT32_MAX) {
		(void)std::fprintf(stderr,
		                   "vduse-vhost-client: bad size in --max-io '%s', --iotlb-chunk "
		                   "'%s' or --block '%s'\n",
		                   max_io.c_str(), chunk.c_str(), block.c_str());
		return 2;
	}
	so.max_io = static_cast<uint32_t>(*io);
	so.iotlb_chunk = *ch;
	bo.block = static_cast<uint32_t>(*bl);

	auto session = BlkSession::open(path, so);
	if (!session) {
		(void)std::fprintf(stderr, "vduse-vhost-client: %s\n",
		                   session.error().message.c_str());
		return 1;
	}
	if (auto st = (*session)->start(); !st) {
		(void)std::fprintf(stderr, "vduse-vhost-client: %s\n", st.error().message.c_str());
		return 1;
	}
	int rc = 0;
	if (*show)
		rc = info(**session);
	else if (*verify)
		rc = run_verify(**session, vo);
	else if (*bench)
		rc = run_bench(**session, bo);
	else if (*outage)
		rc = run_outage(**session, oo);
	else if (*flood)
		rc = run_flood(**session, fo);
	else
		rc = run_hostile(**session, ho);
	// Leave the device reset, as a VMM does when it goes.
	(void)(*session)->device().reset();
	return rc;
}

} // namespace

int main(int argc, char **argv)
{
	try {
		return run(argc, argv);
	} catch (const std::exception &e) {
		(void)std::fprintf(stderr, "vduse-vhost-client: %s\n", e.what());
		return 1;
	}
}
