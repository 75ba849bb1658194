#include "source_schema.hpp"

#include "csv.hpp"
#include "error.hpp"

#include <map>

namespace nextcrm {

namespace {

std::string scalar_type(const std::string &prisma_type, const std::string &kind, bool objectid,
                        const std::string &objectid_type) {
    if (objectid)
        return objectid_type;
    if (kind == "enum")
        return "text";
    if (kind == "json" || prisma_type == "Json")
        return "jsonb";
    if (prisma_type == "String")
        return "text";
    if (prisma_type == "Int")
        return "integer";
    if (prisma_type == "BigInt")
        return "bigint";
    if (prisma_type == "Float")
        return "double precision";
    if (prisma_type == "Decimal")
        return "numeric";
    if (prisma_type == "Boolean")
        return "boolean";
    if (prisma_type == "DateTime")
        return "timestamptz";
    if (prisma_type == "Bytes")
        return "bytea";
    throw Error("mongo-fields.csv: unknown Prisma type " + prisma_type);
}

} // namespace

void check_objectid_type(const std::string &objectid_type) {
    if (objectid_type != "text" && objectid_type != "uuid" && objectid_type != "bytea")
        throw Error(Message(NEXTCRM_MSG("objectid_type must be text, uuid or bytea, not \"%s\""),
                            objectid_type),
                    sqlstate::fdw_invalid_attribute_value);
}

std::vector<SchemaTable> source_tables(std::string_view fields_csv,
                                       const std::string &objectid_type) {
    check_objectid_type(objectid_type);
    std::vector<CsvRow> rows = parse_csv(fields_csv);
    if (rows.empty())
        throw Error("mongo-fields.csv is empty");
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < rows[0].size(); ++i)
        col[rows[0][i]] = i;
    for (const char *name : {"model", "stored_key", "prisma_type", "list", "objectid", "kind"})
        if (!col.count(name))
            throw Error(std::string("mongo-fields.csv has no column ") + name);
    std::vector<SchemaTable> tables;
    std::map<std::string, std::size_t> index;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const CsvRow &row = rows[r];
        if (row.size() < rows[0].size())
            continue; // blank line
        auto get = [&](const char *name) { return row[col[name]]; };
        std::string kind = get("kind");
        if (kind != "scalar" && kind != "enum" && kind != "json")
            continue; // relations are not stored
        std::string model = get("model");
        auto it = index.find(model);
        if (it == index.end()) {
            it = index.emplace(model, tables.size()).first;
            tables.push_back({model, {}});
        }
        std::string type =
            scalar_type(get("prisma_type"), kind, get("objectid") == "yes", objectid_type);
        if (get("list") == "yes")
            type += "[]";
        tables[it->second].columns.push_back({get("stored_key"), type});
    }
    return tables;
}

} // namespace nextcrm
