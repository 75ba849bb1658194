#include "csv.hpp"

#include "error.hpp"

namespace nextcrm {

std::vector<CsvRow> parse_csv(std::string_view text, std::vector<std::size_t> *lines) {
    std::vector<CsvRow> rows;
    CsvRow row;
    std::string field;
    bool quoted = false, field_started = false;
    std::size_t line = 1, row_line = 1;
    auto end_field = [&] {
        row.push_back(std::move(field));
        field.clear();
        field_started = false;
    };
    auto end_row = [&] {
        end_field();
        rows.push_back(std::move(row));
        row.clear();
        if (lines)
            lines->push_back(row_line);
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n')
            ++line;
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
            continue;
        }
        if (c == '"' && !field_started && field.empty()) {
            quoted = field_started = true;
        } else if (c == ',') {
            end_field();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
                ++line;
            }
            end_row();
            row_line = line;
        } else {
            field += c;
            field_started = true;
        }
    }
    if (quoted)
        throw Error("CSV text ends inside a quoted field", sqlstate::internal_error);
    if (field_started || !field.empty() || !row.empty())
        end_row();
    return rows;
}

} // namespace nextcrm
