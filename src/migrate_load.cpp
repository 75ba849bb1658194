#include "migrate_load.hpp"

#include "connection.hpp"
#include "profiles.hpp"
#include "spi.hpp"

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

bool document_error_class(int sqlerrcode) {
    int category = ERRCODE_TO_CATEGORY(sqlerrcode);
    return category == ERRCODE_DATA_EXCEPTION || category == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
}

using TextRow = std::vector<std::optional<std::string>>;

// Column-wise text values for one INSERT ... SELECT FROM unnest(...).
class TextColumns {
  public:
    explicit TextColumns(std::size_t n) : columns_(n) {}
    void add(TextRow row) {
        for (std::size_t i = 0; i < columns_.size(); ++i)
            columns_[i].push_back(std::move(row[i]));
    }
    std::size_t rows() const { return columns_.empty() ? 0 : columns_[0].size(); }
    std::size_t width() const { return columns_.size(); }
    const std::vector<std::optional<std::string>> &column(std::size_t i) const {
        return columns_[i];
    }
    void clear() {
        for (auto &c : columns_)
            c.clear();
    }

  private:
    std::vector<std::vector<std::optional<std::string>>> columns_;
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

// Runs a statement inside a subtransaction.  Returns nullptr on success, or
// the error (in the caller's memory context) after rolling the
// subtransaction back, so one bad row never takes its batch down.  Only a
// document's own fault is returned: data exceptions (class 22) and integrity
// constraint violations (class 23).  Anything else (a cancel, a lock timeout,
// out of memory, a shutdown) is thrown on, so it stops the batch and is never
// recorded as a document's failure.
ErrorData *try_exec(const char *sql, Params &p) {
    ErrorData *failure = in_subtransaction(
        [&] { spi_exec(sql, static_cast<int>(p.types.size()), p.types.data(), p.values.data()); });
    if (failure && !document_error_class(failure->sqlerrcode))
        throw PgException(failure);
    return failure;
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

std::unique_ptr<DocumentSource> open_dump(const SourceOptions &opts, const std::string &collection,
                                          int64 skip) {
    auto source = Dump(opts, [] { check_for_interrupts(); }).open(collection);
    if (!source)
        return nullptr;
    for (int64 i = 0; i < skip; ++i) {
        if (!source->next())
            break;
        if ((i & 1023) == 0)
            check_for_interrupts();
    }
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
    BSON_APPEND_ARRAY_BEGIN(&id, "$in", &in);
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
            if (ids_.count(source_id_of(doc, run_profile().redactor()))) {
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

} // namespace

struct CollectionLoader::SideRows {
    TextColumns errors{8}, repairs{7}, extra_keys{3}, foreign_ids{3}, junction{7};
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
            auto last = id_value(last_id);
            if (!last)
                throw Error("the checkpoint of " + collection.name + " holds an unreadable _id",
                            sqlstate::internal_error, "The last committed _id is " + last_id + ".",
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
    if (resume_position > 0) {
        const bson_t *doc = source ? source->next() : nullptr;
        std::string found = doc ? source_id_of(doc, run_profile().redactor()) : "(end of data)";
        if (found != last_id)
            throw Error("the source of " + collection.name + " changed since the last checkpoint",
                        sqlstate::fdw_error,
                        "Document " + std::to_string(resume_position) + " was " + last_id +
                            " and is now " + found + ".",
                        "Start this collection over with nextcrm_migrate_table(server, '" +
                            collection.name + "', restart => true).");
    }
    return std::make_unique<CollectionLoader>(collection, nullptr, std::move(source), false);
}

std::unique_ptr<CollectionLoader> CollectionLoader::retry(Oid serverid, const SourceOptions &opts,
                                                          const CollectionMapping &collection,
                                                          const std::vector<std::string> &ids) {
    std::shared_ptr<Client> client;
    std::unique_ptr<DocumentSource> source;
    if (!opts.is_dump()) {
        client = client_for(serverid);
        QuerySpec spec;
        spec.sort.reset(BCON_NEW("_id", BCON_INT32(1)));
        spec.batch_size = migration_batch_size;
        spec.filter = id_filter(ids);
        source = std::make_unique<MongoCursorSource>(client->raw(), opts.database, collection.name,
                                                     spec);
    } else if (auto file = Dump(opts, [] { check_for_interrupts(); }).open(collection.name)) {
        source = std::make_unique<SelectedSource>(std::move(file),
                                                  std::set<std::string>(ids.begin(), ids.end()));
    }
    return std::make_unique<CollectionLoader>(collection, client, std::move(source), true);
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
    insert_sql_ = unnest_insert(target_table(collection.name), columns, casts);
}

CollectionLoader::~CollectionLoader() = default;

void CollectionLoader::record_error(const bson_t *doc, const std::string &source_id,
                                    const std::string &field, const char *state,
                                    const std::string &message, const std::string &detail,
                                    int batch) {
    // Messages quote values (a converted number, PostgreSQL's "Failing row
    // contains (...)"): no secret of the document may appear in them.
    Redactor::Secrets secrets = transformer_.redactor().secrets_of(doc);
    side_->errors.add({collection_.name, source_id,
                       field.empty() ? std::nullopt : std::optional<std::string>(field),
                       std::string(state), Redactor::scrub(message, secrets),
                       detail.empty()
                           ? std::nullopt
                           : std::optional<std::string>(Redactor::scrub(detail, secrets)),
                       jsonb_storable(transformer_.redacted_json(doc)), std::to_string(batch)});
}

std::pair<std::string, std::string>
CollectionLoader::redacted_repair(const bson_t *doc, const Repair &r,
                                  const Redactor::Secrets &secrets) const {
    const Redactor &redactor = transformer_.redactor();
    bson_iter_t it, value;
    if (redactor.path_is_secret(r.field)) {
        // The original's mark hashes the source value, the replacement's the
        // text written to the target column, so each can be checked there.
        if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, r.field.c_str(), &value))
            return {redaction_mark(&value), redaction_mark(r.replacement)};
        return {redaction_mark(r.original), redaction_mark(r.replacement)};
    }
    return {Redactor::scrub(r.original, secrets), Redactor::scrub(r.replacement, secrets)};
}

void CollectionLoader::reject(const bson_t *doc, const std::string &field, const Error &e,
                              std::vector<TransformedDocument> &docs, std::vector<bool> &ok,
                              BatchCounts &counts, int batch) {
    docs.emplace_back();
    docs.back().source_id = source_id_of(doc, transformer_.redactor());
    ok.push_back(false);
    ++counts.failed;
    record_error(doc, docs.back().source_id, field, e.sqlstate(), e.what(), e.detail(), batch);
}

void CollectionLoader::resolve_references(std::vector<TransformedDocument> &docs,
                                          std::vector<const bson_t *> &raw, std::vector<bool> &ok,
                                          BatchCounts &counts, int batch) {
    // Which of the referenced ids exist, one query per referenced table.
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
    std::map<std::string, std::set<std::string>> existing;
    for (const auto &[model, ids] : wanted) {
        std::vector<std::optional<std::string>> list(ids.begin(), ids.end());
        Datum arg = text_array(list, 0, list.size());
        Oid type = TEXTARRAYOID;
        std::string sql =
            "SELECT id::text FROM " + target_table(model) + " WHERE id = ANY($1::text[]::uuid[])";
        SpiRows rows = spi_query(sql.c_str(), 1, &type, &arg);
        auto &found = existing[model];
        for (std::size_t row = 0; row < rows.size(); ++row)
            found.insert(rows.text(row, 1));
    }

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
                                        "required reference \"" + f.stored_key + "\" names " +
                                            r.original + ", which is not a migrated " +
                                            f.ref_model + " document",
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
            rows.add(docs[i].values);
            index.push_back(i);
        }
    if (rows.rows() == 0)
        return;
    Params all = params_of(rows, 0, rows.rows());
    if (!try_exec(insert_sql_.c_str(), all))
        return;
    // Something in the batch was refused (a duplicate email, say): insert
    // row by row to keep every other document.
    for (std::size_t r = 0; r < rows.rows(); ++r) {
        check_for_interrupts();
        Params one = params_of(rows, r, r + 1);
        ErrorData *e = try_exec(insert_sql_.c_str(), one);
        if (!e)
            continue;
        std::size_t i = index[r];
        ok[i] = false;
        ++counts.failed;
        std::string field = e->column_name ? e->column_name
                                           : constraint_field(collection_.name, e->constraint_name);
        record_error(raw[i], docs[i].source_id, field, sqlstate_text(e->sqlerrcode),
                     e->message ? e->message : "", e->detail ? e->detail : "", batch);
    }
}

void CollectionLoader::flush_side_tables() {
    exec_all(errors_sql, side_->errors);
    exec_all(repairs_sql, side_->repairs);
    exec_all(extra_keys_sql, side_->extra_keys);
    exec_all(foreign_ids_sql, side_->foreign_ids);
    exec_all(junction_sql, side_->junction);
    side_ = std::make_unique<SideRows>();
}

BatchCounts CollectionLoader::load_batch(int batch) {
    BatchCounts counts;
    std::vector<BsonPtr> copies;
    std::vector<const bson_t *> raw;
    std::vector<TransformedDocument> docs;
    std::vector<bool> ok;
    if (!source_) {
        counts.exhausted = true;
        return counts;
    }
    while (counts.documents < migration_batch_size) {
        check_for_interrupts();
        const bson_t *doc = nullptr;
        try {
            doc = source_->next();
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
        copies.emplace_back(bson_copy(doc));
        raw.push_back(copies.back().get());
        ++counts.documents;
        counts.last_id = source_id_of(doc, transformer_.redactor());
        try {
            docs.push_back(transformer_.transform(doc));
            ok.push_back(true);
        } catch (const DocumentError &e) {
            reject(doc, e.field(), e, docs, ok, counts, batch);
        } catch (const ConversionError &e) {
            reject(doc, e.field(), e, docs, ok, counts, batch);
        }
    }

    if (replace_errors_ && !docs.empty()) {
        // A retried document's old error rows give way to its new outcome.
        std::vector<std::optional<std::string>> ids;
        for (const auto &d : docs)
            ids.emplace_back(d.source_id);
        Datum args[2] = {text_datum(collection_.name), text_array(ids, 0, ids.size())};
        Oid types[2] = {TEXTOID, TEXTARRAYOID};
        spi_exec("DELETE FROM nextcrm_migration.errors WHERE collection = $1"
                 " AND source_id = ANY($2)",
                 2, types, args);
    }
    resolve_references(docs, raw, ok, counts, batch);
    insert_rows(docs, raw, ok, counts, batch);

    for (std::size_t i = 0; i < docs.size(); ++i) {
        if (!ok[i])
            continue;
        const TransformedDocument &d = docs[i];
        ++counts.migrated;
        if (!d.repairs.empty() || !d.extra_keys.empty())
            ++counts.repaired;
        // Defaults for missing fields quote nothing of the document: most
        // documents need no look for secrets at all.
        bool quotes_source = std::any_of(d.repairs.begin(), d.repairs.end(),
                                         [](const Repair &r) { return r.original != "(missing)"; });
        Redactor::Secrets secrets =
            quotes_source ? transformer_.redactor().secrets_of(raw[i]) : Redactor::Secrets{};
        for (const auto &r : d.repairs) {
            auto [original, replacement] = redacted_repair(raw[i], r, secrets);
            side_->repairs.add({collection_.name, d.source_id, r.field, r.kind, std::move(original),
                                std::move(replacement), std::to_string(batch)});
        }
        if (!d.extra_keys.empty())
            side_->extra_keys.add({collection_.name, d.source_id, jsonb_storable(d.extra_keys)});
        if (!d.id_is_object_id)
            side_->foreign_ids.add({collection_.name, uuid_text(d.id), jsonb_storable(d.id_json)});
        for (const auto &j : d.junction) {
            bool owner_is_a = j.field->owner_column == "A";
            side_->junction.add({j.field->target_table, uuid_text(owner_is_a ? j.owner : j.other),
                                 uuid_text(owner_is_a ? j.other : j.owner), collection_.name,
                                 d.source_id, j.field->stored_key, j.original});
        }
    }
    flush_side_tables();
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

// Restores the references recorded as dangling whose target row now
// exists: scalar references set back, list elements put back at their
// source position.  Returns how many.
int64 restore_scalar_and_list_refs(const Mapping &mapping) {
    SpiRows rows = spi_query("SELECT r.id, r.collection, r.source_id, r.field, r.original"
                             "  FROM nextcrm_migration.repairs r"
                             " WHERE r.kind OPERATOR(pg_catalog.=) 'dangling_ref'"
                             "   AND r.resolved_at IS NULL"
                             " ORDER BY r.collection, r.source_id, r.field");
    std::vector<LostRef> lost;
    for (std::size_t row = 0; row < rows.size(); ++row) {
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
            if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
                continue;
            l.index = std::stoll(digits);
        }
        l.row = hex_uuid(l.source_id);
        lost.push_back(std::move(l));
    }
    // Which targets exist now, one query per referenced table.
    std::map<std::string, std::set<std::string>> wanted, existing;
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
    for (const auto &[model, ids] : wanted) {
        std::vector<std::optional<std::string>> list(ids.begin(), ids.end());
        Datum arg = text_array(list, 0, list.size());
        Oid type = TEXTARRAYOID;
        std::string sql = "SELECT t.id::pg_catalog.text FROM " + target_table(model) +
                          " t WHERE t.id OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.uuid[])";
        SpiRows found = spi_query(sql.c_str(), 1, &type, &arg);
        for (std::size_t r = 0; r < found.size(); ++r)
            existing[model].insert(found.text(r, 1));
    }

    // The referencing row's id: the ObjectId's UUID, or foreign_ids' entry.
    const std::string row_id =
        "coalesce($3::pg_catalog.uuid, (SELECT f.id FROM nextcrm_migration.foreign_ids f"
        " WHERE f.collection OPERATOR(pg_catalog.=) $5"
        " AND f.source_id OPERATOR(pg_catalog.=) $4::pg_catalog.jsonb))";
    int64 restored = 0;
    for (const auto &l : lost) {
        const FieldMapping *f = field_of(l);
        if (!f)
            continue;
        bool in_ref = existing[f->ref_model].count(l.target) > 0;
        bool in_route = !f->route_model.empty() && existing[f->route_model].count(l.target) > 0;
        if (!in_ref && !in_route)
            continue;
        check_for_interrupts();
        std::string table = target_table(l.collection);
        std::string set;
        if (f->kind == FieldKind::Ref) {
            // A comment's id naming a CRM task goes to the route column (D12).
            std::string column = quote_ident(in_ref ? f->target_column : f->route_column);
            set = "UPDATE " + table + " t SET " + column +
                  " = $2::pg_catalog.uuid WHERE t.id = " + row_id + " AND t." + column + " IS NULL";
        } else {
            // Put the element back where the source list had it: after the
            // elements before it that are still in the array (those before
            // it that were dropped, and not restored, are not).
            std::string column = quote_ident(f->target_column);
            // $6 less the elements before it that were dropped and not restored.
            const std::string position =
                "$6 - (SELECT pg_catalog.count(*) FROM nextcrm_migration.repairs d"
                " WHERE d.collection OPERATOR(pg_catalog.=) $5"
                " AND d.source_id OPERATOR(pg_catalog.=) $4"
                " AND d.field OPERATOR(pg_catalog.~) ('^' OPERATOR(pg_catalog.||) $7"
                " OPERATOR(pg_catalog.||) '\\.[0-9]+$')"
                " AND d.replacement OPERATOR(pg_catalog.=) '(dropped)'"
                " AND (d.kind OPERATOR(pg_catalog.=) 'invalid_reference'"
                "  OR (d.kind OPERATOR(pg_catalog.=) 'dangling_ref' AND d.resolved_at IS NULL))"
                " AND pg_catalog.substring(d.field, '[0-9]+$')::pg_catalog.int8"
                " OPERATOR(pg_catalog.<) $6)";
            set = "UPDATE " + table + " t SET " + column + " = t." + column + "[1:" + position +
                  "] OPERATOR(pg_catalog.||) $2::pg_catalog.uuid OPERATOR(pg_catalog.||) t." +
                  column + "[" + position + " + 1:] WHERE t.id = " + row_id;
        }
        std::string sql = "WITH fixed AS (" + set +
                          " RETURNING 1) UPDATE nextcrm_migration.repairs r"
                          " SET resolved_at = pg_catalog.clock_timestamp()"
                          " WHERE r.id OPERATOR(pg_catalog.=) $1"
                          " AND EXISTS (SELECT 1 FROM fixed)";
        Datum args[7] = {Int64GetDatum(std::stoll(l.repair_id)),
                         text_datum(l.target),
                         l.row ? text_datum(*l.row) : (Datum)0,
                         text_datum(l.source_id),
                         text_datum(l.collection),
                         Int64GetDatum(l.index),
                         text_datum(l.key)};
        Oid types[7] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID};
        const char nulls[7] = {' ', ' ', l.row ? ' ' : 'n', ' ', ' ', ' ', ' '};
        uint64 done = spi_exec(sql.c_str(), 7, types, args, nulls);
        restored += static_cast<int64>(done);
        if (done && f->kind == FieldKind::Ref && !in_ref) {
            // Recorded as the loader records a reroute.
            Datum rargs[4] = {text_datum(l.collection), text_datum(l.source_id), text_datum(l.key),
                              text_datum(f->route_column)};
            Oid rtypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
            std::string reroute = "INSERT INTO nextcrm_migration.repairs"
                                  " (collection, source_id, field, kind, original, replacement)"
                                  " SELECT $1, $2, $3, 'rerouted', r.original, $4"
                                  "   FROM nextcrm_migration.repairs r WHERE r.id = " +
                                  l.repair_id;
            spi_exec(reroute.c_str(), 4, rtypes, rargs);
        }
    }
    return restored;
}

} // namespace

int64 restore_references(const Mapping &mapping) {
    int64 restored = restore_scalar_and_list_refs(mapping);
    // Junction pairs dropped because one end was missing: their staged
    // elements are still in junction_stage.
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
            target_table(j.table) +
            " (\"A\", \"B\") SELECT DISTINCT l.a, l.b FROM lost l ON CONFLICT DO NOTHING)"
            " UPDATE nextcrm_migration.repairs r SET resolved_at = pg_catalog.clock_timestamp()"
            "  FROM lost l WHERE r.id OPERATOR(pg_catalog.=) l.id";
        restored += static_cast<int64>(spi_exec(sql.c_str(), 1, &type, &arg));
    }
    return restored;
}

} // namespace nextcrm
