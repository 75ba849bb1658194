// A sampled document as jsonb, built from its BSON without a JSON text
// round trip: the same jsonb value, byte for byte, that jsonb_in gives for
// the document's canonical Extended JSON (core/extended_json.cpp) converted
// to the database's encoding, which the validator read before (issue 22,
// requirement 7: the text and its parse were half of a full validation).
// test/integration/validate_jsonb.sh compares the two for every BSON type.
#pragma once

#include "pg_wall.hpp"

#include <bson/bson.h>

namespace nextcrm {

enum class SampleJsonb {
    Built,         // *out holds the jsonb
    Unconvertible, // a string has a character the database's encoding lacks
    TextPath,      // something the text path decides (no JSON form, a NUL,
                   // a string too long for jsonb): ask it
};

// Reads the database's encoding; call where PostgreSQL may raise errors
// (inside pg_call).
struct SampleJsonbEncoding {
    int encoding;
    Oid proc; // UTF8 to encoding; InvalidOid when there is none to call
};
SampleJsonbEncoding sample_jsonb_encoding();

// Builds doc's jsonb in CurrentMemoryContext.  Calls PostgreSQL directly
// (palloc, pushJsonbValue, numeric_in, the encoding conversion): run it
// inside pg_call.  Its frames hold no C++ object, so a longjmp out of it
// skips no destructor.
SampleJsonb sample_jsonb_from_bson(const bson_t *doc, const SampleJsonbEncoding &encoding,
                                   Datum *out);

} // namespace nextcrm
