#include "core/doc_transform.hpp"
#include "test_profile.hpp"
#include "core/mapping.hpp"

#include <gtest/gtest.h>

#include "bson_json.hpp"

#include <memory>
#include <string>

using namespace nextcrm;

namespace {

using Doc = BsonPtr;

const Transformer &transformer(const char *collection) {
    static std::map<std::string, std::unique_ptr<Transformer>> cache;
    auto &slot = cache[collection];
    if (!slot)
        slot =
            std::make_unique<Transformer>(nextcrm::test::nextcrm_mapping(),
                                          *nextcrm::test::nextcrm_mapping().collection(collection));
    return *slot;
}

std::optional<std::string> value(const Transformer &t, const TransformedDocument &d,
                                 const char *field) {
    for (std::size_t i = 0; i < t.columns().size(); ++i)
        if (t.columns()[i]->field == field)
            return d.values[i];
    ADD_FAILURE() << "no column " << field;
    return std::nullopt;
}

bool has_repair(const TransformedDocument &d, const std::string &field, const std::string &kind) {
    for (const auto &r : d.repairs)
        if (r.field == field && r.kind == kind)
            return true;
    return false;
}

std::string error_field(const Transformer &t, const Doc &doc) {
    try {
        t.transform(doc.get());
    } catch (const DocumentError &e) {
        return e.field();
    }
    return "(no error)";
}

const char *user_oid = "65a1f0c2e4b0a1b2c3d4e5f6";

} // namespace

TEST(Mapping, EveryCollectionComesAfterWhatItReferences) {
    const Mapping &m = nextcrm::test::nextcrm_mapping();
    EXPECT_EQ(m.collections().size(), 29u);
    EXPECT_EQ(m.junctions().size(), 10u);
    std::map<std::string, std::size_t> position;
    for (std::size_t i = 0; i < m.collections().size(); ++i)
        position[m.collections()[i].name] = i;
    for (const auto &c : m.collections())
        for (const auto &dep : c.depends_on)
            EXPECT_LT(position.at(dep), position.at(c.name)) << c.name << " needs " << dep;
    EXPECT_EQ(m.enum_labels("Language"), (std::vector<std::string>{"cz", "en", "de", "uk"}));
}

TEST(Transform, OrdinaryUser) {
    const Transformer &t = transformer("Users");
    Doc doc = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                   "\"}, \"__v\": 0, \"email\": \"a@example.com\", \"is_admin\": true,"
                   " \"is_account_admin\": false, \"created_on\": {\"$date\": "
                   "\"2024-01-13T02:09:06.123Z\"}, \"userStatus\": \"ACTIVE\","
                   " \"userLanguage\": \"cz\", \"password\": \"$2a$12$abc\","
                   " \"watching_boardsIDs\": [{\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f7\"}]}");
    TransformedDocument d = t.transform(doc.get());
    EXPECT_EQ(d.source_id, user_oid);
    EXPECT_EQ(value(t, d, "id"), "018d0094-75d0-7e4b-8286-cb0f5397da7a");
    EXPECT_EQ(value(t, d, "is_admin"), "true");
    EXPECT_EQ(value(t, d, "userLanguage"), "cz");
    // 2024-01-13T02:09:06.123Z in microseconds since 2000-01-01.
    EXPECT_EQ(value(t, d, "created_on"), "758426946123000");
    EXPECT_EQ(value(t, d, "lastLoginAt"), std::nullopt);
    ASSERT_EQ(d.junction.size(), 1u);
    EXPECT_EQ(d.junction[0].field->target_table, "_BoardWatchers");
    EXPECT_TRUE(d.repairs.empty());
    EXPECT_TRUE(d.extra_keys.empty());
    // The error table keeps the document exactly, secrets included: it is
    // as private as the target, which holds them too.
    std::string kept = t.document_json(doc.get());
    EXPECT_NE(kept.find("$2a$12$abc"), std::string::npos);
}

TEST(Transform, MissingRequiredFieldsTakeDefaultsAsRepairs) {
    const Transformer &t = transformer("Users");
    Doc doc = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                   "\"}, \"email\": \"b@example.com\"}");
    TransformedDocument d = t.transform(doc.get());
    // createdAt-like fields take the ObjectId's own time, not now().
    EXPECT_EQ(value(t, d, "created_on"), "758426946000000");
    EXPECT_TRUE(has_repair(d, "created_on", "default_applied"));
    EXPECT_EQ(value(t, d, "userStatus"), "PENDING");
    EXPECT_TRUE(has_repair(d, "userStatus", "default_applied"));
    EXPECT_EQ(value(t, d, "v"), "0");
    EXPECT_TRUE(has_repair(d, "__v", "default_applied"));
}

TEST(Transform, ValuesThatCannotConvertExactlyAreErrorsNamingTheField) {
    const Transformer &users = transformer("Users");
    EXPECT_EQ(error_field(users, json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                                      "\"}, \"email\": \"x\", \"userLanguage\": \"fr\"}")),
              "userLanguage");
    EXPECT_EQ(error_field(users, json(std::string("{\"_id\": {\"$oid\": \"") + user_oid + "\"}}")),
              "email");
    const Transformer &tasks = transformer("Tasks");
    EXPECT_EQ(error_field(tasks, json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                                      "\"}, \"__v\": 0, \"position\": 3000000000,"
                                      " \"priority\": \"low\", \"title\": \"t\"}")),
              "position");
    EXPECT_EQ(error_field(tasks, json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                                      "\"}, \"__v\": 0, \"position\": \"12.5\","
                                      " \"priority\": \"low\", \"title\": \"t\"}")),
              "position");
}

TEST(Transform, LegacyShapesConvertExactlyAndAreRecorded) {
    const Transformer &opp = transformer("crm_Opportunities");
    Doc doc = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                   "\"}, \"__v\": 0, \"budget\": \"1500\", \"expected_revenue\": 7,"
                   " \"createdAt\": \"2023-08-01T10:00:00.000Z\","
                   " \"created_by\": \"65a1f0c2e4b0a1b2c3d4e5f7\", \"legacy\": 1}");
    TransformedDocument d = opp.transform(doc.get());
    EXPECT_EQ(value(opp, d, "budget"), "1500");
    EXPECT_TRUE(has_repair(d, "budget", "legacy_value"));
    EXPECT_TRUE(has_repair(d, "createdAt", "legacy_value"));
    EXPECT_TRUE(has_repair(d, "created_by", "id_as_string"));
    EXPECT_EQ(d.refs.size(), 1u);
    EXPECT_NE(d.extra_keys.find("legacy"), std::string::npos);

    const Transformer &contacts = transformer("crm_Contacts");
    Doc c = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                 "\"}, \"__v\": 0, \"last_name\": \"Nováková\", \"status\": \"false\","
                 " \"tags\": [\"vip\", \"Київ\"]}");
    TransformedDocument cd = contacts.transform(c.get());
    EXPECT_EQ(value(contacts, cd, "status"), "false");
    EXPECT_TRUE(has_repair(cd, "status", "legacy_value"));
    EXPECT_EQ(value(contacts, cd, "tags"), "{\"vip\",\"Київ\"}");
    EXPECT_EQ(value(contacts, cd, "notes"), "{}");
}

TEST(Transform, JsonFieldsStayPlainJsonForTheApplication) {
    const Transformer &inv = transformer("Invoices");
    Doc doc =
        json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
             "\"}, \"invoice_file_mimeType\": \"application/pdf\", \"invoice_file_url\": \"u\", "
             "\"invoice_items\": [{\"qty\": 2, \"price\": 10.5, \"tags\": [[1, 2]]}]}");
    TransformedDocument d = inv.transform(doc.get());
    EXPECT_EQ(value(inv, d, "invoice_items"),
              "[ { \"qty\" : 2, \"price\" : 10.5, \"tags\" : [ [ 1, 2 ] ] } ]");
}

// jsonb has no -0: the double stays typed where the application read a
// number, and each one is a repair row naming its path.
TEST(Transform, NegativeZeroInJsonIsARepairPerPath) {
    const Transformer &inv = transformer("Invoices");
    Doc doc = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                   "\"}, \"invoice_file_mimeType\": \"application/pdf\", \"invoice_file_url\": "
                   "\"u\", \"invoice_items\": [{\"qty\": {\"$numberDouble\": \"-0.0\"}, "
                   "\"price\": {\"$numberDouble\": \"0.0\"}}, {\"d\": {\"x\": "
                   "{\"$numberDouble\": \"-0.0\"}}}]}");
    TransformedDocument d = inv.transform(doc.get());
    EXPECT_EQ(value(inv, d, "invoice_items"),
              "[ { \"qty\" : { \"$numberDouble\" : \"-0.0\" }, \"price\" : 0.0 }, { \"d\" : { "
              "\"x\" : { \"$numberDouble\" : \"-0.0\" } } } ]");
    std::vector<std::string> paths;
    for (const auto &r : d.repairs)
        if (r.kind == "negative_zero") {
            paths.push_back(r.field);
            EXPECT_EQ(r.original, "-0.0");
            EXPECT_EQ(r.replacement, "{\"$numberDouble\": \"-0.0\"}");
        }
    EXPECT_EQ(paths, (std::vector<std::string>{"invoice_items.0.qty", "invoice_items.1.d.x"}));
}

// A Symbol is a deprecated string: text, a text[] element and a string in
// Json alike, with no repair row since nothing changed.
TEST(Transform, SymbolsAreTheirStringEverywhere) {
    const Transformer &contacts = transformer("crm_Contacts");
    Doc c = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                 "\"}, \"__v\": 0, \"last_name\": {\"$symbol\": \"Novák\"},"
                 " \"tags\": [\"vip\", {\"$symbol\": \"alpha\"}]}");
    TransformedDocument cd = contacts.transform(c.get());
    EXPECT_EQ(value(contacts, cd, "last_name"), "Novák");
    EXPECT_EQ(value(contacts, cd, "tags"), "{\"vip\",\"alpha\"}");
    for (const auto &r : cd.repairs)
        EXPECT_TRUE(r.field != "last_name" && r.field.rfind("tags", 0) != 0) << r.field;
    const Transformer &inv = transformer("Invoices");
    Doc doc = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                   "\"}, \"invoice_file_mimeType\": \"application/pdf\", \"invoice_file_url\": "
                   "\"u\", \"invoice_items\": [{\"unit\": {\"$symbol\": \"pcs\"}}]}");
    TransformedDocument d = inv.transform(doc.get());
    EXPECT_EQ(value(inv, d, "invoice_items"), "[ { \"unit\" : \"pcs\" } ]");
    for (const auto &r : d.repairs)
        EXPECT_NE(r.field.rfind("invoice_items", 0), 0u) << r.field;
}

TEST(Transform, HelpersQuoteForSql) {
    EXPECT_EQ(quote_ident("crm_Accounts"), "\"crm_Accounts\"");
    EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
    EXPECT_EQ(array_literal({"a", "b\"c", "d\\e", ""}), "{\"a\",\"b\\\"c\",\"d\\\\e\",\"\"}");
}

namespace {

std::string repair_replacement(const TransformedDocument &d, const std::string &field) {
    for (const auto &r : d.repairs)
        if (r.field == field)
            return r.replacement;
    return "(no repair)";
}

// The message, SQLSTATE and field of the document's error.
struct Failure {
    std::string field, state, message;
};
Failure failure_of(const Transformer &t, const bson_t *doc) {
    try {
        t.transform(doc);
    } catch (const DocumentError &e) {
        return {e.field(), e.sqlstate(), e.what()};
    }
    return {"(no error)", "", ""};
}

// The exact bytes the error table keeps for a document with no JSON form.
std::string kept_bytes(const std::string &kept) {
    Doc w = json(kept);
    bson_iter_t it;
    if (!bson_iter_init_find(&it, w.get(), "bson_base64") || !BSON_ITER_HOLDS_UTF8(&it)) {
        ADD_FAILURE() << "no bson_base64 in " << kept;
        return {};
    }
    std::uint32_t len = 0;
    const char *b64 = bson_iter_utf8(&it, &len);
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::uint32_t i = 0; i < len && b64[i] != '='; ++i) {
        acc = acc << 6 | static_cast<std::uint32_t>(alphabet.find(b64[i]));
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

std::string bytes_of(const bson_t *doc) {
    return std::string(reinterpret_cast<const char *>(bson_get_data(doc)), doc->len);
}

} // namespace

TEST(Transform, RepairedTimesAreTimestampLiterals) {
    const Transformer &users = transformer("Users");
    Doc missing = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                       "\"}, \"email\": \"b@example.com\"}");
    // 0x65a1f0c2 seconds: 2024-01-13 02:09:06 UTC.
    EXPECT_EQ(repair_replacement(users.transform(missing.get()), "created_on"),
              "2024-01-13 02:09:06");
    const Transformer &opp = transformer("crm_Opportunities");
    Doc legacy = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                      "\"}, \"__v\": 0, \"createdAt\": \"2023-08-01T10:00:00.120+02:00\"}");
    TransformedDocument d = opp.transform(legacy.get());
    EXPECT_EQ(repair_replacement(d, "createdAt"), "2023-08-01 08:00:00.12");
    EXPECT_EQ(value(opp, d, "createdAt"), "744192000120000");
    Doc old = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                   "\"}, \"__v\": 0, \"createdAt\": \"1969-12-31T23:59:59.500Z\"}");
    EXPECT_EQ(repair_replacement(opp.transform(old.get()), "createdAt"), "1969-12-31 23:59:59.5");
}

TEST(Transform, JsonbDoublesKeepTheirShortestForm) {
    const Transformer &inv = transformer("Invoices");
    Doc doc(bson_new());
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, user_oid);
    BSON_APPEND_OID(doc.get(), "_id", &oid);
    BSON_APPEND_UTF8(doc.get(), "invoice_file_mimeType", "application/pdf");
    BSON_APPEND_UTF8(doc.get(), "invoice_file_url", "u");
    bson_t arr, el;
    BSON_APPEND_ARRAY_BEGIN(doc.get(), "invoice_items", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &el);
    BSON_APPEND_DOUBLE(&el, "unit_price", 19.99);
    BSON_APPEND_DOUBLE(&el, "vat", 0.21);
    BSON_APPEND_DOUBLE(&el, "qty", 3.0);
    BSON_APPEND_DOUBLE(&el, "tiny", 1e-7);
    BSON_APPEND_DOUBLE(&el, "neg0", -0.0);
    BSON_APPEND_INT64(&el, "big", 9007199254740993LL);
    bson_append_document_end(&arr, &el);
    bson_append_array_end(doc.get(), &arr);
    TransformedDocument d = inv.transform(doc.get());
    EXPECT_EQ(value(inv, d, "invoice_items"),
              "[ { \"unit_price\" : 19.99, \"vat\" : 0.21, \"qty\" : 3.0, \"tiny\" : 1e-7, "
              "\"neg0\" : { \"$numberDouble\" : \"-0.0\" }, \"big\" : 9007199254740993 } ]");
}

TEST(Transform, RepeatedKeysFailTheDocumentNamingTheKeyNotTheValues) {
    const Transformer &acc = transformer("crm_Accounts");
    Doc doc(bson_new());
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "65a1f0c2e4b0a1b2c3d4a031");
    BSON_APPEND_OID(doc.get(), "_id", &oid);
    BSON_APPEND_UTF8(doc.get(), "name", "Initial Value");
    BSON_APPEND_UTF8(doc.get(), "name", "Changed Value");
    BSON_APPEND_INT32(doc.get(), "__v", 0);
    Failure f = failure_of(acc, doc.get());
    EXPECT_EQ(f.field, "name");
    EXPECT_EQ(f.state, "22030");
    EXPECT_EQ(f.message, "document cannot be migrated: the key \"name\" appears more than once; "
                         "it occurs 2 times");
    // jsonb would keep one of the two: the error table keeps the bytes.
    EXPECT_EQ(kept_bytes(acc.document_json(doc.get())), bytes_of(doc.get()));

    // The same in the _id and in a nested object (a Json field).
    Doc ids(bson_new());
    BSON_APPEND_OID(ids.get(), "_id", &oid);
    BSON_APPEND_OID(ids.get(), "_id", &oid);
    EXPECT_EQ(failure_of(acc, ids.get()).field, "_id");
    const Transformer &tasks = transformer("Tasks");
    Doc nested(bson_new());
    BSON_APPEND_OID(nested.get(), "_id", &oid);
    bson_t tags;
    BSON_APPEND_DOCUMENT_BEGIN(nested.get(), "tags", &tags);
    BSON_APPEND_INT32(&tags, "k", 1);
    BSON_APPEND_INT32(&tags, "k", 2);
    bson_append_document_end(nested.get(), &tags);
    Failure n = failure_of(tasks, nested.get());
    EXPECT_EQ(n.field, "tags.k");
    EXPECT_EQ(n.message.find("$numberInt"), std::string::npos) << n.message;
}

// Messages never quote a value, under any key; the error table keeps the
// document exactly.
TEST(Transform, MessagesNameFieldsNeverValues) {
    const Transformer &users = transformer("Users");
    Doc doc(bson_new());
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, user_oid);
    BSON_APPEND_OID(doc.get(), "_id", &oid);
    BSON_APPEND_UTF8(doc.get(), "email", "a@example.com");
    BSON_APPEND_UTF8(doc.get(), "password", "hunter2-first");
    BSON_APPEND_UTF8(doc.get(), "password", "hunter2-second");
    Failure f = failure_of(users, doc.get());
    EXPECT_EQ(f.field, "password");
    EXPECT_EQ(f.message.find("hunter2"), std::string::npos) << f.message;
    std::string kept = kept_bytes(users.document_json(doc.get()));
    EXPECT_NE(kept.find("hunter2-first"), std::string::npos);
    EXPECT_NE(kept.find("hunter2-second"), std::string::npos);

    // A value that fails conversion is the canary itself.
    const Transformer &tasks = transformer("Tasks");
    Failure big = failure_of(tasks, json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                                         "\"}, \"__v\": 0, \"position\": 3777777777,"
                                         " \"priority\": \"low\", \"title\": \"t\"}")
                                        .get());
    EXPECT_EQ(big.field, "position");
    EXPECT_EQ(big.state, "22003");
    EXPECT_EQ(big.message.find("3777777777"), std::string::npos) << big.message;
    EXPECT_NE(big.message.find("out of integer's range"), std::string::npos) << big.message;
}

// A compound _id is kept exactly (a retry looks it up by it); a message
// names it by type and uuid, never by its members.
TEST(Transform, CompoundIdsAreExactInSideTablesAndUnquotedInMessages) {
    Doc doc = json(R"({"_id": {"tenant": 7, "password": "canary-pw-1"}, "x": 1})");
    EXPECT_EQ(source_id_of(doc.get()),
              R"({ "tenant" : { "$numberInt" : "7" }, "password" : "canary-pw-1" })");
    std::string shown = id_for_message(doc.get());
    EXPECT_EQ(shown.find("canary"), std::string::npos) << shown;
    EXPECT_EQ(shown.rfind("(BSON object, uuid ", 0), 0u) << shown;
    Doc oid_doc = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid + "\"}}");
    EXPECT_EQ(id_for_message(oid_doc.get()), std::string("{ \"$oid\" : \"") + user_oid + "\" }");
}

TEST(Transform, KeysThatAreNotUtf8FailTheDocumentWithItsExactBytes) {
    const Transformer &leads = transformer("crm_Leads");
    Doc doc(bson_new());
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "65a1f0c2e4b0a1b2c3d4a002");
    BSON_APPEND_OID(doc.get(), "_id", &oid);
    BSON_APPEND_UTF8(doc.get(), "lastName", "Novak");
    bson_append_utf8(doc.get(), "legacy_\xff", 8, "x", 1);
    BSON_APPEND_INT32(doc.get(), "__v", 0);
    Failure f = failure_of(leads, doc.get());
    EXPECT_EQ(f.field, "legacy_\\xff");
    EXPECT_EQ(f.state, "22021");
    EXPECT_EQ(kept_bytes(leads.document_json(doc.get())), bytes_of(doc.get()));
    EXPECT_EQ(source_id_of(doc.get()), "65a1f0c2e4b0a1b2c3d4a002");
}

TEST(Transform, NestingPastTheLimitFailsTheDocumentNamingTheField) {
    const Transformer &tasks = transformer("Tasks");
    for (int depth : {201, 5000, 20000}) {
        BsonPtr inner(bson_new());
        BSON_APPEND_UTF8(inner.get(), "leaf", "bottom");
        for (int i = 1; i < depth; ++i) {
            BsonPtr outer(bson_new());
            BSON_APPEND_DOCUMENT(outer.get(), "d", inner.get());
            inner = std::move(outer);
        }
        Doc doc(bson_new());
        bson_oid_t oid;
        bson_oid_init_from_string(&oid, "65a1f0c2e4b0a1b2c3d4a010");
        BSON_APPEND_OID(doc.get(), "_id", &oid);
        BSON_APPEND_UTF8(doc.get(), "title", "deep");
        BSON_APPEND_DOCUMENT(doc.get(), "tags", inner.get());
        Failure f = failure_of(tasks, doc.get());
        EXPECT_EQ(f.field.rfind("tags.d.d", 0), 0u) << depth;
        EXPECT_EQ(f.state, "54000");
        EXPECT_EQ(kept_bytes(tasks.document_json(doc.get())), bytes_of(doc.get()));
    }
}

TEST(Transform, MalformedDocumentsAreKeptAsTheyCame) {
    const Transformer &acc = transformer("crm_Accounts");
    Doc good = json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4a001\"}, \"name\": \"n\","
                    " \"description\": \"text\", \"__v\": 0}");
    std::string b = bytes_of(good.get());
    b[b.find(std::string("\x02"
                         "description\0",
                         13))] = 0x55;
    bson_t doc;
    ASSERT_TRUE(bson_init_static(&doc, reinterpret_cast<const uint8_t *>(b.data()), b.size()));
    Failure f = failure_of(acc, &doc);
    EXPECT_EQ(f.state, "XX001");
    EXPECT_EQ(kept_bytes(acc.document_json(&doc)), b);
    EXPECT_EQ(source_id_of(&doc), "65a1f0c2e4b0a1b2c3d4a001");
}

TEST(Transform, NulInAnUnknownKeyIsAnErrorNamingItsPath) {
    const Transformer &acc = transformer("crm_Accounts");
    Doc doc(bson_new());
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "65a1f0c2e4b0a1b2c3d4a034");
    BSON_APPEND_OID(doc.get(), "_id", &oid);
    BSON_APPEND_UTF8(doc.get(), "name", "n");
    bson_t legacy;
    BSON_APPEND_DOCUMENT_BEGIN(doc.get(), "legacy", &legacy);
    bson_append_utf8(&legacy, "note", 4, "a\0b", 3);
    bson_append_document_end(doc.get(), &legacy);
    // Stored any other way than refused, the value would change.
    EXPECT_EQ(failure_of(acc, doc.get()).field, "legacy.note");
}

// A reference that is dropped lives on only in its repair row, so the row
// holds the whole value: a long one is not cut short, and one with no JSON
// form (text that is not UTF-8) fails the document, whose exact BSON the
// error table keeps.
TEST(Transform, DroppedReferencesAreRecordedWhole) {
    const Transformer &boards = transformer("Boards");
    std::string long_text(300, 'z');
    for (const char *field : {"sharedWith", "watchers"}) {
        Doc doc(bson_new());
        bson_oid_t oid;
        bson_oid_init_from_string(&oid, user_oid);
        BSON_APPEND_OID(doc.get(), "_id", &oid);
        BSON_APPEND_UTF8(doc.get(), "title", "t");
        BSON_APPEND_UTF8(doc.get(), "description", "d");
        BSON_APPEND_OID(doc.get(), "user", &oid);
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(doc.get(), field, &arr);
        BSON_APPEND_UTF8(&arr, "0", long_text.c_str());
        bson_append_array_end(doc.get(), &arr);
        TransformedDocument d = boards.transform(doc.get());
        ASSERT_TRUE(has_repair(d, std::string(field) + ".0", "invalid_reference")) << field;
        for (const auto &r : d.repairs) {
            if (r.kind == "invalid_reference") {
                EXPECT_EQ(r.original, "\"" + long_text + "\"") << field;
            }
        }

        Doc bad(bson_new());
        BSON_APPEND_OID(bad.get(), "_id", &oid);
        BSON_APPEND_UTF8(bad.get(), "title", "t");
        BSON_APPEND_UTF8(bad.get(), "description", "d");
        BSON_APPEND_OID(bad.get(), "user", &oid);
        BSON_APPEND_ARRAY_BEGIN(bad.get(), field, &arr);
        bson_append_utf8(&arr, "0", 1, "\xff\xfe", 2);
        bson_append_array_end(bad.get(), &arr);
        EXPECT_EQ(error_field(boards, bad), std::string(field) + ".0");
    }
    // A single reference that is not required: the same.
    const Transformer &tasks = transformer("Tasks");
    Doc t = json(std::string("{\"_id\": {\"$oid\": \"") + user_oid +
                 "\"}, \"__v\": 0, \"position\": 1, \"priority\": \"low\", \"title\": \"t\"}");
    bson_append_utf8(t.get(), "createdBy", -1, "\xff", 1);
    EXPECT_EQ(error_field(tasks, t), "createdBy");
}
