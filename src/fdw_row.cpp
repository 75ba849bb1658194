#include "fdw_row.hpp"

#include "core/bson_check.hpp"
#include "core/doc_transform.hpp"
#include "core/extended_json.hpp"
#include "core/oid_uuid.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

#include <cstring>

namespace nextcrm {

namespace {

using Slot = RowBuilder::Slot;

// The dotted path of the first string holding U+0000 in the value under
// `it` (at `field`), or in the whole document when `it` is null.
std::string nul_path(const bson_iter_t *it, const bson_t *doc, const std::string &field) {
    DocumentTraits traits;
    if (!it) {
        check_document(doc, &traits);
        return traits.nul_path;
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(it) && !BSON_ITER_HOLDS_ARRAY(it))
        return field;
    const std::uint8_t *data = nullptr;
    std::uint32_t len = 0;
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, &len, &data);
    else
        bson_iter_array(it, &len, &data);
    bson_t sub;
    if (!bson_init_static(&sub, data, len))
        return field;
    check_document(&sub, &traits);
    return traits.nul_path.empty() ? field : field + "." + traits.nul_path;
}

// jsonb cannot store "\u0000": refused here, naming the value that holds it
// (as the migration does), rather than by jsonb_in naming only the column.
std::string jsonb_text(const bson_iter_t *it, const bson_t *doc, const std::string &field) {
    JsonFlags flags;
    std::string out = it ? value_as_json(it, JsonMode::Canonical, field, &flags)
                         : document_as_json(doc, JsonMode::Canonical, &flags);
    if (flags.has_nul)
        throw ConversionError(nul_path(it, doc, field),
                              it ? bson_iter_type(it) : BSON_TYPE_DOCUMENT, "jsonb",
                              "the value holds a NUL character, which jsonb cannot store",
                              sqlstate::untranslatable_character);
    return out;
}

// The five-character SQLSTATE of a PostgreSQL error code, in static storage
// (Error keeps the pointer).
// --- Datum construction: PostgreSQL calls only, run inside one pg_call. ---

Datum text_datum(std::string_view sv, bool utf8_db) {
    if (utf8_db)
        return PointerGetDatum(cstring_to_text_with_len(sv.data(), static_cast<int>(sv.size())));
    char *conv = pg_any_to_server(sv.data(), static_cast<int>(sv.size()), PG_UTF8);
    if (conv == sv.data())
        return PointerGetDatum(cstring_to_text_with_len(sv.data(), static_cast<int>(sv.size())));
    return PointerGetDatum(cstring_to_text(conv));
}

Datum bytes_datum(std::string_view sv) {
    auto *out = static_cast<bytea *>(palloc(VARHDRSZ + sv.size()));
    SET_VARSIZE(out, VARHDRSZ + sv.size());
    memcpy(VARDATA(out), sv.data(), sv.size());
    return PointerGetDatum(out);
}

// Returns false when numeric's typmod would round the value.
bool numeric_datum(const std::string &s, int32 typmod, Datum &out) {
    Datum n = DirectFunctionCall3(numeric_in, CStringGetDatum(s.c_str()),
                                  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
    if (typmod >= 0) {
        Datum r = DirectFunctionCall2(numeric, n, Int32GetDatum(typmod));
        if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, n, r)) != 0)
            return false;
        n = r;
    }
    out = n;
    return true;
}

bool scalar_datum(Target t, bool json_text, int32 typmod, const Slot &s, bool utf8_db, Datum &out) {
    switch (t) {
    case Target::Text:
        out = text_datum(s.sv, utf8_db);
        return true;
    case Target::Int2:
        out = Int16GetDatum(static_cast<int16>(s.i));
        return true;
    case Target::Int4:
        out = Int32GetDatum(static_cast<int32>(s.i));
        return true;
    case Target::Int8:
        out = Int64GetDatum(s.i);
        return true;
    case Target::Float4:
        out = Float4GetDatum(s.f);
        return true;
    case Target::Float8:
        out = Float8GetDatum(s.d);
        return true;
    case Target::Numeric:
        return numeric_datum(s.s, typmod, out);
    case Target::Bool:
        out = BoolGetDatum(s.b);
        return true;
    case Target::Timestamp:
        out = TimestampGetDatum(s.i);
        return true;
    case Target::Date:
        out = DateADTGetDatum(static_cast<DateADT>(s.i));
        return true;
    case Target::Bytea:
        out = bytes_datum(s.sv);
        return true;
    case Target::Uuid: {
        auto *u = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
        memcpy(u->data, s.uuid.data(), UUID_LEN);
        out = UUIDPGetDatum(u);
        return true;
    }
    case Target::Json:
        out = json_text ? text_datum(s.s, utf8_db)
                        : DirectFunctionCall1(jsonb_in, CStringGetDatum(s.s.c_str()));
        return true;
    }
    return false;
}

// uuid columns: ObjectIds (and 24-hex strings, as NextCRM reads them) through
// the ObjectId-UUID mapping of oid_uuid.hpp; for _id, any other id through
// the same mapping's name-based UUIDs, exactly as the migration keys its rows
// (so a subtype 3 and a subtype 4 _id with the same bytes stay two ids);
// other binary UUIDs and UUID strings as they are, subtype 3 in the column's
// uuid_representation.
Uuid uuid_of(const ColumnSpec &col, const bson_iter_t *it, const std::string &field) {
    bson_type_t type = bson_iter_type(it);
    if (type == BSON_TYPE_OID)
        return *reference_uuid(it);
    if (type == BSON_TYPE_BINARY && !col.is_id)
        return to_uuid(it, field, col.uuid_representation);
    if (col.is_id) {
        bool is_oid = false;
        return id_to_uuid(*it, &is_oid);
    }
    if (auto id = reference_uuid(it))
        return *id;
    return to_uuid(it, field);
}

} // namespace

RowBuilder::RowBuilder(const TableSpec &table, const std::vector<AttrNumber> &attnums)
    : table_(table), natts_(static_cast<int>(table.columns.size())) {
    for (AttrNumber a : attnums) {
        if (a < 1 || a > natts_)
            continue;
        const ColumnSpec &col = table.columns[a - 1];
        if (col.kind != ColumnSpec::Kind::Dropped)
            columns_.push_back(&col);
    }
    slots_.resize(columns_.size());
    found_.resize(columns_.size());
    for (std::size_t i = 0; i < columns_.size(); ++i)
        for (std::size_t j = i + 1; j < columns_.size(); ++j)
            if (columns_[i]->field == columns_[j]->field)
                duplicate_fields_ = true;
    utf8_db_ = pg_call([] { return GetDatabaseEncoding() == PG_UTF8; });
}

void RowBuilder::fail(const bson_t *doc, const ColumnSpec &col, const std::string &field,
                      bson_type_t type, const std::string &reason, const char *state) {
    std::string id_text = id_for_message(doc);
    throw Error(Message(NEXTCRM_MSG("cannot convert field \"%s\" of document _id %s in collection "
                                    "\"%s\": BSON %s to column \"%s\" of type %s: %s"),
                        field, id_text, table_.collection, bson_type_name(type), col.name,
                        col.type_name, reason),
                state);
}

void RowBuilder::convert_scalar(const ColumnSpec &col, const bson_iter_t *it, Slot &slot,
                                const std::string &field) {
    slot.null = false;
    slot.bson_type = bson_iter_type(it);
    switch (col.target) {
    case Target::Text:
        if (slot.bson_type == BSON_TYPE_OID) {
            char hex[25];
            oid_to_hex(bson_iter_oid(it), hex);
            slot.s.assign(hex, 24);
            slot.sv = slot.s;
        } else {
            slot.sv = to_text(it, field);
        }
        break;
    case Target::Int2:
    case Target::Int4:
    case Target::Int8:
        slot.i = to_integer(it, field, col.target);
        break;
    case Target::Float4:
        slot.f = to_float4(it, field);
        break;
    case Target::Float8:
        slot.d = to_float8(it, field);
        break;
    case Target::Numeric:
        slot.s = to_numeric(it, field);
        break;
    case Target::Bool:
        slot.b = to_bool(it, field);
        break;
    case Target::Timestamp:
        slot.i = to_timestamp_us(it, field);
        break;
    case Target::Date:
        slot.i = to_date_days(it, field);
        break;
    case Target::Bytea:
        slot.sv = to_bytes(it, field);
        break;
    case Target::Uuid:
        slot.uuid = uuid_of(col, it, field);
        break;
    case Target::Json:
        slot.s = col.json_text ? to_json(it, field) : jsonb_text(it, nullptr, field);
        break;
    }
}

void RowBuilder::convert(const ColumnSpec &col, const bson_iter_t *it, const bson_t *doc,
                         Slot &slot, const std::string &field) {
    if (col.kind == ColumnSpec::Kind::Document) {
        slot.null = false;
        slot.bson_type = BSON_TYPE_DOCUMENT;
        slot.s = col.json_text ? document_to_json(doc) : jsonb_text(nullptr, doc, field);
        return;
    }
    if (!it || is_null(it)) {
        slot.null = true;
        return;
    }
    bson_type_t type = bson_iter_type(it);
    switch (col.kind) {
    case ColumnSpec::Kind::Scalar:
        convert_scalar(col, it, slot, field);
        return;
    case ColumnSpec::Kind::Input:
        if (type != BSON_TYPE_UTF8)
            throw ConversionError(field, type, col.type_name,
                                  "only a BSON string converts to this type (through its input "
                                  "function)",
                                  sqlstate::datatype_mismatch);
        slot.null = false;
        slot.bson_type = type;
        slot.sv = to_text(it, field);
        return;
    case ColumnSpec::Kind::Array: {
        if (type != BSON_TYPE_ARRAY)
            throw ConversionError(field, type, col.type_name,
                                  "only a BSON array converts to an array column",
                                  sqlstate::datatype_mismatch);
        slot.null = false;
        slot.bson_type = type;
        bson_iter_t child;
        bson_iter_recurse(it, &child);
        std::size_t n = 0;
        while (bson_iter_next(&child)) {
            if (slot.elems.size() <= n)
                slot.elems.resize(n + 1);
            Slot &e = slot.elems[n];
            std::string efield = field + "." + bson_iter_key(&child);
            if (is_null(&child)) {
                e.null = true;
            } else if (bson_iter_type(&child) == BSON_TYPE_ARRAY) {
                throw ConversionError(efield, BSON_TYPE_ARRAY, col.type_name,
                                      "an array inside an array does not fit a one-dimensional "
                                      "array; use jsonb",
                                      sqlstate::datatype_mismatch);
            } else {
                convert_scalar(col, &child, e, efield);
            }
            ++n;
        }
        slot.nelems = n;
        return;
    }
    default:
        return;
    }
}

void RowBuilder::build(const bson_t *doc, Datum *values, bool *nulls) {
    // A document that cannot be walked whole is an error, never a row read
    // in part or with one of a repeated key's values chosen silently.
    if (auto fault = check_document(doc)) {
        std::string id_text = id_for_message(doc);
        const char *state =
            fault->kind == DocumentFault::Kind::TooDeep      ? sqlstate::program_limit_exceeded
            : fault->kind == DocumentFault::Kind::KeyNotUtf8 ? sqlstate::character_not_in_repertoire
            : fault->kind == DocumentFault::Kind::DuplicateKey
                ? sqlstate::duplicate_json_object_key_value
                : sqlstate::data_corrupted;
        throw Error(Message(NEXTCRM_MSG("cannot read field \"%s\" of document _id %s in "
                                        "collection \"%s\": %s"),
                            fault->path, id_text, table_.collection, fault->reason),
                    state);
    }
    // Phase 1: find and convert in C++.
    std::fill(found_.begin(), found_.end(), false);
    bson_iter_t it;
    std::size_t pending = 0;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        const ColumnSpec &col = *columns_[c];
        slots_[c].null = true;
        if (col.kind == ColumnSpec::Kind::Document || col.dotted)
            continue;
        ++pending;
    }
    std::size_t c = 0;
    try {
        if (pending && bson_iter_init(&it, doc)) {
            // Documents of a collection mostly share their key order: try the
            // column the key at this position matched last time first.
            std::size_t pos = 0;
            while (pending && bson_iter_next(&it)) {
                std::uint32_t klen = bson_iter_key_len(&it);
                const char *key = bson_iter_key(&it);
                if (key_cache_.size() <= pos)
                    key_cache_.push_back(-1);
                int guess = key_cache_[pos];
                if (guess >= 0 && !found_[guess] && columns_[guess]->field.size() == klen &&
                    memcmp(columns_[guess]->field.data(), key, klen) == 0) {
                    c = static_cast<std::size_t>(guess);
                    convert(*columns_[c], &it, doc, slots_[c], columns_[c]->field);
                    found_[c] = true;
                    --pending;
                    // Other columns reading the same field are rare; the
                    // full search below handles them.
                    if (!duplicate_fields_) {
                        ++pos;
                        continue;
                    }
                }
                int matched = -1;
                for (c = 0; c < columns_.size(); ++c) {
                    const ColumnSpec &col = *columns_[c];
                    if (found_[c] || col.dotted || col.kind == ColumnSpec::Kind::Document ||
                        col.field.size() != klen || memcmp(col.field.data(), key, klen) != 0)
                        continue;
                    convert(col, &it, doc, slots_[c], col.field);
                    found_[c] = true;
                    --pending;
                    matched = static_cast<int>(c);
                }
                if (matched >= 0 || guess < 0)
                    key_cache_[pos] = matched;
                ++pos;
            }
        }
        for (c = 0; c < columns_.size(); ++c) {
            const ColumnSpec &col = *columns_[c];
            if (col.kind == ColumnSpec::Kind::Document) {
                convert(col, nullptr, doc, slots_[c], col.field);
            } else if (col.dotted) {
                bson_iter_t root, child;
                if (bson_iter_init(&root, doc) &&
                    bson_iter_find_descendant(&root, col.field.c_str(), &child))
                    convert(col, &child, doc, slots_[c], col.field);
            }
        }
    } catch (const ConversionError &e) {
        fail(doc, *columns_[c], e.field(), e.bson_type(), e.reason(), e.sqlstate());
    }

    // Phase 2: Datums, in one call into PostgreSQL.
    int volatile failed = -1;
    bool volatile rounded = false;
    try {
        pg_call([&] {
            CHECK_FOR_INTERRUPTS();
            check_stack_depth();
            for (int a = 0; a < natts_; ++a) {
                values[a] = (Datum)0;
                nulls[a] = true;
            }
            for (std::size_t i = 0; i < columns_.size(); ++i) {
                const ColumnSpec &col = *columns_[i];
                const Slot &s = slots_[i];
                int a = col.attnum - 1;
                if (s.null)
                    continue;
                failed = static_cast<int>(i);
                Datum d = (Datum)0;
                if (col.kind == ColumnSpec::Kind::Input) {
                    d = OidInputFunctionCall(col.input_func, const_cast<char *>(s.sv.data()),
                                             col.input_ioparam, col.typmod);
                } else if (col.kind == ColumnSpec::Kind::Array) {
                    int n = static_cast<int>(s.nelems);
                    if (n == 0) {
                        d = PointerGetDatum(construct_empty_array(col.elem_type));
                    } else {
                        auto *ev = static_cast<Datum *>(palloc(sizeof(Datum) * n));
                        auto *en = static_cast<bool *>(palloc(sizeof(bool) * n));
                        for (int k = 0; k < n; ++k) {
                            en[k] = s.elems[k].null;
                            ev[k] = (Datum)0;
                            if (!en[k] && !scalar_datum(col.target, col.json_text, -1, s.elems[k],
                                                        utf8_db_, ev[k])) {
                                rounded = true;
                                return;
                            }
                        }
                        int dims[1] = {n}, lbs[1] = {1};
                        d = PointerGetDatum(construct_md_array(ev, en, 1, dims, lbs, col.elem_type,
                                                               col.elem_len, col.elem_byval,
                                                               col.elem_align));
                    }
                } else if (!scalar_datum(col.target, col.json_text, col.typmod, s, utf8_db_, d)) {
                    rounded = true;
                    return;
                }
                values[a] = d;
                nulls[a] = false;
            }
            failed = -1;
        });
    } catch (const PgException &e) {
        // Only the value's own fault names the field: a data exception, a
        // domain's constraint, a limit the value exceeds.  A cancel, an
        // out-of-memory and any other error stay what they are.
        int category = ERRCODE_TO_CATEGORY(e.data()->sqlerrcode);
        if (failed < 0 || (category != ERRCODE_DATA_EXCEPTION &&
                           category != ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION &&
                           category != ERRCODE_PROGRAM_LIMIT_EXCEEDED))
            throw;
        // PostgreSQL's own message may quote the value ("invalid input
        // value for enum"): keep its SQLSTATE and constraint, not its text.
        const ColumnSpec &col = *columns_[failed];
        std::string reason = std::string("PostgreSQL refused the value (SQLSTATE ") +
                             sqlstate_text(e.data()->sqlerrcode) +
                             (e.data()->constraint_name ? std::string(", constraint \"") +
                                                              e.data()->constraint_name + "\""
                                                        : std::string()) +
                             ")";
        fail(doc, col, col.field, slots_[failed].bson_type, reason,
             sqlstate_text(e.data()->sqlerrcode));
    }
    if (rounded)
        fail(doc, *columns_[failed], columns_[failed]->field, slots_[failed].bson_type,
             "the value has more digits than the column's type modifier keeps",
             sqlstate::numeric_value_out_of_range);
}

} // namespace nextcrm
