#include "bson_check.hpp"

#include "bson_convert.hpp"
#include "extended_json.hpp"

#include <cstring>
#include <string_view>
#include <unordered_map>

namespace nextcrm {

namespace {

std::string join(const std::string &path, const std::string &key) {
    return path.empty() ? key : path + "." + key;
}

// Every value of `key` in the object under `doc` (a fresh pass: the first
// walk only noticed the repetition).
std::vector<std::string> values_of(const bson_t *doc, std::string_view key) {
    std::vector<std::string> out;
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return out;
    while (bson_iter_next(&it)) {
        if (std::string_view(bson_iter_key(&it), bson_iter_key_len(&it)) == key)
            out.push_back(describe_value(&it));
    }
    return out;
}

// Walks one object or array; depth is its own nesting level (the document is 0).
std::optional<DocumentFault> walk(const bson_t *doc, bool array, const std::string &path, int depth,
                                  DocumentTraits *traits) {
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return DocumentFault{DocumentFault::Kind::Malformed,
                             path.empty() ? "(document)" : path,
                             "the document's length prefix does not match its bytes",
                             {}};
    std::unordered_map<std::string_view, int> seen;
    while (bson_iter_next(&it)) {
        std::uint32_t klen = bson_iter_key_len(&it);
        const char *key = bson_iter_key(&it);
        std::string sub = join(path, printable_key(key, klen));
        if (!array) {
            if (!bson_utf8_validate(key, klen, false))
                return DocumentFault{DocumentFault::Kind::KeyNotUtf8,
                                     sub,
                                     "the key \"" + sub + "\" is not valid UTF-8",
                                     {}};
            if (++seen[std::string_view(key, klen)] == 2)
                return DocumentFault{DocumentFault::Kind::DuplicateKey, sub,
                                     "the key \"" + sub + "\" appears more than once",
                                     values_of(doc, std::string_view(key, klen))};
        }
        bson_type_t type = bson_iter_type(&it);
        if (traits && !traits->nul_in_string && type == BSON_TYPE_UTF8) {
            std::uint32_t len = 0;
            const char *s = bson_iter_utf8(&it, &len);
            if (std::memchr(s, '\0', len)) {
                traits->nul_in_string = true;
                traits->nul_path = sub;
            }
        }
        if (type != BSON_TYPE_DOCUMENT && type != BSON_TYPE_ARRAY && type != BSON_TYPE_CODEWSCOPE)
            continue;
        if (depth + 1 > max_document_depth)
            return DocumentFault{DocumentFault::Kind::TooDeep,
                                 sub,
                                 "the value of \"" + sub + "\" nests deeper than " +
                                     std::to_string(max_document_depth) + " levels",
                                 {}};
        bson_t child;
        bool ok;
        if (type == BSON_TYPE_CODEWSCOPE) {
            std::uint32_t len = 0, scope_len = 0;
            const std::uint8_t *scope = nullptr;
            ok = bson_iter_codewscope(&it, &len, &scope_len, &scope) &&
                 bson_init_static(&child, scope, scope_len);
        } else {
            std::uint32_t len = 0;
            const std::uint8_t *data = nullptr;
            if (type == BSON_TYPE_DOCUMENT)
                bson_iter_document(&it, &len, &data);
            else
                bson_iter_array(&it, &len, &data);
            ok = data && bson_init_static(&child, data, len);
        }
        if (!ok)
            return DocumentFault{DocumentFault::Kind::Malformed,
                                 sub,
                                 "the value of \"" + sub + "\" is malformed BSON",
                                 {}};
        if (auto fault = walk(&child, type == BSON_TYPE_ARRAY, sub, depth + 1, traits))
            return fault;
    }
    if (it.err_off)
        return DocumentFault{DocumentFault::Kind::Malformed,
                             path.empty() ? "(document)" : path,
                             "malformed BSON at byte " + std::to_string(it.err_off) + " of " +
                                 (path.empty() ? std::string("the document") : "\"" + path + "\""),
                             {}};
    return std::nullopt;
}

} // namespace

std::optional<DocumentFault> check_document(const bson_t *doc, DocumentTraits *traits) {
    auto fault = walk(doc, false, "", 0, traits);
    if (fault && traits)
        *traits = DocumentTraits{};
    return fault;
}

} // namespace nextcrm
