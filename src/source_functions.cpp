// SQL functions that inspect a MongoDB source through its foreign server.
#include "pg_wall.hpp"

#include "connection.hpp"
#include "pg/srf.hpp"
#include "pg/text.hpp"
#include "source_check.hpp"

#include "core/profile.hpp"

#include "core/mongodump.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include <algorithm>
#include <string>
#include <vector>

namespace nextcrm {

namespace {

std::string join_names(const std::vector<std::string> &names) {
    std::string out;
    for (const auto &n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

void notice(const std::string &message, const std::string &detail) {
    pg_call([&message, &detail] {
        ereport(NOTICE, (errmsg("%s", message.c_str()), errdetail("%s", detail.c_str())));
    });
}

} // namespace

void check_dump_source(Oid serverid, const Profile &profile) {
    const Mapping &mapping = profile.mapping();
    SourceOptions opts = source_options(serverid);
    if (!opts.is_dump())
        return;
    Dump dump(opts, [] { check_for_interrupts(); });
    std::vector<std::string> absent, foreign;
    for (const auto &c : mapping.collections())
        if (!dump.holds(c.name))
            absent.push_back(c.name);
    for (const auto &e : dump.entries()) {
        bool mapped = mapping.collection(e.name) != nullptr;
        switch (e.state) {
        case DumpEntry::State::Ambiguous:
            throw Error(Message(NEXTCRM_MSG("collection \"%s\" has two dump files in \"%s\""),
                                e.name, dump.location()),
                        sqlstate::fdw_error, e.reason,
                        "A collection must be exactly one file: the source is ambiguous.");
        case DumpEntry::State::Skipped:
            notice("collection \"" + e.name + "\" in the dump is skipped", e.reason);
            continue;
        case DumpEntry::State::NoDocuments:
        case DumpEntry::State::Unusable:
            notice("collection \"" + e.name + "\" cannot be read from the dump", e.reason);
            break;
        case DumpEntry::State::Ready:
            break;
        }
        if (!mapped)
            foreign.push_back(e.name);
    }
    if (!absent.empty())
        notice(std::to_string(absent.size()) + " " + profile.title() +
                   " collections are absent from the dump \"" + dump.location() + "\"",
               "Absent (not empty): " + join_names(absent) + ".");
    if (!foreign.empty())
        notice(std::to_string(foreign.size()) + " collections in the dump are not " +
                   profile.title() + " collections and are not migrated",
               "Not migrated: " + join_names(foreign) + ".");
}

} // namespace nextcrm

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
        dump = std::make_unique<nextcrm::Dump>(opts, [] { nextcrm::check_for_interrupts(); });
        names = dump->collections();
    } else {
        client = nextcrm::client_for(serverid);
        client->ping();
        names = client->collection_names();
        std::sort(names.begin(), names.end());
    }

    ReturnSetInfo *rsinfo = nextcrm::pg::InitMaterializedSRF(fcinfo);
    for (const std::string &name : names) {
        std::int64_t count = 0;
        if (client) {
            count = client->count_documents(name);
        } else {
            count = dump->count(name, [] { nextcrm::check_for_interrupts(); });
        }
        Datum values[2] = {nextcrm::pg::text_datum(name), Int64GetDatum(count)};
        bool nulls[2] = {false, false};
        nextcrm::pg::put_values(rsinfo, values, nulls);
        nextcrm::check_for_interrupts();
    }
    return (Datum)0;
}
