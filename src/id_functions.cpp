// SQL access to the ObjectId -> UUID mapping of core/oid_uuid.hpp.
#include "pg_compat.hpp"
#include "pg/memory.hpp"
#include "pg/text.hpp"
#include "pg_wall.hpp"

#include "core/oid_uuid.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/uuid.h"
}

#include <cstring>
#include <string>

NEXTCRM_PG_FUNCTION(nextcrm_map_oid) {
    text *arg = PG_GETARG_TEXT_PP(0);
    std::string id(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
    nextcrm::Uuid u = nextcrm::text_id_to_uuid(id);
    auto *out = static_cast<pg_uuid_t *>(nextcrm::pg::palloc(UUID_LEN));
    std::memcpy(out->data, u.data(), UUID_LEN);
    PG_RETURN_UUID_P(out);
}

NEXTCRM_PG_FUNCTION(nextcrm_unmap_oid) {
    pg_uuid_t *arg = PG_GETARG_UUID_P(0);
    nextcrm::Uuid u;
    std::memcpy(u.data(), arg->data, UUID_LEN);
    auto oid = nextcrm::uuid_to_oid(u);
    if (!oid)
        throw nextcrm::Error(
            nextcrm::Message(NEXTCRM_MSG("UUID %s was not derived from an ObjectId"),
                             nextcrm::uuid_text(u)),
            nextcrm::sqlstate::invalid_parameter_value, {},
            "UUIDs of non-ObjectId _ids are listed in the migration's id map.");
    std::string hex = nextcrm::object_id_hex(*oid);
    PG_RETURN_DATUM(nextcrm::pg::text_datum(hex));
}
