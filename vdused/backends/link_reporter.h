// Keeps STATE_DIR/NAME.link and systemd's status line up to date with the
// state of a network backend's connections: the device is connected when all
// are, reconnecting (since the first loss) when any is not, failed when any
// gave up. Any thread may report.
#pragma once

#include "state/link_status.h"
#include "status_line.h"

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vduse
{

class LinkReporter
{
public:
	LinkReporter(std::filesystem::path file, size_t connections, StatusLine &status);
	~LinkReporter();
	LinkReporter(const LinkReporter &) = delete;
	LinkReporter &operator=(const LinkReporter &) = delete;

	void report(size_t connection, LinkState state);
	// Recorded with the state from the next report on (rbd's lock owner).
	void set_lock_owner(std::string owner);
	// vhost-user: whether the target's disk size is followed (it took the
	// back-end channel); written at once while connected, else with the
	// next report.
	void set_follows_target_size(bool follows);

private:
	void publish_locked(const LinkStatus &overall);

	StatusLine &status_;
	std::filesystem::path file_;
	std::mutex mutex_;
	std::vector<LinkStatus> connections_;
	LinkStatus published_;
	bool written_ = false;
	std::string lock_owner_;
	std::optional<bool> follows_target_size_;
};

} // namespace vduse
