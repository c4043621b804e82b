// One output model for every verb that prints records (list, show, add
// --json, check). A record is an ordered list of fields, each with a JSON
// value and the text a person reads; the same records print as a table
// (libsmartcols, as lsblk and losetup do), as show's vertical "key: value"
// view, or as JSON (nlohmann::json: see docs/ARCHITECTURE.md for why not
// libsmartcols' own JSON).
#pragma once

#include "base/result.h"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vduse
{

// --json=pretty|short|off, as systemd's tools take it.
enum class JsonMode { off, pretty, short_form };

// "pretty", "short" or "off"; a bare --json ("" or "true") is pretty on a
// terminal and short otherwise. Anything else is a usage error.
Result<JsonMode> parse_json_mode(std::string_view text, bool terminal);

// One field of a kind of record: its JSON key (also its name for -o) and its
// table header.
struct Column {
	std::string key;
	std::string header;
};

struct Field {
	nlohmann::ordered_json value;
	std::string text; // what a person reads: "-" for null, "yes"/"no" for booleans
};

// The text of a value as the table and the vertical view show it.
std::string field_text(const nlohmann::ordered_json &value);

class Record
{
public:
	// Sets KEY to VALUE, read as field_text(VALUE) or as TEXT.
	void set(const std::string &key, nlohmann::ordered_json value);
	void set(const std::string &key, nlohmann::ordered_json value, std::string text);
	// nullptr if the record has no field KEY.
	const Field *find(std::string_view key) const;
	const std::vector<std::pair<std::string, Field>> &fields() const { return fields_; }
	// An object with every field, in the order they were set.
	nlohmann::ordered_json to_json() const;

private:
	std::vector<std::pair<std::string, Field>> fields_;
};

// The records as a JSON array of their objects.
nlohmann::ordered_json records_to_json(const std::vector<Record> &records);
// The same with only the fields of columns, in their order (list -o).
nlohmann::ordered_json records_to_json(const std::vector<Record> &records,
                                       const std::vector<Column> &columns);

// The columns named in a comma-separated list of keys or headers (-o
// name,node; case does not matter). An unknown or empty name is a usage
// error that lists the known ones.
Result<std::vector<Column>> select_columns(const std::vector<Column> &all, std::string_view names);

// An aligned table, with a header line when legend is set.
std::string format_table(const std::vector<Column> &columns, const std::vector<Record> &records,
                         bool legend);
// "key: value", one line per column, for one record, as a person reads it:
// the field's text ("yes" for true, "1.5G" for a size, whose key loses its
// "_bytes"); a null field, which does not apply to the record, is left out.
// Control characters are escaped as the table escapes them.
std::string format_vertical(const std::vector<Column> &columns, const Record &record);
// text with control characters and backslashes as \xHH, as list shows
// them: a path or a server's answer never reaches the terminal raw.
std::string terminal_safe(std::string_view text);
// JSON ending in a newline; pretty is indented by 2, short is one line.
std::string format_json(const nlohmann::ordered_json &json, JsonMode mode);

} // namespace vduse
