// Whether one document can be walked whole: the check every reader of
// source documents makes before converting one (migration, foreign scan,
// validation), so that one awkward document becomes a reported error
// instead of a signal, a truncated read or a value dropped without trace.
//
// PostgreSQL-free.  The walk is bounded by max_document_depth
// (extended_json.hpp) and never recurses further, whatever the input.
#pragma once

#include "extended_json.hpp"

#include <bson/bson.h>

#include <optional>
#include <string>
#include <vector>

namespace nextcrm {

struct DocumentFault {
    enum class Kind {
        Malformed,    // an element's bytes do not parse (bad length, type, terminator)
        KeyNotUtf8,   // a key name that is not valid UTF-8
        TooDeep,      // nesting past max_document_depth
        DuplicateKey, // the same key twice (or more) in one object
    };
    Kind kind;
    std::string path;   // dotted path of the key (non-UTF-8 bytes as \xHH)
    std::string reason; // a sentence for the error table
    // DuplicateKey: every value the key holds, in document order, as
    // canonical Extended JSON (or a description when it has no JSON form).
    std::vector<std::string> values;
};

// What a walkable document holds that some readers cannot take.
struct DocumentTraits {
    bool nul_in_string = false; // a string value holds U+0000 (jsonb refuses it)
    std::string nul_path;       // the first such value's dotted path
};

// The first fault found walking the document in order, or nothing when it
// can be walked whole (then *traits, when given, is filled in).  Never
// throws for any input bytes.  `max_depth` is the deepest nesting accepted:
// a wrapper of documents (an oplog entry holds one a few levels down) may
// allow a few levels more than a document.
std::optional<DocumentFault> check_document(const bson_t *doc, DocumentTraits *traits = nullptr,
                                            int max_depth = max_document_depth);

// bson_validate(doc, BSON_VALIDATE_NONE, offset) without its recursion
// without bound: libbson's walk takes a stack frame per nesting level, so a
// document nested a few hundred thousand levels deep (16 MB allow it)
// overflows the stack of the process reading it.  Such a document is walked
// here no deeper than max_document_depth and is passed on unvalidated
// (true): whoever converts it checks it with check_document(), which makes
// it that document's error, as it does for one read from a folder.
bool bson_structure_valid(const bson_t *doc, std::size_t *offset);

} // namespace nextcrm
