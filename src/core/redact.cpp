#include "core/redact.hpp"

#include "core/error.hpp"
#include "core/mapping.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>

namespace nextcrm {

namespace {

// Lower case, letters and digits only: "API-Key" and "api_key" are "apikey".
std::string normalized(std::string_view key) {
    std::string out;
    out.reserve(key.size());
    for (unsigned char c : key)
        if (std::isalnum(c))
            out += static_cast<char>(std::tolower(c));
    return out;
}

constexpr const char *secret_words[] = {
    "password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "servicekey",
    "privatekey", "accesskey", "authkey", "signingkey", "encryptionkey", "sessionkey", "credential",
    "authorization", "bearer", "cookie", "connectionstring", "databaseurl",
    // Connection strings carry their password: MONGODB_URI, redisUrl, ...
    "databaseuri", "dburl", "dburi", "mongouri", "mongourl", "mongodburi", "mongodburl", "redisurl",
    "postgresurl", "postgresqlurl", "mysqlurl", "amqpurl", "brokerurl", "connectionuri",
    "connectionurl", "connstr", "webhookurl",
    // Two-factor seeds and codes, and key names not spelled "...key" whole.
    "otpauth", "recoverycode", "backupcode", "privkey", "masterkey"};

// The bytes a mark hashes: a string's own bytes, any other value's encoding
// as BSON stores it (from the value's first byte to the next element).
std::string_view value_bytes(const bson_iter_t *it) {
    if (BSON_ITER_HOLDS_UTF8(it)) {
        std::uint32_t len = 0;
        const char *s = bson_iter_utf8(it, &len);
        return {s, len};
    }
    return {reinterpret_cast<const char *>(it->raw + it->d1),
            static_cast<std::size_t>(it->next_off - it->d1)};
}

// One value as libbson writes it in Extended JSON, or "" when it has no JSON
// form (text that is not UTF-8).
std::string value_json(const bson_iter_t *it, bool canonical) {
    bson_t wrapper = BSON_INITIALIZER;
    bson_append_iter(&wrapper, "v", 1, it);
    std::size_t len = 0;
    char *json = canonical ? bson_as_canonical_extended_json(&wrapper, &len)
                           : bson_as_relaxed_extended_json(&wrapper, &len);
    bson_destroy(&wrapper);
    if (!json)
        return {};
    std::string text(json, len);
    bson_free(json);
    const std::string prefix = "{ \"v\" : ";
    if (text.compare(0, prefix.size(), prefix) != 0 || text.size() < prefix.size() + 2)
        return {};
    return text.substr(prefix.size(), text.size() - prefix.size() - 2);
}

// The text forms a message may show one secret value in.
void add_forms(const bson_iter_t *it, Redactor::Secrets &out) {
    std::string mark = redaction_mark(it);
    auto add = [&](std::string form) {
        if (!form.empty())
            out.emplace_back(std::move(form), mark);
    };
    if (BSON_ITER_HOLDS_BOOL(it) || BSON_ITER_HOLDS_NULL(it) || BSON_ITER_HOLDS_UNDEFINED(it))
        return; // no secret in true, false or null, and scrubbing them would garble text
    std::string relaxed = value_json(it, false), canonical = value_json(it, true);
    if (BSON_ITER_HOLDS_UTF8(it)) {
        add(std::string(value_bytes(it)));
        if (relaxed.size() >= 2)
            add(relaxed.substr(1, relaxed.size() - 2)); // JSON-escaped, without quotes
    }
    if (BSON_ITER_HOLDS_INT32(it))
        add(std::to_string(bson_iter_int32(it)));
    if (BSON_ITER_HOLDS_INT64(it))
        add(std::to_string(bson_iter_int64(it)));
    add(relaxed);
    add(canonical);
    // { "$numberDouble" : "1.5" } and the like: the quoted digits alone.
    if (canonical.rfind("{ \"$number", 0) == 0) {
        std::size_t end = canonical.rfind('"');
        std::size_t start = end == std::string::npos ? end : canonical.rfind('"', end - 1);
        if (start != std::string::npos && end > start + 1)
            add(canonical.substr(start + 1, end - start - 1));
    }
}

// Other languages' words for a password, lower case (compared with
// normalized_keeping_non_ascii).
constexpr const char *secret_words_non_ascii[] = {
    "passwort", "kennwort", "wachtwoord", "motdepasse", "contrasena", "contraseña",  "senha",
    "salasana", "haslo",    "hasło",      "losenord",   "lösenord",   "adgangskode", "heslo",
    "пароль",   "密码",     "密碼",       "パスワード", "비밀번호",   "暗証番号"};

// Words that mark a secret only as a whole word of the key ("auth" in
// "authHeader" or "x-auth", not in "author"; "pin" in "pinCode", not in
// "pinned").
constexpr const char *secret_whole_words[] = {"pw",   "auth", "jwt",  "otp",      "totp",
                                              "pin",  "sid",  "csrf", "xsrf",     "dsn",
                                              "hmac", "cvv",  "cvc",  "sessionid"};

// UTF-8 decoding of one code point at `i` (advancing it); a malformed byte
// is returned as itself.
std::uint32_t next_code_point(std::string_view s, std::size_t &i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra == 0 || i + extra >= s.size()) {
        ++i;
        return c;
    }
    std::uint32_t cp = c & (0x3F >> extra);
    for (int n = 1; n <= extra; ++n) {
        unsigned char cc = static_cast<unsigned char>(s[i + n]);
        if ((cc & 0xC0) != 0x80) {
            ++i;
            return c;
        }
        cp = cp << 6 | (cc & 0x3F);
    }
    i += extra + 1;
    return cp;
}

void append_utf8(std::string &out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | cp >> 6);
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | cp >> 12);
        out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | cp >> 18);
        out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
        out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// `key` with full-width Latin letters and digits made ASCII ("ｐａｓｓｗｏｒｄ"
// is "password"), Cyrillic and Greek capitals made small, and zero-width
// and soft-hyphen characters dropped, so that spelling a key in odd
// characters does not hide it.  Invalid UTF-8 bytes are kept as they are.
std::string folded_utf8(std::string_view key) {
    std::string out;
    out.reserve(key.size());
    std::size_t i = 0;
    while (i < key.size()) {
        std::size_t start = i;
        std::uint32_t cp = next_code_point(key, i);
        if (i == start + 1 && cp >= 0x80) { // a malformed byte
            out += key[start];
            continue;
        }
        if (cp >= 0xFF10 && cp <= 0xFF19)
            cp = '0' + (cp - 0xFF10);
        else if (cp >= 0xFF21 && cp <= 0xFF3A)
            cp = 'A' + (cp - 0xFF21);
        else if (cp >= 0xFF41 && cp <= 0xFF5A)
            cp = 'a' + (cp - 0xFF41);
        else if (cp >= 0x0410 && cp <= 0x042F)
            cp += 0x20;
        else if (cp >= 0x0400 && cp <= 0x040F)
            cp += 0x50;
        else if (cp >= 0x0391 && cp <= 0x03A9)
            cp += 0x20;
        else if (cp == 0x00AD || (cp >= 0x200B && cp <= 0x200F) || cp == 0x2060 || cp == 0xFEFF)
            continue;
        append_utf8(out, cp);
    }
    return out;
}

// Lower-case ASCII letters and digits and every non-ASCII character: "Hasło"
// is "hasło", "мой-пароль" is "мойпароль".
std::string normalized_keeping_non_ascii(std::string_view key) {
    std::string out;
    for (unsigned char c : key) {
        if (c >= 0x80)
            out += static_cast<char>(c);
        else if (std::isalnum(c))
            out += static_cast<char>(std::tolower(c));
    }
    // Latin-1 capitals that other languages' words use.
    for (auto [from, to] :
         {std::pair<const char *, const char *>{"Ö", "ö"}, {"Ñ", "ñ"}, {"Ł", "ł"}})
        for (std::size_t at = out.find(from); at != std::string::npos; at = out.find(from, at))
            out.replace(at, std::strlen(from), to);
    return out;
}

// The words of a key, lower case: split at anything that is not an ASCII
// letter or digit and where camelCase starts a word ("x-authToken" is x,
// auth, token; "JWTSecret" is jwt, secret; "sessionId" is session, id).
std::vector<std::string> words_of(std::string_view key) {
    std::vector<std::string> words(1);
    auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
    auto is_lower = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    for (std::size_t i = 0; i < key.size(); ++i) {
        char c = key[i];
        if (!is_upper(c) && !is_lower(c)) {
            if (!words.back().empty())
                words.emplace_back();
            continue;
        }
        bool starts_word = is_upper(c) && i > 0 &&
                           (is_lower(key[i - 1]) ||
                            (is_upper(key[i - 1]) && i + 1 < key.size() && is_lower(key[i + 1]) &&
                             !(key[i + 1] >= '0' && key[i + 1] <= '9')));
        if (starts_word && !words.back().empty())
            words.emplace_back();
        words.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    // "session_id" and "sessionId" are one name, too.
    std::vector<std::string> out = words;
    for (std::size_t i = 0; i + 1 < words.size(); ++i)
        out.push_back(words[i] + words[i + 1]);
    return out;
}

bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

} // namespace

namespace {

// The ASCII checks of key_marks_secret on one spelling of a key.
bool ascii_spelling_marks_secret(const std::string &spelling) {
    std::string k = normalized(spelling);
    // "pass" and "pw" only as the whole name or its end (smtpPass, db_pass,
    // userPw): inside a word they are too common (passenger, compass).
    auto ends_with = [&](std::string_view w) {
        return k.size() >= w.size() && k.compare(k.size() - w.size(), w.size(), w) == 0;
    };
    if (ends_with("pass") || ends_with("pw"))
        return true;
    if (std::any_of(std::begin(secret_words), std::end(secret_words),
                    [&](const char *w) { return k.find(w) != std::string::npos; }))
        return true;
    for (const std::string &word : words_of(spelling))
        if (std::any_of(std::begin(secret_whole_words), std::end(secret_whole_words),
                        [&](const char *w) { return word == w; }))
            return true;
    return false;
}

// `folded` with accented Latin letters and the Cyrillic and Greek letters
// that look like Latin ones written as those ("pässwörd", "pаssword" with a
// Cyrillic "а"); every other character kept.
std::string ascii_lookalikes(const std::string &folded) {
    struct Lookalike {
        std::uint32_t cp;
        char ascii;
    };
    static constexpr Lookalike table[] = {
        {0xE0, 'a'},  {0xE1, 'a'},  {0xE2, 'a'},  {0xE3, 'a'},  {0xE4, 'a'},  {0xE5, 'a'},
        {0xE7, 'c'},  {0xE8, 'e'},  {0xE9, 'e'},  {0xEA, 'e'},  {0xEB, 'e'},  {0xEC, 'i'},
        {0xED, 'i'},  {0xEE, 'i'},  {0xEF, 'i'},  {0xF1, 'n'},  {0xF2, 'o'},  {0xF3, 'o'},
        {0xF4, 'o'},  {0xF5, 'o'},  {0xF6, 'o'},  {0xF8, 'o'},  {0xF9, 'u'},  {0xFA, 'u'},
        {0xFB, 'u'},  {0xFC, 'u'},  {0xFD, 'y'},  {0xFF, 'y'},  {0xC0, 'A'},  {0xC1, 'A'},
        {0xC2, 'A'},  {0xC3, 'A'},  {0xC4, 'A'},  {0xC5, 'A'},  {0xC7, 'C'},  {0xC8, 'E'},
        {0xC9, 'E'},  {0xCA, 'E'},  {0xCB, 'E'},  {0xCC, 'I'},  {0xCD, 'I'},  {0xCE, 'I'},
        {0xCF, 'I'},  {0xD1, 'N'},  {0xD2, 'O'},  {0xD3, 'O'},  {0xD4, 'O'},  {0xD5, 'O'},
        {0xD6, 'O'},  {0xD8, 'O'},  {0xD9, 'U'},  {0xDA, 'U'},  {0xDB, 'U'},  {0xDC, 'U'},
        {0x430, 'a'}, {0x435, 'e'}, {0x43E, 'o'}, {0x440, 'p'}, {0x441, 'c'}, {0x445, 'x'},
        {0x443, 'y'}, {0x455, 's'}, {0x456, 'i'}, {0x458, 'j'}, {0x501, 'd'}, {0x51D, 'w'},
        {0x3B1, 'a'}, {0x3BF, 'o'}, {0x3C1, 'p'}, {0x3BD, 'v'}, {0x3C4, 't'}, {0x3B9, 'i'},
        {0x3BA, 'k'}};
    std::string out;
    out.reserve(folded.size());
    std::size_t i = 0;
    while (i < folded.size()) {
        std::size_t start = i;
        std::uint32_t cp = next_code_point(folded, i);
        auto hit = std::find_if(std::begin(table), std::end(table),
                                [cp](const Lookalike &l) { return l.cp == cp; });
        if (hit != std::end(table) && i > start + 1)
            out += hit->ascii;
        else
            out.append(folded, start, i - start);
    }
    return out;
}

} // namespace

bool key_marks_secret(std::string_view key) {
    // Most keys are ASCII: no folding, look-alikes or other scripts to read.
    bool ascii = std::all_of(key.begin(), key.end(), [](char c) { return (c & 0x80) == 0; });
    std::string folded = ascii ? std::string(key) : folded_utf8(key);
    if (ascii_spelling_marks_secret(folded) ||
        (!ascii && ascii_spelling_marks_secret(ascii_lookalikes(folded))))
        return true;
    std::string u = normalized_keeping_non_ascii(folded);
    return std::any_of(std::begin(secret_words_non_ascii), std::end(secret_words_non_ascii),
                       [&](const char *w) { return u.find(w) != std::string::npos; });
}

std::string redaction_mark(std::string_view bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1 || len < 4)
        throw Error("could not compute SHA-256 for a redaction mark", sqlstate::internal_error);
    static const char hex[] = "0123456789abcdef";
    std::string out = "[redacted sha256:";
    for (int i = 0; i < 4; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out + "]";
}

std::string redaction_mark(const bson_iter_t *it) {
    return redaction_mark(value_bytes(it));
}

Redactor Redactor::for_mapping(const Mapping &mapping) {
    std::vector<std::string> names;
    for (const auto &c : mapping.collections())
        for (const auto &f : c.fields)
            if (f.secret)
                names.push_back(f.stored_key);
    return Redactor(std::move(names));
}

Redactor::Redactor(std::vector<std::string> secret_names) {
    for (const auto &n : secret_names)
        names_.push_back(normalized(n));
}

bool Redactor::is_secret_key(std::string_view key) const {
    if (key_marks_secret(key))
        return true;
    std::string k = normalized(key);
    return !k.empty() && std::find(names_.begin(), names_.end(), k) != names_.end();
}

bool Redactor::path_is_secret(std::string_view path) const {
    std::size_t start = 0;
    for (;;) {
        std::size_t dot = path.find('.', start);
        if (is_secret_key(path.substr(start, dot == std::string_view::npos ? dot : dot - start)))
            return true;
        if (dot == std::string_view::npos)
            return false;
        start = dot + 1;
    }
}

// Iterative, not recursive: a document may nest thousands of levels deep,
// and a backend's stack must not depend on the input.
void Redactor::redact_into(const bson_t *src, bson_t *dst, bool) const {
    struct Frame {
        bson_iter_t it;
        bson_t *out;
        bool array;
    };
    std::deque<bson_t> children; // stable addresses for the open sub-documents
    std::vector<Frame> frames(1);
    if (!bson_iter_init(&frames[0].it, src))
        return;
    frames[0].out = dst;
    frames[0].array = false;
    while (!frames.empty()) {
        Frame &f = frames.back();
        if (!bson_iter_next(&f.it)) {
            if (frames.size() > 1) {
                bson_t *parent = frames[frames.size() - 2].out;
                bool ok = f.array ? bson_append_array_end(parent, f.out)
                                  : bson_append_document_end(parent, f.out);
                children.pop_back();
                if (!ok)
                    throw Error("redacted document is too large", sqlstate::internal_error);
            }
            frames.pop_back();
            continue;
        }
        const char *key = bson_iter_key(&f.it);
        if (!f.array && is_secret_key(key)) {
            std::string mark = redaction_mark(&f.it);
            BSON_APPEND_UTF8(f.out, key, mark.c_str());
            continue;
        }
        bool doc = BSON_ITER_HOLDS_DOCUMENT(&f.it), arr = BSON_ITER_HOLDS_ARRAY(&f.it);
        if (!doc && !arr) {
            bson_append_iter(f.out, key, -1, &f.it);
            continue;
        }
        Frame next;
        if (!bson_iter_recurse(&f.it, &next.it)) {
            bson_append_iter(f.out, key, -1, &f.it);
            continue;
        }
        children.emplace_back();
        next.out = &children.back();
        next.array = arr;
        bool ok = arr ? bson_append_array_begin(f.out, key, -1, next.out)
                      : bson_append_document_begin(f.out, key, -1, next.out);
        if (!ok) {
            children.pop_back();
            throw Error("redacted document is too large", sqlstate::internal_error);
        }
        frames.push_back(next); // invalidates f
    }
}

BsonPtr Redactor::redact(const bson_t *doc) const {
    BsonPtr out(bson_new());
    redact_into(doc, out.get(), false);
    return out;
}

void Redactor::collect(const bson_t *doc, bool inside_secret, Secrets &out) const {
    struct Frame {
        bson_iter_t it;
        bool secret;
    };
    std::vector<Frame> frames(1);
    if (!bson_iter_init(&frames[0].it, doc))
        return;
    frames[0].secret = inside_secret;
    while (!frames.empty()) {
        Frame &f = frames.back();
        if (!bson_iter_next(&f.it)) {
            frames.pop_back();
            continue;
        }
        bool secret = f.secret || is_secret_key(bson_iter_key(&f.it));
        if (secret)
            add_forms(&f.it, out);
        Frame next;
        if ((BSON_ITER_HOLDS_DOCUMENT(&f.it) || BSON_ITER_HOLDS_ARRAY(&f.it)) &&
            bson_iter_recurse(&f.it, &next.it)) {
            next.secret = secret;
            frames.push_back(next); // invalidates f
        }
    }
}

Redactor::Secrets Redactor::secrets_of(const bson_t *doc) const {
    Secrets out;
    collect(doc, false, out);
    std::stable_sort(out.begin(), out.end(),
                     [](const auto &a, const auto &b) { return a.first.size() > b.first.size(); });
    return out;
}

std::string Redactor::scrub(std::string text, const Secrets &secrets) {
    if (secrets.empty())
        return text;
    // One left-to-right pass, longest form first at each position, so a mark
    // already written is never scrubbed again.
    constexpr std::size_t short_form = 8;
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        bool replaced = false;
        for (const auto &[form, mark] : secrets) {
            if (text.compare(i, form.size(), form) != 0)
                continue;
            if (form.size() < short_form) {
                bool before_ok = i == 0 || !is_word_char(text[i - 1]) || !is_word_char(form[0]);
                std::size_t end = i + form.size();
                bool after_ok =
                    end == text.size() || !is_word_char(text[end]) || !is_word_char(form.back());
                if (!before_ok || !after_ok)
                    continue;
            }
            out += mark;
            i += form.size();
            replaced = true;
            break;
        }
        if (!replaced)
            out += text[i++];
    }
    return out;
}

} // namespace nextcrm
