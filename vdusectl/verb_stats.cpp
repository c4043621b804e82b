// vdusectl stats: what each device's vdused did since it started, per queue
// and in total, read from the counters it shares in STATE_DIR/NAME.stats
// (state/device_stats.h) without disturbing it.
#include "verb.h"

#include "base/size.h"
#include "state/device_stats.h"

#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <thread>

namespace vduse
{

namespace
{

struct StatsArgs {
	std::vector<std::string> names;
	std::string json;
	unsigned watch = 0;
};

const std::vector<Column> &stats_columns()
{
	static const std::vector<Column> columns = {
	        {"name", "NAME"},
	        {"queue", "QUEUE"},
	        {"reads", "READS"},
	        {"writes", "WRITES"},
	        {"flushes", "FLUSHES"},
	        {"discards", "DISCARDS"},
	        {"write_zeroes", "WZEROES"},
	        {"read_bytes", "READ"},
	        {"write_bytes", "WRITTEN"},
	        {"errors", "ERRORS"},
	        {"in_flight", "INFLIGHT"},
	        {"resubmitted", "RESUBMIT"},
	        {"interrupts", "IRQS"},
	        {"kicks", "KICKS"},
	        {"latency_mean_us", "LAT-MEAN"},
	        {"latency_p50_us", "LAT-P50"},
	        {"latency_p99_us", "LAT-P99"},
	};
	return columns;
}

double us(uint64_t ns)
{
	return static_cast<double>(ns) / 1000.0;
}

// queue: its index, or none for the device's total (JSON null, "all").
Record queue_record(const std::string &name, std::optional<size_t> queue, const QueueStats &q)
{
	auto n = [&](StatType t) { return q.requests[static_cast<size_t>(t)]; };
	auto b = [&](StatType t) { return q.bytes[static_cast<size_t>(t)]; };
	uint64_t completed = q.ok + q.io_errors + q.unsupported;
	Record r;
	r.set("name", name);
	if (queue)
		r.set("queue", *queue);
	else
		r.set("queue", nullptr, "all");
	r.set("reads", n(StatType::read));
	r.set("writes", n(StatType::write));
	r.set("flushes", n(StatType::flush));
	r.set("discards", n(StatType::discard));
	r.set("write_zeroes", n(StatType::write_zeroes));
	r.set("get_ids", n(StatType::get_id));
	r.set("other", n(StatType::other));
	r.set("read_bytes", b(StatType::read), format_size_rounded(b(StatType::read)));
	r.set("write_bytes", b(StatType::write), format_size_rounded(b(StatType::write)));
	r.set("ok", q.ok);
	r.set("io_errors", q.io_errors);
	r.set("unsupported", q.unsupported);
	r.set("errors", q.io_errors + q.unsupported);
	r.set("in_flight", in_flight(q));
	r.set("resubmitted", q.resubmitted);
	r.set("interrupts", q.interrupts);
	r.set("kicks", q.kicks);
	double mean = completed ? us(q.latency_ns_total) / static_cast<double>(completed) : 0;
	r.set("latency_mean_us", mean, fmt::format("{:.1f}", mean));
	r.set("latency_p50_us", us(latency_percentile_ns(q, 0.50)));
	r.set("latency_p90_us", us(latency_percentile_ns(q, 0.90)));
	r.set("latency_p99_us", us(latency_percentile_ns(q, 0.99)));
	return r;
}

std::string iso_time(uint64_t unix_ns)
{
	auto t = static_cast<std::time_t>(unix_ns / 1000000000);
	std::tm tm{};
	::gmtime_r(&t, &tm);
	char text[32];
	if (std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "";
	return text;
}

int print_stats(const Context &ctx, const StatsArgs &args, JsonMode mode)
{
	std::vector<std::string> names = args.names.empty() ? ctx.state.names() : args.names;
	int rc = exit_ok;
	std::vector<Record> rows;
	nlohmann::ordered_json devices = nlohmann::ordered_json::array();
	for (const std::string &name : names) {
		if (!ctx.state.has(name)) {
			rc = report(failure("device '" + name + "' does not exist"));
			continue;
		}
		auto snapshot = read_stats(ctx.state.stats_path(name));
		if (!snapshot) {
			rc = report(failure(name + ": no statistics (" + snapshot.error().message +
			                    "; is its vdused running?)"));
			continue;
		}
		nlohmann::ordered_json queues = nlohmann::ordered_json::array();
		for (size_t i = 0; i < snapshot->queues.size(); ++i) {
			Record r = queue_record(name, i, snapshot->queues[i]);
			queues.push_back(r.to_json());
			if (snapshot->queues.size() > 1)
				rows.push_back(std::move(r));
		}
		Record all = queue_record(name, std::nullopt, total(*snapshot));
		devices.push_back({{"name", name},
		                   {"since", iso_time(snapshot->started_unix_ns)},
		                   {"total", all.to_json()},
		                   {"queues", queues}});
		rows.push_back(std::move(all));
	}
	if (mode != JsonMode::off)
		std::cout << format_json(devices, mode);
	else if (!rows.empty())
		std::cout << format_table(stats_columns(), rows, true);
	std::cout.flush();
	return rc;
}

int show_stats(Context &ctx, const StatsArgs &args)
{
	auto mode = json_mode(args.json);
	if (!mode)
		return report(mode.error());
	if (auto st = validate_names(args.names); !st)
		return report(st.error());
	for (;;) {
		int rc = print_stats(ctx, args, *mode);
		if (args.watch == 0)
			return rc;
		std::this_thread::sleep_for(std::chrono::seconds(args.watch));
		std::cout << '\n';
	}
}

} // namespace

Verb stats_verb()
{
	return {"stats", "Show what each device's daemon did: requests, bytes, errors, latency",
	        [](CLI::App &cmd) {
		        auto args = std::make_shared<StatsArgs>();
		        cmd.add_option("names", args->names, "Devices (default: all)");
		        add_json_option(cmd, args->json,
		                        "Print an array of devices, each with its total and "
		                        "its queues");
		        cmd.add_option("-w,--watch", args->watch,
		                       "Print again every SECONDS seconds until interrupted")
		                ->check(CLI::Range(1u, 3600u));
		        return VerbHandler([args](Context &ctx) { return show_stats(ctx, *args); });
	        }};
}

} // namespace vduse
