#include "core/doc_transform.hpp"
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
        slot = std::make_unique<Transformer>(Mapping::nextcrm(),
                                             *Mapping::nextcrm().collection(collection));
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
    const Mapping &m = Mapping::nextcrm();
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
    std::string redacted = t.redacted_json(doc.get());
    EXPECT_EQ(redacted.find("$2a$12$abc"), std::string::npos);
    EXPECT_NE(redacted.find("[redacted sha256:"), std::string::npos);
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

TEST(Transform, HelpersQuoteForSql) {
    EXPECT_EQ(quote_ident("crm_Accounts"), "\"crm_Accounts\"");
    EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
    EXPECT_EQ(array_literal({"a", "b\"c", "d\\e", ""}), "{\"a\",\"b\\\"c\",\"d\\\\e\",\"\"}");
}
