#include "migrate_oplog.hpp"

#include "spi.hpp"

#include "core/extended_json.hpp"
#include "target_encoding.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

#include <sys/stat.h>

#include <optional>

namespace nextcrm {

namespace {

// A text[] of the values (nullopt: NULL).
Datum text_array(const std::vector<std::optional<std::string>> &values) {
    return pg_call([&values] {
        int n = static_cast<int>(values.size());
        Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n ? n : 1)));
        bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * (n ? n : 1)));
        for (int i = 0; i < n; ++i) {
            nulls[i] = !values[i].has_value();
            elems[i] = values[i] ? PointerGetDatum(cstring_to_text_with_len(values[i]->data(),
                                                                            values[i]->size()))
                                 : (Datum)0;
        }
        int dims[1] = {n}, lbs[1] = {1};
        return PointerGetDatum(
            construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
    });
}

// What identifies the oplog's bytes: its file's path, size, time and inode.
std::string oplog_identity(const Dump &dump) {
    const std::string &path = dump.is_archive() ? dump.location() : dump.oplog_location();
    if (path.empty())
        return {};
    struct stat st;
    if (stat(path.c_str(), &st) != 0)
        return path; // reading it reports why
    return path + '\0' + dump.database() + '\0' + std::to_string(st.st_size) + '\0' +
           std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + '\0' +
           std::to_string(st.st_ino);
}

} // namespace

std::shared_ptr<const OplogReplay> dump_oplog(const Dump &dump) {
    static std::string cached_key;
    static std::shared_ptr<const OplogReplay> cached;
    std::string key = oplog_identity(dump);
    if (key.empty())
        return nullptr;
    if (key != cached_key) {
        cached_key.clear();
        cached = OplogReplay::read(dump);
        cached_key = key;
    }
    return cached;
}

std::unique_ptr<DocumentSource> with_oplog(const Dump &dump, std::unique_ptr<DocumentSource> source,
                                           const std::string &collection) {
    auto replay = dump_oplog(dump);
    if (!replay || (!source && replay->touched(collection).empty()))
        return source;
    return std::make_unique<ReplayedSource>(std::move(source), std::move(replay), collection);
}

void record_oplog(const std::vector<OplogRecord> &records, int batch) {
    if (records.empty())
        return;
    // The entries' text comes from the oplog's bytes: a string _id, a
    // collection, a field in a reason may hold any character, or bytes that
    // are no UTF-8 (and a NUL), which are written as \xHH.  Then it is
    // written as the database's own bytes, as the error rows are: raw UTF-8
    // in a LATIN1 database reads back as other characters, and in EUC_JP or
    // (invalid) in UTF8 is not text at all.
    TargetEncoding encoding;
    auto text = [&encoding](const std::string &t) {
        return encoding.escaped(printable_key(t.data(), t.size()));
    };
    std::vector<std::optional<std::string>> cols[7];
    for (const auto &r : records) {
        cols[0].emplace_back(std::to_string(r.position));
        cols[1].emplace_back(text(r.ts));
        cols[2].emplace_back(text(r.op));
        cols[3].emplace_back(text(r.collection));
        cols[4].emplace_back(r.source_id.empty() ? std::nullopt
                                                 : std::optional<std::string>(text(r.source_id)));
        cols[5].emplace_back(r.outcome);
        cols[6].emplace_back(r.reason.empty() ? std::nullopt
                                              : std::optional<std::string>(text(r.reason)));
    }
    Datum args[8];
    Oid types[8];
    for (int i = 0; i < 7; ++i)
        args[i] = text_array(cols[i]), types[i] = TEXTARRAYOID;
    args[7] = Int32GetDatum(batch);
    types[7] = INT4OID;
    const char nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', batch > 0 ? ' ' : 'n'};
    spi_exec("INSERT INTO nextcrm_migration.oplog_applied"
             " (position, ts, op, collection, source_id, outcome, reason, batch)"
             " SELECT p1::pg_catalog.int8, p2, p3, p4, p5, p6, p7, $8"
             "   FROM unnest($1::pg_catalog.text[], $2::pg_catalog.text[], $3::pg_catalog.text[],"
             "               $4::pg_catalog.text[], $5::pg_catalog.text[], $6::pg_catalog.text[],"
             "               $7::pg_catalog.text[]) AS u(p1, p2, p3, p4, p5, p6, p7)"
             " ON CONFLICT (position) DO UPDATE SET outcome = excluded.outcome,"
             "   reason = excluded.reason, batch = excluded.batch, at = excluded.at",
             8, types, args, nulls);
}

std::string finish_oplog(const Mapping &mapping, const SourceOptions &opts) {
    if (!opts.is_dump())
        return {};
    Dump dump(opts, [] { check_for_interrupts(); });
    auto replay = dump_oplog(dump);
    if (!replay)
        return {};
    std::vector<OplogRecord> unapplied;
    for (const auto &op : replay->ops()) {
        check_for_interrupts();
        if (!op.problem.empty())
            unapplied.push_back({op.position, op.ts, op.op, op.collection, op.source_id,
                                 op.skipped ? "skipped" : "failed", op.problem});
        else if (!mapping.collection(op.collection))
            unapplied.push_back({op.position, op.ts, op.op, op.collection, op.source_id, "skipped",
                                 "collection \"" + op.collection +
                                     "\" is not migrated: the profile does not map it"});
    }
    record_oplog(unapplied, 0);
    SpiRows counts =
        spi_query("SELECT count(*) FILTER (WHERE outcome OPERATOR(pg_catalog.=) 'applied'),"
                  "       count(*) FILTER (WHERE outcome OPERATOR(pg_catalog.=) 'failed'),"
                  "       count(*) FILTER (WHERE outcome OPERATOR(pg_catalog.=) 'skipped')"
                  "  FROM nextcrm_migration.oplog_applied");
    return "oplog: " + std::to_string(replay->ops().size()) + " operations on database \"" +
           TargetEncoding().escaped(printable_key(dump.database().data(), dump.database().size())) +
           "\" made while mongodump ran: " + counts.text(0, 1) + " applied, " + counts.text(0, 2) +
           " failed, " + counts.text(0, 3) + " skipped" + " (nextcrm_migration.oplog_applied)";
}

} // namespace nextcrm
