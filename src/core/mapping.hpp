// A profile's mapping (profiles/<name>/mapping.csv): for every stored field
// of every source collection, where it lands in the target and how it is
// converted.  PostgreSQL-free; the migration engine and the validator read
// the same parsed form.  profiles/nextcrm/README.md documents the columns.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace nextcrm {

enum class FieldKind {
    Id,      // _id -> uuid primary key
    Version, // __v -> integer
    Text,
    Int4,
    Bool,
    Timestamp, // BSON date -> timestamp(3), UTC
    Enum,      // string that must be a label of pg_type
    Jsonb,
    TextArray,
    Ref,      // ObjectId -> uuid foreign key into ref_model
    RefArray, // ObjectId list -> uuid[] (elements remapped, order kept)
    Junction, // ObjectId list -> rows of a many-to-many table (columns named by the row)
    Numeric,  // Int32/Int64/Double/Decimal128 -> numeric(p,s), exactly or an error
    Lookup,   // string -> a lookup table's row, by name (special lookup=, map=, unknown=)
    Derive,   // no key of its own: a decision table over other keys (special derive=)
    Merged,   // read by another field as its fallback (that field's special or=)
    Kept,     // no place in the target: kept whole in nextcrm_migration.kept_aside
};

// One case of a derive= decision table: when `key` holds `equals` (its JSON
// text: true, 1, "x"), the value is `value`; an empty key is the otherwise case.
struct DeriveCase {
    std::string key;
    std::string equals;
    std::string value;
};

// What a lookup does with a name its table lacks.
enum class LookupUnknown {
    Add,  // insert a row of that name (recorded as a repair)
    Null, // write NULL (the original recorded as a repair)
};

// What a missing or null value becomes.
enum class OnMissing {
    Error,   // the document cannot be migrated
    Null,    // SQL NULL
    Empty,   // an empty array
    Default, // the Mongo schema's @default (mongo_default), recorded as a repair
    OidTime, // the ObjectId's creation time, recorded as a repair
    Value,   // a fixed value (missing_value), recorded as a repair
};

struct FieldMapping {
    std::string model;
    std::string stored_key; // the BSON key
    std::string field;      // the Prisma field name
    FieldKind kind;
    std::string target_table;  // the model's table, or the junction table
    std::string target_column; // the column, or the junction column of the listed ids
    std::string owner_column;  // junction column of the document's own id
    std::string pg_type;
    std::string ref_model;
    bool required = false;
    std::string mongo_default;
    OnMissing on_missing = OnMissing::Null;
    std::string missing_value;   // for OnMissing::Value
    bool numeric_string = false; // legacy numeric strings convert exactly
    bool legacy_string = false;  // legacy "true"/"false" strings convert
    bool was_json = false;       // legacy Json value kept as JSON text elements
    // A reference whose id may name a row of route_model instead; it then
    // goes to route_column (special token route=model:column).
    std::string route_model;
    std::string route_column;
    // Numeric: precision and scale of pg_type numeric(p,s).
    int numeric_precision = 0;
    int numeric_scale = 0;
    // Lookup: the table, the column matched case folded, the column written,
    // the value map applied first, and what an unknown name does.
    std::string lookup_table;
    std::string lookup_match;
    std::string lookup_result;
    std::string value_map;
    LookupUnknown lookup_unknown = LookupUnknown::Add;
    // Derive: the decision table, first matching case wins.
    std::vector<DeriveCase> derive;
    // A key read when this field's own is missing (special or=KEY, a row of
    // kind merged); both set and different is a repair keeping the other.
    std::string fallback_key;
    // Kept: why the value has no place (the row's notes).
    std::string reason;
    std::size_t line = 0; // of mapping.csv, for error messages
};

struct CollectionMapping {
    std::string name;
    std::vector<FieldMapping> fields; // in file order; _id first
    // Collections this one references (refs, ref arrays and routes), which
    // must be loaded before it.
    std::vector<std::string> depends_on;
    // The _id row is of kind kept: the collection has no table in the target
    // and every document is kept whole, with this reason.
    bool kept_whole = false;
    std::string kept_reason;

    const FieldMapping *find(std::string_view stored_key) const;
};

struct JunctionMapping {
    std::string table;    // the join table, e.g. "_AToB" or "DocumentsToAccounts"
    std::string a_column; // "A", or the first of the two named columns in byte order
    std::string b_column;
    std::string a_model; // the model whose ids go to a_column
    std::string b_model;
};

// The profile's value maps (value-maps.csv: map,from,to): what the
// MongoDB-era app wrote -> the name a lookup looks for.  Keys case folded.
using ValueMaps = std::map<std::string, std::map<std::string, std::string>>;

// ASCII case folding, as the lookups compare (lower()).
std::string fold_case(std::string s);

class Mapping {
  public:
    // Parses the mapping and the enum list (a profile's mongo-enums.csv).
    // An inconsistent mapping (an unknown kind, a reference to a collection
    // it does not map, an enum the list lacks) throws an Error naming the
    // file (as given), the line and the field.
    Mapping(std::string_view mapping_csv, std::string_view enums_csv,
            const std::string &mapping_file = "mapping.csv",
            const std::string &enums_file = "mongo-enums.csv");
    // The same, with the profile's value maps (value-maps.csv; may be empty).
    Mapping(std::string_view mapping_csv, std::string_view enums_csv,
            std::string_view value_maps_csv, const std::string &mapping_file,
            const std::string &enums_file, const std::string &value_maps_file);

    // Collections in an order where every collection comes after those it
    // references.
    const std::vector<CollectionMapping> &collections() const { return collections_; }
    const CollectionMapping *collection(std::string_view name) const;
    // The collections `name` references (refs, ref arrays, routes), directly
    // or through others, in collections() order; empty for an unknown name.
    // Junction lists are not references here: their tables are built once
    // both sides are loaded.
    std::vector<std::string> references_of(std::string_view name) const;
    // `name` and every collection that references it, directly or through
    // others, in collections() order: what resetting `name` empties.
    std::vector<std::string> dependents_of(std::string_view name) const;
    const std::vector<JunctionMapping> &junctions() const { return junctions_; }
    // Labels of a PostgreSQL enum type, in order; empty when unknown.
    const std::vector<std::string> &enum_labels(const std::string &type) const;
    const ValueMaps &value_maps() const { return value_maps_; }

  private:
    ValueMaps value_maps_;
    std::vector<CollectionMapping> collections_;
    std::vector<JunctionMapping> junctions_;
    std::map<std::string, std::vector<std::string>> enums_;
};

} // namespace nextcrm
