// Module entry: magic block and the version function.
#include "pg_wall.hpp"

#include "core/mongo_client.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/guc.h"
}

#include <string>

extern "C" {
PG_MODULE_MAGIC;
}

// The running server's version, not the headers' one: a minor upgrade of
// PostgreSQL keeps the module but changes the answer.
NEXTCRM_PG_FUNCTION(nextcrm_mongo_fdw_version) {
    const char *server =
        nextcrm::pg_call([] { return GetConfigOptionByName("server_version", nullptr, false); });
    std::string text = std::string("nextcrm_mongo_fdw ") + NEXTCRM_VERSION + " (libmongoc " +
                       mongoc_get_version() + ", libbson " + bson_get_version() + ", PostgreSQL " +
                       server + ")";
    PG_RETURN_TEXT_P(nextcrm::pg_call([&text] { return cstring_to_text(text.c_str()); }));
}
