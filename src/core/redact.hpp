// The one redaction rule: what counts as a secret in a source document, and
// how a secret looks wherever the extension stores or prints source data
// outside the target tables (the nextcrm_migration tables, NOTICEs, logs).
//
// A value is secret when the name of its key, or of any key above it, marks
// a secret (key_marks_secret) or is one of the mapping's `secret` fields
// (the special token `secret` of a profile's mapping.csv) -- at any depth, inside known and
// unknown fields alike, whatever its BSON type.  A secret is replaced by
// "[redacted sha256:XXXXXXXX]": the first 8 hex digits of the SHA-256 of the
// value's bytes (a string's UTF-8 bytes; any other value's BSON encoding),
// enough to check a known value without showing it.  PostgreSQL-free.
#pragma once

#include "core/mongo_client.hpp"

#include <bson/bson.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nextcrm {

// True when a key's name marks a secret: after lower-casing and dropping
// everything but letters and digits it contains password, passwd, pwd,
// passphrase, secret, token, apikey, servicekey, privatekey, accesskey,
// authkey, signingkey, encryptionkey, sessionkey, credential, authorization,
// bearer, cookie, connectionstring or databaseurl, or ends in "pass"
// ("apiKey", "API-KEY", "notion_api_key", "oldPassword", "x_auth_token",
// "smtpPass").
bool key_marks_secret(std::string_view key);

// "[redacted sha256:XXXXXXXX]" for these bytes.
std::string redaction_mark(std::string_view bytes);

// The mark of one BSON value (strings: their UTF-8 bytes; others: their BSON
// encoding without type byte and key).
std::string redaction_mark(const bson_iter_t *it);

class Redactor {
  public:
    // `secret_names`: key names that are secret at any depth besides those
    // key_marks_secret finds (the mapping's `secret` fields).
    explicit Redactor(std::vector<std::string> secret_names = {});

    // The rule with every `secret` field of `mapping` as a secret name.
    static Redactor for_mapping(const class Mapping &mapping);

    bool is_secret_key(std::string_view key) const;

    // True when a dotted path ("legacy.password", "apiKeys.0.api_key")
    // passes through a secret key.
    bool path_is_secret(std::string_view path) const;

    // A copy of `doc` with every secret value replaced by its mark (a
    // string); every other key and value kept as it is, in order.
    BsonPtr redact(const bson_t *doc) const;

    // Every secret value of `doc` in the text forms a message may show it
    // in (the string itself, its JSON escape, its Extended JSON, a number's
    // digits), each with its mark; longest first.
    using Secrets = std::vector<std::pair<std::string, std::string>>;
    Secrets secrets_of(const bson_t *doc) const;

    // `text` with every occurrence of a secret's text forms replaced by its
    // mark (short forms only where they stand alone, not inside a word).
    static std::string scrub(std::string text, const Secrets &secrets);

  private:
    void redact_into(const bson_t *src, bson_t *dst, bool is_array) const;
    void collect(const bson_t *doc, bool inside_secret, Secrets &out) const;
    std::vector<std::string> names_; // normalized
};

} // namespace nextcrm
