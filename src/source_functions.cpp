// SQL functions that inspect a MongoDB source through its foreign server.
#include "pg_wall.hpp"

#include "connection.hpp"

#include "core/mongodump.hpp"

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

    // A dump: its collections (skipped ones aside), counted by reading
    // them (a truncated file is an error here too).
    std::shared_ptr<nextcrm::Client> client;
    std::unique_ptr<nextcrm::Dump> dump;
    std::vector<std::string> names;
    if (opts.is_dump()) {
        dump = std::make_unique<nextcrm::Dump>(opts);
        names = dump->collections();
    } else {
        client = nextcrm::client_for(serverid);
        client->ping();
        names = client->collection_names();
        std::sort(names.begin(), names.end());
    }

    nextcrm::pg_call([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (const std::string &name : names) {
        std::int64_t count = 0;
        if (client) {
            count = client->count_documents(name);
        } else {
            count = dump->count(name, [] { nextcrm::check_for_interrupts(); });
        }
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
