// A profile's source schema as foreign-table definitions: the collections
// and their stored fields from its mongo-fields.csv, each with the SQL type
// that holds it exactly.  PostgreSQL-free; IMPORT FOREIGN SCHEMA nextcrm
// (src/fdw_import.cpp) writes these as CREATE FOREIGN TABLE.
//
// Types: String -> text, Int -> integer, Boolean -> boolean, DateTime ->
// timestamptz, Json -> jsonb, enums -> text (MongoDB does not enforce them),
// lists -> arrays.  Fields marked @db.ObjectId take objectid_type (text by
// default, or uuid / bytea).  Relation (virtual) fields are not stored and
// are left out.  Column names are the stored keys (_id, __v, ...).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nextcrm {

struct SchemaColumn {
    std::string name;     // the stored key, used verbatim as column name
    std::string sql_type; // e.g. "text", "integer[]", "timestamptz"
};

struct SchemaTable {
    std::string collection; // also the table name
    std::vector<SchemaColumn> columns;
};

// fields_csv: a profile's mongo-fields.csv.  objectid_type: "text", "uuid"
// or "bytea".  Tables in CSV order.
std::vector<SchemaTable> source_tables(std::string_view fields_csv,
                                       const std::string &objectid_type = "text");

// Throws unless objectid_type is one source_tables() accepts.
void check_objectid_type(const std::string &objectid_type);

} // namespace nextcrm
