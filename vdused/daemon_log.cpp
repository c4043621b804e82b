#include "daemon_log.h"

#include <array>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <string_view>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

namespace vduse
{

namespace
{

// spdlog's own systemd_sink sends only MESSAGE and PRIORITY; this one adds
// VDUSE_DEVICE= and, for a queue's logger, VDUSE_QUEUE=, so that
// `journalctl VDUSE_DEVICE=vduse0 VDUSE_QUEUE=1` finds one queue's messages.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex>
{
public:
	JournalSink(const std::string &device, std::string prefix, std::string queue_field)
	        : device_field_("VDUSE_DEVICE=" + device), prefix_(std::move(prefix)),
	          queue_field_(std::move(queue_field))
	{
	}

protected:
	void sink_it_(const spdlog::details::log_msg &msg) override
	{
		std::string message =
		        "MESSAGE=" + prefix_ + std::string(msg.payload.data(), msg.payload.size());
		std::string priority = "PRIORITY=" + std::to_string(syslog_priority(msg.level));
		std::array<std::string_view, 5> fields{message, priority, device_field_,
		                                       "SYSLOG_IDENTIFIER=vdused", queue_field_};
		std::array<iovec, 5> iov{};
		size_t n = 0;
		for (std::string_view field : fields) {
			if (field.empty())
				continue;
			iov[n].iov_base = const_cast<char *>(field.data());
			iov[n].iov_len = field.size();
			++n;
		}
		sd_journal_sendv(iov.data(), static_cast<int>(n));
	}
	void flush_() override {}

private:
	static int syslog_priority(spdlog::level::level_enum level)
	{
		switch (level) {
		case spdlog::level::trace:
		case spdlog::level::debug:
			return LOG_DEBUG;
		case spdlog::level::info:
			return LOG_INFO;
		case spdlog::level::warn:
			return LOG_WARNING;
		case spdlog::level::err:
			return LOG_ERR;
		default:
			return LOG_CRIT;
		}
	}
	std::string device_field_;
	std::string prefix_;      // "DEVICE: queue N: " for a queue's logger
	std::string queue_field_; // "VDUSE_QUEUE=N", "" for the device's logger
};

// systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it gave us as
// stderr (systemd.exec(5)); if stderr is still that stream, log natively.
bool stderr_is_journal()
{
	const char *env = std::getenv("JOURNAL_STREAM");
	if (!env)
		return false;
	struct stat st {
	};
	if (::fstat(STDERR_FILENO, &st) < 0)
		return false;
	return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) == env;
}

// A logger named NAME whose messages start with PREFIX.
std::shared_ptr<spdlog::logger> make_logger(const std::string &name, const std::string &device,
                                            const std::string &prefix,
                                            const std::string &queue_field)
{
	std::shared_ptr<spdlog::logger> logger;
	if (stderr_is_journal()) {
		logger = std::make_shared<spdlog::logger>(
		        name, std::make_shared<JournalSink>(device, prefix, queue_field));
	} else {
		logger = std::make_shared<spdlog::logger>(
		        name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
		logger->set_pattern("vdused[%P]: %^%l%$: " + prefix + "%v");
	}
	logger->flush_on(spdlog::level::info);
	return logger;
}

} // namespace

void setup_daemon_log(const std::string &device, bool verbose)
{
	auto logger = make_logger("vdused", device, "", "");
	logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
	spdlog::set_default_logger(logger);
}

std::shared_ptr<spdlog::logger> queue_logger(const std::string &device, uint32_t index)
{
	std::string queue = std::to_string(index);
	auto logger = make_logger("vdused-queue-" + queue, device,
	                          device + ": queue " + queue + ": ", "VDUSE_QUEUE=" + queue);
	logger->set_level(spdlog::default_logger_raw()->level());
	return logger;
}

} // namespace vduse
