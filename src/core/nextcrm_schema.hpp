// The NextCRM source schema as foreign-table definitions: the 29 collections
// and their stored fields from the embedded mongo-fields.csv, each with the
// SQL type that holds it exactly.  PostgreSQL-free; IMPORT FOREIGN SCHEMA
// nextcrm (src/fdw_import.cpp) writes these as CREATE FOREIGN TABLE.
//
// Types: String -> text, Int -> integer, Boolean -> boolean, DateTime ->
// timestamptz, Json -> jsonb, enums -> text (MongoDB does not enforce them),
// lists -> arrays.  Fields marked @db.ObjectId take objectid_type (text by
// default, or uuid / bytea).  Relation (virtual) fields are not stored and
// are left out.  Column names are the stored keys (_id, __v, ...).
#pragma once

#include <string>
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

// objectid_type: "text", "uuid" or "bytea".  Tables in CSV order.
std::vector<SchemaTable> nextcrm_tables(const std::string &objectid_type = "text");

} // namespace nextcrm
