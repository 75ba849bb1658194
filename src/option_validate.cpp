// The wrapper's validator: checks every CREATE/ALTER ... OPTIONS against the
// catalogue in options.cpp.
#include "pg_wall.hpp"

#include "core/mongodump.hpp"
#include "core/options.hpp"

extern "C" {
#include "access/reloptions.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
}

#include <string>
#include <utility>
#include <vector>

using nextcrm::OptionContext;

namespace {

OptionContext context_of(Oid catalog) {
    switch (catalog) {
    case ForeignDataWrapperRelationId:
        return OptionContext::Wrapper;
    case ForeignServerRelationId:
        return OptionContext::Server;
    case UserMappingRelationId:
        return OptionContext::UserMapping;
    case ForeignTableRelationId:
        return OptionContext::Table;
    case AttributeRelationId:
        return OptionContext::Column;
    default:
        throw nextcrm::Error("unexpected catalog for nextcrm_mongo_fdw options",
                             nextcrm::sqlstate::internal_error);
    }
}

// Options that make the backend read files of the server: like file_fdw's
// filename, only superusers and members of pg_read_server_files may set
// them.  The one place this rule is applied.
void require_server_file_privilege(const std::string &option) {
    Oid user = nextcrm::pg_call([] { return GetUserId(); });
    bool allowed = nextcrm::pg_call([user] {
        return superuser_arg(user) || has_privs_of_role(user, ROLE_PG_READ_SERVER_FILES);
    });
    if (!allowed)
        throw nextcrm::Error("only superusers and members of pg_read_server_files may set the "
                             "option \"" +
                                 option + "\"",
                             nextcrm::sqlstate::insufficient_privilege, {},
                             "The option makes the server read files of its host.");
}

bool is_server_file_option(const std::string &name) {
    return name == "dump_dir" || name == "archive";
}

} // namespace

NEXTCRM_PG_FUNCTION(nextcrm_mongo_fdw_validator) {
    Datum array = PG_GETARG_DATUM(0);
    Oid catalog = PG_GETARG_OID(1);
    OptionContext ctx = context_of(catalog);
    List *options = nextcrm::pg_call([array] { return untransformRelOptions(array); });

    std::vector<std::string> sources; // uri, dump_dir, archive as given
    std::vector<std::pair<std::string, std::string>> files;
    ListCell *lc;
    foreach (lc, options) {
        auto *def = static_cast<DefElem *>(lfirst(lc));
        std::string name = def->defname;
        if (!nextcrm::option_is_valid(name, ctx)) {
            std::string hint;
            if (ctx == OptionContext::Server && (name == "username" || name == "password"))
                hint = "Credentials belong in a user mapping, not in the server's options.";
            else if (std::string valid = nextcrm::valid_option_names(ctx); valid.empty())
                hint = "There are no valid options in this context.";
            else
                hint = "Valid options in this context are: " + valid + ".";
            throw nextcrm::Error("invalid option \"" + name + "\"",
                                 nextcrm::sqlstate::fdw_invalid_option_name, {}, hint);
        }
        const char *value = nextcrm::pg_call([def] { return defGetString(def); });
        nextcrm::check_option_value(name, value);
        if (is_server_file_option(name)) {
            require_server_file_privilege(name);
            files.emplace_back(name, value);
        }
        if (name == "uri" || is_server_file_option(name))
            sources.push_back(name);
    }
    if (sources.size() > 1)
        throw nextcrm::Error("options \"" + sources[0] + "\" and \"" + sources[1] +
                                 "\" cannot both be given",
                             nextcrm::sqlstate::fdw_invalid_option_name, {},
                             "A server reads a live MongoDB, a mongodump directory or a "
                             "mongodump archive.");
    // Known now, so said now rather than when a run starts.
    for (const auto &[name, value] : files)
        nextcrm::check_dump_location(name, value);
    PG_RETURN_VOID();
}
