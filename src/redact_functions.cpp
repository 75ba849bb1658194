// SQL access to the redaction rule of core/redact.hpp, for the SQL the
// extension runs itself (validation compares secret fields as marks).
#include "pg_compat.hpp"
#include "pg_wall.hpp"
#include "profiles.hpp"

#include "core/mapping.hpp"
#include "core/redact.hpp"

extern "C" {
#include "utils/builtins.h"
}

#include <string>

namespace {

std::string text_arg(text *arg) {
    return std::string(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
}

} // namespace

// nextcrm_migration.redaction_mark(text) -> "[redacted sha256:XXXXXXXX]" of
// the text's bytes.
NEXTCRM_PG_FUNCTION(nextcrm_redaction_mark) {
    std::string mark = nextcrm::redaction_mark(text_arg(PG_GETARG_TEXT_PP(0)));
    PG_RETURN_TEXT_P(nextcrm::pg_call([&mark] { return cstring_to_text(mark.c_str()); }));
}

// nextcrm_migration.is_secret_path(text [, profile text]): whether a dotted
// field path passes through a key the profile's redaction rule treats as
// secret.
NEXTCRM_PG_FUNCTION(nextcrm_is_secret_path) {
    const auto &redactor = nextcrm::installed_profile(nextcrm::profile_arg(fcinfo, 1)).redactor();
    PG_RETURN_BOOL(redactor.path_is_secret(text_arg(PG_GETARG_TEXT_PP(0))));
}
