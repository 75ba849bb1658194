#include "migrate_keys.hpp"

#include "pg/arrays.hpp"
#include "spi.hpp"

#include "core/mapping.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
#include "utils/memutils.h"
}

#include <set>
#include <string>

namespace nextcrm {

namespace {

// Records and drops the keys of tables[i].columns[i] referencing
// referenced[i] (see defer_foreign_keys() for which stay); returns them.
std::vector<DeferredKey> defer_keys(const std::vector<std::string> &tables,
                                    const std::vector<std::string> &columns,
                                    const std::vector<std::string> &referenced) {
    if (tables.empty())
        return {};
    Datum args[4] = {pg::construct_text_array(tables), pg::construct_text_array(columns),
                     pg::construct_text_array(referenced), text_datum(target_schema)};
    Oid types[4] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTOID};
    // One column referencing the mapped table: exactly what the batch
    // checked.  pg_get_constraintdef() names the referenced table with its
    // schema (search_path is pg_catalog here, spi.hpp) and keeps the
    // actions, MATCH and DEFERRABLE clauses, so the definition adds the same
    // key whatever the path when it runs again.  A NOT VALID key stays: a
    // user's, whose existing rows PostgreSQL never checked, and adding it back
    // would either validate them or need its own NOT VALID path.  A key with
    // a comment would lose it; one inherited by a partition is its parent's
    // to drop; one of a table the running role does not own cannot be dropped,
    // and one whose referenced column the role may not reference (REFERENCES,
    // as ADD FOREIGN KEY checks) could be dropped but never added back.  A key
    // already recorded (a stopped run's, that someone added back by hand) is
    // recorded again as it is now: the primary key would otherwise refuse it
    // and end every run, restart => true included, before its batches.
    SpiRows dropped = spi_query(
        "WITH deferred AS ("
        " INSERT INTO nextcrm_migration.deferred_constraint (name, table_name, definition)"
        " SELECT DISTINCT k.conname, t.relname, pg_catalog.pg_get_constraintdef(k.oid)"
        "   FROM pg_catalog.pg_constraint k"
        "   JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) k.conrelid"
        "   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.relnamespace"
        "   JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) k.confrelid"
        "   JOIN pg_catalog.pg_namespace rn ON rn.oid OPERATOR(pg_catalog.=) r.relnamespace"
        "   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) k.conrelid"
        "        AND a.attnum OPERATOR(pg_catalog.=) k.conkey[1]"
        "   JOIN ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]),"
        "                   pg_catalog.unnest($2::pg_catalog.text[]),"
        "                   pg_catalog.unnest($3::pg_catalog.text[])) m(tbl, col, ref)"
        "     ON m.tbl OPERATOR(pg_catalog.=) t.relname"
        "    AND m.col OPERATOR(pg_catalog.=) a.attname"
        "    AND m.ref OPERATOR(pg_catalog.=) r.relname"
        "  WHERE k.contype OPERATOR(pg_catalog.=) 'f' AND k.convalidated"
        "    AND k.conparentid OPERATOR(pg_catalog.=) 0"
        "    AND pg_catalog.cardinality(k.conkey) OPERATOR(pg_catalog.=) 1"
        "    AND n.nspname OPERATOR(pg_catalog.=) $4 AND rn.nspname OPERATOR(pg_catalog.=) $4"
        "    AND pg_catalog.obj_description(k.oid, 'pg_constraint') IS NULL"
        "    AND pg_catalog.pg_has_role(t.relowner, 'USAGE')"
        "    AND pg_catalog.has_column_privilege(r.oid, k.confkey[1], 'REFERENCES')"
        " ON CONFLICT (table_name, name) DO UPDATE SET definition = EXCLUDED.definition"
        " RETURNING table_name, name)"
        " SELECT pg_catalog.quote_ident(table_name), pg_catalog.quote_ident(name), table_name, name"
        "   FROM deferred",
        4, types, args);
    std::vector<DeferredKey> keys;
    for (std::size_t i = 0; i < dropped.size(); ++i) {
        spi_exec(("ALTER TABLE " + std::string(target_schema) + "." + dropped.text(i, 1) +
                  " DROP CONSTRAINT " + dropped.text(i, 2))
                     .c_str());
        keys.push_back({dropped.text(i, 3), dropped.text(i, 4)});
    }
    return keys;
}

} // namespace

int defer_foreign_keys(const Mapping &mapping, const std::vector<std::string> &collections) {
    // The columns whose values the batch decides before its INSERT, with the
    // table each must name a row of: a reference (resolve_references() in
    // migrate_load.cpp keeps an id only when its row exists) and a lookup
    // (its row is found or added in the same batch).  Any other key (a
    // user's, on another column) stays live, so a row it refuses is still
    // that document's error rather than the end of the run.
    std::set<std::string> wanted(collections.begin(), collections.end());
    std::vector<std::string> tables, columns, referenced;
    for (const auto &c : mapping.collections()) {
        if (!wanted.count(c.name) || c.kept_whole)
            continue;
        for (const auto &f : c.fields) {
            const std::string &target = f.kind == FieldKind::Ref      ? f.ref_model
                                        : f.kind == FieldKind::Lookup ? f.lookup_table
                                                                      : std::string();
            if (target.empty())
                continue;
            tables.push_back(f.target_table);
            columns.push_back(f.target_column);
            referenced.push_back(target);
        }
    }
    return static_cast<int>(defer_keys(tables, columns, referenced).size());
}

std::vector<DeferredKey> defer_junction_keys(const Mapping &mapping) {
    // build_junctions() inserts a pair only when both of its rows exist
    // (migrate_run.cpp), so these keys refuse nothing there either.
    std::vector<std::string> tables, columns, referenced;
    for (const auto &j : mapping.junctions()) {
        tables.insert(tables.end(), {j.table, j.table});
        columns.insert(columns.end(), {j.a_column, j.b_column});
        referenced.insert(referenced.end(), {j.a_model, j.b_model});
    }
    return defer_keys(tables, columns, referenced);
}

std::vector<DeferredKey> deferred_foreign_keys() {
    SpiRows rows = spi_query("SELECT table_name, name FROM nextcrm_migration.deferred_constraint"
                             " ORDER BY table_name, name");
    std::vector<DeferredKey> keys;
    for (std::size_t i = 0; i < rows.size(); ++i)
        keys.push_back({rows.text(i, 1), rows.text(i, 2)});
    return keys;
}

ErrorData *add_deferred_foreign_key(const DeferredKey &key) {
    std::string definition;
    ErrorData *error = in_subtransaction([&] {
        Datum args[3] = {text_datum(key.table), text_datum(key.name), text_datum(target_schema)};
        Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
        // With the key the table has now under that name, if any: added back
        // by hand while the run was stopped, it is the recorded key itself
        // when its definition is the same and PostgreSQL validated it, and
        // adding it again would fail every run ("already exists").
        SpiRows next = spi_query(
            "DELETE FROM nextcrm_migration.deferred_constraint"
            " WHERE table_name OPERATOR(pg_catalog.=) $1 AND name OPERATOR(pg_catalog.=) $2"
            " RETURNING pg_catalog.quote_ident(table_name), pg_catalog.quote_ident(name),"
            "  definition,"
            "  (SELECT pg_catalog.pg_get_constraintdef(k.oid) OPERATOR(pg_catalog.=) definition"
            "          AND k.convalidated"
            "     FROM pg_catalog.pg_constraint k"
            "     JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) k.conrelid"
            "     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.relnamespace"
            "    WHERE n.nspname OPERATOR(pg_catalog.=) $3 AND t.relname OPERATOR(pg_catalog.=) $1"
            "      AND k.conname OPERATOR(pg_catalog.=) $2)::pg_catalog.text",
            3, types, args);
        if (next.empty())
            return;
        definition = next.text(0, 3);
        if (next.text(0, 4) == "true")
            return;
        spi_exec(("ALTER TABLE " + std::string(target_schema) + "." + next.text(0, 1) +
                  " ADD CONSTRAINT " + next.text(0, 2) + " " + definition)
                     .c_str());
    });
    if (!error)
        return nullptr;
    // Copied where it outlives this transaction: the caller raises it once
    // every other key is added.
    error = copy_error(error, TopMemoryContext);
    if (error->sqlerrcode == ERRCODE_DUPLICATE_OBJECT && !error->hint) {
        // Another constraint has the recorded key's name (one added by hand
        // while the run was stopped, with another definition): which one the
        // target should keep is the user's choice.
        std::string hint = "Drop constraint \"" + key.name + "\" of table \"" + key.table +
                           "\" to have the migration add its key back (" + definition +
                           "), or delete that key's row from "
                           "nextcrm_migration.deferred_constraint to keep the one there now; then "
                           "run the migration again.";
        pg_call(
            [error, &hint] { error->hint = MemoryContextStrdup(TopMemoryContext, hint.c_str()); });
    }
    if (ERRCODE_TO_CATEGORY(error->sqlerrcode) != ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION)
        throw PgException(error);
    std::string hint = "Delete or correct the rows of table \"" + key.table +
                       "\" that break its key \"" + key.name + "\" (" + definition +
                       "), then run the migration again: it adds every key still recorded in "
                       "nextcrm_migration.deferred_constraint.";
    pg_call([error, &hint] { error->hint = MemoryContextStrdup(TopMemoryContext, hint.c_str()); });
    return error;
}

} // namespace nextcrm
