// A foreign table as the wrapper sees it: its source, collection and, for
// every column, the field it reads and how the value becomes a Datum.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "access/attnum.h"
#include "utils/rel.h"
}

#include "core/bson_convert.hpp"
#include "core/options.hpp"

#include <string>
#include <vector>

namespace nextcrm {

struct ColumnSpec {
    enum class Kind {
        Dropped,
        Scalar,   // one of the targets in bson_convert.hpp
        Array,    // a one-dimensional array of a target
        Document, // column option document 'true': the whole document as jsonb/json
        Input,    // any other type: a BSON string through the type's input function
    };
    Kind kind = Kind::Dropped;
    AttrNumber attnum = 0;
    std::string name;
    std::string field;     // dotted path (column option `field`, default the name)
    bool dotted = false;   // field contains a '.'
    std::string type_name; // format_type_with_typemod, for messages
    Oid type = InvalidOid;
    int32 typmod = -1;
    Target target = Target::Text;
    bool json_text = false; // json rather than jsonb
    bool is_id = false;     // field is _id
    // BinData subtype 3 into uuid: column option uuid_representation, else
    // the table's, else the server's; Unspecified refuses it.
    UuidRepresentation uuid_representation = UuidRepresentation::Unspecified;
    // Arrays: the element type's storage.
    Oid elem_type = InvalidOid;
    int16 elem_len = 0;
    bool elem_byval = false;
    char elem_align = 'i';
    // Input columns.
    Oid input_func = InvalidOid;
    Oid input_ioparam = InvalidOid;
};

struct TableSpec {
    Oid relid = InvalidOid;
    Oid serverid = InvalidOid;
    Oid userid = InvalidOid; // whose user mapping; InvalidOid for the current user
    std::string relname;
    std::string collection;          // table option `collection`, default the table name
    SourceOptions source;            // server options and the user's mapping
    std::vector<ColumnSpec> columns; // indexed by attnum - 1
    bool dump() const { return !source.dump_dir.empty() || !source.archive.empty(); }
};

// Reads the catalog; `with_source` also reads the server and the user mapping
// of `userid` (InvalidOid: the current user) and enforces the password rule.
TableSpec load_table_spec(Oid relid, bool with_source = true, Oid userid = InvalidOid);

// Whether the GUC nextcrm_mongo_fdw.pushdown is on.
bool pushdown_enabled();

} // namespace nextcrm
