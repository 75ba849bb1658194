#include "migrate_load.hpp"

#include "connection.hpp"
#include "migrate_oplog.hpp"
#include "profiles.hpp"
#include "spi.hpp"

#include "core/bson_compat.hpp"
#include "core/bson_convert.hpp"
#include "core/extended_json.hpp"
#include "core/mongodump.hpp"
#include "core/oid_uuid.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/resowner.h"
}

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace nextcrm {

namespace {

// Whether an error an INSERT of documents raised is a document's own fault:
// a data exception (class 22), an integrity constraint violation (class 23),
// or a limit one value exceeds (54000 program_limit_exceeded: an index row
// too big for a btree, a row too big).  Never a cancel, a shutdown, out of
// memory (53200: the batch's, not one document's), a lock, serialization or
// deadlock failure: those stop the batch and are reported as what they are.
bool document_error_class(int sqlerrcode) {
    int category = ERRCODE_TO_CATEGORY(sqlerrcode);
    return category == ERRCODE_DATA_EXCEPTION ||
           category == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION ||
           sqlerrcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED;
}

using TextRow = std::vector<std::optional<std::string>>;

// Column-wise text values for one INSERT ... SELECT FROM unnest(...).
class TextColumns {
  public:
    explicit TextColumns(std::size_t n) : columns_(n) {}
    void add(TextRow row) {
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            if (row[i])
                bytes_ += row[i]->size();
            columns_[i].push_back(std::move(row[i]));
        }
    }
    // The text held (what the batch's byte bound counts).
    std::size_t bytes() const { return bytes_; }
    std::size_t rows() const { return columns_.empty() ? 0 : columns_[0].size(); }
    std::size_t width() const { return columns_.size(); }
    const std::vector<std::optional<std::string>> &column(std::size_t i) const {
        return columns_[i];
    }
    void clear() {
        for (auto &c : columns_)
            c.clear();
        bytes_ = 0;
    }

  private:
    std::vector<std::vector<std::optional<std::string>>> columns_;
    std::size_t bytes_ = 0;
};

// A text[] Datum of the given values (rows [from, to) of one column).
Datum text_array(const std::vector<std::optional<std::string>> &values, std::size_t from,
                 std::size_t to) {
    return pg_call([&] {
        int n = static_cast<int>(to - from);
        Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n ? n : 1)));
        bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * (n ? n : 1)));
        for (int i = 0; i < n; ++i) {
            const auto &v = values[from + i];
            nulls[i] = !v.has_value();
            elems[i] =
                v ? PointerGetDatum(cstring_to_text_with_len(v->data(), v->size())) : (Datum)0;
        }
        int dims[1] = {n}, lbs[1] = {1};
        return PointerGetDatum(
            construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
    });
}

struct Params {
    std::vector<Oid> types;
    std::vector<Datum> values;
};

Params params_of(const TextColumns &cols, std::size_t from, std::size_t to) {
    Params p;
    for (std::size_t c = 0; c < cols.width(); ++c) {
        p.types.push_back(TEXTARRAYOID);
        p.values.push_back(text_array(cols.column(c), from, to));
    }
    return p;
}

// A document's failure to insert, copied out of PostgreSQL's ErrorData.
struct RowFailure {
    int sqlerrcode = 0;
    std::string message, detail, column, constraint;
};

// Inserts rows [from, to) of `rows` inside a subtransaction, committed when
// `keep` and the rows are accepted, rolled back otherwise.  Returns the
// error after the rollback, so one bad row never takes its batch down; only
// a document's own fault (document_error_class) is returned, anything else
// is thrown on and stops the batch.  The statement's arrays are built in a
// memory context of their own, deleted afterwards: isolating refused rows
// builds them again for every range it tries, which would otherwise pile up
// copies of the batch.
std::optional<RowFailure> try_insert(const std::string &sql, const TextColumns &rows,
                                     std::size_t from, std::size_t to, bool keep) {
    MemoryContext caller = CurrentMemoryContext;
    MemoryContext scratch = pg_call([] {
        MemoryContext c = AllocSetContextCreate(CurrentMemoryContext, "nextcrm insert attempt",
                                                ALLOCSET_DEFAULT_SIZES);
        MemoryContextSwitchTo(c);
        return c;
    });
    std::optional<RowFailure> out;
    // On an exception the scratch context stays (with the error's data in
    // it) until the transaction's abort frees its parent.
    ErrorData *e = nullptr;
    try {
        Params p = params_of(rows, from, to);
        e = in_subtransaction(
            [&] {
                spi_exec(sql.c_str(), static_cast<int>(p.types.size()), p.types.data(),
                         p.values.data());
            },
            keep);
        if (e && !document_error_class(e->sqlerrcode))
            throw PgException(e);
    } catch (...) {
        pg_call([caller] { MemoryContextSwitchTo(caller); });
        throw;
    }
    if (e)
        out = RowFailure{e->sqlerrcode, e->message ? e->message : "", e->detail ? e->detail : "",
                         e->column_name ? e->column_name : "",
                         e->constraint_name ? e->constraint_name : ""};
    pg_call([caller, scratch] {
        MemoryContextSwitchTo(caller);
        MemoryContextDelete(scratch);
    });
    return out;
}

// Inserts rows [from, to) in the current (sub)transaction, with no
// subtransaction of its own: a refusal is thrown.  The arrays are freed as
// in try_insert; on an exception their context stays (it holds the error).
void insert_range(const std::string &sql, const TextColumns &rows, std::size_t from,
                  std::size_t to) {
    MemoryContext caller = CurrentMemoryContext;
    MemoryContext scratch = pg_call([] {
        MemoryContext c =
            AllocSetContextCreate(CurrentMemoryContext, "nextcrm insert", ALLOCSET_DEFAULT_SIZES);
        MemoryContextSwitchTo(c);
        return c;
    });
    try {
        Params p = params_of(rows, from, to);
        spi_exec(sql.c_str(), static_cast<int>(p.types.size()), p.types.data(), p.values.data());
    } catch (...) {
        pg_call([caller] { MemoryContextSwitchTo(caller); });
        throw;
    }
    pg_call([caller, scratch] {
        MemoryContextSwitchTo(caller);
        MemoryContextDelete(scratch);
    });
}

// A refused row: its index in the batch's rows and why.
struct Refusal {
    std::size_t row;
    RowFailure failure;
};

// How many subtransactions isolating a batch's refused rows committed and
// rolled back.  Each committed one that wrote keeps its XID in the backend's
// PGPROC cache (PGPROC_MAX_CACHED_SUBXIDS, 64) until the batch commits; past
// that every snapshot in the cluster must read pg_subtrans.  A rolled-back
// one leaves the cache.
struct Subtransactions {
    int committed = 0, rolled_back = 0;
};

// Finds, in source order, each row of [0, n) that the table refuses after
// the rows before it that it accepted (n rows known to be refused together),
// and inserts the others, in the caller's subtransaction.  Every probe is a
// subtransaction rolled back whatever its outcome, so probes never fill the
// cache; a range a probe found accepted is then inserted for good here.  The
// search narrows a refused range by halves down to its first refused row
// (each refusal is that row's own, from a probe of it alone), then gallops
// (1, 2, 4, ... rows) to the next refusal: k refused rows cost about
// 2 k log2(n / k) probes.  Rows refused only together with an earlier row of
// the batch (two documents with one e-mail) are found the same way: the
// earlier one is inserted first, so the later one is the one refused.
void isolate(const std::string &sql, const TextColumns &rows, std::vector<Refusal> &refused,
             Subtransactions &count) {
    std::size_t n = rows.rows(), lo = 0, hi = n, step = 1;
    // While hi > lo, [lo, hi) is known to be refused after what is inserted.
    while (lo < n) {
        check_for_interrupts();
        std::size_t end =
            hi > lo ? lo + std::max<std::size_t>(1, (hi - lo) / 2) : std::min(n, lo + step);
        ++count.rolled_back;
        std::optional<RowFailure> e = try_insert(sql, rows, lo, end, false);
        if (!e) {
            insert_range(sql, rows, lo, end);
            lo = end;
            if (hi <= lo)
                step *= 2;
        } else if (end - lo == 1) {
            refused.push_back({lo, std::move(*e)});
            lo = end;
            step = 1;
        } else {
            hi = end;
        }
    }
}

// Bisects [0, n) in subtransactions committed when their rows are accepted:
// correct whatever the rows do, but each accepted range holds a cache
// entry.  Only a fallback (isolate() found a range accepted that its insert
// then refused: a concurrent session or a volatile trigger changed the
// outcome between the two).
void bisect(const std::string &sql, const TextColumns &rows, std::vector<Refusal> &refused,
            Subtransactions &count) {
    std::vector<std::pair<std::size_t, std::size_t>> pending{{0, rows.rows()}};
    while (!pending.empty()) {
        auto [from, to] = pending.back();
        pending.pop_back();
        check_for_interrupts();
        std::optional<RowFailure> e = try_insert(sql, rows, from, to, true);
        if (!e) {
            ++count.committed;
            continue;
        }
        ++count.rolled_back;
        if (to - from > 1) {
            std::size_t mid = from + (to - from) / 2;
            // The first half is tried first: rows keep their source order.
            pending.emplace_back(mid, to);
            pending.emplace_back(from, mid);
            continue;
        }
        refused.push_back({from, std::move(*e)});
    }
}

void exec_all(const std::string &sql, const TextColumns &cols) {
    if (cols.rows() == 0)
        return;
    Params p = params_of(cols, 0, cols.rows());
    spi_exec(sql.c_str(), static_cast<int>(p.types.size()), p.types.data(), p.values.data());
}

// INSERT INTO table (columns) SELECT casts FROM unnest($1::text[], ...)
// (unnest with several arguments is syntax, not a function: it cannot be
// schema-qualified; search_path is pinned to pg_catalog anyway.)
std::string unnest_insert(const std::string &table, const std::vector<std::string> &columns,
                          const std::vector<std::string> &casts, const std::string &suffix = "") {
    std::string cols, exprs, params, names;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        std::string sep = i ? ", " : "";
        std::string p = "p" + std::to_string(i + 1);
        cols += sep + columns[i];
        exprs += sep + casts[i];
        params += sep + "$" + std::to_string(i + 1) + "::text[]";
        names += sep + p;
    }
    return "INSERT INTO " + table + " (" + cols + ") SELECT " + exprs + " FROM unnest(" + params +
           ") AS u(" + names + ")" + suffix;
}

std::string plain_insert(const std::string &table, const std::vector<std::string> &columns,
                         const std::vector<std::string> &types) {
    std::vector<std::string> casts;
    for (std::size_t i = 0; i < columns.size(); ++i)
        casts.push_back("p" + std::to_string(i + 1) + types[i]);
    return unnest_insert(table, columns, casts);
}

const std::string errors_sql = plain_insert(
    "nextcrm_migration.errors",
    {"collection", "source_id", "field", "sqlstate", "message", "detail", "document", "batch"},
    {"", "", "", "", "", "", "::jsonb", "::int4"});
const std::string repairs_sql =
    plain_insert("nextcrm_migration.repairs",
                 {"collection", "source_id", "field", "kind", "original", "replacement", "batch"},
                 {"", "", "", "", "", "", "::int4"});
const std::string extra_keys_sql = plain_insert(
    "nextcrm_migration.extra_keys", {"collection", "source_id", "keys"}, {"", "", "::jsonb"});
const std::string kept_aside_sql =
    plain_insert("nextcrm_migration.kept_aside",
                 {"collection", "source_id", "field", "reason", "document", "batch"},
                 {"", "", "", "", "::jsonb", "::int4"});
const std::string foreign_ids_sql = plain_insert(
    "nextcrm_migration.foreign_ids", {"collection", "id", "source_id"}, {"", "::uuid", "::jsonb"});
const std::string junction_sql =
    plain_insert("nextcrm_migration.junction_stage",
                 {"junction", "a", "b", "collection", "source_id", "field", "element"},
                 {"", "::uuid", "::uuid", "", "", "", ""});

// The column a constraint named the way Prisma names them covers:
// "Users_email_key" -> "email" (unique violations carry no column name).
std::string constraint_field(const std::string &table, const char *constraint) {
    if (!constraint)
        return {};
    std::string name = constraint;
    for (const char *suffix : {"_key", "_fkey"}) {
        std::string sfx = suffix;
        if (name.size() > table.size() + 1 + sfx.size() && name.rfind(table + "_", 0) == 0 &&
            name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0)
            return name.substr(table.size() + 1, name.size() - table.size() - 1 - sfx.size());
    }
    return {};
}

// The field a refused row's error names: the column of a constraint named
// the way Prisma names them, or else, for an index (a row too big for it:
// 54000), the index's column holding the row's longest value.
std::string failure_field(const std::string &table,
                          const std::vector<const FieldMapping *> &columns, const TextColumns &rows,
                          std::size_t row, const std::string &constraint) {
    if (constraint.empty())
        return {};
    std::string field = constraint_field(table, constraint.c_str());
    if (!field.empty())
        return field;
    Datum args[2] = {text_datum(constraint), text_datum(target_table(table))};
    Oid types[2] = {TEXTOID, TEXTOID};
    SpiRows names =
        spi_query("SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_index i"
                  "  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid"
                  "  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid"
                  "   AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey)"
                  " WHERE c.relname OPERATOR(pg_catalog.=) $1::pg_catalog.name"
                  "   AND i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2)",
                  2, types, args);
    std::size_t longest = 0;
    for (std::size_t n = 0; n < names.size(); ++n) {
        std::string name = names.text(n, 1);
        for (std::size_t c = 0; c < columns.size(); ++c) {
            const auto &value = rows.column(c)[row];
            if (columns[c]->target_column == name &&
                (field.empty() || (value && value->size() > longest))) {
                field = name;
                longest = value ? value->size() : 0;
            }
        }
    }
    return field;
}

std::unique_ptr<DocumentSource> open_dump(const SourceOptions &opts, const std::string &collection,
                                          int64 skip) {
    Dump dump(opts, [] { check_for_interrupts(); });
    auto source = with_oplog(dump, dump.open(collection), collection);
    if (!source)
        return nullptr;
    for (int64 i = 0; i < skip; ++i) {
        if (!source->next())
            break;
        if ((i & 1023) == 0)
            check_for_interrupts();
    }
    // The outcomes of the oplog's entries on the documents skipped were
    // committed with the batches that read them.
    if (auto *replayed = dynamic_cast<ReplayedSource *>(source.get()))
        replayed->take_records();
    return source;
}

// An _id as the error table and the checkpoint spell it (24 hex digits for
// an ObjectId, canonical Extended JSON for anything else) as a BSON value.
std::optional<OwnedValue> id_value(const std::string &text) {
    bson_oid_t oid;
    if (text.size() == 24 && bson_oid_is_valid(text.c_str(), text.size())) {
        bson_oid_init_from_string(&oid, text.c_str());
        bson_value_t v;
        v.value_type = BSON_TYPE_OID;
        bson_oid_copy(&oid, &v.value.v_oid);
        return OwnedValue(&v);
    }
    std::string wrapped = "{\"v\": " + text + "}";
    bson_error_t err;
    BsonPtr doc(bson_new_from_json(reinterpret_cast<const uint8_t *>(wrapped.data()),
                                   static_cast<ssize_t>(wrapped.size()), &err));
    bson_iter_t it;
    if (!doc || !bson_iter_init_find(&it, doc.get(), "v"))
        return std::nullopt;
    return OwnedValue(bson_iter_value(&it));
}

// {_id: {$in: [...]}} for ids as the error table spells them: 24 hex digits
// for an ObjectId, canonical Extended JSON for anything else.
BsonPtr id_filter(const std::vector<std::string> &ids) {
    BsonPtr filter(bson_new());
    bson_t id, in;
    BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "_id", &id);
    append_array_begin(&id, "$in", -1, &in);
    std::size_t n = 0;
    for (const auto &text : ids) {
        if (auto value = id_value(text)) {
            std::string key = std::to_string(n++);
            bson_append_value(&in, key.c_str(), -1, value->get());
        }
    }
    bson_append_array_end(&id, &in);
    bson_append_document_end(filter.get(), &id);
    return filter;
}

// The documents of another source whose ids are in a set (a dump file has no
// index to ask).
class SelectedSource : public DocumentSource {
  public:
    SelectedSource(std::unique_ptr<DocumentSource> inner, std::set<std::string> ids)
        : inner_(std::move(inner)), ids_(std::move(ids)) {}
    const bson_t *next() override {
        while (const bson_t *doc = inner_->next()) {
            // A big dump may hold few of the ids: stay interruptible.
            if ((++read_ & 1023) == 0)
                check_for_interrupts();
            if (ids_.count(source_id_of(doc))) {
                ++count_;
                return doc;
            }
        }
        return nullptr;
    }

  private:
    std::unique_ptr<DocumentSource> inner_;
    std::set<std::string> ids_;
    std::uint64_t read_ = 0;
};

// A document's row of the error table.  It holds the document exactly, and
// PostgreSQL's own message whole (it may quote a value): the table is as
// private as the target.
// An error row: the document exactly, and PostgreSQL's own message whole (it
// may quote a value): the table is as private as the target.  A document
// holding a character the database's encoding lacks has no jsonb form
// there: it is kept as its BSON bytes, as a document with no JSON form at
// all is.  `message` and `detail` are UTF-8 (ours) unless `server_text`.
TextRow error_row(const Transformer &transformer, const TargetEncoding &encoding,
                  const std::string &collection, const bson_t *doc, const std::string &source_id,
                  const std::string &field, const char *state, const std::string &message,
                  const std::string &detail, int batch, bool server_text) {
    std::string json = jsonb_storable(transformer.document_json(doc));
    std::optional<std::string> document = encoding.convert(json);
    if (!document)
        document = unrepresentable_json(
            doc, "holds a character (" + encoding.first_unrepresentable(json) +
                     ") with no equivalent in the database's encoding " + encoding.name());
    auto text = [&](const std::string &t) { return server_text ? t : encoding.escaped(t); };
    return {collection,
            encoding.escaped(source_id),
            field.empty() ? std::nullopt : std::optional<std::string>(encoding.escaped(field)),
            std::string(state),
            text(message),
            detail.empty() ? std::nullopt : std::optional<std::string>(text(detail)),
            std::move(document),
            std::to_string(batch)};
}

// Which of the ids wanted in each model's table (uuid text) exist, one
// query per table.  Each id is probed alone (LATERAL ... LIMIT 1 is never
// flattened into a join): the migration's tables are never analysed during
// a run, and with an ANY (array) filter the planner chose a sequential scan
// of the whole referenced table for every batch naming a few hundred ids
// (800 of crm_Accounts' 24,000 rows at 300k documents), a cost growing with
// the table, so quadratic over the run.  One probe of the primary key per
// id is the same cost whatever the table's size.
std::map<std::string, std::set<std::string>>
existing_ids(const std::map<std::string, std::set<std::string>> &wanted) {
    std::map<std::string, std::set<std::string>> existing;
    for (const auto &[model, ids] : wanted) {
        std::vector<std::optional<std::string>> list(ids.begin(), ids.end());
        Datum arg = text_array(list, 0, list.size());
        Oid type = TEXTARRAYOID;
        std::string sql = "SELECT t.id::pg_catalog.text"
                          " FROM pg_catalog.unnest($1::pg_catalog.text[]::pg_catalog.uuid[]) u(id),"
                          " LATERAL (SELECT t.id FROM " +
                          target_table(model) +
                          " t WHERE t.id OPERATOR(pg_catalog.=) u.id LIMIT 1) t";
        SpiRows rows = spi_query(sql.c_str(), 1, &type, &arg);
        auto &found = existing[model];
        for (std::size_t row = 0; row < rows.size(); ++row)
            found.insert(rows.text(row, 1));
    }
    return existing;
}

} // namespace

struct CollectionLoader::SideRows {
    TextColumns errors{8}, repairs{7}, extra_keys{3}, kept_aside{6}, foreign_ids{3}, junction{7};
};

std::unique_ptr<CollectionLoader> CollectionLoader::resume(Oid serverid, const SourceOptions &opts,
                                                           const CollectionMapping &collection,
                                                           int64 resume_position,
                                                           const std::string &last_id) {
    if (!opts.is_dump()) {
        // A live server: every _id above the last committed one, in _id
        // order.  The position is a value, not a count, so documents
        // inserted or deleted below it since cannot shift it.
        std::shared_ptr<Client> client = client_for(serverid);
        QuerySpec spec;
        spec.sort.reset(BCON_NEW("_id", BCON_INT32(1)));
        spec.batch_size = migration_batch_size;
        if (resume_position > 0) {
            // Read back in the database's encoding: UTF-8 again to parse.
            auto last = id_value(TargetEncoding().to_utf8(last_id));
            if (!last)
                throw Error("the checkpoint of " + collection.name + " holds an unreadable _id",
                            sqlstate::internal_error, {},
                            "Start this collection over with nextcrm_migrate_table(server, '" +
                                collection.name + "', restart => true).");
            spec.resume_after_id = *last;
        }
        auto source = std::make_unique<MongoCursorSource>(client->raw(), opts.database,
                                                          collection.name, spec);
        return std::make_unique<CollectionLoader>(collection, client, std::move(source), false);
    }
    // A dump file has no index: skip the documents already read, in file
    // order, and check that the last of them is still the checkpoint's
    // _id, so a replaced file is an error rather than a skipped or doubled
    // document.
    int64 skip = resume_position > 0 ? resume_position - 1 : 0;
    std::unique_ptr<DocumentSource> source = open_dump(opts, collection.name, skip);
    auto *replayed = dynamic_cast<ReplayedSource *>(source.get());
    if (resume_position > 0) {
        const bson_t *doc = source ? source->next() : nullptr;
        std::string found = doc ? TargetEncoding().escaped(source_id_of(doc)) : "(end of data)";
        if (found != last_id)
            throw Error(Message(NEXTCRM_MSG("the source of %s changed since the last checkpoint"),
                                collection.name),
                        sqlstate::fdw_error,
                        "Document " + std::to_string(resume_position) +
                            " no longer has the _id it had (checkpoint.last_id).",
                        "Start this collection over with nextcrm_migrate_table(server, '" +
                            collection.name + "', restart => true).");
    }
    auto loader = std::make_unique<CollectionLoader>(collection, nullptr, std::move(source), false);
    loader->watch_oplog(replayed);
    return loader;
}

std::unique_ptr<CollectionLoader> CollectionLoader::retry(Oid serverid, const SourceOptions &opts,
                                                          const CollectionMapping &collection,
                                                          const std::vector<std::string> &read) {
    // The error rows' ids are in the database's encoding; the source's UTF-8.
    TargetEncoding encoding;
    std::vector<std::string> ids;
    for (const auto &id : read)
        ids.push_back(encoding.to_utf8(id));
    std::shared_ptr<Client> client;
    std::unique_ptr<DocumentSource> source;
    ReplayedSource *replayed = nullptr;
    if (!opts.is_dump()) {
        client = client_for(serverid);
        QuerySpec spec;
        spec.sort.reset(BCON_NEW("_id", BCON_INT32(1)));
        spec.batch_size = migration_batch_size;
        spec.filter = id_filter(ids);
        source = std::make_unique<MongoCursorSource>(client->raw(), opts.database, collection.name,
                                                     spec);
    } else {
        Dump dump(opts, [] { check_for_interrupts(); });
        if (auto file = with_oplog(dump, dump.open(collection.name), collection.name)) {
            replayed = dynamic_cast<ReplayedSource *>(file.get());
            source = std::make_unique<SelectedSource>(
                std::move(file), std::set<std::string>(ids.begin(), ids.end()));
        }
    }
    auto loader = std::make_unique<CollectionLoader>(collection, client, std::move(source), true);
    loader->watch_oplog(replayed);
    return loader;
}

CollectionLoader::CollectionLoader(const CollectionMapping &collection,
                                   std::shared_ptr<Client> client,
                                   std::unique_ptr<DocumentSource> source, bool replace_errors)
    : collection_(collection), transformer_(run_profile().mapping(), collection),
      client_(std::move(client)), source_(std::move(source)), replace_errors_(replace_errors),
      side_(std::make_unique<SideRows>()) {
    std::vector<std::string> columns, casts;
    const auto &fields = transformer_.columns();
    for (std::size_t i = 0; i < fields.size(); ++i) {
        columns.push_back(quote_ident(fields[i]->target_column));
        casts.push_back(column_cast(*fields[i], "p" + std::to_string(i + 1)));
    }
    // A collection kept whole has no table: its documents go to kept_aside.
    if (!collection.kept_whole)
        insert_sql_ = unnest_insert(target_table(collection.name), columns, casts);
}

CollectionLoader::~CollectionLoader() = default;

void CollectionLoader::record_error(const bson_t *doc, const std::string &source_id,
                                    const std::string &field, const char *state,
                                    const std::string &message, const std::string &detail,
                                    int batch, bool server_text) {
    side_->errors.add(error_row(transformer_, encoding_, collection_.name, doc, source_id, field,
                                state, message, detail, batch, server_text));
}

std::optional<std::pair<std::string, std::string>>
CollectionLoader::encode(TransformedDocument &d, const bson_t *doc) const {
    if (encoding_.identity())
        return std::nullopt;
    bool lost = false;
    auto convert = [&](std::string &t) {
        if (lost)
            return;
        if (auto c = encoding_.convert(t))
            t = std::move(*c);
        else
            lost = true;
    };
    // Everything of the document that reaches a table: its columns (text,
    // arrays' literals, Json with its keys), its repairs, its unknown keys,
    // a non-ObjectId _id, and the originals of references and list
    // elements.  source_id stays UTF-8 (record_error and the side rows
    // convert it) but must convert too.
    for (auto &v : d.values)
        if (v)
            convert(*v);
    for (auto &r : d.repairs) {
        convert(r.field);
        convert(r.original);
        convert(r.replacement);
    }
    convert(d.extra_keys);
    convert(d.id_json);
    for (auto &r : d.refs)
        convert(r.original);
    for (auto &j : d.junction)
        convert(j.original);
    if (!lost && !encoding_.convert(d.source_id))
        lost = true;
    if (!lost)
        return std::nullopt;
    // Which top-level field holds it: the first whose key or value (as
    // Extended JSON, nested keys and strings included) does not convert.
    bson_iter_t it;
    if (bson_iter_init(&it, doc))
        while (bson_iter_next(&it)) {
            bson_t one = BSON_INITIALIZER;
            bson_append_iter(&one, nullptr, 0, &it);
            std::string c = encoding_.first_unrepresentable(transformer_.document_json(&one));
            bson_destroy(&one);
            if (!c.empty())
                return std::make_pair(std::string(bson_iter_key(&it)), c);
        }
    return std::make_pair(std::string("(document)"), std::string());
}

// Document i of the batch, read but refused by its conversion.
void CollectionLoader::reject(std::size_t i, const std::string &field, const Error &e,
                              const std::vector<const bson_t *> &raw,
                              std::vector<TransformedDocument> &docs, std::vector<bool> &ok,
                              BatchCounts &counts, int batch) {
    docs[i] = TransformedDocument();
    docs[i].source_id = source_id_of(raw[i]);
    ok[i] = false;
    ++counts.failed;
    record_error(raw[i], docs[i].source_id, field, e.sqlstate(), e.what(), e.detail(), batch);
}

void CollectionLoader::resolve_references(std::vector<TransformedDocument> &docs,
                                          std::vector<const bson_t *> &raw, std::vector<bool> &ok,
                                          BatchCounts &counts, int batch) {
    // Which of the referenced ids exist (existing_ids()).
    std::map<std::string, std::set<std::string>> wanted;
    for (std::size_t i = 0; i < docs.size(); ++i) {
        if (!ok[i])
            continue;
        for (const auto &r : docs[i].refs) {
            wanted[r.field->ref_model].insert(uuid_text(r.id));
            if (!r.field->route_model.empty())
                wanted[r.field->route_model].insert(uuid_text(r.id));
        }
    }
    std::map<std::string, std::set<std::string>> existing = existing_ids(wanted);

    const auto &fields = transformer_.columns();
    for (std::size_t i = 0; i < docs.size(); ++i) {
        if (!ok[i])
            continue;
        TransformedDocument &d = docs[i];
        std::vector<std::set<std::size_t>> dropped(d.ref_arrays.size());
        try {
            for (const auto &r : d.refs) {
                const FieldMapping &f = *r.field;
                std::string id = uuid_text(r.id);
                if (existing[f.ref_model].count(id))
                    continue;
                if (f.kind == FieldKind::RefArray) {
                    dropped[r.slot].insert(r.element);
                    d.repairs.push_back({f.stored_key + "." + r.source_index, "dangling_ref",
                                         r.original, "(dropped)"});
                    continue;
                }
                if (!f.route_model.empty() && existing[f.route_model].count(id)) {
                    // A routed reference (special route=model:column): its
                    // id names a row of route_model, so it goes to that column.
                    for (std::size_t c = 0; c < fields.size(); ++c)
                        if (fields[c]->target_column == f.route_column && !d.values[c])
                            d.values[c] = id;
                    d.values[r.column].reset();
                    d.repairs.push_back({f.stored_key, "rerouted", r.original, f.route_column});
                    continue;
                }
                if (f.required)
                    throw DocumentError(f.stored_key,
                                        "required reference \"" + f.stored_key +
                                            "\" names no migrated " + f.ref_model + " document",
                                        sqlstate::foreign_key_violation);
                d.values[r.column].reset();
                d.repairs.push_back({f.stored_key, "dangling_ref", r.original, "NULL"});
            }
        } catch (const DocumentError &e) {
            ok[i] = false;
            ++counts.failed;
            record_error(raw[i], d.source_id, e.field(), e.sqlstate(), e.what(), "", batch);
            continue;
        }
        for (std::size_t slot = 0; slot < d.ref_arrays.size(); ++slot) {
            if (dropped[slot].empty())
                continue;
            std::vector<std::string> kept;
            for (std::size_t e = 0; e < d.ref_arrays[slot].size(); ++e)
                if (!dropped[slot].count(e))
                    kept.push_back(d.ref_arrays[slot][e]);
            // The slot's column is the one whose refs point at it.
            for (const auto &r : d.refs)
                if (r.field->kind == FieldKind::RefArray && r.slot == slot)
                    d.values[r.column] = array_literal(kept);
        }
    }
}

void CollectionLoader::insert_rows(std::vector<TransformedDocument> &docs,
                                   std::vector<const bson_t *> &raw, std::vector<bool> &ok,
                                   BatchCounts &counts, int batch) {
    TextColumns rows(transformer_.columns().size());
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < docs.size(); ++i)
        if (ok[i]) {
            rows.add(std::move(docs[i].values)); // not needed after the insert
            index.push_back(i);
        }
    if (rows.rows() == 0)
        return;
    check_for_interrupts();
    if (!try_insert(insert_sql_, rows, 0, rows.rows(), true))
        return;
    // Something in the batch refused (a duplicate email, an over-long indexed
    // value): isolate() finds the refused rows with probes it rolls back and
    // inserts the rest in one subtransaction, so the batch holds one cache
    // entry however many rows are refused.  What a probe did is undone with
    // it (a user's trigger writing elsewhere included; only what no rollback
    // undoes stays, as a sequence's values drawn by a column default); the
    // lookup rows this batch added are the batch's, outside every probe;
    // errors are recorded once the outcome is kept, so a fallback to the
    // bisection records none twice.
    Subtransactions count;
    count.rolled_back = 1; // the batch's own attempt
    std::vector<Refusal> refused;
    ErrorData *e = in_subtransaction([&] { isolate(insert_sql_, rows, refused, count); });
    if (!e) {
        ++count.committed;
    } else {
        ++count.rolled_back;
        if (!document_error_class(e->sqlerrcode))
            throw PgException(e);
        refused.clear();
        bisect(insert_sql_, rows, refused, count);
    }
    for (const Refusal &r : refused) {
        std::size_t i = index[r.row];
        ok[i] = false;
        ++counts.failed;
        const RowFailure &f = r.failure;
        std::string field = !f.column.empty()
                                ? f.column
                                : failure_field(collection_.name, transformer_.columns(), rows,
                                                r.row, f.constraint);
        record_error(raw[i], docs[i].source_id, field, sqlstate_text(f.sqlerrcode), f.message,
                     f.detail, batch, true);
    }
    pg_call([&] {
        ereport(DEBUG1,
                (errmsg_internal("nextcrm migration: %s batch %d: %zu refused rows of %zu isolated"
                                 " with %d subtransactions (%d committed, %d rolled back)%s",
                                 collection_.name.c_str(), batch, refused.size(), rows.rows(),
                                 count.committed + count.rolled_back, count.committed,
                                 count.rolled_back, e ? ", by committed bisection" : "")));
    });
}

void CollectionLoader::flush_side_tables() {
    exec_all(errors_sql, side_->errors);
    exec_all(repairs_sql, side_->repairs);
    exec_all(extra_keys_sql, side_->extra_keys);
    exec_all(kept_aside_sql, side_->kept_aside);
    exec_all(foreign_ids_sql, side_->foreign_ids);
    exec_all(junction_sql, side_->junction);
    side_ = std::make_unique<SideRows>();
}

void CollectionLoader::resolve_lookups(std::vector<TransformedDocument> &docs,
                                       const std::vector<bool> &ok) {
    // Per lookup column: the names of this batch its table lacks.  With
    // unknown=add they become rows (the table's other columns take their
    // defaults), recorded on the documents that named them; with
    // unknown=null the value is NULL, the original in the repair row.
    std::map<const FieldMapping *, std::set<std::string>> names;
    for (std::size_t i = 0; i < docs.size(); ++i)
        if (ok[i])
            for (const auto &l : docs[i].lookups)
                names[l.field].insert(l.name);
    for (const auto &[f, wanted] : names) {
        std::vector<std::optional<std::string>> list(wanted.begin(), wanted.end());
        Datum arg = text_array(list, 0, list.size());
        Oid type = TEXTARRAYOID;
        std::string table = "public." + quote_ident(f->lookup_table);
        std::string match = quote_ident(f->lookup_match);
        std::string missing = "SELECT DISTINCT ON (pg_catalog.lower(v)) v FROM unnest($1::text[]) v"
                              " WHERE NOT EXISTS (SELECT 1 FROM " +
                              table + " l WHERE pg_catalog.lower(l." + match +
                              ") OPERATOR(pg_catalog.=) pg_catalog.lower(v))";
        SpiRows rows = f->lookup_unknown == LookupUnknown::Add
                           ? spi_query(("INSERT INTO " + table + " (" + match + ") " + missing +
                                        " RETURNING " + match)
                                           .c_str(),
                                       1, &type, &arg)
                           : spi_query(missing.c_str(), 1, &type, &arg);
        std::set<std::string> absent;
        for (std::size_t r = 0; r < rows.size(); ++r)
            absent.insert(fold_case(rows.text(r, 1)));
        if (absent.empty())
            continue;
        for (std::size_t i = 0; i < docs.size(); ++i) {
            if (!ok[i])
                continue;
            for (const auto &l : docs[i].lookups) {
                if (l.field != f || !absent.count(fold_case(l.name)))
                    continue;
                if (f->lookup_unknown == LookupUnknown::Add) {
                    docs[i].repairs.push_back(
                        {f->stored_key, "lookup_row_added", l.original, l.name});
                } else {
                    docs[i].values[l.column].reset();
                    docs[i].repairs.push_back(
                        {f->stored_key, "lookup_unmatched", l.original, "NULL"});
                }
            }
            if (f->lookup_unknown == LookupUnknown::Add)
                // Recorded once: later documents find the row.
                for (const auto &l : docs[i].lookups)
                    if (l.field == f)
                        absent.erase(fold_case(l.name));
        }
    }
}

void CollectionLoader::read_value_overrides() {
    if (overrides_read_)
        return;
    overrides_read_ = true;
    SpiRows rows = spi_query("SELECT map, from_value, to_value FROM nextcrm_migration.value_map");
    ValueMaps overrides;
    for (std::size_t r = 0; r < rows.size(); ++r)
        overrides[rows.text(r, 1)][fold_case(rows.text(r, 2))] = rows.text(r, 3);
    transformer_.set_value_overrides(std::move(overrides));
}

// The bytes a converted document holds until its batch is written: its
// values, kept-aside and unknown keys (the strings that grow with the
// document; the fixed-size parts are left out).
static std::size_t converted_bytes(const TransformedDocument &d) {
    std::size_t n = d.source_id.size() + d.id_json.size() + d.extra_keys.size();
    for (const auto &v : d.values)
        if (v)
            n += v->size();
    for (const auto &k : d.kept)
        n += k.document.size();
    for (const auto &r : d.repairs)
        n += r.original.size() + r.replacement.size();
    for (const auto &j : d.junction)
        n += j.original.size();
    for (const auto &a : d.ref_arrays)
        for (const auto &e : a)
            n += e.size();
    return n;
}

BatchCounts CollectionLoader::load_batch(int batch) {
    BatchCounts counts;
    read_value_overrides();
    std::vector<BsonPtr> copies;
    std::vector<const bson_t *> raw;
    std::vector<TransformedDocument> docs;
    std::vector<bool> ok;
    if (!source_) {
        counts.exhausted = true;
        return counts;
    }
    // Each document is converted as soon as it is read, and the batch ends
    // when what it holds -- the documents' BSON, their converted values and
    // the error rows made so far -- reaches migration_batch_bytes: a
    // converted value can be several times its BSON (a string of control
    // characters is six bytes per byte as JSON), and 25 such documents near
    // 16 MB each, bounded by their BSON alone, once held 2.85 GB.
    StageClock clock;
    std::size_t bytes = 0;
    std::size_t errors_before = side_->errors.bytes();
    auto held = [&] { return bytes + side_->errors.bytes() - errors_before; };
    while (counts.documents < migration_batch_size && held() < migration_batch_bytes) {
        check_for_interrupts();
        const bson_t *doc = nullptr;
        try {
            doc = source_->next();
            counts.stages.read += clock.lap();
        } catch (const Error &e) {
            // A dump file's damage is that collection's failure, not the
            // run's (a live server's error stops the run: it is not the
            // data).  Interrupts are PgExceptions and go on.
            if (client_ || replace_errors_)
                throw;
            counts.damage = e.what();
            if (!e.detail().empty())
                counts.damage += ". " + e.detail();
            break;
        }
        if (!doc) {
            counts.exhausted = true;
            break;
        }
        ++counts.documents;
        counts.last_id = encoding_.escaped(source_id_of(doc));
        if (replay_ && !replay_->failure().empty()) {
            // An oplog entry on it could not be applied: the document's
            // state is not known, so it is an error row, never an older
            // state.
            Error e(replay_->failure(), sqlstate::feature_not_supported);
            side_->errors.add(error_row(transformer_, encoding_, collection_.name, doc,
                                        source_id_of(doc), "(oplog)", e.sqlstate(), e.what(),
                                        e.detail(), batch, false));
            docs.emplace_back();
            docs.back().source_id = source_id_of(doc);
            ok.push_back(false);
            ++counts.failed;
            raw.push_back(nullptr);
            copies.emplace_back(nullptr);
            continue;
        }
        if (doc->len > migration_batch_bytes) {
            // Never held for the batch: its error row (with its BSON) is
            // made now.
            Error e("document of " + std::to_string(doc->len) +
                        " bytes exceeds the largest batch (" +
                        std::to_string(migration_batch_bytes) + " bytes)",
                    sqlstate::program_limit_exceeded, {},
                    "BSON documents are at most 16 MB; this one is damaged or was not "
                    "written by MongoDB.");
            side_->errors.add(error_row(transformer_, encoding_, collection_.name, doc,
                                        source_id_of(doc), "(document)", e.sqlstate(), e.what(),
                                        e.detail(), batch, false));
            docs.emplace_back();
            docs.back().source_id = source_id_of(doc);
            ok.push_back(false);
            ++counts.failed;
            raw.push_back(nullptr);
            copies.emplace_back(nullptr);
            continue;
        }
        bytes += doc->len;
        copies.emplace_back(bson_copy(doc));
        raw.push_back(copies.back().get());
        docs.emplace_back();
        ok.push_back(true);
        counts.stages.read += clock.lap();
        std::size_t i = raw.size() - 1;
        try {
            docs[i] = transformer_.transform(raw[i]);
            if (auto lost = encode(docs[i], raw[i]))
                reject(i, lost->first,
                       Error("field \"" + lost->first + "\" holds a character (" + lost->second +
                                 ") with no equivalent in encoding \"" + encoding_.name() + "\"",
                             sqlstate::untranslatable_character, {},
                             "The target database's encoding cannot represent it; migrate into "
                             "a UTF8 database to keep it."),
                       raw, docs, ok, counts, batch);
        } catch (const DocumentError &e) {
            reject(i, e.field(), e, raw, docs, ok, counts, batch);
        } catch (const ConversionError &e) {
            reject(i, e.field(), e, raw, docs, ok, counts, batch);
        }
        bytes += converted_bytes(docs[i]);
        counts.stages.convert += clock.lap();
    }

    if (replace_errors_ && !docs.empty()) {
        // A retried document's old error rows give way to its new outcome.
        std::vector<std::optional<std::string>> ids;
        for (const auto &d : docs)
            ids.emplace_back(encoding_.escaped(d.source_id));
        Datum args[2] = {text_datum(collection_.name), text_array(ids, 0, ids.size())};
        Oid types[2] = {TEXTOID, TEXTARRAYOID};
        spi_exec("DELETE FROM nextcrm_migration.errors WHERE collection = $1"
                 " AND source_id = ANY($2)",
                 2, types, args);
    }
    counts.stages.load = clock.lap();
    resolve_references(docs, raw, ok, counts, batch);
    resolve_lookups(docs, ok);
    counts.stages.check = clock.lap();
    if (!collection_.kept_whole)
        insert_rows(docs, raw, ok, counts, batch);
    counts.stages.load += clock.lap();

    for (std::size_t i = 0; i < docs.size(); ++i) {
        if (!ok[i])
            continue;
        TransformedDocument &d = docs[i];
        d.source_id = encoding_.escaped(d.source_id); // converts: encode() checked
        // A document kept whole is accounted for in kept_aside, not migrated.
        if (!collection_.kept_whole)
            ++counts.migrated;
        if (!d.repairs.empty() || !d.extra_keys.empty())
            ++counts.repaired;
        for (const auto &r : d.repairs)
            side_->repairs.add({collection_.name, d.source_id, r.field, r.kind, r.original,
                                r.replacement, std::to_string(batch)});
        if (!d.extra_keys.empty())
            side_->extra_keys.add({collection_.name, d.source_id, jsonb_storable(d.extra_keys)});
        for (const auto &k : d.kept)
            side_->kept_aside.add(
                {collection_.name, d.source_id,
                 k.field.empty() ? std::nullopt : std::optional<std::string>(k.field), k.reason,
                 jsonb_storable(k.document), std::to_string(batch)});
        if (collection_.kept_whole)
            continue; // no row, no id of the target
        if (!d.id_is_object_id)
            side_->foreign_ids.add({collection_.name, uuid_text(d.id), jsonb_storable(d.id_json)});
        for (const auto &j : d.junction) {
            // Column a is the first of the two in byte order (mapping.cpp).
            bool owner_is_a = j.field->owner_column < j.field->target_column;
            side_->junction.add({j.field->target_table, uuid_text(owner_is_a ? j.owner : j.other),
                                 uuid_text(owner_is_a ? j.other : j.owner), collection_.name,
                                 d.source_id, j.field->stored_key, j.original});
        }
    }
    counts.stages.convert += clock.lap();
    flush_side_tables();
    if (replay_)
        record_oplog(replay_->take_records(), batch);
    counts.stages.load += clock.lap();
    return counts;
}

int64 estimate_source_documents(Oid serverid, const SourceOptions &opts,
                                const std::string &collection) {
    if (opts.is_dump())
        return Dump(opts, [] { check_for_interrupts(); }).count(collection, [] {
            check_for_interrupts();
        });
    return client_for(serverid)->estimated_count(collection);
}

namespace {

// The UUID a reference or a source _id spelled as 24 hex digits (bare, or
// as a JSON string: a legacy id stored as text) maps to; nullopt for
// anything else.
std::optional<std::string> hex_uuid(std::string text) {
    if (text.size() == 26 && text.front() == '"' && text.back() == '"')
        text = text.substr(1, 24);
    auto oid = parse_object_id(text);
    if (!oid)
        return std::nullopt;
    return uuid_text(oid_to_uuid(*oid));
}

struct LostRef {
    std::string repair_id, collection, source_id, key, target;
    std::optional<std::string> row; // the referencing row's id; nullopt: see foreign_ids
    int64 index = -1;               // a list element's index in the source list
};

// The referencing row's id in SQL: the ObjectId's UUID (parameter `row`), or
// the entry foreign_ids holds for the document (`source_id`, `collection`).
std::string row_id_sql(int row, int source_id, int collection) {
    return "coalesce($" + std::to_string(row) +
           "::pg_catalog.uuid, (SELECT f.id FROM nextcrm_migration.foreign_ids f"
           " WHERE f.collection OPERATOR(pg_catalog.=) $" +
           std::to_string(collection) + " AND f.source_id OPERATOR(pg_catalog.=) $" +
           std::to_string(source_id) + "::pg_catalog.jsonb))";
}

// The elements of a uuid[] in its text form ({a,b,...}: uuids need no
// quoting).
std::vector<std::string> uuid_array_elements(const std::string &text) {
    std::vector<std::string> out;
    if (text.size() < 2)
        return out;
    std::size_t start = 1, end = text.size() - 1;
    while (start < end) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string::npos || comma > end)
            comma = end;
        out.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

// The source indexes of one document's list elements that its stored array
// lacks: dropped as invalid references, or as dangling ones not restored.
std::vector<int64> dropped_indexes(Datum *args, Oid *types, const char *nulls, std::size_t prefix) {
    SpiRows rows = spi_query(
        "SELECT d.field FROM nextcrm_migration.repairs d"
        " WHERE d.collection OPERATOR(pg_catalog.=) $3"
        "   AND d.source_id OPERATOR(pg_catalog.=) $2"
        "   AND pg_catalog.starts_with(d.field, $4)"
        "   AND d.replacement OPERATOR(pg_catalog.=) '(dropped)'"
        "   AND (d.kind OPERATOR(pg_catalog.=) 'invalid_reference'"
        "    OR (d.kind OPERATOR(pg_catalog.=) 'dangling_ref' AND d.resolved_at IS NULL))",
        4, types, args, nulls);
    std::vector<int64> dropped;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        std::string digits = rows.text(r, 1).substr(prefix);
        if (!digits.empty() && digits.size() < 19 &&
            digits.find_first_not_of("0123456789") == std::string::npos)
            dropped.push_back(std::stoll(digits));
    }
    std::sort(dropped.begin(), dropped.end());
    dropped.erase(std::unique(dropped.begin(), dropped.end()), dropped.end());
    return dropped;
}

// Puts the restorable elements (`back`: source index -> lost reference) of
// one document's list back where the source list had them, in one pass over
// the list: the stored array is the source list less the elements dropped,
// in source order.  One read and one write of the array and one update of
// the repair rows, whatever the list's length (a per-element UPDATE that
// re-counts the drops before it is quadratic: 20k dangling ids took 121 s).
// Returns how many elements were put back.
int64 restore_list(const FieldMapping &f, const LostRef &first,
                   const std::map<int64, const LostRef *> &back) {
    Datum args[5] = {first.row ? text_datum(*first.row) : (Datum)0, text_datum(first.source_id),
                     text_datum(first.collection), text_datum(first.key + "."), (Datum)0};
    Oid types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID};
    const char nulls[5] = {first.row ? ' ' : 'n', ' ', ' ', ' ', ' '};
    std::vector<int64> dropped = dropped_indexes(args, types, nulls, first.key.size() + 1);

    std::string table = target_table(first.collection);
    std::string column = quote_ident(f.target_column);
    std::string where = " WHERE t.id OPERATOR(pg_catalog.=) " + row_id_sql(1, 2, 3);
    SpiRows current =
        spi_query(("SELECT t." + column + "::pg_catalog.text FROM " + table + " t" + where).c_str(),
                  3, types, args, nulls);
    if (current.empty())
        return 0; // the referencing row is not there (it failed itself)
    std::vector<std::string> kept = uuid_array_elements(current.text(0, 1));

    // Merge by source index: an index in `dropped` is put back (it is in
    // `back`) or stays out; every other index is the next kept element.
    std::vector<std::optional<std::string>> merged, resolved;
    merged.reserve(kept.size() + back.size());
    std::size_t next = 0;
    auto d = dropped.begin();
    for (int64 i = 0; next < kept.size() || d != dropped.end(); ++i) {
        if (d != dropped.end() && (*d == i || next == kept.size())) {
            i = *d++;
            auto b = back.find(i);
            if (b != back.end()) {
                merged.emplace_back(b->second->target);
                resolved.emplace_back(b->second->repair_id);
            }
        } else {
            merged.emplace_back(std::move(kept[next++]));
        }
        if ((i & 4095) == 0)
            check_for_interrupts();
    }
    if (resolved.empty())
        return 0;
    args[4] = text_array(merged, 0, merged.size());
    spi_exec(("UPDATE " + table + " t SET " + column +
              " = $5::pg_catalog.text[]::pg_catalog.uuid[]" + where)
                 .c_str(),
             5, types, args, nulls);
    Datum ids = text_array(resolved, 0, resolved.size());
    Oid ids_type = TEXTARRAYOID;
    spi_exec("UPDATE nextcrm_migration.repairs r SET resolved_at = pg_catalog.clock_timestamp()"
             " WHERE r.id OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]::pg_catalog.int8[])",
             1, &ids_type, &ids);
    return static_cast<int64>(resolved.size());
}

// Sets one scalar reference back (to the route column when the target is
// the route model's, D12).  Returns 1 when it was, 0 otherwise.
int64 restore_scalar(const FieldMapping &f, const LostRef &l, bool in_ref) {
    std::string table = target_table(l.collection);
    std::string column = quote_ident(in_ref ? f.target_column : f.route_column);
    std::string sql = "WITH fixed AS (UPDATE " + table + " t SET " + column +
                      " = $2::pg_catalog.uuid WHERE t.id OPERATOR(pg_catalog.=) " +
                      row_id_sql(3, 4, 5) + " AND t." + column +
                      " IS NULL RETURNING 1) UPDATE nextcrm_migration.repairs r"
                      " SET resolved_at = pg_catalog.clock_timestamp()"
                      " WHERE r.id OPERATOR(pg_catalog.=) $1"
                      " AND EXISTS (SELECT 1 FROM fixed)";
    Datum args[5] = {Int64GetDatum(std::stoll(l.repair_id)), text_datum(l.target),
                     l.row ? text_datum(*l.row) : (Datum)0, text_datum(l.source_id),
                     text_datum(l.collection)};
    Oid types[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
    const char nulls[5] = {' ', ' ', l.row ? ' ' : 'n', ' ', ' '};
    uint64 done = spi_exec(sql.c_str(), 5, types, args, nulls);
    if (done && !in_ref) {
        // Recorded as the loader records a reroute.
        Datum rargs[4] = {text_datum(l.collection), text_datum(l.source_id), text_datum(l.key),
                          text_datum(f.route_column)};
        Oid rtypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
        std::string reroute = "INSERT INTO nextcrm_migration.repairs"
                              " (collection, source_id, field, kind, original, replacement)"
                              " SELECT $1, $2, $3, 'rerouted', r.original, $4"
                              "   FROM nextcrm_migration.repairs r WHERE r.id = " +
                              l.repair_id;
        spi_exec(reroute.c_str(), 4, rtypes, rargs);
    }
    return static_cast<int64>(done);
}

// The unresolved dangling references of the next whole documents after
// (collection, source_id) = (after_collection, after_source): at least one
// document's, and about `chunk` rows (a document's rows are never split, so
// one list is restored in one piece).  Ordered by collection, source_id,
// field: one list's elements are adjacent.
struct LostChunk {
    std::vector<LostRef> refs;
    std::string last_collection, last_source; // where the next chunk starts after
    bool end = true;                          // no row was left
};
LostChunk next_lost_refs(const std::string &after_collection, const std::string &after_source,
                         bool first, int chunk) {
    std::string select = "SELECT r.id, r.collection, r.source_id, r.field, r.original"
                         "  FROM nextcrm_migration.repairs r"
                         " WHERE r.kind OPERATOR(pg_catalog.=) 'dangling_ref'"
                         "   AND r.resolved_at IS NULL";
    Datum args[2] = {text_datum(after_collection), text_datum(after_source)};
    Oid types[2] = {TEXTOID, TEXTOID};
    // The field in byte order: one list's elements ("ids.0", "ids.1", ...)
    // share a prefix, so they are adjacent there, where a linguistic
    // collation interleaves another key's ("ids.1", "ids1.0", "ids.2" in
    // en_US).  The keyset compares (collection, source_id) in the same
    // collation as this order.
    std::string order = " ORDER BY r.collection, r.source_id, r.field COLLATE pg_catalog.\"C\"";
    SpiRows rows =
        spi_query((select +
                   (first ? std::string()
                          : "   AND (r.collection, r.source_id) OPERATOR(pg_catalog.>) ($1, $2)") +
                   order + " LIMIT " + std::to_string(chunk))
                      .c_str(),
                  first ? 0 : 2, first ? nullptr : types, first ? nullptr : args);
    std::size_t keep = rows.size();
    if (keep == static_cast<std::size_t>(chunk)) {
        // The last document's rows may go on past the limit: leave them to
        // the next chunk, unless they are all there is (one long list,
        // read whole).
        auto same_document = [&rows](std::size_t a, std::size_t b) {
            return rows.text(a, 2) == rows.text(b, 2) && rows.text(a, 3) == rows.text(b, 3);
        };
        while (keep > 0 && same_document(keep - 1, rows.size() - 1))
            --keep;
        if (keep == 0) {
            Datum one[2] = {text_datum(rows.text(0, 2)), text_datum(rows.text(0, 3))};
            rows = spi_query((select +
                              "   AND r.collection OPERATOR(pg_catalog.=) $1"
                              "   AND r.source_id OPERATOR(pg_catalog.=) $2" +
                              order)
                                 .c_str(),
                             2, types, one);
            keep = rows.size();
        }
    }
    LostChunk out;
    if (keep == 0)
        return out;
    out.end = false;
    out.last_collection = rows.text(keep - 1, 2);
    out.last_source = rows.text(keep - 1, 3);
    std::vector<LostRef> &lost = out.refs;
    lost.reserve(keep);
    for (std::size_t row = 0; row < keep; ++row) {
        LostRef l;
        l.repair_id = rows.text(row, 1);
        l.collection = rows.text(row, 2);
        l.source_id = rows.text(row, 3);
        std::string field = rows.text(row, 4);
        auto target = hex_uuid(rows.text(row, 5));
        if (!target)
            continue;
        l.target = *target;
        auto dot = field.rfind('.');
        l.key = dot == std::string::npos ? field : field.substr(0, dot);
        if (dot != std::string::npos) {
            std::string digits = field.substr(dot + 1);
            if (digits.empty() || digits.size() >= 19 ||
                digits.find_first_not_of("0123456789") != std::string::npos)
                continue;
            l.index = std::stoll(digits);
        }
        l.row = hex_uuid(l.source_id);
        lost.push_back(std::move(l));
    }
    return out;
}

// Restores the references of `lost` (whole documents) whose target row now
// exists.  Returns how many.
int64 restore_lost_refs(const Mapping &mapping, const std::vector<LostRef> &lost) {
    // Which targets exist now, one query per referenced table.
    std::map<std::string, std::set<std::string>> wanted;
    auto field_of = [&mapping](const LostRef &l) -> const FieldMapping * {
        const CollectionMapping *c = mapping.collection(l.collection);
        const FieldMapping *f = c ? c->find(l.key) : nullptr;
        if (!f)
            return nullptr;
        if (f->kind == FieldKind::Ref && l.index < 0)
            return f;
        if (f->kind == FieldKind::RefArray && l.index >= 0)
            return f;
        return nullptr; // junction pairs: restore_junction_pairs()
    };
    for (const auto &l : lost)
        if (const FieldMapping *f = field_of(l)) {
            wanted[f->ref_model].insert(l.target);
            if (!f->route_model.empty())
                wanted[f->route_model].insert(l.target);
        }
    std::map<std::string, std::set<std::string>> existing = existing_ids(wanted);

    int64 restored = 0;
    // The restorable elements of the list being gathered (rows come ordered
    // by collection, source_id, field: one list's elements are adjacent).
    const FieldMapping *list_field = nullptr;
    const LostRef *list_first = nullptr;
    std::map<int64, const LostRef *> back;
    auto flush_list = [&] {
        if (list_field && !back.empty())
            restored += restore_list(*list_field, *list_first, back);
        list_field = nullptr;
        list_first = nullptr;
        back.clear();
    };
    for (const auto &l : lost) {
        const FieldMapping *f = field_of(l);
        if (!f)
            continue;
        bool in_ref = existing[f->ref_model].count(l.target) > 0;
        bool in_route = !f->route_model.empty() && existing[f->route_model].count(l.target) > 0;
        if (!in_ref && !in_route)
            continue;
        check_for_interrupts();
        if (f->kind == FieldKind::Ref) {
            restored += restore_scalar(*f, l, in_ref);
            continue;
        }
        if (list_first && (list_field != f || list_first->collection != l.collection ||
                           list_first->source_id != l.source_id))
            flush_list();
        if (!list_first) {
            list_field = f;
            list_first = &l;
        }
        back.emplace(l.index, &l);
    }
    flush_list();
    return restored;
}

// Restores the references recorded as dangling whose target row now
// exists: scalar references set back, list elements put back at their
// source position.  Returns how many.  A chunk of documents at a time, so
// the worker's memory does not grow with the number of dangling
// references (40,596 of them at 1M generated documents held 52 MB at once).
int64 restore_scalar_and_list_refs(const Mapping &mapping) {
    int64 restored = 0;
    std::string collection, source_id;
    for (bool first = true;; first = false) {
        LostChunk chunk = next_lost_refs(collection, source_id, first, restore_chunk_rows());
        if (chunk.end)
            return restored;
        collection = std::move(chunk.last_collection);
        source_id = std::move(chunk.last_source);
        restored += restore_lost_refs(mapping, chunk.refs);
        check_for_interrupts();
    }
}

} // namespace

int64 restore_references(const Mapping &mapping) {
    // Most complete runs have nothing to put back: with no dangling
    // reference left unresolved (one probe of a partial index), the pass
    // costs nothing.
    if (spi_query("SELECT EXISTS (SELECT 1 FROM nextcrm_migration.repairs r"
                  " WHERE r.kind OPERATOR(pg_catalog.=) 'dangling_ref' AND r.resolved_at IS NULL)")
            .text(0, 1) != "t")
        return 0;
    int64 restored = restore_scalar_and_list_refs(mapping);
    // Junction pairs dropped because one end was missing: their staged
    // elements are still in junction_stage.  The unresolved repairs (the
    // partial index) lead; each finds its staged element by the
    // (collection, source_id) index, so no plan rescans junction_stage.
    for (const auto &j : mapping.junctions()) {
        Datum arg = text_datum(j.table);
        Oid type = TEXTOID;
        std::string sql =
            "WITH lost AS ("
            " SELECT r.id, s.a, s.b FROM nextcrm_migration.repairs r"
            "  JOIN nextcrm_migration.junction_stage s"
            "    ON s.collection OPERATOR(pg_catalog.=) r.collection"
            "   AND s.source_id OPERATOR(pg_catalog.=) r.source_id"
            "   AND s.field OPERATOR(pg_catalog.=) r.field"
            "   AND s.element OPERATOR(pg_catalog.=) r.original"
            " WHERE s.junction OPERATOR(pg_catalog.=) $1"
            "   AND r.kind OPERATOR(pg_catalog.=) 'dangling_ref'"
            "   AND r.replacement OPERATOR(pg_catalog.=) '(dropped)'"
            "   AND r.resolved_at IS NULL"
            "   AND EXISTS (SELECT 1 FROM " +
            target_table(j.a_model) +
            " x WHERE x.id OPERATOR(pg_catalog.=) s.a)"
            "   AND EXISTS (SELECT 1 FROM " +
            target_table(j.b_model) +
            " x WHERE x.id OPERATOR(pg_catalog.=) s.b)),"
            " added AS (INSERT INTO " +
            target_table(j.table) + " (" + quote_ident(j.a_column) + ", " +
            quote_ident(j.b_column) +
            ") SELECT DISTINCT l.a, l.b FROM lost l ON CONFLICT DO NOTHING)"
            " UPDATE nextcrm_migration.repairs r SET resolved_at = pg_catalog.clock_timestamp()"
            "  FROM lost l WHERE r.id OPERATOR(pg_catalog.=) l.id";
        restored += static_cast<int64>(spi_exec(sql.c_str(), 1, &type, &arg));
    }
    return restored;
}

} // namespace nextcrm
