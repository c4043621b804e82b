// vdusectl stats: what each device's vdused did since it started, per queue
// and in total, read from the counters it shares in STATE_DIR/NAME.stats
// (state/device_stats.h) without disturbing it.
#include "verb.h"

#include "base/json_file.h"
#include "base/size.h"
#include "device_report.h"
#include "metrics_text.h"
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
	std::string format; // table, json, openmetrics; "" as --json says
	std::string write;  // openmetrics: this file, replaced atomically
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
	uint64_t completed = completions(q);
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
	r.set("unknown_status", q.unknown_status);
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

const std::vector<Column> &rate_columns()
{
	static const std::vector<Column> columns = {
	        {"name", "NAME"},
	        {"reads_per_s", "READ/S"},
	        {"writes_per_s", "WRITE/S"},
	        {"read_bytes_per_s", "READ-B/S"},
	        {"write_bytes_per_s", "WRITE-B/S"},
	        {"latency_mean_us", "LAT-MEAN(us)"},
	        {"latency_p99_us", "LAT-P99(us)"},
	        {"errors", "ERRORS"},
	        {"in_flight", "INFLIGHT"},
	};
	return columns;
}

Record rate_record(const std::string &name, const QueueStats &now, const QueueStats &d,
                   double seconds)
{
	auto per_s = [&](uint64_t n) { return static_cast<double>(n) / seconds; };
	auto rate = [&](Record &r, const char *key, uint64_t n) {
		r.set(key, per_s(n), fmt::format("{:.0f}", per_s(n)));
	};
	uint64_t completed = completions(d);
	Record r;
	r.set("name", name);
	rate(r, "reads_per_s", d.requests[static_cast<size_t>(StatType::read)]);
	rate(r, "writes_per_s", d.requests[static_cast<size_t>(StatType::write)]);
	uint64_t rb = d.bytes[static_cast<size_t>(StatType::read)];
	uint64_t wb = d.bytes[static_cast<size_t>(StatType::write)];
	r.set("read_bytes_per_s", per_s(rb), format_size_rounded(static_cast<uint64_t>(per_s(rb))));
	r.set("write_bytes_per_s", per_s(wb),
	      format_size_rounded(static_cast<uint64_t>(per_s(wb))));
	double mean = completed ? us(d.latency_ns_total) / static_cast<double>(completed) : 0;
	r.set("latency_mean_us", mean, fmt::format("{:.1f}", mean));
	r.set("latency_p99_us", us(latency_percentile_ns(d, 0.99)));
	r.set("errors", d.io_errors + d.unsupported);
	r.set("in_flight", in_flight(now));
	return r;
}

uint64_t unix_now_ns()
{
	timespec ts{};
	::clock_gettime(CLOCK_REALTIME, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

// stats --watch: the totals once, then what happened in each interval, as
// iostat does, with the time; a device that goes away ends it with an error.
int watch_stats(const Context &ctx, const StatsArgs &args, JsonMode mode)
{
	if (int rc = print_stats(ctx, args, mode); rc != exit_ok)
		return rc;
	std::vector<std::string> names = args.names.empty() ? ctx.state.names() : args.names;
	std::vector<QueueStats> before;
	for (const std::string &name : names) {
		auto snapshot = read_stats(ctx.state.stats_path(name));
		before.push_back(snapshot ? total(*snapshot) : QueueStats{});
	}
	using clock = std::chrono::steady_clock;
	auto last = clock::now();
	for (;;) {
		std::this_thread::sleep_for(std::chrono::seconds(args.watch));
		auto now = clock::now();
		double seconds = std::chrono::duration<double>(now - last).count();
		last = now;
		std::vector<Record> rows;
		for (size_t i = 0; i < names.size(); ++i) {
			auto snapshot = ctx.state.has(names[i])
			                        ? read_stats(ctx.state.stats_path(names[i]))
			                        : Result<StatsSnapshot>(failure("it was deleted"));
			if (!snapshot)
				return report(failure(names[i] + ": gone (" +
				                      snapshot.error().message +
				                      "); stopped watching"));
			QueueStats sum = total(*snapshot);
			rows.push_back(
			        rate_record(names[i], sum, difference(sum, before[i]), seconds));
			before[i] = sum;
		}
		std::string time = iso_time(unix_now_ns());
		if (mode != JsonMode::off) {
			// One object a line: a stream a script reads as it comes.
			nlohmann::ordered_json line = {{"time", time},
			                               {"interval_s", seconds},
			                               {"devices", records_to_json(rows)}};
			std::cout << format_json(line, JsonMode::short_form);
		} else {
			std::cout << '\n'
			          << time << '\n'
			          << format_table(rate_columns(), rows, true);
		}
		std::cout.flush();
	}
}

// --format=openmetrics: every device (or those named) with its state, and
// the counters of those a vdused serves; a device without them is up 0, not
// an error (a monitor wants to see it).
int print_metrics(const Context &ctx, const StatsArgs &args)
{
	std::vector<std::string> names = args.names.empty() ? ctx.state.names() : args.names;
	int rc = exit_ok;
	std::vector<DeviceMetrics> devices;
	for (const std::string &name : names) {
		auto record = ctx.state.read(name);
		if (!record) {
			rc = report(record.error());
			continue;
		}
		WorkerState worker = worker_state(*record);
		DeviceMetrics m{name,
		                record->spec.backend,
		                std::string(driver_kernel_name(record->spec.driver)),
		                std::string(state_name(current_state(*record, worker))),
		                record->spec.size_bytes,
		                worker.running,
		                std::nullopt};
		if (auto snapshot = read_stats(ctx.state.stats_path(name)); snapshot)
			m.stats = std::move(*snapshot);
		devices.push_back(std::move(m));
	}
	std::string text = metrics_text(devices);
	if (args.write.empty()) {
		std::cout << text;
		return rc;
	}
	// A reader (node_exporter) sees the old file or the new one, never half.
	if (auto st = write_file_atomically(args.write, text); !st)
		return report(st.error());
	return rc;
}

int show_stats(Context &ctx, const StatsArgs &args)
{
	if (auto st = validate_names(args.names); !st)
		return report(st.error());
	if (args.format == "openmetrics") {
		if (args.watch != 0 || !args.json.empty())
			return report(usage_error(
			        "stats: --format=openmetrics takes neither --watch nor --json"));
		return print_metrics(ctx, args);
	}
	if (!args.write.empty())
		return report(usage_error("stats: --write is for --format=openmetrics"));
	auto mode = json_mode(args.format == "json" && args.json.empty() ? std::string("pretty")
	                                                                 : args.json);
	if (args.format == "table" && !args.json.empty())
		return report(usage_error("stats: --format=table and --json disagree"));
	if (!mode)
		return report(mode.error());
	if (args.watch == 0)
		return print_stats(ctx, args, *mode);
	return watch_stats(ctx, args, *mode);
}

} // namespace

Verb stats_verb()
{
	return {"stats", "Show what each device's daemon did: requests, bytes, errors, latency",
	        [](CLI::App &cmd) {
		        auto args = std::make_shared<StatsArgs>();
		        cmd.add_option("names", args->names, "Devices (default: all)")
		                ->type_name("NAME");
		        add_json_option(cmd, args->json,
		                        "Print an array of devices, each with its total and "
		                        "its queues");
		        cmd.add_option("-w,--watch", args->watch,
		                       "Then print what happened in each SECONDS seconds (rates, "
		                       "latency) until interrupted")
		                ->check(CLI::Range(1u, 3600u))
		                ->type_name("SECONDS");
		        cmd.add_option("--format", args->format,
		                       "table (the default), json (as --json) or openmetrics (the "
		                       "Prometheus text format, for node_exporter's textfile "
		                       "collector)")
		                ->check(CLI::IsMember({"table", "json", "openmetrics"}))
		                ->type_name("table|json|openmetrics");
		        cmd.add_option(
		                   "--write", args->write,
		                   "openmetrics: write FILE instead of standard output, replaced "
		                   "atomically (a reader sees the old file or the new one)")
		                ->type_name("FILE");
		        return VerbHandler([args](Context &ctx) { return show_stats(ctx, *args); });
	        }};
}

} // namespace vduse
