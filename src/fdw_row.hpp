// Turns one BSON document into the Datums of a foreign table's row.
//
// Conversion happens in two phases per row: C++ (bson_convert.hpp) finds and
// converts each retrieved column's value into a reusable slot, then a single
// pg_call builds the Datums in the current memory context and checks for
// interrupts.  Any failure becomes an Error naming the collection, the
// document's _id, the field, the BSON type and the column's type.
#pragma once

#include "fdw_table.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nextcrm {

class RowBuilder {
  public:
    // attnums: the columns to fill (1-based); the rest are NULL.
    RowBuilder(const TableSpec &table, const std::vector<AttrNumber> &attnums);

    // Fills values/nulls (natts entries) from doc.
    void build(const bson_t *doc, Datum *values, bool *nulls);

    struct Slot {
        bool null = true;
        bson_type_t bson_type = BSON_TYPE_EOD;
        std::int64_t i = 0;
        double d = 0;
        float f = 0;
        bool b = false;
        std::string_view sv; // text/bytes/input: into the document or into s
        std::string s;       // numeric, json, ObjectId hex
        std::array<std::uint8_t, 16> uuid{};
        std::vector<Slot> elems; // arrays
        std::size_t nelems = 0;
    };

  private:
    void convert(const ColumnSpec &col, const bson_iter_t *it, const bson_t *doc, Slot &slot,
                 const std::string &field);
    void convert_scalar(const ColumnSpec &col, const bson_iter_t *it, Slot &slot,
                        const std::string &field);
    [[noreturn]] void fail(const bson_t *doc, const ColumnSpec &col, const std::string &field,
                           bson_type_t type, const std::string &reason, const char *state);

    const TableSpec &table_;
    std::vector<const ColumnSpec *> columns_; // retrieved, in attnum order
    std::vector<Slot> slots_;                 // parallel to columns_
    std::vector<bool> found_;
    std::vector<int> key_cache_; // per key position: the column it matched last
    bool duplicate_fields_ = false;
    int natts_;
    bool utf8_db_;
};

} // namespace nextcrm
