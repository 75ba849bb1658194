// Planning a scan: which clauses MongoDB evaluates, row estimates, the
// unsorted and the sorted path (ORDER BY sent to MongoDB), a LIMIT sent along
// when nothing above the scan could drop rows, and the plan's fdw_private.
#include "fdw.hpp"
#include "pg/lists.hpp"
#include "pg/lsyscache.hpp"
#include "pg/memory.hpp"
#include "pg_compat.hpp"

extern "C" {
#include "access/sysattr.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "utils/lsyscache.h"
}

#include <climits>

namespace nextcrm {

namespace {

// baserel->fdw_private: plain PostgreSQL data only.
struct RelPlan {
    List *remote_conds; // RestrictInfos MongoDB evaluates
    List *local_conds;  // RestrictInfos evaluated by the executor
    char *filter_json;  // "" when nothing is pushed
    Bitmapset *attrs_used;
    bool remote; // a live server (pushdown possible)
    double remote_rows;
};

char *pstr(const std::string &s) {
    const char *c = s.c_str();
    return pg::pstrdup(c);
}

double clauses_selectivity(PlannerInfo *root, List *clauses) {
    return pg_call(
        [root, clauses] { return clauselist_selectivity(root, clauses, 0, JOIN_INNER, nullptr); });
}

// A LIMIT may be sent to MongoDB when this scan is the whole query below the
// Limit node, every clause is evaluated remotely and the path delivers the
// order the query asks for (pathkeys_ok).
std::int64_t pushable_limit(PlannerInfo *root, RelOptInfo *baserel, const RelPlan *plan,
                            bool pathkeys_ok) {
    if (!plan->remote || !pushdown_enabled() || plan->local_conds != NIL || !pathkeys_ok)
        return 0;
    if (root->limit_tuples <= 0 || root->limit_tuples > INT_MAX)
        return 0;
    if (bms_membership(root->all_baserels) != BMS_SINGLETON ||
        !bms_equal(root->all_baserels, baserel->relids))
        return 0;
    if (root->parse->rowMarks != NIL || root->hasHavingQual)
        return 0;
    return static_cast<std::int64_t>(root->limit_tuples);
}

// The remote sort for query_pathkeys, or empty when some key cannot sort
// remotely.
std::vector<std::pair<std::string, bool>> remote_sort(PlannerInfo *root, RelOptInfo *baserel,
                                                      const TableSpec &table) {
    std::vector<std::pair<std::string, bool>> keys;
    ListCell *lc;
    foreach (lc, root->query_pathkeys) {
        auto *pk = static_cast<PathKey *>(lfirst(lc));
        EquivalenceClass *ec = pk->pk_eclass;
        if (ec->ec_has_volatile)
            return {};
        const ColumnSpec *col = nullptr;
        ListCell *mc;
        foreach (mc, ec->ec_members) {
            auto *em = static_cast<EquivalenceMember *>(lfirst(mc));
            Expr *e = em->em_expr;
            while (e && IsA(e, RelabelType))
                e = reinterpret_cast<RelabelType *>(e)->arg;
            if (e && IsA(e, Var)) {
                auto *var = reinterpret_cast<Var *>(e);
                if (var->varno == static_cast<int>(baserel->relid) && var->varlevelsup == 0 &&
                    var->varattno > 0 &&
                    var->varattno <= static_cast<AttrNumber>(table.columns.size())) {
                    col = &table.columns[var->varattno - 1];
                    break;
                }
            }
        }
        if (!col)
            return {};
        bool ascending = pathkey_btree_strategy(pk) == BTLessStrategyNumber;
        if (!ascending && pathkey_btree_strategy(pk) != BTGreaterStrategyNumber)
            return {};
        // Only the type's default ordering.
        Oid type = col->type;
        Oid family = pg::default_btree_opfamily(type);
        if (family != pk->pk_opfamily)
            return {};
        if (!column_sorts_remotely(*col, ascending, pk->pk_nulls_first))
            return {};
        keys.emplace_back(col->field, ascending);
    }
    return keys;
}

std::string limit_text(std::int64_t limit) {
    return std::to_string(limit);
}

} // namespace

void get_foreign_rel_size(PlannerInfo *root, RelOptInfo *baserel, Oid relid) {
    TableSpec table = load_table_spec(relid, false);
    auto *plan = static_cast<RelPlan *>(pg::palloc0(sizeof(RelPlan)));
    plan->remote = !table.dump();
    bool push = plan->remote && pushdown_enabled();

    std::vector<Condition> conds;
    ListCell *lc;
    foreach (lc, baserel->baserestrictinfo) {
        auto *ri = static_cast<RestrictInfo *>(lfirst(lc));
        Condition cond;
        if (push && clause_to_condition(ri->clause, baserel->relid, table, cond)) {
            conds.push_back(std::move(cond));
            plan->remote_conds = pg::lappend(plan->remote_conds, ri);
        } else {
            // A dump has no server to push to: the scan evaluates the same
            // filter on each document's BSON (fdw_scan.cpp) so that a
            // document it excludes cannot fail the query, and the executor
            // still checks the clause.
            if (!plan->remote && pushdown_enabled() &&
                clause_to_condition(ri->clause, baserel->relid, table, cond))
                conds.push_back(std::move(cond));
            plan->local_conds = pg::lappend(plan->local_conds, ri);
        }
    }
    plan->filter_json = pstr(conds.empty() ? std::string() : to_json(build_filter(conds).get()));

    Index rti = baserel->relid;
    pg_call([plan, baserel, rti] {
        pull_varattnos(reinterpret_cast<Node *>(baserel->reltarget->exprs), rti, &plan->attrs_used);
        ListCell *c;
        foreach (c, plan->local_conds) {
            auto *ri = static_cast<RestrictInfo *>(lfirst(c));
            pull_varattnos(reinterpret_cast<Node *>(ri->clause), rti, &plan->attrs_used);
        }
    });

    // reltuples after ANALYZE; a modest default before.
    double tuples = baserel->tuples >= 0 ? baserel->tuples : 1000;
    if (tuples < 1)
        tuples = 1;
    baserel->tuples = tuples;
    double all_sel = clauses_selectivity(root, baserel->baserestrictinfo);
    double remote_sel = clauses_selectivity(root, plan->remote_conds);
    baserel->rows = pg_call([tuples, all_sel] { return clamp_row_est(tuples * all_sel); });
    plan->remote_rows =
        pg_call([tuples, remote_sel] { return clamp_row_est(tuples * remote_sel); });
    baserel->fdw_private = plan;
}

void get_foreign_paths(PlannerInfo *root, RelOptInfo *baserel, Oid relid) {
    auto *plan = static_cast<RelPlan *>(baserel->fdw_private);
    TableSpec table = load_table_spec(relid, false);
    // Per query: a round trip (or a file open); per document: transfer and
    // conversion; local clauses cost what the executor charges for them.
    Cost startup = 25;
    Cost per_row = cpu_tuple_cost * 2 + (plan->remote ? 0.005 : 0);
    double fetched = plan->remote_rows;

    auto add = [&](List *pathkeys, const std::string &sort_json, std::int64_t limit) {
        double rows = baserel->rows, got = fetched;
        if (limit > 0) {
            rows = std::min(rows, static_cast<double>(limit));
            got = std::min(got, static_cast<double>(limit));
        }
        Cost total = startup + got * per_row + (sort_json.empty() ? 0 : got * cpu_operator_cost);
        char *sort = pstr(sort_json);
        char *lim = pstr(limit_text(limit));
        pg_call([=] {
            List *priv = list_make2(makeString(sort), makeString(lim));
            add_path(baserel, reinterpret_cast<Path *>(create_base_foreignscan_path(
                                  root, baserel, rows, startup, total, pathkeys, priv)));
        });
    };

    add(NIL, "", pushable_limit(root, baserel, plan, root->query_pathkeys == NIL));

    if (plan->remote && pushdown_enabled() && root->query_pathkeys != NIL) {
        auto keys = remote_sort(root, baserel, table);
        if (!keys.empty())
            add(root->query_pathkeys, to_json(build_sort(keys).get()),
                pushable_limit(root, baserel, plan, true));
    }
}

ForeignScan *get_foreign_plan(PlannerInfo *root, RelOptInfo *baserel, Oid relid,
                              ForeignPath *best_path, List *tlist, List *scan_clauses,
                              Plan *outer_plan) {
    auto *plan = static_cast<RelPlan *>(baserel->fdw_private);
    TableSpec table = load_table_spec(relid, false);

    // The columns to fill: whole-row references need them all.
    std::vector<AttrNumber> attnums;
    bool whole_row = pg_call(
        [plan] { return bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, plan->attrs_used); });
    for (const ColumnSpec &col : table.columns) {
        if (col.kind == ColumnSpec::Kind::Dropped)
            continue;
        AttrNumber a = col.attnum;
        bool used =
            whole_row || pg_call([plan, a] {
                return bms_is_member(a - FirstLowInvalidHeapAttributeNumber, plan->attrs_used);
            });
        if (used)
            attnums.push_back(a);
    }
    bool whole_document = false;
    std::vector<std::string> fields = projected_fields(table, attnums, &whole_document);
    std::string projection =
        whole_document || !plan->remote ? std::string() : to_json(build_projection(fields).get());

    char *filter = plan->filter_json;
    char *proj = pstr(projection);
    auto *sort_node = static_cast<String *>(linitial(best_path->fdw_private));
    auto *limit_node = static_cast<String *>(lsecond(best_path->fdw_private));
    Index scan_relid = baserel->relid;
    // The role the query is checked as (a view's owner) picks the user
    // mapping, as in postgres_fdw; RelOptInfo.userid is that role on
    // PostgreSQL 15 and later alike, or 0 for whoever executes the plan.
    Oid userid = baserel->userid;
    return pg_call([=] {
        List *local = NIL;
        ListCell *lc;
        foreach (lc, scan_clauses) {
            auto *ri = lfirst_node(RestrictInfo, lc);
            if (ri->pseudoconstant || list_member_ptr(plan->remote_conds, ri))
                continue;
            local = lappend(local, ri->clause);
        }
        List *cols = NIL;
        for (AttrNumber a : attnums)
            cols = lappend_int(cols, a);
        List *priv = list_make5(makeString(filter), makeString(proj), sort_node, limit_node, cols);
        priv = lappend(priv, makeInteger(static_cast<int>(userid)));
        return make_foreignscan(tlist, local, scan_relid, NIL, priv, NIL, NIL, outer_plan);
    });
}

} // namespace nextcrm
