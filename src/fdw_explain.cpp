// EXPLAIN: the source and, with VERBOSE, the MongoDB query the scan sends.
#include "fdw.hpp"
#include "pg/executor.hpp"
#include "pg_compat.hpp"

namespace nextcrm {

void explain_foreign_scan(ForeignScanState *node, ExplainState *es) {
    auto *fs = reinterpret_cast<ForeignScan *>(node->ss.ps.plan);
    Oid relid = RelationGetRelid(node->ss.ss_currentRelation);
    TableSpec table = load_table_spec(relid, false);
    List *priv = fs->fdw_private;
    std::string filter = strVal(list_nth(priv, PlanFilter));
    std::string projection = strVal(list_nth(priv, PlanProjection));
    std::string sort = strVal(list_nth(priv, PlanSort));
    std::string limit = strVal(list_nth(priv, PlanLimit));

    auto property = [es](const char *label, const std::string &value) {
        pg::ExplainPropertyText(label, value.c_str(), es);
    };
    if (table.dump()) {
        if (!table.source.archive.empty())
            property("MongoDB archive", table.source.archive + " (" + table.collection + ")");
        else
            property("MongoDB dump", table.source.dump_dir + "/" + table.collection + ".bson[.gz]");
        return;
    }
    property("MongoDB collection", table.collection);
    if (!es->verbose)
        return;
    property("MongoDB filter", filter.empty() ? "{ }" : filter);
    property("MongoDB projection", projection.empty() ? "(whole document)" : projection);
    if (!sort.empty())
        property("MongoDB sort", sort);
    if (limit != "0")
        property("MongoDB limit", limit);
}

} // namespace nextcrm
