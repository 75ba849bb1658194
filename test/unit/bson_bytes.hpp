// Test helper: BSON written byte by byte, for documents nested deeper than
// libbson's builders (which recurse) or bson_validate() can take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

inline void append_le32(std::string &out, std::uint32_t n) {
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
}

// A whole document around `elements` (each: type byte, key, NUL, value).
inline std::string bson_document(const std::string &elements) {
    std::string out;
    append_le32(out, static_cast<std::uint32_t>(4 + elements.size() + 1));
    out += elements;
    out.push_back('\0');
    return out;
}

// The element "key": int32 n.
inline std::string bson_int32_element(const std::string &key, std::int32_t n) {
    std::string out(1, '\x10');
    out += key;
    out.push_back('\0');
    append_le32(out, static_cast<std::uint32_t>(n));
    return out;
}

// {"a": {"a": ... inner}}: `levels` documents around the document `inner`,
// written in one pass (each level adds 8 bytes: its length, the type, "a"
// and its NUL, and its closing NUL), so a million levels cost no more than
// their bytes.
inline std::string nested_in_a(int levels, const std::string &inner) {
    std::string out;
    out.reserve(inner.size() + 8 * static_cast<std::size_t>(levels));
    for (int k = 0; k < levels; ++k) {
        append_le32(out, static_cast<std::uint32_t>(inner.size() +
                                                    8 * static_cast<std::size_t>(levels - k)));
        out.append("\x03"
                   "a\0",
                   3);
    }
    out += inner;
    out.append(static_cast<std::size_t>(levels), '\0');
    return out;
}
