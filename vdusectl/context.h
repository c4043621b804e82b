// What every verb gets: the global options, decided once in main, and the
// one way errors reach the user.
#pragma once

#include "base/result.h"
#include "state/persist_dir.h"
#include "state/state_dir.h"

#include <string>

namespace vduse
{

// Exit statuses, decided in one place (as systemctl does).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

struct Context {
	StateDir state{StateDir::default_root()};
	PersistDir persist{PersistDir::default_root()};
	bool verbose = false;
	// Run vdused as vdused@NAME.service (systemd is PID 1 and --no-systemd
	// was not given) rather than spawn it.
	bool use_systemd = false;
};

// The state directory's lock; says on stderr when another vdusectl has held
// it for a second ("waiting for another vdusectl (pid N)").
Result<UniqueFd> lock_state(const Context &ctx);

// A verb's start on one device: NAME checked, the state directory locked
// (for as long as the result lives) and the device's record read.
struct LockedRecord {
	UniqueFd lock;
	DeviceRecord record;
};
Result<LockedRecord> lock_record(const Context &ctx, const std::string &name);

// Writes a changed record and, for a persistent device, its spec too, so
// that the next boot brings the device back as it is now.
Status save_record(const Context &ctx, const DeviceRecord &record);

// del: a persistent device's spec goes with it unless KEEP; either way it is
// said on stderr, with what brings the device back.
void remove_spec_unless_kept(const Context &ctx, const std::string &name, bool keep);

// Prints "vdusectl: MESSAGE" to stderr.
void print_error(const std::string &message);

// Prints the error and returns its exit status: exit_usage for a usage
// error, exit_failure for any other.
int report(const Error &error);

} // namespace vduse
