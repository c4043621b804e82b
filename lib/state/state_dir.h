// The state directory (/run/vduse by default): one record per device that
// vdusectl created, the daemon's log, and the lock that serialises vdusectl.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"
#include "state/device_spec.h"

#include <filesystem>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace vduse
{

struct DeviceRecord {
	DeviceSpec spec;
	pid_t pid = 0;           // the vdused serving the device, 0 if none was started
	std::string unit;        // its systemd unit, "" if vdusectl spawned it directly
	bool persistent = false; // its spec is also in the persistent directory
};

class StateDir
{
public:
	explicit StateDir(std::filesystem::path root) : root_(std::move(root)) {}
	// $VDUSE_STATE_DIR, else the build-time default.
	static std::filesystem::path default_root();

	const std::filesystem::path &root() const { return root_; }
	std::filesystem::path record_path(const std::string &name) const;
	std::filesystem::path daemon_log_path(const std::string &name) const;
	// vdused's in-flight log (InflightLog), kept across its restarts.
	std::filesystem::path inflight_path(const std::string &name) const;
	// A network backend's connection state (state/link_status.h).
	std::filesystem::path link_path(const std::string &name) const;
	// vdused's counters (state/device_stats.h).
	std::filesystem::path stats_path(const std::string &name) const;
	// vdused's answer to a resize (state/resize_ack.h).
	std::filesystem::path resize_ack_path(const std::string &name) const;
	// vdused's bounce memory (state/bounce_status.h).
	std::filesystem::path bounce_path(const std::string &name) const;
	// Forgets the in-flight log: the next vdused starts the queues afresh.
	void remove_inflight(const std::string &name) const;

	Status create() const;
	// An exclusive lock on the directory, held while the fd lives. The
	// holder's pid is kept in the lock file; if another process holds the
	// lock for more than a second, waiting(its pid, 0 if unknown) is called
	// once, and the wait goes on.
	Result<UniqueFd> lock(const std::function<void(pid_t)> &waiting = {}) const;
	// The same lock if it is free now; an error with code EWOULDBLOCK if
	// another process holds it (vdused: vdusectl may hold it while it
	// waits for vdused's answer).
	Result<UniqueFd> try_lock() const;

	bool has(const std::string &name) const;
	std::vector<std::string> names() const;
	Result<DeviceRecord> read(const std::string &name) const;
	// Written to a temporary file and renamed: readers never see half a record.
	Status write(const DeviceRecord &record) const;
	void remove(const std::string &name) const;

private:
	Result<UniqueFd> open_lock() const;
	// Writes our pid into the lock file we hold.
	Status mark_lock(const UniqueFd &fd) const;

	std::filesystem::path root_;
};

} // namespace vduse
