// SQL functions that inspect a MongoDB source through its foreign server.
#include "pg_wall.hpp"

#include "connection.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include <algorithm>
#include <string>
#include <vector>

NEXTCRM_PG_FUNCTION(nextcrm_mongo_collections) {
    const char *server_name = NameStr(*PG_GETARG_NAME(0));
    Oid serverid = nextcrm::server_oid_by_name(server_name);
    nextcrm::SourceOptions opts = nextcrm::source_options(serverid);
    if (opts.uri.empty())
        throw nextcrm::Error("server \"" + std::string(server_name) + "\" reads a dump directory",
                             nextcrm::sqlstate::feature_not_supported, {},
                             "nextcrm_mongo_collections() lists the collections of a live "
                             "MongoDB server.");

    auto client = nextcrm::client_for(serverid);
    client->ping();
    std::vector<std::string> names = client->collection_names();
    std::sort(names.begin(), names.end());

    nextcrm::pg_call([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (const std::string &name : names) {
        std::int64_t count = client->count_documents(name);
        const char *cname = name.c_str();
        nextcrm::pg_call([rsinfo, cname, count] {
            Datum values[2] = {CStringGetTextDatum(cname), Int64GetDatum(count)};
            bool nulls[2] = {false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        });
        nextcrm::check_for_interrupts();
    }
    return (Datum)0;
}
