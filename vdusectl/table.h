// A text table with aligned columns, for list.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace vduse
{

class Table
{
public:
	explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
	void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
	void print(std::ostream &out, bool legend = true) const;

private:
	std::vector<std::string> header_;
	std::vector<std::vector<std::string>> rows_;
};

} // namespace vduse
