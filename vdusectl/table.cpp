#include "table.h"

#include <algorithm>

namespace vduse
{

void Table::print(std::ostream &out, bool legend) const
{
	std::vector<size_t> widths(header_.size());
	for (size_t i = 0; i < header_.size(); ++i)
		widths[i] = header_[i].size();
	for (const auto &row : rows_)
		for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
			widths[i] = std::max(widths[i], row[i].size());
	auto line = [&](const std::vector<std::string> &cells) {
		std::string text;
		for (size_t i = 0; i < cells.size(); ++i) {
			text += cells[i];
			if (i + 1 < cells.size())
				text += std::string(widths[i] - cells[i].size() + 2, ' ');
		}
		out << text << '\n';
	};
	if (legend)
		line(header_);
	for (const auto &row : rows_)
		line(row);
}

} // namespace vduse
