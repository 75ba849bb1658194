// nextcrm_validation_source(): what the validator compares the target with,
// read from the MongoDB source itself (a live server or a dump directory) in
// one pass per collection.  The set-based comparisons are SQL
// (nextcrm_validate() in sql/src/validate.sql); this only reads the source.
#include "pg_wall.hpp"
#include "pg/arrays.hpp"
#include "pg/types.hpp"

#include "connection.hpp"
#include "migrate_oplog.hpp"
#include "profiles.hpp"
#include "source_count.hpp"
#include "target_encoding.hpp"
#include "validate_jsonb.hpp"

#include "core/extended_json.hpp"
#include "core/document_source.hpp"
#include "core/mongodump.hpp"
#include "core/mapping.hpp"
#include "core/oplog_apply.hpp"
#include "core/source_scan.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"
}

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using nextcrm::pg_call;

// Rows of (collection, kind, source_id, id, a, b, documents, doc): kind
// 'count' (documents), 'id' (source_id = _id as the error table spells it,
// id = its UUID), 'pair' (collection = junction table; a, b = its A and B)
// and 'sample' (source_id, id and doc = the document).  Typed columns, so
// SQL reads them without casts or copies.
class RowWriter {
  public:
    explicit RowWriter(ReturnSetInfo *rsinfo)
        : rsinfo_(rsinfo), scratch_(pg_call([] {
              return AllocSetContextCreate(CurrentMemoryContext, "nextcrm validation sample",
                                           ALLOCSET_DEFAULT_SIZES);
          })) {
        pg_call([this] { jsonb_encoding_ = nextcrm::sample_jsonb_encoding(); });
    }

    struct Row {
        const char *kind;
        const std::string *source_id = nullptr;
        const std::string *id = nullptr;
        const std::string *a = nullptr;
        const std::string *b = nullptr;
        const std::int64_t *documents = nullptr;
        const std::string *doc = nullptr;
    };

    void put(const std::string &collection, const Row &row) {
        // In the database's encoding, as the migration writes them: a
        // document with a character the encoding lacks has no jsonb form
        // here (a null doc: the migration recorded it as an error), and an
        // _id is spelled as the error table spells it.
        std::optional<std::string> text = row.doc ? encoding_.convert(*row.doc) : std::nullopt;
        put_row(collection, row, text ? sample_jsonb(collection, row, *text) : (Datum)0);
    }

    // A document's jsonb built from its BSON (validate_jsonb.hpp): the value
    // put() gives for its canonical Extended JSON, without writing and
    // parsing that text.  False, with nothing put, when the builder leaves
    // the document to the text path (a value with no JSON form, a NUL, a
    // string too long for jsonb): the caller then reads it as before, so the
    // rows are the text path's.
    bool put_built(const std::string &collection, const Row &row, const bson_t *bson) {
        Datum doc = (Datum)0;
        nextcrm::SampleJsonb how = pg_call([&] {
            MemoryContext old = MemoryContextSwitchTo(scratch_);
            nextcrm::SampleJsonb r = nextcrm::sample_jsonb_from_bson(bson, jsonb_encoding_, &doc);
            MemoryContextSwitchTo(old);
            return r;
        });
        if (how == nextcrm::SampleJsonb::TextPath) {
            ++through_text;
            pg_call([this] { MemoryContextReset(scratch_); });
            return false;
        }
        ++built_from_bson;
        put_row(collection, row, how == nextcrm::SampleJsonb::Built ? doc : (Datum)0);
        pg_call([this] { MemoryContextReset(scratch_); });
        return true;
    }

    // Documents put_built() built, and left to the text path (DEBUG1 at the
    // end: a test's proof that the builder, not the text path, made them).
    std::int64_t built_from_bson = 0;
    std::int64_t through_text = 0;

  private:
    void put_row(const std::string &collection, const Row &row, Datum doc) {
        std::string source_id = row.source_id ? encoding_.escaped(*row.source_id) : std::string();
        pg_call([&] {
            check_stack_depth();
            Datum values[8] = {};
            bool nulls[8] = {false,
                             false,
                             row.source_id == nullptr,
                             row.id == nullptr,
                             row.a == nullptr,
                             row.b == nullptr,
                             row.documents == nullptr,
                             doc == (Datum)0};
            values[0] = CStringGetTextDatum(collection.c_str());
            values[1] = CStringGetTextDatum(row.kind);
            if (row.source_id)
                values[2] = CStringGetTextDatum(source_id.c_str());
            const std::string *uuids[3] = {row.id, row.a, row.b};
            for (int i = 0; i < 3; ++i)
                if (uuids[i])
                    values[3 + i] =
                        DirectFunctionCall1(uuid_in, CStringGetDatum(uuids[i]->c_str()));
            if (row.documents)
                values[6] = Int64GetDatum(*row.documents);
            values[7] = doc;
            tuplestore_putvalues(rsinfo_->setResult, rsinfo_->setDesc, values, nulls);
            for (int i : {0, 1, 2, 3, 4, 5, 7})
                if (!nulls[i])
                    pfree(DatumGetPointer(values[i]));
        });
    }

    // The sampled document as jsonb, or (Datum)0 (a null doc) when jsonb
    // cannot hold it: a string with a NUL byte, which the migration cannot
    // store either (the document is in the error table, where the
    // validator's sample check looks; were it in the target, its fields
    // would compare unequal to NULL).  jsonb_in runs with soft-error input,
    // so a refusal is a SQLSTATE, not an error to catch (its text would
    // quote the document before the NUL); the message names the row id and
    // SQLSTATE only (docs/REFERENCE.md, "Secrets").
    static Datum sample_jsonb(const std::string &collection, const Row &row,
                              const std::string &converted) {
        nextcrm::pg::InputResult in =
            nextcrm::pg::input_soft(F_JSONB_IN, converted.c_str(), InvalidOid, -1);
        if (in.ok)
            return in.value;
        if (in.sqlstate == ERRCODE_UNTRANSLATABLE_CHARACTER)
            return (Datum)0;
        throw nextcrm::Error(
            nextcrm::Message(NEXTCRM_MSG("the sampled document with id %s of collection \"%s\" "
                                         "cannot be read as jsonb (SQLSTATE %s)"),
                             row.id ? *row.id : std::string("(none)"), collection,
                             nextcrm::sqlstate_text(in.sqlstate)),
            nextcrm::sqlstate::fdw_error);
    }

    ReturnSetInfo *rsinfo_;
    nextcrm::TargetEncoding encoding_;
    nextcrm::SampleJsonbEncoding jsonb_encoding_{};
    // The builder's allocations for one document, reset after each.
    MemoryContext scratch_;
};

// The collection's documents: file order for a dump, _id order for a live
// server (so the same seed samples the same documents).  Null when a dump
// has no file for it.
std::unique_ptr<nextcrm::DocumentSource> open_collection(const nextcrm::SourceOptions &opts,
                                                         Oid serverid,
                                                         std::shared_ptr<nextcrm::Client> &client,
                                                         const nextcrm::Dump *dump,
                                                         const std::string &collection) {
    if (dump) // as the migration reads it: with the dump's oplog applied
        return nextcrm::with_oplog(*dump, dump->open(collection), collection);
    if (!client)
        client = nextcrm::client_for(serverid);
    nextcrm::QuerySpec spec;
    spec.sort.reset(BCON_NEW("_id", BCON_INT32(1)));
    return std::make_unique<nextcrm::MongoCursorSource>(client->raw(), opts.database, collection,
                                                        spec);
}

// The keys the validator's field rules read, by collection, from the
// argument rule_keys ("collection.key" entries).
std::map<std::string, std::vector<std::string>> rule_keys_of(FunctionCallInfo fcinfo) {
    std::map<std::string, std::vector<std::string>> out;
    // rule_keys is the fifth argument, after the profile.
    if (PG_NARGS() < 5 || PG_ARGISNULL(4))
        return out;
    ArrayType *arr = PG_GETARG_ARRAYTYPE_P(4);
    std::vector<std::string> entries;
    for (auto &e : nextcrm::pg::deconstruct_text_array(arr))
        if (e)
            entries.push_back(std::move(*e));
    for (const auto &e : entries)
        if (auto dot = e.find('.'); dot != std::string::npos)
            out[e.substr(0, dot)].push_back(e.substr(dot + 1));
    return out;
}

// {key: value, ...} of the rule keys the document holds.
nextcrm::BsonPtr rule_values(const bson_t *doc, const std::vector<std::string> &keys) {
    nextcrm::BsonPtr picked(bson_new());
    for (const auto &k : keys) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, doc, k.c_str()))
            bson_append_iter(picked.get(), k.c_str(), -1, &it);
    }
    return picked;
}

// The rule values as canonical Extended JSON; nothing when a value has no
// JSON form (the document is reported as awkward).
std::optional<std::string> rule_json(const bson_t *picked) {
    try {
        return nextcrm::document_as_json(picked, nextcrm::JsonMode::Canonical);
    } catch (const nextcrm::Error &) {
        return std::nullopt;
    }
}

} // namespace

// text_reference: each sample's and rule row's jsonb read from its Extended
// JSON text by jsonb_in, as before the builder: the reference the builder
// is tested against (nextcrm_debug_validation_source_text below).
static Datum validation_source(FunctionCallInfo fcinfo, bool text_reference) {
    if (PG_ARGISNULL(0))
        throw nextcrm::Error(nextcrm::Message(NEXTCRM_MSG("server must not be null")),
                             nextcrm::sqlstate::invalid_parameter_value);
    const char *server_name = NameStr(*PG_GETARG_NAME(0));
    std::uint64_t seed =
        PG_ARGISNULL(1) ? std::random_device{}() : nextcrm::seed_from_double(PG_GETARG_FLOAT8(1));
    int sample_size = PG_ARGISNULL(2) ? 100 : PG_GETARG_INT32(2);
    if (sample_size < 0)
        throw nextcrm::Error(nextcrm::Message(NEXTCRM_MSG("sample_size must not be negative")),
                             nextcrm::sqlstate::invalid_parameter_value);

    const nextcrm::Profile &profile = nextcrm::installed_profile(nextcrm::profile_arg(fcinfo, 3));
    auto rule_keys = rule_keys_of(fcinfo);
    Oid serverid = nextcrm::server_oid_by_name(server_name);
    nextcrm::SourceOptions opts = nextcrm::source_options(serverid);
    std::shared_ptr<nextcrm::Client> client;
    // An unreachable source is an error, never a source with no documents.
    std::unique_ptr<nextcrm::Dump> dump;
    if (opts.is_dump()) {
        dump = std::make_unique<nextcrm::Dump>(opts, [] { nextcrm::check_for_interrupts(); });
    } else {
        client = nextcrm::client_for(serverid);
        client->ping();
    }

    pg_call([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    RowWriter out(reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo));

    for (const auto &c : profile.mapping().collections()) {
        // Each collection gets its own stream of the seed, so adding a
        // collection does not change the others' samples.
        // seed_seq keeps 32 bits of each value: pass both halves.
        std::uint64_t name_hash = std::hash<std::string>{}(c.name);
        std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                          static_cast<std::uint32_t>(name_hash),
                          static_cast<std::uint32_t>(name_hash >> 32)};
        std::mt19937_64 mixer(seq);
        nextcrm::CollectionScan scan(c, static_cast<std::size_t>(sample_size), mixer());
        auto rules = rule_keys.find(c.name);
        // A dump file that is damaged or cannot be read is reported (kind
        // 'damaged', doc = {"reason": ...}) with the documents read before
        // the damage, and validation goes on: nextcrm_validate() fails it.
        // A live server's error is not the data's: it ends validation.
        std::string damage;
        auto read = [&](auto fn) -> bool {
            try {
                fn();
                return true;
            } catch (const nextcrm::Error &e) {
                if (!dump)
                    throw;
                damage = std::string(e.what()) + (e.detail().empty() ? "" : ". " + e.detail());
                return false;
            }
        };
        std::unique_ptr<nextcrm::DocumentSource> source;
        read([&] { source = open_collection(opts, serverid, client, dump.get(), c.name); });
        while (source) {
            const bson_t *doc = nullptr;
            if (!read([&] { doc = source->next(); }))
                break;
            if (!doc)
                break;
            scan.add(
                doc,
                [&](const nextcrm::SourceId &id) {
                    out.put(c.name, {"id", &id.source_id, &id.uuid});
                    if (rules == rule_keys.end())
                        return;
                    nextcrm::BsonPtr picked = rule_values(doc, rules->second);
                    RowWriter::Row row{"rule", &id.source_id, &id.uuid};
                    if (!text_reference && out.put_built(c.name, row, picked.get()))
                        return;
                    if (auto values = rule_json(picked.get())) {
                        row.doc = &*values;
                        out.put(c.name, row);
                    }
                },
                [&](const nextcrm::JunctionPair &p) {
                    out.put(p.junction, {"pair", nullptr, nullptr, &p.a, &p.b});
                },
                [&](const nextcrm::AwkwardDocument &a) {
                    // doc = {"reason": "..."}: why its fields cannot be compared.
                    nextcrm::BsonPtr reason(bson_new());
                    BSON_APPEND_UTF8(reason.get(), "reason", a.reason.c_str());
                    std::string doc =
                        nextcrm::document_as_json(reason.get(), nextcrm::JsonMode::Canonical);
                    out.put(c.name, {"awkward", &a.source_id, a.uuid.empty() ? nullptr : &a.uuid,
                                     nullptr, nullptr, nullptr, &doc});
                });
            if ((scan.count() & 255) == 0)
                nextcrm::check_for_interrupts();
        }
        std::int64_t count = scan.count();
        out.put(c.name, {"count", nullptr, nullptr, nullptr, nullptr, &count});
        // What the source holds counted without the reader above (kind
        // 'independent', doc = {"where", "bytes", "damaged"}).
        // A dump's oplog changes what the reader yields (doc.before_oplog:
        // what it read from the file itself, which the count must equal).
        const auto *replayed = dynamic_cast<const nextcrm::ReplayedSource *>(source.get());
        for (const auto &ic : nextcrm::independent_counts(opts, client.get(), c.name)) {
            nextcrm::BsonPtr info(bson_new());
            BSON_APPEND_UTF8(info.get(), "where", ic.where.c_str());
            BSON_APPEND_INT64(info.get(), "bytes", ic.bytes);
            BSON_APPEND_BOOL(info.get(), "damaged", ic.damaged);
            if (replayed)
                BSON_APPEND_INT64(info.get(), "before_oplog", replayed->dump_count());
            std::string doc = nextcrm::document_as_json(info.get(), nextcrm::JsonMode::Relaxed);
            out.put(c.name,
                    {"independent", nullptr, nullptr, nullptr, nullptr, &ic.documents, &doc});
        }
        if (!damage.empty()) {
            nextcrm::BsonPtr reason(bson_new());
            BSON_APPEND_UTF8(reason.get(), "reason", damage.c_str());
            std::string doc = nextcrm::document_as_json(reason.get(), nextcrm::JsonMode::Canonical);
            out.put(c.name, {"damaged", nullptr, nullptr, nullptr, nullptr, &count, &doc});
        }
        if (text_reference)
            for (const auto &s : scan.sample())
                out.put(c.name,
                        {"sample", &s.source_id, &s.uuid, nullptr, nullptr, nullptr, &s.json});
        else
            for (const auto &s : scan.sampled_bson()) {
                RowWriter::Row row{"sample", &s.source_id, &s.uuid};
                if (out.put_built(c.name, row, s.doc.get()))
                    continue;
                // As sample() reads it: a document with no JSON form or
                // with a NUL is left out (add() reported it).
                std::string json;
                nextcrm::JsonFlags flags;
                try {
                    json = nextcrm::document_as_json(s.doc.get(), nextcrm::JsonMode::Canonical,
                                                     &flags);
                } catch (const nextcrm::Error &) {
                    continue;
                }
                if (flags.has_nul)
                    continue;
                row.doc = &json;
                out.put(c.name, row);
            }
        nextcrm::check_for_interrupts();
    }
    if (!text_reference)
        pg_call([&out] {
            ereport(DEBUG1, (errmsg_internal("nextcrm_validation_source: %lld documents built from "
                                             "BSON, %lld read through their JSON text",
                                             static_cast<long long>(out.built_from_bson),
                                             static_cast<long long>(out.through_text))));
        });
    return (Datum)0;
}

NEXTCRM_PG_FUNCTION(nextcrm_validation_source) {
    return validation_source(fcinfo, false);
}

// The same rows with each sample and rule row read through its JSON text.  Not part of
// the extension's SQL API: test/integration/validate_jsonb.sh creates it by
// symbol name and compares its rows with nextcrm_validation_source()'s.
NEXTCRM_PG_FUNCTION(nextcrm_debug_validation_source_text) {
    return validation_source(fcinfo, true);
}
