// Realistic values for a multilingual (cz/en/de/uk) NextCRM deployment.
#pragma once

#include "gen/rng.hpp"

#include <string>

namespace nextcrm::gen {

enum class Lang { Cz, En, De, Uk };

Lang pick_lang(Rng &rng);
std::string first_name(Rng &rng, Lang lang);
std::string last_name(Rng &rng, Lang lang);
std::string company(Rng &rng, Lang lang);
std::string city(Rng &rng, Lang lang);
std::string street(Rng &rng, Lang lang);
std::string country(Lang lang);
std::string country_code(Lang lang);
std::string sentence(Rng &rng, Lang lang);
std::string paragraph(Rng &rng, Lang lang);
std::string title(Rng &rng, Lang lang);
// A plain ASCII mailbox; `salt` keeps it unique where it has to be.
std::string email(Rng &rng, std::uint64_t salt);
// Emails as the unvalidated forms and APIs let them in (SOURCE-SCHEMA 8).
std::string odd_email(Rng &rng);
std::string phone(Rng &rng, Lang lang);
std::string url(Rng &rng);
std::string digits(Rng &rng, int n);
std::string token(Rng &rng, const char *alphabet, int n);
std::string bcrypt_hash(Rng &rng);
// An ISO-8601 UTC timestamp with milliseconds, as JavaScript's toISOString().
std::string iso_time(std::int64_t ms);
std::string iso_date(std::int64_t ms);

} // namespace nextcrm::gen
