#include "core/oid_uuid.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

using nextcrm::ObjectIdBytes;
using nextcrm::Uuid;

namespace {

ObjectIdBytes oid_from_hex(const char *hex) {
    return *nextcrm::parse_object_id(hex);
}

bson_iter_t iter_of(const bson_t *doc) {
    bson_iter_t it;
    bson_iter_init_find(&it, doc, "_id");
    return it;
}

} // namespace

TEST(OidUuid, DocumentedLayout) {
    // 65a1f0c2 = 1705111746 s; the expected text was computed independently
    // from the layout in oid_uuid.hpp.
    Uuid u = nextcrm::oid_to_uuid(oid_from_hex("65a1f0c2e4b0a1b2c3d4e5f6"));
    EXPECT_EQ(nextcrm::uuid_text(u), "018d0094-75d0-7e4b-8286-cb0f5397da7a");
    EXPECT_EQ(u[6] >> 4, 7) << "version 7";
    EXPECT_EQ(u[8] >> 6, 2) << "RFC 9562 variant";
    std::uint64_t ms = 0;
    for (int i = 0; i < 6; ++i)
        ms = ms << 8 | u[i];
    EXPECT_EQ(ms, 1705111746000ULL) << "UUIDv7 time is the ObjectId's creation time";
}

TEST(OidUuid, RoundTripsAndKeepsObjectIdOrder) {
    std::mt19937_64 rng(7);
    std::vector<ObjectIdBytes> oids(5000);
    for (auto &oid : oids)
        for (auto &b : oid)
            b = static_cast<std::uint8_t>(rng());
    oids.push_back(oid_from_hex("000000000000000000000000"));
    oids.push_back(oid_from_hex("ffffffffffffffffffffffff"));
    std::vector<Uuid> uuids;
    for (const auto &oid : oids) {
        Uuid u = nextcrm::oid_to_uuid(oid);
        auto back = nextcrm::uuid_to_oid(u);
        ASSERT_TRUE(back.has_value());
        ASSERT_EQ(*back, oid);
        uuids.push_back(u);
    }
    std::sort(oids.begin(), oids.end());
    std::sort(uuids.begin(), uuids.end());
    for (std::size_t i = 0; i < oids.size(); ++i)
        ASSERT_EQ(nextcrm::oid_to_uuid(oids[i]), uuids[i]) << "order differs at " << i;
}

TEST(OidUuid, RejectsUuidsItDidNotMake) {
    Uuid v4 = {0x3f, 0x2a, 0x1b, 0x4c, 0x5d, 0x6e, 0x4f, 0x70,
               0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8};
    EXPECT_FALSE(nextcrm::uuid_to_oid(v4).has_value());
    Uuid tampered = nextcrm::oid_to_uuid(oid_from_hex("65a1f0c2e4b0a1b2c3d4e5f6"));
    tampered[15] ^= 1; // breaks the marker
    EXPECT_FALSE(nextcrm::uuid_to_oid(tampered).has_value());
    tampered = nextcrm::oid_to_uuid(oid_from_hex("65a1f0c2e4b0a1b2c3d4e5f6"));
    tampered[5] ^= 1; // time no longer whole seconds
    EXPECT_FALSE(nextcrm::uuid_to_oid(tampered).has_value());
}

TEST(OidUuid, ParsesOnlyTwentyFourHexDigits) {
    EXPECT_TRUE(nextcrm::parse_object_id("65A1F0C2E4B0A1B2C3D4E5F6").has_value());
    EXPECT_FALSE(nextcrm::parse_object_id("65a1f0c2e4b0a1b2c3d4e5f").has_value());
    EXPECT_FALSE(nextcrm::parse_object_id("65a1f0c2e4b0a1b2c3d4e5fg").has_value());
    EXPECT_FALSE(nextcrm::parse_object_id("").has_value());
    EXPECT_EQ(nextcrm::object_id_hex(oid_from_hex("65A1F0C2E4B0A1B2C3D4E5F6")),
              "65a1f0c2e4b0a1b2c3d4e5f6");
}

TEST(OidUuid, AnyIdValueMapsDeterministically) {
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "65a1f0c2e4b0a1b2c3d4e5f6");
    bson_t *as_oid = BCON_NEW("_id", BCON_OID(&oid));
    bson_t *as_hex = BCON_NEW("_id", BCON_UTF8("65a1f0c2e4b0a1b2c3d4e5f6"));
    bson_t *as_str = BCON_NEW("_id", BCON_UTF8("legacy-user-7"));
    bson_t *as_str2 = BCON_NEW("_id", BCON_UTF8("legacy-user-7"));
    bson_t *as_i32 = BCON_NEW("_id", BCON_INT32(42));
    bson_t *as_i64 = BCON_NEW("_id", BCON_INT64(42));
    bson_t *as_doc = BCON_NEW("_id", "{", "a", BCON_INT32(1), "}");

    bool reversible = false;
    bson_iter_t it = iter_of(as_oid);
    Uuid from_oid = nextcrm::id_to_uuid(it, &reversible);
    EXPECT_TRUE(reversible);
    it = iter_of(as_hex);
    EXPECT_EQ(nextcrm::id_to_uuid(it, &reversible), from_oid) << "24-hex string = its ObjectId";
    EXPECT_TRUE(reversible);

    it = iter_of(as_str);
    Uuid s1 = nextcrm::id_to_uuid(it, &reversible);
    EXPECT_FALSE(reversible);
    EXPECT_EQ(s1[6] >> 4, 3) << "name-based version 3";
    it = iter_of(as_str2);
    EXPECT_EQ(nextcrm::id_to_uuid(it, &reversible), s1);

    it = iter_of(as_i32);
    Uuid n32 = nextcrm::id_to_uuid(it, &reversible);
    it = iter_of(as_i64);
    EXPECT_EQ(nextcrm::id_to_uuid(it, &reversible), n32) << "42 and 42L are the same _id";
    EXPECT_NE(n32, s1);
    it = iter_of(as_doc);
    EXPECT_NE(nextcrm::id_to_uuid(it, &reversible), n32);

    for (bson_t *b : {as_oid, as_hex, as_str, as_str2, as_i32, as_i64, as_doc})
        bson_destroy(b);
}

TEST(OidUuid, NameBasedIdsAreRfcVersion3) {
    // The values of an independent RFC 9562 implementation (Python's
    // uuid.uuid3 over the project's namespace and the same names), so that
    // ids stay what earlier migrations wrote whichever MD5 computes them.
    EXPECT_EQ(nextcrm::uuid_text(nextcrm::text_id_to_uuid("customer-42")),
              "61e1eff1-570b-3efa-9ec2-20a0a98952d0");
    EXPECT_EQ(nextcrm::uuid_text(nextcrm::text_id_to_uuid("")),
              "4421f957-f607-3c5e-8e9f-8a716e9b1db9");
}

// A subtype 3 and a subtype 4 _id holding the same bytes are two documents:
// they map to two ids (the FDW's _id column uses the same mapping).
TEST(OidUuid, LegacyAndStandardBinaryIdsStayDistinct) {
    const uint8_t bytes[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    bson_t *legacy = bson_new(), *standard = bson_new();
    BSON_APPEND_BINARY(legacy, "_id", BSON_SUBTYPE_UUID_DEPRECATED, bytes, 16);
    BSON_APPEND_BINARY(standard, "_id", BSON_SUBTYPE_UUID, bytes, 16);
    bson_iter_t a = iter_of(legacy), b = iter_of(standard);
    bool oid_a = true, oid_b = true;
    Uuid ua = nextcrm::id_to_uuid(a, &oid_a), ub = nextcrm::id_to_uuid(b, &oid_b);
    EXPECT_NE(ua, ub);
    EXPECT_FALSE(oid_a);
    EXPECT_FALSE(oid_b);
    EXPECT_EQ(nextcrm::id_to_uuid(a, &oid_a), ua);
    bson_destroy(legacy);
    bson_destroy(standard);
}
