// One source document -> the values of its target row, following the
// mapping.  PostgreSQL-free: the migration engine feeds the result to SQL and
// the unit tests check it directly.
//
// Values are produced as text in the form the engine's INSERT casts from
// (see column_cast()), so one code path serves every column type.  What the
// transform cannot decide alone -- whether a referenced row exists -- comes
// back as PendingRef entries for the engine to resolve per batch.
#pragma once

#include "core/error.hpp"
#include "core/mapping.hpp"
#include "core/oid_uuid.hpp"

#include <bson/bson.h>

#include <optional>
#include <string>
#include <vector>

namespace nextcrm {

// A value the migration changed to make a document fit (recorded in
// nextcrm_migration.repairs).
struct Repair {
    std::string field;
    std::string kind; // default_applied, legacy_value, id_as_string, dangling_ref, ...
    std::string original;
    std::string replacement;
};

// A document that cannot be migrated: which field, and why.
class DocumentError : public Error {
  public:
    DocumentError(std::string field, const std::string &message,
                  const char *state = sqlstate::invalid_text_representation)
        : Error(message, state), field_(std::move(field)) {}
    const std::string &field() const noexcept { return field_; }

  private:
    std::string field_;
};

// A reference whose target row must exist; resolved by the engine.
struct PendingRef {
    std::size_t column;        // index into TransformedDocument::values
    const FieldMapping *field; // kind Ref or RefArray
    Uuid id;
    std::string original;     // the id as the source held it
    std::size_t slot = 0;     // RefArray: index into ref_arrays
    std::size_t element = 0;  // RefArray: position among the list's valid ids
    std::string source_index; // RefArray: the element's index in the source list
};

// One element of a list-backed many-to-many relation.
struct JunctionElement {
    const FieldMapping *field;
    Uuid owner; // this document's id
    Uuid other; // the listed id
    std::string original;
};

// A value (or a whole document) with no place in the target, kept exactly
// in nextcrm_migration.kept_aside with the profile's reason.
struct KeptValue {
    std::string field;    // the key, or empty for the whole document
    std::string reason;   // the mapping row's notes
    std::string document; // canonical Extended JSON: {"key": value} or the document
};

// A lookup column's value: the name to find (or add) in the lookup table;
// resolved by the engine per batch.
struct LookupValue {
    std::size_t column;
    const FieldMapping *field;
    std::string name;
    std::string original;
};

struct TransformedDocument {
    std::string source_id; // 24 hex digits, or canonical Extended JSON
    Uuid id{};
    bool id_is_object_id = true;
    std::string id_json; // the _id as canonical Extended JSON, for non-ObjectIds
    std::vector<std::optional<std::string>> values; // one per Transformer::columns()
    std::vector<PendingRef> refs;
    std::vector<JunctionElement> junction;
    std::vector<Repair> repairs;
    std::vector<KeptValue> kept;
    std::vector<LookupValue> lookups;
    std::string extra_keys; // canonical Extended JSON of unknown keys, or empty
    // RefArray elements in order, kept until dangling ones are dropped.
    std::vector<std::vector<std::string>> ref_arrays;
};

class Transformer {
  public:
    Transformer(const Mapping &mapping, const CollectionMapping &collection);

    // The operator's value maps (nextcrm_migration.value_map), which take
    // precedence over the profile's (keys case folded).
    void set_value_overrides(ValueMaps overrides) { overrides_ = std::move(overrides); }

    // The target columns in value order (every field but junction sides).
    const std::vector<const FieldMapping *> &columns() const { return columns_; }

    // Throws DocumentError when the document cannot be migrated.
    TransformedDocument transform(const bson_t *doc) const;

    // The document exactly, as canonical Extended JSON (a document with no
    // JSON form: its bytes in base64): what the error table stores.
    std::string document_json(const bson_t *doc) const;

  private:
    const Mapping &mapping_;
    const CollectionMapping &collection_;
    std::vector<const FieldMapping *> columns_;
    ValueMaps overrides_;

    std::string mapped_name(const FieldMapping &f, const std::string &value) const;
};

// A document whose JSON cannot be stored (`reason` says why) as the error
// table keeps it: {"$nextcrm_unrepresentable": reason, "bson_base64": its
// exact bytes}.
std::string unrepresentable_json(const bson_t *doc, const std::string &reason);

// The exact decimal text of `text` (a decimal numeric's input accepts) if it
// fits numeric(precision, scale) without rounding; nullopt otherwise.
std::optional<std::string> exact_numeric(const std::string &text, int precision, int scale);

// The SQL expression that turns the text value `param` (a text[] element
// unnested as column `name`) into the column's type.
std::string column_cast(const FieldMapping &field, const std::string &name);

// The identifier quoted for SQL.
std::string quote_ident(const std::string &name);

// Formats a text[] literal of the given elements.
std::string array_literal(const std::vector<std::string> &elements);

// A _id for the side tables and checkpoints, exactly: 24 hex digits for an
// ObjectId, canonical Extended JSON otherwise, "(none)" when missing.
std::string source_id_of(const bson_t *doc);

// A _id for messages, which never quote a document value: an ObjectId as
// Extended JSON ({ "$oid" : "..." }); any other _id (a string, a compound _id) by its BSON type and
// the uuid the migration derives from it (the target row's id,
// foreign_ids.id), "(none)" when missing.
std::string id_for_message(const bson_t *doc);

} // namespace nextcrm
