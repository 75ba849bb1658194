// Column types inferred from sampled documents, for IMPORT FOREIGN SCHEMA of
// a database other than "nextcrm".  PostgreSQL-free.
//
// Every top-level field seen becomes a column (in first-seen order, _id
// first) whose type holds every sampled value exactly: string -> text,
// int -> integer, long (or int and long) -> bigint, double -> double
// precision, int/long with double -> numeric, decimal -> numeric, bool ->
// boolean, date -> timestamptz, binData -> bytea, ObjectId -> objectid_type
// (text by default), arrays of one such type -> that type's array, and
// anything else or a mix -> jsonb.  Nulls say nothing about the type; a
// field that was only ever null is text.  Keys containing '.' or starting
// with '$' cannot be addressed by a field path, and the empty key, keys
// longer than 63 bytes (PostgreSQL would cut the column name to a prefix)
// and keys that are not UTF-8 cannot name a column: all are left out.
#pragma once

#include "source_schema.hpp"

#include <bson/bson.h>

#include <map>
#include <string>
#include <vector>

namespace nextcrm {

class SchemaSampler {
  public:
    void add(const bson_t *doc);
    std::vector<SchemaColumn> columns(const std::string &objectid_type = "text") const;
    int documents() const noexcept { return documents_; }

  private:
    struct Seen {
        unsigned types = 0;      // bit per scalar kind
        unsigned elem_types = 0; // for arrays
        bool array = false, other = false, elem_other = false;
    };
    std::vector<std::string> order_;
    std::map<std::string, Seen> seen_;
    int documents_ = 0;
};

} // namespace nextcrm
