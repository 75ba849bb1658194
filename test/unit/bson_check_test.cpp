#include "core/bson_check.hpp"
#include "core/extended_json.hpp"

#include <gtest/gtest.h>

#include "bson_json.hpp"

#include <string>

using namespace nextcrm;
using Kind = DocumentFault::Kind;

namespace {

// {"_id": 1, "tags": {"d": ... {"leaf": "bottom"}}} nesting `depth` levels.
BsonPtr deep_under_tags(int depth) {
    BsonPtr inner(bson_new());
    BSON_APPEND_UTF8(inner.get(), "leaf", "bottom");
    for (int level = 1; level < depth; ++level) {
        BsonPtr outer(bson_new());
        BSON_APPEND_DOCUMENT(outer.get(), "d", inner.get());
        inner = std::move(outer);
    }
    BsonPtr doc(bson_new());
    BSON_APPEND_INT32(doc.get(), "_id", 1);
    BSON_APPEND_DOCUMENT(doc.get(), "tags", inner.get());
    return doc;
}

} // namespace

TEST(CheckDocument, OrdinaryDocumentsPass) {
    BsonPtr doc = json("{\"_id\": 1, \"a\": {\"b\": [1, {\"c\": \"x\"}]}, \"name\": \"n\"}");
    EXPECT_FALSE(check_document(doc.get()).has_value());
    EXPECT_FALSE(check_document(deep_under_tags(max_document_depth).get()).has_value());
}

TEST(CheckDocument, DeepNestingIsAFaultAtAnyDepthPastTheLimit) {
    for (int depth : {max_document_depth + 1, 201, 5000, 20000}) {
        auto fault = check_document(deep_under_tags(depth).get());
        ASSERT_TRUE(fault.has_value()) << depth;
        EXPECT_EQ(fault->kind, Kind::TooDeep);
        EXPECT_EQ(fault->path.rfind("tags.d", 0), 0u) << fault->path.substr(0, 40);
    }
    // Arrays count as levels too.
    BsonPtr inner(bson_new());
    for (int i = 0; i < 120; ++i) {
        BsonPtr outer(bson_new());
        BSON_APPEND_ARRAY(outer.get(), "0", inner.get());
        inner = std::move(outer);
    }
    BsonPtr arrays(bson_new());
    BSON_APPEND_ARRAY(arrays.get(), "a", inner.get());
    auto fault = check_document(arrays.get());
    ASSERT_TRUE(fault.has_value());
    EXPECT_EQ(fault->kind, Kind::TooDeep);
    EXPECT_EQ(fault->path.substr(0, 6), "a.0.0.");
}

TEST(CheckDocument, KeysThatAreNotUtf8AreNamedEscaped) {
    BsonPtr doc(bson_new());
    BSON_APPEND_INT32(doc.get(), "_id", 1);
    bson_t sub;
    BSON_APPEND_DOCUMENT_BEGIN(doc.get(), "meta", &sub);
    bson_append_utf8(&sub, "legacy_\xff", 8, "x", 1);
    bson_append_document_end(doc.get(), &sub);
    auto fault = check_document(doc.get());
    ASSERT_TRUE(fault.has_value());
    EXPECT_EQ(fault->kind, Kind::KeyNotUtf8);
    EXPECT_EQ(fault->path, "meta.legacy_\\xff");
}

TEST(CheckDocument, RepeatedKeysListEveryValueAtAnyLevel) {
    BsonPtr top(bson_new());
    BSON_APPEND_UTF8(top.get(), "name", "Initial Value");
    BSON_APPEND_UTF8(top.get(), "name", "Changed Value");
    auto fault = check_document(top.get());
    ASSERT_TRUE(fault.has_value());
    EXPECT_EQ(fault->kind, Kind::DuplicateKey);
    EXPECT_EQ(fault->path, "name");
    EXPECT_EQ(fault->values, (std::vector<std::string>{"\"Initial Value\"", "\"Changed Value\""}));

    BsonPtr id(bson_new());
    BSON_APPEND_INT32(id.get(), "_id", 1);
    BSON_APPEND_INT32(id.get(), "_id", 2);
    fault = check_document(id.get());
    ASSERT_TRUE(fault.has_value());
    EXPECT_EQ(fault->path, "_id");
    EXPECT_EQ(fault->values.size(), 2u);

    BsonPtr nested(bson_new());
    bson_t arr, el;
    BSON_APPEND_ARRAY_BEGIN(nested.get(), "items", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &el);
    BSON_APPEND_DOUBLE(&el, "price", 1.5);
    BSON_APPEND_INT32(&el, "qty", 1);
    BSON_APPEND_DOUBLE(&el, "price", 2.5);
    bson_append_document_end(&arr, &el);
    bson_append_array_end(nested.get(), &arr);
    fault = check_document(nested.get());
    ASSERT_TRUE(fault.has_value());
    EXPECT_EQ(fault->path, "items.0.price");
    EXPECT_EQ(fault->values, (std::vector<std::string>{"{ \"$numberDouble\" : \"1.5\" }",
                                                       "{ \"$numberDouble\" : \"2.5\" }"}));
}

TEST(CheckDocument, MalformedElementsAfterAValidLengthPrefix) {
    BsonPtr good = json("{\"_id\": 1, \"a\": {\"s\": \"text\"}, \"z\": 2}");
    std::string bytes(reinterpret_cast<const char *>(bson_get_data(good.get())), good->len);
    // Every single-byte change inside the elements either passes or is
    // reported: never a crash, never an exception.
    for (std::size_t pos = 4; pos + 1 < bytes.size(); ++pos) {
        for (unsigned char v : {0x00, 0x01, 0x7f, 0xff}) {
            std::string b = bytes;
            b[pos] = static_cast<char>(v);
            bson_t doc;
            ASSERT_TRUE(
                bson_init_static(&doc, reinterpret_cast<const uint8_t *>(b.data()), b.size()));
            auto fault = check_document(&doc);
            if (fault) {
                EXPECT_FALSE(fault->reason.empty());
            }
        }
    }
    // A bogus element type in the sub-document is named by its path.
    std::string b = bytes;
    std::size_t at = b.find(std::string("\x02s\0", 3));
    ASSERT_NE(at, std::string::npos);
    b[at] = 0x55; // no such BSON type
    bson_t doc;
    ASSERT_TRUE(bson_init_static(&doc, reinterpret_cast<const uint8_t *>(b.data()), b.size()));
    auto fault = check_document(&doc);
    ASSERT_TRUE(fault.has_value());
    EXPECT_EQ(fault->kind, Kind::Malformed);
    EXPECT_EQ(fault->path, "a");
}

TEST(CheckDocument, NulInAStringIsATraitNotAFault) {
    BsonPtr doc(bson_new());
    bson_t sub;
    BSON_APPEND_DOCUMENT_BEGIN(doc.get(), "x", &sub);
    bson_append_utf8(&sub, "description", 11, "line1\0line2", 11);
    bson_append_document_end(doc.get(), &sub);
    DocumentTraits traits;
    EXPECT_FALSE(check_document(doc.get(), &traits).has_value());
    EXPECT_TRUE(traits.nul_in_string);
    EXPECT_EQ(traits.nul_path, "x.description");
}

namespace {

// bson_structure_valid() as it was defined before it looked at the nesting
// first: check_document() (bounded) on every document, then bson_validate()
// unless the document nests past the bound.
bool structure_valid_by_definition(const bson_t *doc, std::size_t *offset) {
    auto fault = check_document(doc, nullptr, max_document_depth);
    if (fault && fault->kind == Kind::TooDeep)
        return true;
    return bson_validate(doc, BSON_VALIDATE_NONE, offset);
}

std::string bytes_of(const bson_t *doc) {
    return std::string(reinterpret_cast<const char *>(bson_get_data(doc)), doc->len);
}

// `before` then {"tags": <nested `depth` levels>} then "z": 2.
std::string with_nesting(const std::string &before_json, int depth) {
    BsonPtr doc = json(before_json);
    BsonPtr deep = deep_under_tags(depth);
    bson_iter_t it;
    EXPECT_TRUE(bson_iter_init_find(&it, deep.get(), "tags"));
    std::uint32_t len = 0;
    const std::uint8_t *data = nullptr;
    bson_iter_document(&it, &len, &data);
    bson_t tags;
    EXPECT_TRUE(bson_init_static(&tags, data, len));
    BSON_APPEND_DOCUMENT(doc.get(), "tags", &tags);
    BSON_APPEND_INT32(doc.get(), "z", 2);
    return bytes_of(doc.get());
}

} // namespace

TEST(StructureValid, AnswersAsCheckDocumentThenBsonValidateForEveryByteChanged) {
    // Documents that nest up to, just past and far past the bound, with
    // strings, arrays and code with scope; then each of them with each byte
    // changed to a few values.  The answer and bson_validate()'s offset
    // must be the definition's, whichever way it goes.
    std::vector<std::string> docs = {
        bytes_of(json("{\"_id\": 1, \"a\": {\"s\": \"text\", \"n\": [1, \"two\", {\"x\": null}]}, "
                      "\"c\": {\"$code\": \"f()\", \"$scope\": {\"v\": {\"w\": 1}}}, \"z\": 2}")
                     .get()),
        with_nesting("{\"_id\": 1, \"s\": \"abc\"}", max_document_depth - 1),
        with_nesting("{\"_id\": 1, \"s\": \"abc\"}", max_document_depth),
        with_nesting("{\"_id\": 1, \"s\": \"abc\"}", max_document_depth + 1),
        with_nesting("{\"_id\": 1, \"s\": \"abc\", \"s2\": \"d\"}", 130),
    };
    int valid = 0, invalid = 0, deep_and_invalid = 0, duplicate_then_deep = 0;
    for (const std::string &bytes : docs) {
        for (std::size_t pos = 4; pos <= bytes.size(); ++pos) {
            for (int v : {-1, 0x00, 0x01, 0x03, 0x04, 0x7f, 0x80, 0xff}) {
                std::string b = bytes;
                // The last byte stays the terminator bson_init_static()
                // requires; pos == size is the unchanged document, once.
                if (pos + 1 < b.size() && v >= 0)
                    b[pos] = static_cast<char>(v);
                else if ((pos == b.size()) != (v < 0))
                    continue;
                bson_t doc;
                ASSERT_TRUE(
                    bson_init_static(&doc, reinterpret_cast<const uint8_t *>(b.data()), b.size()));
                std::size_t want_at = 0, got_at = 0;
                bool want = structure_valid_by_definition(&doc, &want_at);
                bool got = bson_structure_valid(&doc, &got_at);
                auto fault = check_document(&doc);
                if (got && !want && fault && fault->kind == Kind::DuplicateKey) {
                    // The one departure from the definition: a repeated key
                    // before nesting past the bound no longer sends
                    // bson_validate() down the nesting (see
                    // AFaultBeforeDeepNestingNeverLetsBsonValidateRecurse):
                    // passed on, its reader's check makes it its error.
                    ++duplicate_then_deep;
                    continue;
                }
                ASSERT_EQ(got, want) << "byte " << pos << " set to " << v;
                if (!want) {
                    ASSERT_EQ(got_at, want_at) << "byte " << pos << " set to " << v;
                    ++invalid;
                } else {
                    ++valid;
                }
                if (want && !bson_validate(&doc, BSON_VALIDATE_NONE, nullptr))
                    ++deep_and_invalid;
            }
        }
    }
    // The corpus reaches every branch: documents passed, documents refused,
    // and documents passed only because they nest past the bound.
    EXPECT_GT(valid, 100);
    EXPECT_GT(invalid, 100);
    EXPECT_GT(deep_and_invalid, 10);
    EXPECT_GT(duplicate_then_deep, 0);
}

namespace {

// `head` (BSON elements) then "tags" nested `depth` levels of {"d": ...},
// built as bytes in linear time (a million levels is 8 MB).
std::string deep_after(const std::string &head, int depth) {
    std::string inner = std::string("\x05\0\0\0\0", 5);
    std::size_t len = inner.size();
    std::string opens, closes;
    std::vector<std::uint32_t> lengths(depth);
    for (int level = depth - 1; level >= 0; --level) {
        len += 4 + 3 + 1; // length, type + "d\0", terminator
        lengths[level] = static_cast<std::uint32_t>(len);
    }
    std::string body;
    body.reserve(len + head.size() + 16);
    auto le32 = [](std::uint32_t v) {
        return std::string{static_cast<char>(v), static_cast<char>(v >> 8),
                           static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
    };
    body += head;
    body += std::string("\x03tags\0", 6);
    for (int level = 0; level < depth; ++level) {
        body += le32(lengths[level]);
        body += std::string("\x03"
                            "d\0",
                            3);
    }
    body += inner;
    body.append(depth, '\0');
    body += '\0';
    return le32(static_cast<std::uint32_t>(body.size() + 4)) + body;
}

} // namespace

TEST(StructureValid, AFaultBeforeDeepNestingNeverLetsBsonValidateRecurse) {
    // A duplicate key, or a key that is not UTF-8, before nesting far past
    // the bound: check_document() reports that fault first, not TooDeep,
    // and bson_validate() must not then walk the nesting (a stack frame
    // per level: a million levels overflowed the stack, SIGSEGV).
    const std::string dup = std::string("\x10"
                                        "a\0\x01\0\0\0",
                                        7) +
                            std::string("\x10"
                                        "a\0\x02\0\0\0",
                                        7);
    const std::string not_utf8 = std::string("\x10\xff\0\x01\0\0\0", 7);
    for (const std::string &head : {dup, not_utf8}) {
        std::string bytes = deep_after(head, 1000000);
        bson_t doc;
        ASSERT_TRUE(
            bson_init_static(&doc, reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
        auto fault = check_document(&doc);
        ASSERT_TRUE(fault.has_value());
        EXPECT_NE(fault->kind, Kind::TooDeep);
        std::size_t offset = 0;
        // The duplicate key is passed on as every document nesting past the
        // bound (its reader's check_document() makes it its error); the key
        // that is not UTF-8 is refused where bson_validate() stops, at it.
        bool want = head == dup;
        EXPECT_EQ(bson_structure_valid(&doc, &offset), want);
        if (!want) {
            EXPECT_EQ(offset, 4u);
        }
    }
}
