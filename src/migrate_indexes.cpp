#include "migrate_indexes.hpp"

#include "spi.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
}

#include <string>

namespace nextcrm {

int defer_indexes(const std::vector<std::string> &tables) {
    std::string names;
    for (const auto &t : tables)
        names += (names.empty() ? "" : ",") + t;
    Datum args[2] = {text_datum(names), text_datum(target_schema)};
    Oid types[2] = {TEXTOID, TEXTOID};
    // Only a B-tree on plain columns of fixed-length types: no row can make
    // such an index fail (it is not unique, and its entries have one size),
    // so building it later refuses nothing its upkeep would have refused.
    // An index on text (an entry longer than a B-tree page allows: that
    // document's error, test/integration/load_limits.sh), on an expression
    // (to_tsvector of an over-long text) or with a predicate stays, and
    // its upkeep refuses that row in its batch as before.
    // pg_get_indexdef() names the table and any operator class with their
    // schemas (search_path is pg_catalog here, spi.hpp), so the definition
    // builds the same index whatever the path when it runs again.  It keeps
    // neither a comment, a tablespace nor the table's CLUSTER ON mark (a
    // user's index on a target table may carry one): such indexes stay, as do those a
    // constraint owns (an exclusion constraint) or an extension, and those
    // of a table the running role may not drop indexes of (not its owner).
    SpiRows dropped = spi_query(
        "WITH deferred AS ("
        " INSERT INTO nextcrm_migration.deferred_index (name, table_name, definition)"
        " SELECT x.relname, t.relname, pg_catalog.pg_get_indexdef(i.indexrelid)"
        "   FROM pg_catalog.pg_index i"
        "   JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) i.indrelid"
        "   JOIN pg_catalog.pg_class x ON x.oid OPERATOR(pg_catalog.=) i.indexrelid"
        "   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.relnamespace"
        "  WHERE n.nspname OPERATOR(pg_catalog.=) $2"
        "    AND t.relname OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array($1, ','))"
        "    AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion"
        "    AND i.indisvalid AND i.indisready AND NOT i.indisclustered"
        "    AND x.reltablespace OPERATOR(pg_catalog.=) 0"
        "    AND pg_catalog.obj_description(x.oid, 'pg_class') IS NULL"
        "    AND pg_catalog.pg_has_role(t.relowner, 'USAGE')"
        "    AND x.relam OPERATOR(pg_catalog.=) (SELECT m.oid FROM pg_catalog.pg_am m"
        "                         WHERE m.amname OPERATOR(pg_catalog.=) 'btree')"
        "    AND i.indexprs IS NULL AND i.indpred IS NULL"
        "    AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a"
        "                     JOIN pg_catalog.pg_type y ON y.oid OPERATOR(pg_catalog.=) a.atttypid"
        "                     WHERE a.attrelid OPERATOR(pg_catalog.=) i.indrelid"
        "                       AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey)"
        "                       AND y.typlen OPERATOR(pg_catalog.<) 0)"
        "    AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d"
        "                     WHERE d.classid OPERATOR(pg_catalog.=) "
        "'pg_catalog.pg_class'::pg_catalog.regclass"
        "                       AND d.objid OPERATOR(pg_catalog.=) x.oid"
        "                       AND d.deptype OPERATOR(pg_catalog.<>) 'a')"
        " RETURNING name)"
        " SELECT pg_catalog.quote_ident(name) FROM deferred",
        2, types, args);
    for (std::size_t i = 0; i < dropped.size(); ++i)
        spi_exec(("DROP INDEX " + std::string(target_schema) + "." + dropped.text(i, 1)).c_str());
    return static_cast<int>(dropped.size());
}

bool build_deferred_index() {
    SpiRows next = spi_query("DELETE FROM nextcrm_migration.deferred_index WHERE name"
                             " OPERATOR(pg_catalog.=) (SELECT name FROM"
                             " nextcrm_migration.deferred_index ORDER BY table_name, name LIMIT 1)"
                             " RETURNING definition");
    if (next.empty())
        return false;
    spi_exec(next.text(0, 1).c_str());
    return true;
}

} // namespace nextcrm
