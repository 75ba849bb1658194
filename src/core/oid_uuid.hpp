// ObjectId -> UUID mapping used for every key and reference in the target.
//
// An ObjectId is 12 bytes: a 4-byte big-endian creation time in seconds, a
// 5-byte per-process random value and a 3-byte counter.  It maps onto an
// RFC 9562 version 7 UUID, bit for bit reversible:
//
//   bits   0..47  unix_ts_ms  = ObjectId seconds * 1000 (big-endian)
//   bits  48..51  version     = 0b0111
//   bits  52..63  rand_a      = top 12 bits of the ObjectId's last 8 bytes
//   bits  64..65  variant     = 0b10
//   bits  66..117 rand_b      = remaining 52 bits of the last 8 bytes
//   bits 118..127 marker      = 0b1001111010 (0x27A), tells mapped UUIDs apart
//
// Because the time leads and the rest keeps the ObjectId's byte order, UUIDs
// sort exactly like their ObjectIds, so inserting in _id order appends to the
// primary key's B-tree, and the time is readable by any UUIDv7 tool.
//
// `_id`s that are not ObjectIds (strings, numbers, ...) map to name-based
// version 3 UUIDs in the namespace nextcrm_id_namespace; a 24-hex string is
// taken as the ObjectId it spells, as NextCRM itself does.
#pragma once

#include <bson/bson.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nextcrm {

using Uuid = std::array<std::uint8_t, 16>;
using ObjectIdBytes = std::array<std::uint8_t, 12>;

inline constexpr std::uint16_t oid_uuid_marker = 0x27A;

Uuid oid_to_uuid(const ObjectIdBytes &oid);

// The ObjectId a UUID was made from, or nothing when it was not made by
// oid_to_uuid().
std::optional<ObjectIdBytes> uuid_to_oid(const Uuid &uuid);

// The value of one hex digit (either case), or -1.
inline int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Parses 24 hex digits (either case); nothing for anything else.
std::optional<ObjectIdBytes> parse_object_id(std::string_view hex);

std::string object_id_hex(const ObjectIdBytes &oid);

// The UUID for any BSON `_id` value; `is_object_id` tells whether the mapping
// is reversible from the UUID alone (otherwise the id map must record it).
Uuid id_to_uuid(const bson_iter_t &value, bool *is_object_id);

// The UUID for an `_id` given as text: 24 hex digits are an ObjectId, any
// other text is a string `_id`.
Uuid text_id_to_uuid(std::string_view text);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
std::string uuid_text(const Uuid &uuid);

} // namespace nextcrm
