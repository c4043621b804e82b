#include "link_reporter.h"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace vduse
{

LinkReporter::LinkReporter(std::filesystem::path file, size_t connections, StatusLine &status)
        : status_(status), file_(std::move(file)),
          connections_(connections, LinkStatus{LinkState::connecting, std::time(nullptr), {}, {}})
{
}

LinkReporter::~LinkReporter()
{
	std::error_code ec;
	if (!file_.empty())
		std::filesystem::remove(file_, ec);
}

void LinkReporter::set_lock_owner(std::string owner)
{
	std::lock_guard lock(mutex_);
	lock_owner_ = std::move(owner);
}

void LinkReporter::report(size_t connection, LinkState state)
{
	std::lock_guard lock(mutex_);
	LinkStatus &mine = connections_.at(connection);
	if (mine.state != state) {
		// Still down after a failed attempt: keep the time it went down.
		bool still_down =
		        state != LinkState::connected && mine.state != LinkState::connected;
		mine.state = state;
		if (!still_down)
			mine.since = std::time(nullptr);
	}
	// The worst state wins, dated by the earliest connection in it.
	LinkStatus overall{LinkState::connected, 0, {}, {}};
	for (const LinkStatus &c : connections_) {
		if (c.state == LinkState::connected)
			continue;
		auto rank = [](LinkState s) {
			return s == LinkState::failed ? 3 : s == LinkState::reconnecting ? 2 : 1;
		};
		if (overall.state == LinkState::connected || rank(c.state) > rank(overall.state))
			overall = c;
		else if (c.state == overall.state)
			overall.since = std::min(overall.since, c.since);
	}
	overall.lock_owner = lock_owner_;
	overall.follows_target_size = follows_target_size_;
	if (written_ && overall.state == published_.state && overall.since == published_.since &&
	    overall.follows_target_size == published_.follows_target_size)
		return;
	publish_locked(overall);
}

void LinkReporter::set_follows_target_size(bool follows)
{
	std::lock_guard lock(mutex_);
	follows_target_size_ = follows;
	// At a connection the report of the state that follows carries it: one
	// write, not two.
	if (!written_ || published_.state != LinkState::connected ||
	    published_.follows_target_size == follows_target_size_)
		return;
	LinkStatus overall = published_;
	overall.follows_target_size = follows_target_size_;
	publish_locked(overall);
}

void LinkReporter::publish_locked(const LinkStatus &overall)
{
	published_ = overall;
	written_ = true;
	if (!file_.empty()) {
		if (auto st = write_link_status(file_, overall); !st)
			spdlog::warn("{}", st.error().message);
	}
	status_.set_link(describe_link(overall));
}

} // namespace vduse
