#include "pg/roles.hpp"

#include "pg_compat.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/acl.h"
}

namespace nextcrm::pg {

Oid GetUserId() {
    return ::GetUserId();
}

bool superuser() {
    return pg_call([] { return ::superuser(); });
}

bool superuser_arg(Oid roleid) {
    return pg_call([roleid] { return ::superuser_arg(roleid); });
}

bool has_privs_of_role(Oid member, Oid role) {
    return pg_call([member, role] { return ::has_privs_of_role(member, role); });
}

void check_foreign_server_acl(Oid serverid, const char *servername, Oid roleid, AclMode mode) {
    pg_call([=] {
        AclResult acl = foreign_server_aclcheck(serverid, roleid, mode);
        if (acl != ACLCHECK_OK)
            aclcheck_error(acl, OBJECT_FOREIGN_SERVER, servername);
    });
}

} // namespace nextcrm::pg
