// Module entry: magic block, settings and the version function.
#include "pg_wall.hpp"
#include "pg/text.hpp"

#include "fdw_table.hpp"
#include "migrate_indexes.hpp"
#include "migrate_keys.hpp"
#include "migrate_load.hpp"

#include "core/mongo_client.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/guc.h"
}

#include <string>

extern "C" {
PG_MODULE_MAGIC;
}

namespace {

bool pushdown_setting = true;
bool defer_indexes_setting = true;
bool defer_foreign_keys_setting = true;
int restore_chunk_setting = 10000;

} // namespace

bool nextcrm::pushdown_enabled() {
    return pushdown_setting;
}

bool nextcrm::defer_indexes_enabled() {
    return defer_indexes_setting;
}

bool nextcrm::defer_foreign_keys_enabled() {
    return defer_foreign_keys_setting;
}

int nextcrm::restore_chunk_rows() {
    return restore_chunk_setting;
}

// Defines the settings only: no client or driver state is created here (this
// may run in the postmaster).
extern "C" void _PG_init(void) {
    DefineCustomBoolVariable("nextcrm_mongo_fdw.pushdown",
                             "Sends WHERE clauses, ORDER BY and LIMIT to MongoDB when they can "
                             "be evaluated there with the same result.",
                             "Off: every clause is evaluated locally and only columns are "
                             "projected remotely.",
                             &pushdown_setting, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("nextcrm_mongo_fdw.defer_indexes",
                             "Drops the target's non-unique indexes while a migration loads and "
                             "builds them when its batches are over.",
                             "Off: every batch maintains them. The migration worker reads the "
                             "database's or role's setting (ALTER DATABASE ... SET), not the "
                             "calling session's.",
                             &defer_indexes_setting, true, PGC_USERSET, 0, nullptr, nullptr,
                             nullptr);
    DefineCustomBoolVariable("nextcrm_mongo_fdw.defer_foreign_keys",
                             "Drops the target's foreign keys the migration's reference check "
                             "covers while it loads, and adds them back, validated, when its "
                             "batches are over.",
                             "Off: PostgreSQL checks every row's keys as it is inserted. The "
                             "migration worker reads the database's or role's setting (ALTER "
                             "DATABASE ... SET), not the calling session's.",
                             &defer_foreign_keys_setting, true, PGC_USERSET, 0, nullptr, nullptr,
                             nullptr);
    DefineCustomIntVariable("nextcrm_mongo_fdw.restore_chunk_rows",
                            "Rows of dangling references the migration's last pass reads and "
                            "puts back at a time.",
                            "A developer option: its memory is bounded by this, not by the "
                            "number of dangling references. A document's references are never "
                            "split between two chunks.",
                            &restore_chunk_setting, 10000, 1, 1000000, PGC_USERSET,
                            GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("nextcrm_mongo_fdw");
    // The catalog of the wall's translatable messages (src/pg_wall.cpp).
    pg_bindtextdomain(PG_TEXTDOMAIN("nextcrm_mongo_fdw"));
}

// The running server's version, not the headers' one: a minor upgrade of
// PostgreSQL keeps the module but changes the answer.
NEXTCRM_PG_FUNCTION(nextcrm_mongo_fdw_version) {
    const char *server =
        nextcrm::pg_call([] { return GetConfigOptionByName("server_version", nullptr, false); });
    std::string text = std::string("nextcrm_mongo_fdw ") + NEXTCRM_VERSION + " (libmongoc " +
                       mongoc_get_version() + ", libbson " + bson_get_version() + ", PostgreSQL " +
                       server + ")";
    PG_RETURN_DATUM(nextcrm::pg::text_datum(text));
}
