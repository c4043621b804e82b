// vdusectl resize: grow (or with --shrink, shrink) a running device. The
// backing file grows first; the record takes the new size; vdused, on SIGHUP,
// checks requests against it, writes the config space and raises a config
// interrupt (vdused/main.cpp); the driver sees the new capacity. An nbd or
// rbd device follows its server: vdused asks it, applies what it says, and
// the record takes that; so does a vhost-user device, asking its target.
#include "verb.h"

#include "base/size.h"
#include "device_report.h"
#include "state/backing_file.h"
#include "state/resize_ack.h"
#include "vdpa/vdpa_sysfs.h"
#include "worker.h"

#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <unistd.h>

namespace vduse
{

namespace
{

using namespace std::chrono_literals;

struct ResizeArgs {
	std::string name;
	std::string size; // as typed; "" takes the backing file's size
	bool shrink = false;
	std::string json;
};

// What resize changes: the device's size and, for an image file asked to
// change, the file's.
struct ResizePlan {
	uint64_t old_size = 0;
	uint64_t new_size = 0;
	uint64_t file_size = 0; // the backing file's size now (file, loop)
	bool truncate_file = false;
};

Result<ResizePlan> plan_resize(const DeviceSpec &spec, uint64_t asked, bool shrink)
{
	const std::string &name = spec.name;
	ResizePlan plan;
	plan.old_size = spec.size_bytes;
	if (is_remote_backend(spec)) {
		if (asked != 0) {
			bool rbd = spec.backend == "rbd";
			bool vhost_user = spec.backend == "vhost-user";
			return usage_error(name + ": " + (vhost_user ? "a " : "an ") +
			                   spec.backend + " device's size is its " +
			                   (vhost_user ? "target" : "server") + "'s: resize the " +
			                   (rbd          ? "image"
			                    : vhost_user ? "target's disk"
			                                 : "export") +
			                   " there, then run 'vdusectl resize " + name +
			                   "' without a size");
		}
		return plan; // the size is what vdused learns from the server
	}
	if (spec.backend == "null") {
		if (asked == 0)
			return usage_error(name + ": the null backend needs a size");
		plan.new_size = asked;
	} else {
		bool block_device = false;
		auto have = backing_size(spec.file, block_device);
		if (!have)
			return with_context(name, have.error());
		plan.file_size = *have;
		plan.new_size = asked ? asked : *have;
		if (asked > *have && block_device)
			return failure(name + ": size " + std::to_string(asked) +
			               " is larger than the block device " + spec.file + " (" +
			               std::to_string(*have) + " bytes)");
		if (asked > *have && spec.read_only)
			return failure(name + ": cannot grow " + spec.file +
			               " of a read-only device");
		plan.truncate_file = asked != 0 && asked != *have && !block_device;
	}
	if (plan.new_size % spec.block_size != 0) {
		std::string what = asked ? "size " + std::to_string(asked)
		                         : spec.file + "'s size " + std::to_string(plan.new_size);
		Error e = failure(name + ": " + what + " is not a multiple of the block size " +
		                  std::to_string(spec.block_size));
		return asked ? usage_error(e.message) : e;
	}
	if (plan.new_size < plan.old_size && !shrink) {
		std::string message =
		        name + ": " +
		        (asked ? "size " + std::to_string(asked)
		               : spec.file + " (" + std::to_string(plan.new_size) + " bytes)") +
		        " is smaller than the device (" + std::to_string(plan.old_size) +
		        " bytes); add --shrink to shrink it";
		return asked ? usage_error(message) : failure(message);
	}
	return plan;
}

Status truncate_to(const std::string &name, const std::string &file, uint64_t size)
{
	if (::truncate(file.c_str(), static_cast<off_t>(size)) < 0)
		return errno_error(name + ": cannot resize " + file + " to " +
		                   std::to_string(size) + " bytes");
	return {};
}

// Sends vdused SIGHUP and waits for its answer (state/resize_ack.h): the
// size it applied, which must be `size` unless that is 0 (a network
// backend: vdused takes its server's).
Result<uint64_t> tell_daemon(const StateDir &state, const std::string &name, pid_t pid,
                             uint64_t size)
{
	auto ack_path = state.resize_ack_path(name);
	std::error_code ec;
	std::filesystem::remove(ack_path, ec);
	if (::kill(pid, SIGHUP) < 0)
		return errno_error(name + ": cannot signal vdused (pid " + std::to_string(pid) +
		                   ")");
	auto deadline = std::chrono::steady_clock::now() + 10s;
	while (std::chrono::steady_clock::now() < deadline) {
		auto ack = read_resize_ack(ack_path);
		if (ack) {
			std::filesystem::remove(ack_path, ec);
			if (!ack->error.empty())
				return failure(ack->error);
			if (size != 0 && ack->size_bytes != size)
				return failure(name + ": vdused applied " +
				               std::to_string(ack->size_bytes) + " bytes, not " +
				               std::to_string(size));
			return ack->size_bytes;
		}
		std::this_thread::sleep_for(20ms);
	}
	return failure(name + ": vdused (pid " + std::to_string(pid) +
	               ") did not answer the resize within 10 s");
}

// Waits until the host's block device shows the new size (the virtio_blk
// driver reads the config in a work item after the interrupt).
void wait_for_driver(const std::string &name, uint64_t size)
{
	auto node = vdpa_device_node(name);
	if (!node || node->rfind("/dev/vd", 0) != 0)
		return;
	std::string sysfs = "/sys/block/" + node->substr(5) + "/size";
	auto deadline = std::chrono::steady_clock::now() + 5s;
	while (std::chrono::steady_clock::now() < deadline) {
		uint64_t sectors = 0;
		std::ifstream(sysfs) >> sectors;
		if (sectors * 512 == size)
			return;
		std::this_thread::sleep_for(20ms);
	}
	print_error(name + ": " + *node + " does not show the new size yet");
}

Status resize_record(const Context &ctx, DeviceRecord &record, uint64_t size)
{
	record.spec.size_bytes = size;
	return save_record(ctx, record);
}

// Once the driver shows the record's size: NAME SIZE, or the device as
// show --json prints it.
int print_resized(const Context &ctx, const DeviceRecord &record, JsonMode mode)
{
	uint64_t size = record.spec.size_bytes;
	wait_for_driver(record.spec.name, size);
	if (mode != JsonMode::off)
		std::cout << format_json(device_record(device_report(record, ctx.state)).to_json(),
		                         mode);
	else
		std::cout << record.spec.name << ' ' << size << '\n';
	return exit_ok;
}

int resize_device(Context &ctx, const ResizeArgs &args)
{
	auto mode = json_mode(args.json);
	if (!mode)
		return report(mode.error());
	if (auto st = validate_name(args.name); !st)
		return report(st.error());
	// +SIZE and -SIZE are relative to the device's size, as lvextend and
	// truncate take them.
	char sign = !args.size.empty() && (args.size[0] == '+' || args.size[0] == '-')
	                    ? args.size[0]
	                    : '\0';
	uint64_t asked = 0;
	if (!args.size.empty()) {
		auto parsed = parse_size(sign ? std::string_view(args.size).substr(1) : args.size);
		if (!parsed)
			return report(with_context(args.name, parsed.error()));
		if (*parsed == 0)
			return report(
			        usage_error(args.name + ": size " + args.size + " must not be 0"));
		asked = *parsed;
	}
	auto locked = lock_record(ctx, args.name);
	if (!locked)
		return report(locked.error());
	DeviceRecord &record = locked->record;
	const std::string &name = args.name;
	if (sign == '+') {
		if (asked > UINT64_MAX - record.spec.size_bytes)
			return report(usage_error(name + ": size " + args.size + " is too large"));
		asked += record.spec.size_bytes;
	} else if (sign == '-') {
		if (asked >= record.spec.size_bytes)
			return report(usage_error(name + ": size " + args.size +
			                          " leaves nothing of its " +
			                          format_size(record.spec.size_bytes)));
		asked = record.spec.size_bytes - asked;
	}
	auto plan = plan_resize(record.spec, asked, args.shrink);
	if (!plan)
		return report(plan.error());
	WorkerState worker = worker_state(record);
	if (auto st = require_device_state("resize", record, worker, Need::served); !st)
		return report(st.error());

	if (is_remote_backend(record.spec)) {
		// vdused asks the server (or target) and applies its size (smaller too: the
		// data beyond is gone from the server already).
		auto applied = tell_daemon(ctx.state, name, worker.pid, 0);
		if (!applied)
			return report(applied.error());
		if (auto st = resize_record(ctx, record, *applied); !st)
			return report(st.error());
		return print_resized(ctx, record, *mode);
	}
	const std::string &file = record.spec.file;
	bool grow_file = plan->truncate_file && plan->new_size > plan->file_size;
	if (grow_file) {
		if (auto st = truncate_to(name, file, plan->new_size); !st)
			return report(st.error());
	}
	auto st = resize_record(ctx, record, plan->new_size);
	if (st) {
		if (auto applied = tell_daemon(ctx.state, name, worker.pid, plan->new_size);
		    !applied)
			st = applied.error();
	}
	if (!st) {
		// Back to where it was: the record, the spec, the file.
		(void)resize_record(ctx, record, plan->old_size);
		if (grow_file)
			(void)truncate_to(name, file, plan->file_size);
		return report(st.error());
	}
	// A file shrinks only once the driver can no longer reach its end.
	if (plan->truncate_file && !grow_file) {
		if (auto shrunk = truncate_to(name, file, plan->new_size); !shrunk)
			return report(shrunk.error());
	}
	return print_resized(ctx, record, *mode);
}

} // namespace

Verb resize_verb()
{
	return {"resize", "Grow (or shrink) a running device", [](CLI::App &cmd) {
		        auto args = std::make_shared<ResizeArgs>();
		        cmd.add_option("name", args->name, "The device")
		                ->required()
		                ->type_name("NAME");
		        cmd.add_option("size", args->size,
		                       "New size (1.5G, 512MiB...), or +SIZE or -SIZE relative "
		                       "to the device's (file, loop: "
		                       "default the backing file's size now; nbd, rbd, vhost-user: "
		                       "none, the server's or target's size is taken)")
		                ->type_name("SIZE");
		        cmd.add_flag("--shrink", args->shrink,
		                     "Allow a size smaller than the device's (data beyond it is "
		                     "lost)");
		        add_json_option(cmd, args->json, "Print the device as show --json does");
		        return VerbHandler(
		                [args](Context &ctx) { return resize_device(ctx, *args); });
	        }};
}

} // namespace vduse
