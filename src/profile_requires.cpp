// What a profile's target needs of the server (profile.conf's
// requires_postgresql and requires_extension), checked by the calling
// session before a migration writes anything: a target whose own
// migrations would stop half-way on a missing extension is refused with
// what to do instead.
#include "profiles.hpp"

#include "spi.hpp"

extern "C" {
#include "miscadmin.h"
}

#include <string>

namespace nextcrm {

void check_server_requirements(const Profile &profile) {
    int major = PG_VERSION_NUM / 10000;
    if (profile.required_postgresql() > major)
        throw Error(Message(NEXTCRM_MSG("profile \"%s\" needs PostgreSQL %s or later"),
                            profile.name(), std::to_string(profile.required_postgresql())),
                    sqlstate::feature_not_supported,
                    "This server is PostgreSQL " + std::to_string(major) + "; " + profile.title() +
                        " requires " + std::to_string(profile.required_postgresql()) + "+.",
                    "Migrate into a PostgreSQL " + std::to_string(profile.required_postgresql()) +
                        " or later server.");
    bool is_superuser = pg_call([] { return superuser(); });
    for (const std::string &name : profile.required_extensions()) {
        Datum arg = text_datum(name);
        Oid type = TEXTOID;
        SpiRows r = spi_query(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = $1),"
            "       EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = $1),"
            "       EXISTS (SELECT FROM pg_catalog.pg_available_extension_versions v"
            "                 JOIN pg_catalog.pg_available_extensions a"
            "                   ON a.name = v.name AND a.default_version = v.version"
            "                WHERE v.name = $1 AND v.trusted)",
            1, &type, &arg);
        if (r.text(0, 1) == "t")
            continue;
        std::string why = profile.title() + "'s migrations create extension \"" + name + "\"";
        if (r.text(0, 2) != "t")
            throw Error(
                Message(NEXTCRM_MSG("extension \"%s\" is not available on this server"), name),
                sqlstate::object_not_in_prerequisite_state,
                why + "; this PostgreSQL installation does not have it "
                      "(pg_available_extensions).",
                "Install the extension into this PostgreSQL installation, then run the "
                "migration again.");
        if (!is_superuser && r.text(0, 3) != "t")
            throw Error(Message(NEXTCRM_MSG("extension \"%s\" must be created in this database "
                                            "by a superuser first"),
                                name),
                        sqlstate::insufficient_privilege,
                        why + ", and it is not a trusted extension: only a superuser may create "
                              "it.",
                        "As a superuser, run CREATE EXTENSION " + name +
                            "; in this database, then run the migration again.");
    }
}

} // namespace nextcrm
