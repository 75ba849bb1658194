// The wrapper's validator: checks every CREATE/ALTER ... OPTIONS against the
// catalogue in options.cpp, and who may set them; never the file system.
#include "pg_wall.hpp"
#include "pg/foreign.hpp"
#include "pg/roles.hpp"

#include "core/options.hpp"

extern "C" {
#include "access/reloptions.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "catalog/pg_authid.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/acl.h"
}

#include <string>
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

// file_fdw's rule: naming a file of the database server is for those who
// may read any of them.
bool may_name_server_files() {
    return nextcrm::pg::superuser() ||
           nextcrm::pg::has_privs_of_role(nextcrm::pg::GetUserId(), ROLE_PG_READ_SERVER_FILES);
}

} // namespace

NEXTCRM_PG_FUNCTION(nextcrm_mongo_fdw_validator) {
    Datum array = PG_GETARG_DATUM(0);
    Oid catalog = PG_GETARG_OID(1);
    OptionContext ctx = context_of(catalog);
    List *options = nextcrm::pg_call([array] { return untransformRelOptions(array); });

    std::vector<std::string> sources; // uri, dump_dir, archive as given
    // postgres_fdw's rule for connection options: what makes the backend read
    // its own files or act with its own identity is for superusers.
    bool is_superuser = nextcrm::pg::superuser();
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
            throw nextcrm::Error(nextcrm::Message(NEXTCRM_MSG("invalid option \"%s\""), name),
                                 nextcrm::sqlstate::fdw_invalid_option_name, {}, hint);
        }
        const char *value = nextcrm::pg::defGetString(def);
        nextcrm::check_option_value(name, value);
        if (nextcrm::option_names_server_path(name) && !may_name_server_files())
            throw nextcrm::Error(
                nextcrm::Message(NEXTCRM_MSG("only superuser or a role with "
                                             "privileges of the pg_read_server_files "
                                             "role may specify the \"%s\" option "
                                             "of a nextcrm_mongo_fdw object"),
                                 name),
                nextcrm::sqlstate::insufficient_privilege, {},
                "The option names a path on the database server.");
        if (!is_superuser) {
            if (name == "uri")
                nextcrm::check_unprivileged_uri(value);
            else
                nextcrm::check_unprivileged_option(name, value);
        }
        if (name == "uri" || name == "dump_dir" || name == "archive")
            sources.push_back(name);
    }
    if (sources.size() > 1)
        throw nextcrm::Error(nextcrm::Message(NEXTCRM_MSG("options \"%s\" and \"%s\" cannot both "
                                                          "be given"),
                                              sources[0], sources[1]),
                             nextcrm::sqlstate::fdw_invalid_option_name, {},
                             "A server reads a live MongoDB, a mongodump directory or a "
                             "mongodump archive.");
    // The paths themselves are not looked at here, as file_fdw does not: a
    // pg_dump of a migrated database must restore its server on a host
    // without the dump, and an ALTER SERVER must work after the dump is
    // gone.  Reading the server (a scan, a count, a migration) checks them
    // and names the path.
    PG_RETURN_VOID();
}
