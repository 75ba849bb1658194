// IMPORT FOREIGN SCHEMA.
//
//   nextcrm       the collections of a profile (option profile, default
//                 nextcrm), typed per its mongo-fields.csv
//                 (core/source_schema.hpp)
//   any other     a database of the live server (or, for a dump_dir or
//                 archive server, the dump's collections), one table per
//                 collection with columns inferred from its first
//                 sample_size documents (core/schema_infer.hpp)
//
// Options: sample_size (default 100), objectid_type (text | uuid | bytea,
// default text), profile (an installed profile, default nextcrm).  LIMIT TO and EXCEPT filter by
// collection name.
#include "fdw.hpp"
#include "pg/foreign.hpp"
#include "pg/lists.hpp"
#include "pg/memory.hpp"
#include "pg/text.hpp"

#include "connection.hpp"
#include "profiles.hpp"

#include "core/mongodump.hpp"
#include "core/doc_transform.hpp"
#include "core/source_schema.hpp"
#include "core/schema_infer.hpp"

extern "C" {
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
}

#include <charconv>
#include <set>

namespace nextcrm {

namespace {

std::string quote_literal(const std::string &s) {
    const char *c = s.c_str();
    return pg::quote_literal_cstr(c);
}

bool wanted(ImportForeignSchemaStmt *stmt, const std::string &name) {
    if (stmt->list_type == FDW_IMPORT_SCHEMA_ALL)
        return true;
    bool listed = false;
    ListCell *lc;
    foreach (lc, stmt->table_list) {
        auto *rv = static_cast<RangeVar *>(lfirst(lc));
        if (name == rv->relname)
            listed = true;
    }
    return stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO ? listed : !listed;
}

std::string create_table(ImportForeignSchemaStmt *stmt, const std::string &server,
                         const SchemaTable &t, const std::string &database) {
    std::string sql = "CREATE FOREIGN TABLE " + quote_ident(stmt->local_schema) + "." +
                      quote_ident(t.collection) + " (";
    bool first = true;
    for (const SchemaColumn &c : t.columns) {
        sql += first ? "\n  " : ",\n  ";
        sql += quote_ident(c.name) + " " + c.sql_type;
        first = false;
    }
    sql +=
        "\n) SERVER " + quote_ident(server) + " OPTIONS (collection " + quote_literal(t.collection);
    if (!database.empty())
        sql += ", database " + quote_literal(database);
    sql += ")";
    return sql;
}

} // namespace

List *import_foreign_schema(ImportForeignSchemaStmt *stmt, Oid serverOid) {
    int sample_size = 100;
    std::string objectid_type = "text";
    std::string profile_name = default_profile;
    ListCell *lc;
    foreach (lc, stmt->options) {
        auto *def = static_cast<DefElem *>(lfirst(lc));
        std::string value = pg::defGetString(def);
        if (strcmp(def->defname, "sample_size") == 0) {
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), sample_size);
            if (ec != std::errc() || p != value.data() + value.size() || sample_size < 1)
                throw Error(
                    Message(NEXTCRM_MSG("option \"sample_size\" must be a positive integer")),
                    sqlstate::fdw_invalid_attribute_value);
        } else if (strcmp(def->defname, "objectid_type") == 0) {
            objectid_type = value;
        } else if (strcmp(def->defname, "profile") == 0) {
            profile_name = value;
        } else {
            throw Error(Message(NEXTCRM_MSG("invalid option \"%s\""), def->defname),
                        sqlstate::fdw_invalid_option_name, {},
                        "Valid options in this context are: objectid_type, profile, sample_size.");
        }
    }
    ForeignServer *server = pg::GetForeignServer(serverOid);
    std::string server_name = server->servername;
    SourceOptions source = source_options(serverOid);
    std::string remote = stmt->remote_schema;

    std::vector<SchemaTable> tables;
    std::string database;
    if (remote == "nextcrm") {
        const Profile &profile = installed_profile(profile_name);
        if (!profile.source_fields_csv())
            throw Error(
                Message(NEXTCRM_MSG("profile \"%s\" has no mongo-fields.csv"), profile.name()),
                sqlstate::fdw_invalid_attribute_value, {},
                "Import the collections of a database by its name instead: their "
                "columns are inferred from sample documents.");
        tables = source_tables(*profile.source_fields_csv(), objectid_type);
    } else {
        check_objectid_type(objectid_type);
        std::shared_ptr<Client> client;
        std::vector<std::string> names;
        std::unique_ptr<Dump> dump;
        if (!source.is_dump()) {
            client = client_for(serverOid);
            database = remote;
            names = client->collection_names(database);
            std::sort(names.begin(), names.end());
        } else {
            dump = std::make_unique<Dump>(source, [] { check_for_interrupts(); });
            names = dump->collections();
        }
        for (const std::string &name : names) {
            if (!wanted(stmt, name) || name.rfind("system.", 0) == 0)
                continue;
            SchemaSampler sampler;
            std::unique_ptr<DocumentSource> src;
            if (client) {
                QuerySpec q;
                q.limit = sample_size;
                q.batch_size = std::min(sample_size, 1000);
                src = std::make_unique<MongoCursorSource>(client->raw(), database, name, q);
            } else {
                src = dump->open(name);
            }
            while (sampler.documents() < sample_size) {
                const bson_t *doc = src->next();
                if (!doc)
                    break;
                sampler.add(doc);
                check_for_interrupts();
            }
            SchemaTable t{name, sampler.columns(objectid_type)};
            if (t.columns.empty())
                t.columns.push_back({"_id", objectid_type});
            tables.push_back(std::move(t));
        }
    }

    List *out = NIL;
    for (const SchemaTable &t : tables) {
        if (!wanted(stmt, t.collection))
            continue;
        std::string sql = create_table(stmt, server_name, t, database);
        const char *c = sql.c_str();
        out = pg::lappend(out, pg::pstrdup(c));
    }
    return out;
}

} // namespace nextcrm
