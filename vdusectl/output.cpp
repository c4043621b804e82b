#include "output.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <libsmartcols.h>
#include <memory>

namespace vduse
{

namespace
{

struct TableDeleter {
	void operator()(libscols_table *table) const { scols_unref_table(table); }
};

std::string lower(std::string_view text)
{
	std::string out(text);
	std::transform(out.begin(), out.end(), out.begin(),
	               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
	return out;
}

} // namespace

Result<JsonMode> parse_json_mode(std::string_view text, bool terminal)
{
	if (text.empty() || text == "true")
		return terminal ? JsonMode::pretty : JsonMode::short_form;
	if (text == "pretty")
		return JsonMode::pretty;
	if (text == "short")
		return JsonMode::short_form;
	if (text == "off" || text == "false")
		return JsonMode::off;
	return usage_error("--json takes pretty, short or off, not '" + std::string(text) + "'");
}

std::string field_text(const nlohmann::ordered_json &value)
{
	if (value.is_null())
		return "-";
	if (value.is_boolean())
		return value.get<bool>() ? "yes" : "no";
	if (value.is_string())
		return value.get<std::string>().empty() ? "-" : value.get<std::string>();
	return value.dump();
}

void Record::set(const std::string &key, nlohmann::ordered_json value)
{
	std::string text = field_text(value);
	set(key, std::move(value), std::move(text));
}

void Record::set(const std::string &key, nlohmann::ordered_json value, std::string text)
{
	for (auto &[k, field] : fields_) {
		if (k == key) {
			field = Field{std::move(value), std::move(text)};
			return;
		}
	}
	fields_.emplace_back(key, Field{std::move(value), std::move(text)});
}

const Field *Record::find(std::string_view key) const
{
	for (const auto &[k, field] : fields_)
		if (k == key)
			return &field;
	return nullptr;
}

nlohmann::ordered_json Record::to_json() const
{
	nlohmann::ordered_json object = nlohmann::ordered_json::object();
	for (const auto &[key, field] : fields_)
		object[key] = field.value;
	return object;
}

nlohmann::ordered_json records_to_json(const std::vector<Record> &records)
{
	nlohmann::ordered_json array = nlohmann::ordered_json::array();
	for (const auto &record : records)
		array.push_back(record.to_json());
	return array;
}

nlohmann::ordered_json records_to_json(const std::vector<Record> &records,
                                       const std::vector<Column> &columns)
{
	nlohmann::ordered_json array = nlohmann::ordered_json::array();
	for (const auto &record : records) {
		nlohmann::ordered_json object = nlohmann::ordered_json::object();
		for (const Column &column : columns) {
			const Field *field = record.find(column.key);
			object[column.key] = field ? field->value : nlohmann::ordered_json(nullptr);
		}
		array.push_back(std::move(object));
	}
	return array;
}

Result<std::vector<Column>> select_columns(const std::vector<Column> &all, std::string_view names)
{
	std::vector<Column> selected;
	size_t start = 0;
	while (start <= names.size()) {
		size_t end = std::min(names.find(',', start), names.size());
		std::string name = lower(names.substr(start, end - start));
		auto it = std::find_if(all.begin(), all.end(), [&](const Column &c) {
			return c.key == name || lower(c.header) == name;
		});
		if (it == all.end()) {
			std::string known;
			for (const auto &c : all)
				known += (known.empty() ? "" : ", ") + c.key;
			return usage_error("unknown column '" + name + "' (known: " + known + ")");
		}
		selected.push_back(*it);
		start = end + 1;
	}
	return selected;
}

std::string format_table(const std::vector<Column> &columns, const std::vector<Record> &records,
                         bool legend)
{
	std::unique_ptr<libscols_table, TableDeleter> table(scols_new_table());
	if (!table)
		throw std::bad_alloc();
	scols_table_set_column_separator(table.get(), "  ");
	scols_table_enable_noheadings(table.get(), legend ? 0 : 1);
	// Never wrap or truncate to the terminal's width: a cut value is a
	// wrong value for whoever reads it.
	scols_table_enable_nowrap(table.get(), 1);
	scols_table_set_termforce(table.get(), SCOLS_TERMFORCE_NEVER);
	for (const auto &column : columns) {
		if (!scols_table_new_column(table.get(), column.header.c_str(), 0, 0))
			throw std::bad_alloc();
	}
	for (const auto &record : records) {
		libscols_line *line = scols_table_new_line(table.get(), nullptr);
		if (!line)
			throw std::bad_alloc();
		for (size_t i = 0; i < columns.size(); ++i) {
			const Field *field = record.find(columns[i].key);
			scols_line_set_data(line, i, field ? field->text.c_str() : "-");
		}
	}
	// libsmartcols prints nothing for a table without lines: the legend
	// still tells a person that there is nothing, and in which columns.
	if (records.empty()) {
		std::string header;
		for (const auto &column : columns)
			header += (header.empty() ? "" : "  ") + column.header;
		return legend ? header + '\n' : std::string();
	}
	char *raw = nullptr;
	if (scols_print_table_to_string(table.get(), &raw) != 0 || !raw)
		throw std::bad_alloc();
	std::unique_ptr<char, decltype(&std::free)> text(raw, &std::free);
	std::string out(text.get());
	if (!out.empty() && out.back() != '\n')
		out += '\n';
	return out;
}

std::string terminal_safe(std::string_view text)
{
	// As libsmartcols shows them in list (mbs_safe_encode): a control
	// character or a backslash becomes \xHH.
	std::string out;
	for (char c : text) {
		auto u = static_cast<unsigned char>(c);
		if (u < 0x20 || u == 0x7f || c == '\\') {
			std::array<char, 5> hex{};
			(void)std::snprintf(hex.data(), hex.size(), "\\x%02x", u);
			out += hex.data();
		} else {
			out += c;
		}
	}
	return out;
}

std::string format_vertical(const std::vector<Column> &columns, const Record &record)
{
	std::string out;
	for (const auto &column : columns) {
		const Field *field = record.find(column.key);
		// Null: the field does not apply to this device (JSON keeps it).
		if (!field || field->value.is_null())
			continue;
		// A size for people ("1.5G", exact): the key without its unit.
		std::string key = column.key;
		if (key.size() > 6 && key.ends_with("_bytes") && field->text != field->value.dump())
			key.resize(key.size() - 6);
		out += key + ": " + terminal_safe(field->text) + '\n';
	}
	return out;
}

std::string format_json(const nlohmann::ordered_json &json, JsonMode mode)
{
	return json.dump(mode == JsonMode::pretty ? 2 : -1) + '\n';
}

} // namespace vduse
