// Differences between libbson 1.x and 2.x that the code meets, in one place.
#pragma once

#include <bson/bson.h>

namespace nextcrm {

// libbson 2.3 renamed bson_append_array_begin to bson_append_array_unsafe_begin
// (the caller writes the "0", "1", ... keys itself, as this code does) and
// deprecated the old name; the arguments are the same.  With warnings as errors
// the old name no longer builds against 2.3+, and 1.x lacks the new one.
inline bool append_array_begin(bson_t *bson, const char *key, int key_length, bson_t *child) {
#if BSON_CHECK_VERSION(2, 3, 0)
    return bson_append_array_unsafe_begin(bson, key, key_length, child);
#else
    return bson_append_array_begin(bson, key, key_length, child);
#endif
}

} // namespace nextcrm
