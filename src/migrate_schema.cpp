#include "migrate_schema.hpp"

#include "spi.hpp"

#include "core/app_migrations.hpp"
#include "core/doc_transform.hpp"

#include <string>
#include <vector>

namespace nextcrm {

namespace {

// What Prisma Migrate itself creates to record applied migrations.
const char *prisma_migrations_table = "CREATE TABLE IF NOT EXISTS public.\"_prisma_migrations\" ("
                                      " \"id\" VARCHAR(36) PRIMARY KEY NOT NULL,"
                                      " \"checksum\" VARCHAR(64) NOT NULL,"
                                      " \"finished_at\" TIMESTAMPTZ,"
                                      " \"migration_name\" VARCHAR(255) NOT NULL,"
                                      " \"logs\" TEXT,"
                                      " \"rolled_back_at\" TIMESTAMPTZ,"
                                      " \"started_at\" TIMESTAMPTZ NOT NULL DEFAULT now(),"
                                      " \"applied_steps_count\" INTEGER NOT NULL DEFAULT 0)";

// Runs the migrations in order, then records them all as applied.  The rows
// are written after the last migration, not one by one: a migration may
// edit the history itself (NextCRM v0.21.2's 20260404150000 deletes the row
// of 20260404120000, so a first `prisma migrate deploy` leaves that one
// pending until a second deploy records it), and the whole schema commits
// in one transaction anyway.  What is recorded is what a deploy run until
// nothing is pending leaves: one row per migration, its checksum the sha256
// of the file's bytes.
void apply_migrations(const Profile &profile) {
    spi_exec(prisma_migrations_table);
    for (const ProfileMigration &m : profile.migrations())
        spi_exec_target_ddl(without_own_transaction(m.sql).c_str());
    for (const ProfileMigration &m : profile.migrations()) {
        Datum args[2] = {text_datum(m.name), text_datum(m.sha256)};
        Oid types[2] = {TEXTOID, TEXTOID};
        spi_exec(
            "INSERT INTO public.\"_prisma_migrations\" (id, checksum, finished_at, migration_name,"
            "  started_at, applied_steps_count)"
            " SELECT pg_catalog.gen_random_uuid()::text, $2, pg_catalog.clock_timestamp(), $1,"
            "  pg_catalog.clock_timestamp(), 1",
            2, types, args);
    }
}

// Every mapped column must exist with the mapped type, and every junction
// table with its A and B columns: writing into another shape would fail
// half-way or, worse, succeed with different meaning.
void check_shape(const Profile &profile) {
    const Mapping &mapping = profile.mapping();
    std::vector<std::string> problems;
    auto type_of = [](const std::string &table, const std::string &column) {
        Datum args[2] = {text_datum(target_table(table)), text_datum(column)};
        Oid types[2] = {TEXTOID, TEXTOID};
        std::string t = spi_query("SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
                                  " WHERE a.attrelid = to_regclass($1) AND a.attname = $2"
                                  " AND NOT a.attisdropped",
                                  2, types, args)
                            .text(0, 1);
        // Types of the target schema are named with it: statements run with
        // search_path pinned to pg_catalog (spi.hpp).
        std::string prefix = std::string(target_schema) + ".";
        if (t.compare(0, prefix.size(), prefix) == 0)
            t = t.substr(prefix.size());
        if (t.size() > 1 && t.front() == '"' && t.back() == '"')
            t = t.substr(1, t.size() - 2);
        return t;
    };
    for (const auto &c : mapping.collections())
        for (const auto &f : c.fields) {
            if (f.kind == FieldKind::Junction || f.kind == FieldKind::Kept ||
                f.kind == FieldKind::Merged)
                continue;
            std::string found = type_of(f.target_table, f.target_column);
            if (found != f.pg_type)
                problems.push_back(f.target_table + "." + f.target_column + " is " +
                                   (found.empty() ? "missing" : found) + ", expected " + f.pg_type);
        }
    for (const auto &j : mapping.junctions())
        for (const std::string &col : {j.a_column, j.b_column})
            if (type_of(j.table, col) != "uuid")
                problems.push_back(j.table + "." + col + " is not a uuid column");
    if (problems.empty())
        return;
    std::string detail;
    for (std::size_t i = 0; i < problems.size() && i < 10; ++i)
        detail += (i ? "; " : "") + problems[i];
    if (problems.size() > 10)
        detail += "; and " + std::to_string(problems.size() - 10) + " more";
    throw Error(Message(NEXTCRM_MSG("the database's %s schema does not match the one this "
                                    "extension migrates into"),
                        profile.title()),
                sqlstate::datatype_mismatch, detail,
                "Apply the migrations of profile \"" + profile.name() + "\" to an empty database.");
}

// Whether any table of the mapping exists: a database with none gets the
// profile's migrations, one with some is checked as it is.
bool any_mapped_table(const Mapping &mapping) {
    std::string names;
    for (const auto &c : mapping.collections())
        names += (names.empty() ? "" : ",") + c.name;
    Datum args[2] = {text_datum(names), text_datum(target_schema)};
    Oid types[2] = {TEXTOID, TEXTOID};
    return spi_query("SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c"
                     " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                     " WHERE n.nspname = $2"
                     "   AND c.relname = ANY (pg_catalog.string_to_array($1, ','))",
                     2, types, args)
               .int8(0, 1) > 0;
}

} // namespace

void ensure_target_schema(const Profile &profile) {
    if (!any_mapped_table(profile.mapping()))
        apply_migrations(profile);
    check_shape(profile);
}

} // namespace nextcrm
