// A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF or LF).
// PostgreSQL-free; used for the files of a profile (core/profile.hpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nextcrm {

using CsvRow = std::vector<std::string>;

// Every record of text, the header included.  Throws nextcrm::Error on an
// unterminated quoted field.  When lines is given it receives, per record,
// the 1-based line the record starts on (for error messages).
std::vector<CsvRow> parse_csv(std::string_view text, std::vector<std::size_t> *lines = nullptr);

} // namespace nextcrm
