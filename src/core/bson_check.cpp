#include "bson_check.hpp"

#include "bson_convert.hpp"
#include "extended_json.hpp"

#include <cstring>
#include <string_view>
#include <unordered_set>

namespace nextcrm {

namespace {

// The keys from the document down to the element being looked at; the
// dotted path is only built when a fault is reported.
using KeyStack = std::vector<std::string_view>;

std::string path_of(const KeyStack &keys) {
    std::string out;
    for (const auto &k : keys) {
        if (!out.empty())
            out += '.';
        out += printable_key(k.data(), k.size());
    }
    return out.empty() ? "(document)" : out;
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

// Whether `key` was seen before in this object: a linear search over the
// few keys most objects have, a hash set past that.
class SeenKeys {
  public:
    bool insert(std::string_view key) {
        if (set_.empty()) {
            for (const auto &k : small_)
                if (k == key)
                    return false;
            small_.push_back(key);
            if (small_.size() > 32)
                set_.insert(small_.begin(), small_.end());
            return true;
        }
        return set_.insert(key).second;
    }

  private:
    std::vector<std::string_view> small_;
    std::unordered_set<std::string_view> set_;
};

// The object or array (or code-with-scope's scope) the iterator is on, as a
// static bson_t over its bytes; false when they are malformed.
bool open_child(const bson_iter_t *it, bson_type_t type, bson_t *child) {
    if (type == BSON_TYPE_CODEWSCOPE) {
        std::uint32_t len = 0, scope_len = 0;
        const std::uint8_t *scope = nullptr;
        return bson_iter_codewscope(it, &len, &scope_len, &scope) &&
               bson_init_static(child, scope, scope_len);
    }
    std::uint32_t len = 0;
    const std::uint8_t *data = nullptr;
    if (type == BSON_TYPE_DOCUMENT)
        bson_iter_document(it, &len, &data);
    else
        bson_iter_array(it, &len, &data);
    return data && bson_init_static(child, data, len);
}

// Walks one object or array; depth is its own nesting level (the document is 0).
std::optional<DocumentFault> walk(const bson_t *doc, bool array, KeyStack &keys, int depth,
                                  int max_depth, DocumentTraits *traits) {
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return DocumentFault{DocumentFault::Kind::Malformed,
                             path_of(keys),
                             "the document's length prefix does not match its bytes",
                             {}};
    SeenKeys seen;
    while (bson_iter_next(&it)) {
        std::uint32_t klen = bson_iter_key_len(&it);
        const char *key = bson_iter_key(&it);
        keys.emplace_back(key, klen);
        if (!array) {
            if (!bson_utf8_validate(key, klen, false)) {
                std::string sub = path_of(keys);
                return DocumentFault{DocumentFault::Kind::KeyNotUtf8,
                                     sub,
                                     "the key \"" + sub + "\" is not valid UTF-8",
                                     {}};
            }
            if (!seen.insert(keys.back())) {
                std::string sub = path_of(keys);
                return DocumentFault{DocumentFault::Kind::DuplicateKey, sub,
                                     "the key \"" + sub + "\" appears more than once",
                                     values_of(doc, keys.back())};
            }
        }
        bson_type_t type = bson_iter_type(&it);
        if (traits && !traits->nul_in_string && type == BSON_TYPE_UTF8) {
            std::uint32_t len = 0;
            const char *s = bson_iter_utf8(&it, &len);
            if (std::memchr(s, '\0', len)) {
                traits->nul_in_string = true;
                traits->nul_path = path_of(keys);
            }
        }
        if (type == BSON_TYPE_DOCUMENT || type == BSON_TYPE_ARRAY || type == BSON_TYPE_CODEWSCOPE) {
            if (depth + 1 > max_depth) {
                std::string sub = path_of(keys);
                return DocumentFault{DocumentFault::Kind::TooDeep,
                                     sub,
                                     "the value of \"" + sub + "\" nests deeper than " +
                                         std::to_string(max_depth) + " levels",
                                     {}};
            }
            bson_t child;
            if (!open_child(&it, type, &child)) {
                std::string sub = path_of(keys);
                return DocumentFault{DocumentFault::Kind::Malformed,
                                     sub,
                                     "the value of \"" + sub + "\" is malformed BSON",
                                     {}};
            }
            if (auto fault =
                    walk(&child, type == BSON_TYPE_ARRAY, keys, depth + 1, max_depth, traits))
                return fault;
        }
        keys.pop_back();
    }
    if (it.err_off) {
        std::string where = keys.empty() ? "the document" : "\"" + path_of(keys) + "\"";
        return DocumentFault{DocumentFault::Kind::Malformed,
                             path_of(keys),
                             "malformed BSON at byte " + std::to_string(it.err_off) + " of " +
                                 where,
                             {}};
    }
    return std::nullopt;
}

// What walking a document's nesting met: an object or array nested deeper
// than the bound, or the place bson_validate() stops (the walk of every
// enclosing object stops there too, as walk()'s and bson_validate()'s do),
// or neither.
enum class Nesting { Shallow, TooDeep, Stopped };

// Walks the document in order looking only at the nesting (no repeated keys,
// no strings) and, with `keys`, the keys' UTF-8.  It stops where
// bson_validate() stops before the bound (malformed bytes; with `keys`, a
// key that is not UTF-8) and nowhere else: unless it answers TooDeep,
// bson_validate() never nests past the bound.
Nesting nesting(const bson_t *doc, int depth, int max_depth, bool keys) {
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return Nesting::Stopped;
    while (bson_iter_next(&it)) {
        // bson_validate() (bson_iter_visit_all()) stops at a key that is
        // not UTF-8, before its value: so does this walk, so that such a
        // document is refused as it was, and bson_validate() never goes
        // down a value this walk did not look at.
        if (keys && !bson_utf8_validate(bson_iter_key(&it), bson_iter_key_len(&it), false))
            return Nesting::Stopped;
        bson_type_t type = bson_iter_type(&it);
        if (type != BSON_TYPE_DOCUMENT && type != BSON_TYPE_ARRAY && type != BSON_TYPE_CODEWSCOPE)
            continue;
        if (depth + 1 > max_depth)
            return Nesting::TooDeep;
        bson_t child;
        if (!open_child(&it, type, &child))
            return Nesting::Stopped;
        // A child's malformed bytes end the whole walk: a later sibling
        // nesting past the bound is never reached by bson_validate().
        Nesting inner = nesting(&child, depth + 1, max_depth, keys);
        if (inner != Nesting::Shallow)
            return inner;
    }
    return it.err_off ? Nesting::Stopped : Nesting::Shallow;
}

} // namespace

std::optional<DocumentFault> check_document(const bson_t *doc, DocumentTraits *traits,
                                            int max_depth) {
    KeyStack keys;
    keys.reserve(16);
    auto fault = walk(doc, false, keys, 0, max_depth, traits);
    if (fault && traits)
        *traits = DocumentTraits{};
    return fault;
}

bool bson_structure_valid(const bson_t *doc, std::size_t *offset) {
    // The nesting alone is walked first, to the bound: malformed bytes
    // before the bound stop it where they stop bson_validate() (both walk
    // depth first in document order), and a document nesting past the
    // bound is passed on unvalidated unless a key that is not UTF-8 comes
    // first (bson_validate() stops there, and refuses it, as it did).  Not
    // check_document(): its first fault may be a duplicate key, which
    // bson_validate() does not look for, so it went on down the nesting
    // after it (one duplicate key then a million levels overflowed the
    // stack); and its keys' checks were half of this check's time on every
    // archived document.  The keys' UTF-8 is looked at only for a document
    // that nests past the bound (a second walk): on every document it cost
    // a third of what the nesting walk saves.
    if (nesting(doc, 0, max_document_depth, false) == Nesting::TooDeep &&
        nesting(doc, 0, max_document_depth, true) == Nesting::TooDeep)
        return true;
    return bson_validate(doc, BSON_VALIDATE_NONE, offset);
}

} // namespace nextcrm
