// vdused: serves one VDUSE block device, described by its record in the state
// directory, until SIGTERM or SIGINT; SIGHUP re-reads its size (resize).
#include "base/cli_errors.h"
#include "config.h"
#include "daemon_log.h"
#include "device_server.h"
#include "state/resize_ack.h"
#include "state/state_dir.h"
#include "target_size_follower.h"
#include "vduse/memory_faults.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <thread>

using namespace vduse;

namespace
{

struct Options {
	std::string name;
	std::string state_dir;
	bool verbose = false;
	unsigned poll_us = 400;
	bool debug_hooks = false;
};

// Each IOTLB entry the driver uses keeps an fd (vduse/iotlb.h), and a VMM
// may cut its memory into a thousand entries or more: take the hard limit
// (vdused polls, it never uses select()).
void raise_fd_limit()
{
	rlimit limit{};
	if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		if (::setrlimit(RLIMIT_NOFILE, &limit) < 0)
			spdlog::warn("cannot raise the open file limit to {}: {}", limit.rlim_max,
			             std::strerror(errno));
	}
}

int serve(const Options &options)
{
	raise_fd_limit();
	// A VMM that shrinks its memory file under us stops the queues, not the
	// daemon.
	MemoryFaults::instance().install();
	StateDir state(options.state_dir.empty() ? StateDir::default_root()
	                                         : std::filesystem::path(options.state_dir));
	auto record = state.read(options.name);
	if (!record) {
		spdlog::error("{}", record.error().message);
		return 1;
	}
	// Signals go to the control thread's signalfd; the workers inherit the mask.
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &mask, nullptr);
	(void)std::signal(SIGPIPE, SIG_IGN);
	UniqueFd signal_fd(::signalfd(-1, &mask, SFD_CLOEXEC));
	if (!signal_fd) {
		spdlog::error("cannot create a signalfd: {}", std::strerror(errno));
		return 1;
	}
	// A predecessor's fd closes a moment after it dies (EBUSY until then).
	auto device = VduseDevice::open(options.name);
	for (int i = 0; i < 50 && !device && device.error().code == EBUSY; ++i) {
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		device = VduseDevice::open(options.name);
	}
	if (!device) {
		spdlog::error("{}", device.error().message);
		return 1;
	}
	DeviceServer::Tuning tuning;
	tuning.poll_window = std::chrono::microseconds(options.poll_us);
	tuning.debug_hooks = options.debug_hooks;
	StatusLine status;
	status.set_device(options.name + " is waiting for a driver");
	auto server = DeviceServer::create(
	        std::move(*device), record->spec, tuning,
	        {state.inflight_path(options.name), state.link_path(options.name),
	         state.stats_path(options.name), state.bounce_path(options.name)},
	        status);
	if (!server) {
		if (server.error().code == EPERM) {
			std::string broken = options.name + ": " + broken_device_text;
			spdlog::error("{} ({})", broken, server.error().message);
			sd_notifyf(0, "STATUS=%s", broken.c_str());
			return exit_device_broken;
		}
		spdlog::error("{}", server.error().message);
		sd_notifyf(0, "STATUS=%s", server.error().message.c_str());
		return 1;
	}
	spdlog::info("{}: serving {} bytes, {} queue(s) of depth {}, {} backend", options.name,
	             record->spec.size_bytes, record->spec.queues, record->spec.queue_depth,
	             record->spec.backend);
	status.ready();
	// vdusectl resize: the record holds the new size, or for a backend
	// whose size lives on its server (nbd, rbd, vhost-user), the server has it.
	auto wanted_size = [&]() -> Result<uint64_t> {
		auto fresh = state.read(options.name);
		if (!fresh)
			return fresh.error();
		if (!is_remote_backend(fresh->spec))
			return fresh->spec.size_bytes;
		auto remote = (*server)->remote_size();
		if (!remote)
			return failure(options.name + ": cannot learn the server's size: " +
			               remote.error().message);
		// What the block size allows of it, as at add.
		return whole_blocks(fresh->spec, *remote);
	};
	auto on_reload = [&] {
		ResizeAck ack;
		auto wanted = wanted_size();
		if (!wanted) {
			ack.error = wanted.error().message;
		} else {
			ack.size_bytes = *wanted;
			if (auto done = (*server)->resize(ack.size_bytes); !done)
				ack.error = done.error().message;
		}
		if (!ack.error.empty())
			spdlog::error("{}: cannot resize: {}", options.name, ack.error);
		if (auto written = write_resize_ack(state.resize_ack_path(options.name), ack);
		    !written)
			spdlog::error("{}", written.error().message);
	};
	// A vhost-user target that says its disk changed size.
	TargetSizeFollower follower(**server, state, record->spec);
	auto st = (*server)->run(signal_fd.get(), {on_reload, [&] { follower.changed(); },
	                                           [&] { return follower.tick(); }});
	sd_notify(0, "STOPPING=1");
	if (!st) {
		spdlog::error("{}", st.error().message);
		sd_notifyf(0, "STATUS=%s", st.error().message.c_str());
		return st.error().code == EPERM ? exit_device_broken : 1;
	}
	return 0;
}

int parse_and_serve(int argc, char **argv)
{
	CLI::App app{"vdused - serve one VDUSE block device"};
	app.set_version_flag("--version", VDUSE_VERSION);
	Options options;
	app.add_option("name", options.name,
	               "Device to serve (its record is in the state directory)")
	        ->required();
	app.add_option("--state-dir", options.state_dir,
	               "State directory (default: $VDUSE_STATE_DIR or " VDUSE_STATE_DIR ")");
	app.add_flag("-v,--verbose", options.verbose, "Log debug messages");
	app.add_option("--poll-us", options.poll_us,
	               "Busy-poll a queue up to this many microseconds for more work before "
	               "sleeping; the window grows while work comes back that soon and shrinks "
	               "when it does not (default: 400; 0: never poll)")
	        ->envname("VDUSED_POLL_US");
	// Not in --help: lets the tests freeze the control thread with SIGUSR2.
	app.add_flag("--debug-hooks", options.debug_hooks)
	        ->envname("VDUSED_DEBUG_HOOKS")
	        ->group("");
	refuse_empty_values(app);
	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForVersion &e) {
		return app.exit(e);
	} catch (const CLI::ParseError &e) {
		// One line, in the voice of vdusectl's errors.
		(void)std::fprintf(stderr, "vdused: %s (see vdused --help)\n",
		                   parse_error_text(app, e).c_str());
		return 2;
	}
	setup_daemon_log(options.name, options.verbose);
	return serve(options);
}

} // namespace

int main(int argc, char **argv)
{
	try {
		return parse_and_serve(argc, argv);
	} catch (const std::exception &e) {
		spdlog::critical("{}", e.what());
		return 1;
	}
}
