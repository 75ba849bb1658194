// Who the session is and what it may do (miscadmin.h, utils/acl.h).
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "nodes/parsenodes.h"
}

namespace nextcrm::pg {

// GetUserId() cannot fail; it is here with the checks that use it.
Oid GetUserId();
bool superuser();
bool superuser_arg(Oid roleid);
bool has_privs_of_role(Oid member, Oid role);
// Raises aclcheck_error() unless roleid has mode on the foreign server.
void check_foreign_server_acl(Oid serverid, const char *servername, Oid roleid, AclMode mode);

} // namespace nextcrm::pg
