// The conversion kinds a profile names for a target that reshaped its
// source (issue 18): named join-table columns, lookups through a value map,
// a derived field, merged keys, exact numerics and fields kept aside.  A
// small mapping of its own, so each kind is seen alone.
#include "core/doc_transform.hpp"
#include "core/mapping.hpp"

#include <gtest/gtest.h>

#include "bson_json.hpp"

#include <string>

using namespace nextcrm;

namespace {

const char *header = "model,stored_key,field,kind,target_table,target_column,owner_column,pg_type,"
                     "ref_model,required,mongo_default,on_missing,special,notes\n";

const char *rows =
    "people,_id,id,id,people,id,,uuid,,yes,,error,,\n"
    "people,is_admin,is_admin,kept,,,,,,,,null,,dropped by the target; read by role\n"
    "people,is_account_admin,is_account_admin,kept,,,,,,,,null,,dropped by the target\n"
    "people,,role,derive,people,role,,AppRole,,yes,,null,"
    "derive=is_admin:true:admin|is_account_admin:true:manager|*:user,\n"
    "people,docs,docs,junction,PeopleDocs,doc_id,person_id,,docs,,,empty,,\n"
    "docs,_id,id,id,docs,id,,uuid,,yes,,error,,\n"
    "docs,createdBy,createdBy,ref,docs,createdBy,,uuid,people,no,,null,or=created_by,\n"
    "docs,created_by,created_by,merged,,,,,,,,null,,\n"
    "docs,budget,budget,numeric,docs,budget,,\"numeric(18,2)\",,yes,0,default,numeric_string,\n"
    "docs,status,status,lookup,docs,status_id,,uuid,,no,,null,"
    "lookup=Statuses:name:id;map=status,\n"
    "docs,people,people,junction,PeopleDocs,person_id,doc_id,,people,,,empty,,\n"
    "keys,_id,id,kept,,,,,,,,error,,the target has no place for keys\n"
    "keys,secret,secret,kept,,,,,,,,null,,the target has no place for keys\n"
    "files,_id,id,id,files,id,,uuid,,yes,,error,,\n"
    "files,kind,kind,enum,files,kind,,DocKind,,no,,null,map=kind,\n";

const char *maps = "map,from,to\nstatus,IN_PROGRESS,Contacted\nstatus,completed,Qualified\n"
                   "kind,INVOICE,OTHER\n";
const char *enums = "enum,values\nAppRole,user manager admin\nDocKind,INVOICE RECEIPT OTHER\n";

// The numeric type's comma is quoted (the CSV reader takes RFC 4180 quotes).
std::string mapping_text() {
    return std::string(header) + rows;
}

std::string refusal(const std::string &mapping, const std::string &value_maps = maps) {
    try {
        Mapping m(mapping, enums, value_maps, "mapping.csv", "mongo-enums.csv", "value-maps.csv");
    } catch (const Error &e) {
        return e.what();
    }
    return "(accepted)";
}

bool has_repair(const TransformedDocument &d, const std::string &field, const std::string &kind,
                std::string *original = nullptr) {
    for (const auto &r : d.repairs)
        if (r.field == field && r.kind == kind) {
            if (original)
                *original = r.original;
            return true;
        }
    return false;
}

std::optional<std::string> value(const Transformer &t, const TransformedDocument &d,
                                 const char *field) {
    for (std::size_t i = 0; i < t.columns().size(); ++i)
        if (t.columns()[i]->field == field)
            return d.values[i];
    ADD_FAILURE() << "no column " << field;
    return std::nullopt;
}

std::string error_of(const Transformer &t, const char *doc) {
    try {
        t.transform(json(doc).get());
    } catch (const DocumentError &e) {
        return e.field() + ": " + e.what();
    }
    return "(no error)";
}

} // namespace

class Kinds : public ::testing::Test {
  protected:
    void SetUp() override {
        mapping = std::make_unique<Mapping>(mapping_text(), enums, maps, "mapping.csv",
                                            "mongo-enums.csv", "value-maps.csv");
    }
    std::unique_ptr<Mapping> mapping;
};

TEST_F(Kinds, NamedJunctionColumnsKeepBothSidesInOneOrder) {
    ASSERT_EQ(mapping->junctions().size(), 1u);
    const JunctionMapping &j = mapping->junctions()[0];
    EXPECT_EQ(j.table, "PeopleDocs");
    EXPECT_EQ(j.a_column, "doc_id");
    EXPECT_EQ(j.b_column, "person_id");
    EXPECT_EQ(j.a_model, "docs");
    EXPECT_EQ(j.b_model, "people");
}

TEST_F(Kinds, ARoleIsDerivedFromTheFlagsAndTheFlagsAreKeptAside) {
    Transformer t(*mapping, *mapping->collection("people"));
    auto d = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f6\"},"
                              " \"is_admin\": true, \"is_account_admin\": true}")
                             .get());
    EXPECT_EQ(value(t, d, "role"), "admin");
    std::string inputs;
    ASSERT_TRUE(has_repair(d, "role", "derived", &inputs));
    EXPECT_NE(inputs.find("is_admin: true"), std::string::npos) << inputs;
    ASSERT_EQ(d.kept.size(), 2u);
    EXPECT_EQ(d.kept[0].field, "is_admin");
    EXPECT_EQ(d.kept[0].reason, "dropped by the target; read by role");
    EXPECT_EQ(d.kept[0].document, "{ \"is_admin\" : true }");
    auto m = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f7\"},"
                              " \"is_admin\": false, \"is_account_admin\": true}")
                             .get());
    EXPECT_EQ(value(t, m, "role"), "manager");
    auto u = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f8\"}}").get());
    EXPECT_EQ(value(t, u, "role"), "user");
    EXPECT_TRUE(u.kept.empty());
}

TEST_F(Kinds, AMergedKeyFillsAMissingValueAndAConflictKeepsTheOther) {
    Transformer t(*mapping, *mapping->collection("docs"));
    auto filled = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e501\"},"
                                   " \"created_by\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f6\"}}")
                                  .get());
    EXPECT_EQ(value(t, filled, "createdBy"), "018d0094-75d0-7e4b-8286-cb0f5397da7a");
    EXPECT_TRUE(has_repair(filled, "created_by", "merged"));
    auto conflict = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e502\"},"
                                     " \"createdBy\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f6\"},"
                                     " \"created_by\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f7\"}}")
                                    .get());
    EXPECT_EQ(value(t, conflict, "createdBy"), "018d0094-75d0-7e4b-8286-cb0f5397da7a");
    std::string other;
    ASSERT_TRUE(has_repair(conflict, "created_by", "merge_conflict", &other));
    EXPECT_EQ(other, "65a1f0c2e4b0a1b2c3d4e5f7");
    auto same = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e503\"},"
                                 " \"createdBy\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f6\"},"
                                 " \"created_by\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f6\"}}")
                                .get());
    EXPECT_FALSE(has_repair(same, "created_by", "merge_conflict"));
}

TEST_F(Kinds, NumericsAreExactOrAnErrorNamingTheField) {
    Transformer t(*mapping, *mapping->collection("docs"));
    auto v = [&](const char *budget) {
        return value(t,
                     t.transform(json(std::string("{\"_id\": {\"$oid\": "
                                                  "\"65a1f0c2e4b0a1b2c3d4e501\"}, \"budget\": ") +
                                      budget + "}")
                                     .get()),
                     "budget");
    };
    EXPECT_EQ(v("2147483647"), "2147483647");
    EXPECT_EQ(v("{\"$numberLong\": \"9999999999999999\"}"), "9999999999999999");
    EXPECT_EQ(v("19.99"), "19.99");
    EXPECT_EQ(v("-0.5"), "-0.5");
    EXPECT_EQ(v("{\"$numberDecimal\": \"1.50E+3\"}"), "1500");
    EXPECT_EQ(v("\"1500\""), "1500");
    const char *id = "{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e501\"}, \"budget\": ";
    for (const char *bad : {"0.125", "{\"$numberLong\": \"10000000000000000\"}",
                            "{\"$numberDecimal\": \"NaN\"}", "\"12,5\"", "1e300"})
        EXPECT_EQ(error_of(t, (std::string(id) + bad + "}").c_str()).rfind("budget: ", 0), 0u)
            << bad;
    // A legacy string says whether it is no number or a number too wide.
    EXPECT_NE(error_of(t, (std::string(id) + "\"approx. 20k\"}").c_str())
                  .find("holds the string \"approx. 20k\", which is not a number"),
              std::string::npos);
    EXPECT_NE(error_of(t, (std::string(id) + "\"100000000000000000\"}").c_str())
                  .find("holds 100000000000000000, which numeric("),
              std::string::npos);
    EXPECT_EQ(exact_numeric("0.10", 18, 2), "0.1");
    EXPECT_EQ(exact_numeric("-0", 18, 2), "0");
    EXPECT_EQ(exact_numeric("12E-2", 18, 2), "0.12");
    EXPECT_EQ(exact_numeric("12E-3", 18, 2), std::nullopt);
}

TEST_F(Kinds, ALookupGoesThroughTheValueMapCaseFoldedAndIsARepair) {
    Transformer t(*mapping, *mapping->collection("docs"));
    auto d = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e501\"},"
                              " \"status\": \"in_progress\"}")
                             .get());
    EXPECT_EQ(value(t, d, "status"), "Contacted");
    ASSERT_EQ(d.lookups.size(), 1u);
    EXPECT_EQ(d.lookups[0].name, "Contacted");
    EXPECT_EQ(d.lookups[0].original, "in_progress");
    EXPECT_TRUE(has_repair(d, "status", "lookup"));
    // No counterpart: the name as written, for the engine to find or add.
    auto n = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e502\"},"
                              " \"status\": \" Waiting \"}")
                             .get());
    EXPECT_EQ(value(t, n, "status"), "Waiting");
    // The operator's map wins over the profile's.
    t.set_value_overrides({{"status", {{"in_progress", "Lost"}}}});
    auto o = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e503\"},"
                              " \"status\": \"IN_PROGRESS\"}")
                             .get());
    EXPECT_EQ(value(t, o, "status"), "Lost");
    EXPECT_EQ(column_cast(*mapping->collection("docs")->find("status"), "p1"),
              "(SELECT l.\"id\" FROM public.\"Statuses\" l WHERE pg_catalog.lower(l.\"name\") "
              "OPERATOR(pg_catalog.=) pg_catalog.lower(p1) LIMIT 1)");
}

TEST_F(Kinds, AnEnumGoesThroughItsValueMapAndAChangedValueIsARepair) {
    Transformer t(*mapping, *mapping->collection("files"));
    auto d = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e501\"},"
                              " \"kind\": \"INVOICE\"}")
                             .get());
    EXPECT_EQ(value(t, d, "kind"), "OTHER");
    std::string original;
    ASSERT_TRUE(has_repair(d, "kind", "value_mapped", &original));
    EXPECT_EQ(original, "INVOICE");
    EXPECT_EQ(d.repairs.size(), 1u);
    // A label the map does not name stays as it is, with no repair.
    auto r = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e502\"},"
                              " \"kind\": \"RECEIPT\"}")
                             .get());
    EXPECT_EQ(value(t, r, "kind"), "RECEIPT");
    EXPECT_TRUE(r.repairs.empty());
    // The operator's map wins: INVOICE kept as it is, no repair.
    t.set_value_overrides({{"kind", {{"invoice", "INVOICE"}}}});
    auto o = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e503\"},"
                              " \"kind\": \"INVOICE\"}")
                             .get());
    EXPECT_EQ(value(t, o, "kind"), "INVOICE");
    EXPECT_TRUE(o.repairs.empty());
    // An operator's map to no label of the enum makes the document an error
    // naming the field and the map, not a value the column would refuse.
    t.set_value_overrides({{"kind", {{"invoice", "BILL"}}}});
    EXPECT_EQ(error_of(t, "{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e504\"},"
                          " \"kind\": \"INVOICE\"}"),
              "kind: value map \"kind\" maps field \"kind\" to a string that is not a value of "
              "enum DocKind");
    // A string that is no label and that no map names stays an error.
    EXPECT_EQ(error_of(t, "{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e505\"},"
                          " \"kind\": \"MEMO\"}"),
              "kind: field \"kind\" holds a string that is not a value of enum DocKind");
}

TEST_F(Kinds, ACollectionWithNoPlaceIsKeptWhole) {
    const CollectionMapping *keys = mapping->collection("keys");
    ASSERT_NE(keys, nullptr);
    EXPECT_TRUE(keys->kept_whole);
    Transformer t(*mapping, *keys);
    auto d = t.transform(json("{\"_id\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e501\"},"
                              " \"secret\": \"sk-1\", \"extra\": 1.5}")
                             .get());
    ASSERT_EQ(d.kept.size(), 1u);
    EXPECT_EQ(d.kept[0].field, "");
    EXPECT_EQ(d.kept[0].reason, "the target has no place for keys");
    EXPECT_EQ(d.kept[0].document, "{ \"_id\" : { \"$oid\" : \"65a1f0c2e4b0a1b2c3d4e501\" }, "
                                  "\"secret\" : \"sk-1\", \"extra\" : { \"$numberDouble\" : "
                                  "\"1.5\" } }");
}

TEST(KindRefusals, EachMisuseNamesFileLineAndField) {
    std::string good = mapping_text();
    EXPECT_EQ(refusal(good), "(accepted)");
    auto with = [&](const std::string &from, const std::string &to) {
        std::string text = good;
        auto at = text.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
        return refusal(text);
    };
    EXPECT_EQ(with("\"numeric(18,2)\"", "numeric"),
              "mapping.csv line 10, field \"pg_type\": kind numeric needs numeric(p,s), not "
              "\"numeric\"");
    EXPECT_EQ(with("lookup=Statuses:name:id", "lookup=Statuses"),
              "mapping.csv line 11, field \"special\": lookup needs "
              "table:match_column:result_column, not \"lookup=Statuses\"");
    EXPECT_EQ(with("map=status", "map=stage"),
              "value-maps.csv: map \"status\" is named by no lookup or enum (map=status in "
              "mapping.csv)");
    EXPECT_EQ(with("default,numeric_string,", "default,numeric_string;map=status,"),
              "mapping.csv line 10, field \"special\": map= belongs to kinds lookup and enum");
    EXPECT_EQ(refusal(good, std::string(maps) + "kind,receipt,BILL\n"),
              "value-maps.csv: map \"kind\" maps \"receipt\" to \"BILL\", which is not a value "
              "of enum DocKind (map=kind in mapping.csv line 16)");
    EXPECT_EQ(with("|*:user", ""),
              "mapping.csv line 5, field \"special\": a derive table ends with its otherwise "
              "case *:value");
    EXPECT_EQ(with("is_account_admin:true:manager", "is_owner:true:manager"),
              "mapping.csv line 5, field \"special\": derive reads \"is_owner\", which is not a "
              "field of \"people\"");
    EXPECT_EQ(with("or=created_by", "or=creator"),
              "mapping.csv line 8, field \"special\": or=creator names no field of kind merged "
              "of \"docs\"");
    EXPECT_EQ(with("the target has no place for keys\nkeys,secret", "\nkeys,secret"),
              "mapping.csv line 13, field \"notes\": a kept field needs its reason in notes");
    EXPECT_EQ(with("keys,secret,secret,kept,,", "keys,secret,secret,text,keys,secret"),
              "mapping.csv line 14, field \"kind\": collection \"keys\" is kept whole (its _id "
              "is of kind kept): every field is kept");
    EXPECT_EQ(with("PeopleDocs,person_id,doc_id", "PeopleDocs,person_id,person"),
              "mapping.csv line 12, field \"owner_column\": junction table \"PeopleDocs\" has "
              "columns \"doc_id\" and \"person_id\" in another row");
    EXPECT_EQ(refusal(good, "map,from,to\nstatus,x,A\nstatus,X,B\n"),
              "value-maps.csv line 3, field \"from\": \"X\" is mapped twice (case folded) in "
              "map \"status\"");
}
