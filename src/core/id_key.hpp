// An _id as MongoDB's _id index compares it, for the oplog replay's matching
// of an entry to the dump's document.
//
// Why.  The _id index orders values as BSON comparison does: numbers compare
// by value whatever their type, so an oplog entry naming NumberLong(7),
// 7.0 or Decimal128 "7.00" addresses the document stored with the int32 _id
// 7.  Keyed by the exact bytes (source_id_of), the replay took the entry for
// another document: the dump's stayed in its older state and the entry's
// made a duplicate key.
//
// The key is a byte string; two _ids have equal keys exactly when MongoDB
// holds them equal:
//   - int32, int64, double and Decimal128 by their exact value: every NaN is
//     one value, -0.0 and 0 (and Decimal128's -0, 0E+5 ...) are 0, 7.5 the
//     double equals Decimal128 7.50, but the int64 2^53 + 1 is not the double
//     2^53 (which cannot hold it), and the double 0.1 is not Decimal128 0.1
//     (the double is not exactly one tenth);
//   - a string and a Symbol of the same characters are one value (BSON
//     comparison puts both in one canonical type and compares the text);
//   - an embedded document by its fields in order, names and values
//     compared the same way; an array by its elements;
//   - any other type by its type and its bytes;
//   - past max_document_depth levels (a document no reader converts, an
//     error row whatever its entries), by its bytes: the key never recurses
//     deeper, whatever the input.
// Which of the equal values a migrated document keeps is not this key's
// business: the replay keeps the dump's document's own _id bytes.
// PostgreSQL-free.
#pragma once

#include <bson/bson.h>

#include <string>

namespace nextcrm {

// The key of a value.
std::string id_key(const bson_value_t *id);

// The key of a document's _id; empty (no value's key) when it has none.
std::string id_key_of(const bson_t *doc);

} // namespace nextcrm
