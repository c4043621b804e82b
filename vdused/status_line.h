// vdused's systemd status line (sd_notify STATUS=), put together from what
// the control thread says about the device ("serving NAME with 2 queue(s)")
// and what a network backend says about its server ("connected"), which
// change on different threads.
#pragma once

#include <mutex>
#include <string>

namespace vduse
{

class StatusLine
{
public:
	void set_device(std::string text);
	void set_link(std::string text);
	// Also READY=1 (and MAINPID) with this status.
	void ready();

private:
	std::string compose() const;
	std::mutex mutex_;
	std::string device_;
	std::string link_;
};

} // namespace vduse
