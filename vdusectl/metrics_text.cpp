#include "metrics_text.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>

namespace vduse
{

namespace
{

// A label value: backslash, double quote and newline escaped.
std::string label_value(const std::string &text)
{
	std::string out;
	for (char c : text) {
		if (c == '\\' || c == '"')
			out += {'\\', c};
		else if (c == '\n')
			out += "\\n";
		else
			out += c;
	}
	return out;
}

class Exposition
{
public:
	void family(const std::string &name, const char *type, const char *help)
	{
		text_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
	}
	void sample(const std::string &name,
	            const std::vector<std::pair<std::string, std::string>> &labels, double value)
	{
		text_ += name;
		std::string sep = "{";
		for (const auto &[key, val] : labels) {
			text_ += sep + key + "=\"" + label_value(val) + "\"";
			sep = ",";
		}
		text_ += (labels.empty() ? "" : "}") + fmt::format(" {}\n", value);
	}
	std::string text() const { return text_; }

private:
	std::string text_;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

constexpr const char *type_names[stat_types] = {"read",         "write",  "flush", "discard",
                                                "write_zeroes", "get_id", "other"};

// Latency buckets worth a series: 1 us (2^10 ns) to 34 s (2^35 ns).
constexpr size_t first_bucket = 10;
constexpr size_t last_bucket = 35;

} // namespace

std::string metrics_text(const std::vector<DeviceMetrics> &devices)
{
	Exposition out;
	out.family("vduse_device_info", "gauge",
	           "A VDUSE block device vdusectl manages (always 1), with its backend, driver "
	           "and state.");
	for (const auto &d : devices)
		out.sample("vduse_device_info",
		           {{"device", d.name},
		            {"backend", d.backend},
		            {"driver", d.driver},
		            {"state", d.state}},
		           1);
	out.family("vduse_device_up", "gauge",
	           "1 if a vdused serves the device now, else 0 (its counters are then the last "
	           "ones of the daemon that stopped).");
	for (const auto &d : devices)
		out.sample("vduse_device_up", {{"device", d.name}}, d.daemon_running ? 1 : 0);
	out.family("vduse_device_size_bytes", "gauge", "The device's size.");
	for (const auto &d : devices)
		out.sample("vduse_device_size_bytes", {{"device", d.name}},
		           static_cast<double>(d.size_bytes));
	out.family("vduse_daemon_start_time_seconds", "gauge",
	           "When the vdused whose counters these are started (Unix time); the counters "
	           "start from zero then.");
	for (const auto &d : devices) {
		if (d.stats)
			out.sample("vduse_daemon_start_time_seconds", {{"device", d.name}},
			           static_cast<double>(d.stats->started_unix_ns) / 1e9);
	}

	// Per-queue counters: one family, every device's queues.
	auto per_queue = [&](const std::string &name, const char *type, const char *help,
	                     const std::function<void(const std::string &, const std::string &,
	                                              const QueueStats &)> &emit) {
		out.family(name, type, help);
		for (const auto &d : devices) {
			if (!d.stats)
				continue;
			for (size_t q = 0; q < d.stats->queues.size(); ++q)
				emit(d.name, std::to_string(q), d.stats->queues[q]);
		}
	};
	auto n = [](uint64_t v) { return static_cast<double>(v); };
	per_queue("vduse_requests_total", "counter",
	          "Requests taken from the queue since vdused started, by type.",
	          [&](const std::string &dev, const std::string &q, const QueueStats &s) {
		          for (size_t t = 0; t < stat_types; ++t)
			          out.sample(
			                  "vduse_requests_total",
			                  {{"device", dev}, {"queue", q}, {"type", type_names[t]}},
			                  n(s.requests[t]));
	          });
	per_queue("vduse_read_bytes_total", "counter", "Bytes read by the queue's requests.",
	          [&](const std::string &dev, const std::string &q, const QueueStats &s) {
		          out.sample("vduse_read_bytes_total", {{"device", dev}, {"queue", q}},
		                     n(s.bytes[static_cast<size_t>(StatType::read)]));
	          });
	per_queue("vduse_written_bytes_total", "counter", "Bytes written by the queue's requests.",
	          [&](const std::string &dev, const std::string &q, const QueueStats &s) {
		          out.sample("vduse_written_bytes_total", {{"device", dev}, {"queue", q}},
		                     n(s.bytes[static_cast<size_t>(StatType::write)]));
	          });
	per_queue("vduse_completions_total", "counter",
	          "Requests completed, by the status the driver got (ok, io_error, unsupported; "
	          "unknown: not seen by vdused).",
	          [&](const std::string &dev, const std::string &q, const QueueStats &s) {
		          out.sample("vduse_completions_total",
		                     {{"device", dev}, {"queue", q}, {"status", "ok"}}, n(s.ok));
		          out.sample("vduse_completions_total",
		                     {{"device", dev}, {"queue", q}, {"status", "io_error"}},
		                     n(s.io_errors));
		          out.sample("vduse_completions_total",
		                     {{"device", dev}, {"queue", q}, {"status", "unsupported"}},
		                     n(s.unsupported));
		          out.sample("vduse_completions_total",
		                     {{"device", dev}, {"queue", q}, {"status", "unknown"}},
		                     n(s.unknown_status));
	          });
	per_queue("vduse_in_flight_requests", "gauge", "Requests taken and not completed yet.",
	          [&](const std::string &dev, const std::string &q, const QueueStats &s) {
		          out.sample("vduse_in_flight_requests", {{"device", dev}, {"queue", q}},
		                     n(in_flight(s)));
	          });
	per_queue("vduse_resubmitted_requests_total", "counter",
	          "Requests taken over from a vdused that died, and sent again.",
	          [&](const std::string &dev, const std::string &q, const QueueStats &s) {
		          out.sample("vduse_resubmitted_requests_total",
		                     {{"device", dev}, {"queue", q}}, n(s.resubmitted));
	          });
	per_queue("vduse_interrupts_total", "counter", "Interrupts injected into the driver.",
	          [&](const std::string &dev, const std::string &q, const QueueStats &s) {
		          out.sample("vduse_interrupts_total", {{"device", dev}, {"queue", q}},
		                     n(s.interrupts));
	          });
	per_queue("vduse_kicks_total", "counter", "Driver notifications (kicks) read.",
	          [&](const std::string &dev, const std::string &q, const QueueStats &s) {
		          out.sample("vduse_kicks_total", {{"device", dev}, {"queue", q}},
		                     n(s.kicks));
	          });

	// Latency, per device: from taking a request to completing it.
	out.family("vduse_request_duration_seconds", "histogram",
	           "Time from taking a request to completing it, per device (power-of-two "
	           "buckets).");
	for (const auto &d : devices) {
		if (!d.stats)
			continue;
		QueueStats sum = total(*d.stats);
		uint64_t cumulative = 0;
		uint64_t count = completions(sum);
		for (size_t b = 0; b <= last_bucket; ++b) {
			cumulative += sum.latency[b];
			if (b < first_bucket)
				continue;
			out.sample("vduse_request_duration_seconds_bucket",
			           {{"device", d.name},
			            {"le", fmt::format("{}", static_cast<double>(uint64_t{1} << b) /
			                                             1e9)}},
			           n(cumulative));
		}
		// The counters are read a few requests apart at worst (device_stats.h):
		// +Inf must not fall below a finite bucket.
		for (size_t b = last_bucket + 1; b < latency_buckets; ++b)
			cumulative += sum.latency[b];
		out.sample("vduse_request_duration_seconds_bucket",
		           {{"device", d.name}, {"le", "+Inf"}}, n(std::max(count, cumulative)));
		out.sample("vduse_request_duration_seconds_sum", {{"device", d.name}},
		           static_cast<double>(sum.latency_ns_total) / 1e9);
		out.sample("vduse_request_duration_seconds_count", {{"device", d.name}}, n(count));
	}
	return out.text();
}

} // namespace vduse
