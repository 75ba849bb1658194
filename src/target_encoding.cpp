#include "target_encoding.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "mb/pg_wchar.h"
}

#include <cstdio>

namespace nextcrm {

namespace {

bool all_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c & 0x80)
            return false;
    return true;
}

// The length of the UTF-8 sequence `lead` starts (1 for a stray byte).
std::size_t sequence_length(unsigned char lead) {
    if (lead < 0xC0)
        return 1;
    if (lead < 0xE0)
        return 2;
    if (lead < 0xF0)
        return 3;
    return 4;
}

unsigned code_point(std::string_view seq) {
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(seq[i]); };
    unsigned cp = 0;
    switch (seq.size()) {
    case 2:
        cp = ((b(0) & 0x1Fu) << 6) | (b(1) & 0x3Fu);
        break;
    case 3:
        cp = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
        break;
    case 4:
        cp = ((b(0) & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) |
             (b(3) & 0x3Fu);
        break;
    default:
        cp = b(0);
    }
    return cp;
}

// A character as \uXXXX or \UXXXXXXXX (a stray byte as \xNN).
std::string escape_code_point(std::string_view seq) {
    unsigned cp = code_point(seq);
    char buf[16];
    if (seq.size() == 1)
        std::snprintf(buf, sizeof buf, "\\x%02X", cp);
    else if (cp > 0xFFFF)
        std::snprintf(buf, sizeof buf, "\\U%08X", cp);
    else
        std::snprintf(buf, sizeof buf, "\\u%04X", cp);
    return buf;
}

} // namespace

TargetEncoding::TargetEncoding() {
    encoding_ = pg_call([] { return GetDatabaseEncoding(); });
    identity_ = encoding_ == PG_UTF8;
    name_ = pg_call([this] { return GetDatabaseEncodingName(); });
    if (!identity_ && encoding_ != PG_SQL_ASCII)
        proc_ = pg_call([this] { return FindDefaultConversionProc(PG_UTF8, encoding_); });
    if (!identity_ && encoding_ != PG_SQL_ASCII && !OidIsValid(proc_))
        throw Error(Message(NEXTCRM_MSG("no conversion from UTF8 to %s is defined"), name_),
                    sqlstate::feature_not_supported);
}

std::optional<std::string> TargetEncoding::convert(std::string_view utf8) const {
    if (identity_ || all_ascii(utf8))
        return std::string(utf8);
    if (utf8.size() > static_cast<std::size_t>(MaxAllocSize / MAX_CONVERSION_GROWTH - 1))
        throw Error(Message(NEXTCRM_MSG("text of %s bytes is too long to convert to %s"),
                            std::to_string(utf8.size()), name_),
                    sqlstate::program_limit_exceeded);
    // noError: the routine stops at the first character the encoding lacks
    // and says how far it got, instead of raising an error.
    int converted = 0;
    char *dest = pg_call([&] {
        int len = static_cast<int>(utf8.size());
        char *src = static_cast<char *>(palloc(len + 1));
        memcpy(src, utf8.data(), len);
        src[len] = '\0';
        int destlen = len * MAX_CONVERSION_GROWTH + 1;
        char *buf = static_cast<char *>(palloc(destlen));
        converted = pg_do_encoding_conversion_buf(
            proc_, PG_UTF8, encoding_, reinterpret_cast<unsigned char *>(src), len,
            reinterpret_cast<unsigned char *>(buf), destlen, true);
        pfree(src);
        return buf;
    });
    std::optional<std::string> out;
    if (converted == static_cast<int>(utf8.size()))
        out.emplace(dest);
    pg_call([dest] { pfree(dest); });
    return out;
}

std::string TargetEncoding::escaped(std::string_view utf8) const {
    if (auto whole = convert(utf8))
        return *whole;
    std::string out;
    for (std::size_t i = 0; i < utf8.size();) {
        std::size_t n =
            std::min(sequence_length(static_cast<unsigned char>(utf8[i])), utf8.size() - i);
        std::string_view seq = utf8.substr(i, n);
        auto one = n == 1 && !(static_cast<unsigned char>(seq[0]) & 0x80)
                       ? std::optional<std::string>(std::string(seq))
                       : convert(seq);
        out += one ? *one : escape_code_point(seq);
        i += n;
    }
    return out;
}

std::string TargetEncoding::first_unrepresentable(std::string_view utf8) const {
    if (identity_ || all_ascii(utf8))
        return {};
    for (std::size_t i = 0; i < utf8.size();) {
        std::size_t n =
            std::min(sequence_length(static_cast<unsigned char>(utf8[i])), utf8.size() - i);
        std::string_view seq = utf8.substr(i, n);
        if (n > 1 && !convert(seq)) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "U+%04X", code_point(seq));
            return buf;
        }
        i += n;
    }
    return {};
}

std::string TargetEncoding::to_utf8(std::string_view server_text) const {
    if (identity_ || all_ascii(server_text))
        return std::string(server_text);
    char *converted = pg_call([&] {
        return pg_server_to_any(server_text.data(), static_cast<int>(server_text.size()), PG_UTF8);
    });
    std::string out =
        converted == server_text.data() ? std::string(server_text) : std::string(converted);
    if (converted != server_text.data())
        pg_call([converted] { pfree(converted); });
    return out;
}

void refuse_sql_ascii_target() {
    if (pg_call([] { return GetDatabaseEncoding(); }) != PG_SQL_ASCII)
        return;
    throw Error(Message(NEXTCRM_MSG("cannot migrate into a database with encoding SQL_ASCII")),
                sqlstate::feature_not_supported,
                "SQL_ASCII stores bytes without knowing their characters, so the source's "
                "UTF-8 text cannot be converted to it and would not survive a dump and restore "
                "into a real encoding.",
                "Create the target database with an encoding, for example: CREATE DATABASE "
                "crm ENCODING 'UTF8' TEMPLATE template0.");
}

} // namespace nextcrm
