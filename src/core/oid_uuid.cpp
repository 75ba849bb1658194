#include "core/oid_uuid.hpp"

#include "core/error.hpp"

#include <cstring>
#include <memory>

#include <openssl/evp.h>

namespace nextcrm {

namespace {

// The namespace of name-based ids: a fixed random UUID of this project.
constexpr Uuid nextcrm_id_namespace = {0x6b, 0x1e, 0x3f, 0x2a, 0x9c, 0x4d, 0x4e, 0x8b,
                                       0xa1, 0x57, 0x0d, 0x63, 0xe2, 0x94, 0x7c, 0x15};

std::uint64_t load_be(const std::uint8_t *p, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
        v = (v << 8) | p[i];
    return v;
}

void store_be(std::uint8_t *p, int n, std::uint64_t v) {
    for (int i = n - 1; i >= 0; --i) {
        p[i] = static_cast<std::uint8_t>(v);
        v >>= 8;
    }
}

Uuid name_based_uuid(const std::string &name) {
    // RFC 9562 version 3: MD5 over namespace + name, from OpenSSL (libbson's
    // bson_md5_* is gone from libbson 2).  A library without MD5 (a FIPS
    // build) is an error, never another hash.
    std::string input(reinterpret_cast<const char *>(nextcrm_id_namespace.data()),
                      nextcrm_id_namespace.size());
    input += name;
    Uuid out;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(input.data(), input.size(), md, &len, EVP_md5(), nullptr) != 1 ||
        len != out.size())
        throw Error("could not compute the MD5 of a name-based id", sqlstate::internal_error,
                    "OpenSSL's MD5 is not available.");
    std::memcpy(out.data(), md, out.size());
    out[6] = static_cast<std::uint8_t>((out[6] & 0x0F) | 0x30);
    out[8] = static_cast<std::uint8_t>((out[8] & 0x3F) | 0x80);
    return out;
}

// A canonical name for a non-ObjectId id: numbers that MongoDB treats as equal
// get the same name whatever their BSON width.
std::string id_name(const bson_iter_t &value) {
    switch (bson_iter_type(&value)) {
    case BSON_TYPE_UTF8: {
        std::uint32_t len = 0;
        const char *s = bson_iter_utf8(&value, &len);
        return "s:" + std::string(s, len);
    }
    case BSON_TYPE_INT32:
        return "n:" + std::to_string(bson_iter_int32(&value));
    case BSON_TYPE_INT64:
        return "n:" + std::to_string(bson_iter_int64(&value));
    default: {
        bson_t wrapper = BSON_INITIALIZER;
        bson_append_iter(&wrapper, "v", 1, &value);
        std::size_t len = 0;
        char *json = bson_as_canonical_extended_json(&wrapper, &len);
        bson_destroy(&wrapper);
        if (!json)
            throw Error(Message(NEXTCRM_MSG("cannot represent an _id of BSON type %s"),
                                std::to_string(static_cast<int>(bson_iter_type(&value)))),
                        sqlstate::fdw_error);
        std::string out = "j:" + std::string(json, len);
        bson_free(json);
        return out;
    }
    }
}

} // namespace

Uuid oid_to_uuid(const ObjectIdBytes &oid) {
    const std::uint64_t seconds = load_be(oid.data(), 4);
    const std::uint64_t tail = load_be(oid.data() + 4, 8);
    Uuid u{};
    store_be(u.data(), 6, seconds * 1000);
    const std::uint64_t rand_a = tail >> 52;
    u[6] = static_cast<std::uint8_t>(0x70 | (rand_a >> 8));
    u[7] = static_cast<std::uint8_t>(rand_a & 0xFF);
    const std::uint64_t rand_b = ((tail & ((std::uint64_t{1} << 52) - 1)) << 10) | oid_uuid_marker;
    store_be(u.data() + 8, 8, (std::uint64_t{2} << 62) | rand_b);
    return u;
}

std::optional<ObjectIdBytes> uuid_to_oid(const Uuid &u) {
    const std::uint64_t ms = load_be(u.data(), 6);
    const std::uint64_t low = load_be(u.data() + 8, 8);
    if ((u[6] >> 4) != 7 || (low >> 62) != 2 || (low & 0x3FF) != oid_uuid_marker ||
        ms % 1000 != 0 || ms / 1000 > 0xFFFFFFFFu)
        return std::nullopt;
    const std::uint64_t rand_a = (std::uint64_t{u[6] & 0x0Fu} << 8) | u[7];
    const std::uint64_t tail = (rand_a << 52) | ((low >> 10) & ((std::uint64_t{1} << 52) - 1));
    ObjectIdBytes oid{};
    store_be(oid.data(), 4, ms / 1000);
    store_be(oid.data() + 4, 8, tail);
    return oid;
}

std::optional<ObjectIdBytes> parse_object_id(std::string_view hex) {
    if (hex.size() != 24)
        return std::nullopt;
    ObjectIdBytes oid{};
    for (std::size_t i = 0; i < 12; ++i) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        oid[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return oid;
}

std::string object_id_hex(const ObjectIdBytes &oid) {
    static const char digits[] = "0123456789abcdef";
    std::string out(24, '0');
    for (std::size_t i = 0; i < 12; ++i) {
        out[2 * i] = digits[oid[i] >> 4];
        out[2 * i + 1] = digits[oid[i] & 0x0F];
    }
    return out;
}

Uuid id_to_uuid(const bson_iter_t &value, bool *is_object_id) {
    if (bson_iter_type(&value) == BSON_TYPE_OID) {
        ObjectIdBytes oid;
        std::memcpy(oid.data(), bson_iter_oid(&value)->bytes, 12);
        *is_object_id = true;
        return oid_to_uuid(oid);
    }
    if (bson_iter_type(&value) == BSON_TYPE_UTF8) {
        std::uint32_t len = 0;
        const char *s = bson_iter_utf8(&value, &len);
        if (auto oid = parse_object_id(std::string_view(s, len))) {
            *is_object_id = true;
            return oid_to_uuid(*oid);
        }
    }
    *is_object_id = false;
    return name_based_uuid(id_name(value));
}

Uuid text_id_to_uuid(std::string_view text) {
    if (auto oid = parse_object_id(text))
        return oid_to_uuid(*oid);
    return name_based_uuid("s:" + std::string(text));
}

std::string uuid_text(const Uuid &u) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out += '-';
        out += digits[u[i] >> 4];
        out += digits[u[i] & 0x0F];
    }
    return out;
}

} // namespace nextcrm
