#include "status_line.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

namespace vduse
{

std::string StatusLine::compose() const
{
	if (link_.empty())
		return device_;
	return device_ + "; server " + link_;
}

void StatusLine::set_device(std::string text)
{
	std::lock_guard lock(mutex_);
	device_ = std::move(text);
	sd_notifyf(0, "STATUS=%s", compose().c_str());
}

void StatusLine::set_link(std::string text)
{
	std::lock_guard lock(mutex_);
	link_ = std::move(text);
	sd_notifyf(0, "STATUS=%s", compose().c_str());
}

void StatusLine::ready()
{
	std::lock_guard lock(mutex_);
	sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%d", compose().c_str(), getpid());
}

} // namespace vduse
