// A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF or LF).
// PostgreSQL-free; used for the data files embedded into the module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nextcrm {

using CsvRow = std::vector<std::string>;

// Every record of text, the header included.  Throws nextcrm::Error on an
// unterminated quoted field.
std::vector<CsvRow> parse_csv(std::string_view text);

} // namespace nextcrm
