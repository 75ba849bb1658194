// The redaction rule (core/redact.hpp): which keys are secret, marks, and
// that no secret survives redaction or scrubbing at any depth or type.
#include "core/redact.hpp"
#include "test_profile.hpp"

#include "core/mapping.hpp"

#include "bson_json.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using nextcrm::Redactor;

namespace {

std::string json_text(const bson_t *doc) {
    char *s = bson_as_canonical_extended_json(doc, nullptr);
    std::string out(s);
    bson_free(s);
    return out;
}

} // namespace

TEST(Redact, KeyNamesMarkSecretsWhateverTheirCaseAndSeparators) {
    for (const char *key : {"password",
                            "Password",
                            "oldPassword",
                            "PASSWD",
                            "pwd",
                            "db_pwd",
                            "secret",
                            "clientSecret",
                            "token",
                            "x-auth-token",
                            "refresh_token",
                            "apiKey",
                            "api_key",
                            "API-KEY",
                            "notionApiKey",
                            "notion_api_key",
                            "serviceKey",
                            "servicePassword",
                            "private_key",
                            "privateKey",
                            "credentials",
                            "awsAccessKeyId",
                            "passphrase",
                            "smtpPass",
                            "pass",
                            "Authorization",
                            "sessionCookie",
                            "DATABASE_URL",
                            "mongoConnectionString"})
        EXPECT_TRUE(nextcrm::key_marks_secret(key)) << key;
    for (const char *key :
         {"email", "name", "keywords", "description", "tags", "_id", "account", "key", "api",
          "status", "author", "passenger", "compassHeading", "passed_at"})
        EXPECT_FALSE(nextcrm::key_marks_secret(key)) << key;
}

// Spellings an independent check tried (issue 11): short forms, whole words
// that are too common inside other words, other languages and odd characters.
TEST(Redact, ShortFormsWholeWordsAndOtherScriptsMarkSecretsToo) {
    for (const char *key : {"pw",
                            "userPw",
                            "db_pw",
                            "PW",
                            "pass_word",
                            "auth",
                            "x-auth",
                            "authHeader",
                            "jwt",
                            "JWT",
                            "userJwt",
                            "otp",
                            "totpSeed",
                            "pin",
                            "pinCode",
                            "sid",
                            "sessionId",
                            "session_id",
                            "SESSION-ID",
                            "csrf",
                            "xsrfHeader",
                            "refreshToken",
                            "privateKey",
                            "clientSecret",
                            "MONGODB_URI",
                            "mongoUrl",
                            "redisUrl",
                            "dbUrl",
                            "sentryDsn",
                            "slackWebhookUrl",
                            "otpauthUrl",
                            "recoveryCodes",
                            "privKey",
                            "hmacKey",
                            "cardCvv",
                            "Passwort",
                            "mot_de_passe",
                            "contraseña",
                            "Hasło",
                            "пароль",
                            "ПАРОЛЬ",
                            "мой_пароль",
                            "密码",
                            "パスワード",
                            "비밀번호",
                            "\xef\xbd\x90\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93\xef\xbd\x97"
                            "\xef\xbd\x8f\xef\xbd\x92\xef\xbd\x84", // full-width "password"
                            "pass\xe2\x80\x8bword",                 // zero-width space
                            "PASSWORD\xc2\xad",
                            "p\xc3\xa4ssw\xc3\xb6rd", // "pässwörd"
                            "p\xd0\xb0ssword",        // Cyrillic "а"
                            "\xd1\x80"
                            "assword",      // Cyrillic "р"
                            "t\xce\xbfken", // Greek "ο"
                            "S\xc3\x89"
                            "CRET"})
        EXPECT_TRUE(nextcrm::key_marks_secret(key)) << key;
    for (const char *key :
         {"author", "authorId", "authored_at", "pinned", "spinner", "opinion", "side", "considered",
          "otherPhone", "shipping", "swpwhatever", "passport_no", "company", "websiteUrl",
          "avatarUri", "imageUrl", "dsnake", "cvvless"})
        EXPECT_FALSE(nextcrm::key_marks_secret(key)) << key;
}

// No key of the NextCRM schema is taken for a secret unless the mapping says
// so: redaction must not hide ordinary data from the side tables.
TEST(Redact, NoOrdinaryNextcrmKeyMarksASecret) {
    const nextcrm::Mapping &m = nextcrm::test::nextcrm_mapping();
    for (const auto &c : m.collections()) {
        for (const auto &f : c.fields) {
            if (!f.secret) {
                EXPECT_FALSE(nextcrm::key_marks_secret(f.stored_key))
                    << c.name << "." << f.stored_key;
            }
        }
    }
}

TEST(Redact, TheMappingsSecretFieldsAreSecretNames) {
    Redactor r = Redactor::for_mapping(nextcrm::test::nextcrm_mapping());
    for (const char *key :
         {"password", "api_key", "notion_api_key", "serviceKey", "servicePassword"})
        EXPECT_TRUE(r.is_secret_key(key)) << key;
    EXPECT_TRUE(r.path_is_secret("legacy.password"));
    EXPECT_TRUE(r.path_is_secret("apiKeys.0.value"));
    EXPECT_FALSE(r.path_is_secret("tags.0"));
}

TEST(Redact, MarkIsAShortSha256OfTheValuesBytes) {
    // sha256("abc") = ba7816bf...
    EXPECT_EQ(nextcrm::redaction_mark("abc"), "[redacted sha256:ba7816bf]");
    auto doc = json(R"({"s": "abc"})");
    bson_iter_t it;
    ASSERT_TRUE(bson_iter_init_find(&it, doc.get(), "s"));
    EXPECT_EQ(nextcrm::redaction_mark(&it), "[redacted sha256:ba7816bf]");
}

TEST(Redact, EverySecretAtEveryDepthAndTypeIsReplacedAndNothingElse) {
    Redactor r = Redactor::for_mapping(nextcrm::test::nextcrm_mapping());
    auto doc = json(R"({
        "_id": {"$oid": "65a1f0c2e4b0a1b2c3d4a061"},
        "email": "keep@example.test",
        "password": {"$numberLong": "12345678915"},
        "legacy": {"password": "MARK-NESTED-1", "note": "keep-1"},
        "apiKeys": [{"api_key": "MARK-ARRAY-2"}],
        "deep": {"a": {"b": {"c": [{"d": {"oldPassword": {"$numberDouble": "4.25"}}}]}}},
        "notionApiKey": {"$binary": {"base64": "TUFSSy1CSU4tMw==", "subType": "00"}},
        "config": {"Service-Key": {"x": "MARK-SUB-4", "y": ["MARK-SUB-5"]}},
        "tags": ["keep-2", "keep-3"]
    })");
    auto safe = r.redact(doc.get());
    std::string out = json_text(safe.get());
    for (const char *gone : {"12345678915", "MARK-NESTED-1", "MARK-ARRAY-2", "4.25",
                             "TUFSSy1CSU4tMw", "MARK-SUB-4", "MARK-SUB-5"})
        EXPECT_EQ(out.find(gone), std::string::npos) << gone << " in " << out;
    for (const char *kept : {"keep@example.test", "keep-1", "keep-2", "keep-3",
                             "65a1f0c2e4b0a1b2c3d4a061", "\"note\"", "\"oldPassword\""})
        EXPECT_NE(out.find(kept), std::string::npos) << kept << " missing from " << out;
    EXPECT_NE(out.find("[redacted sha256:"), std::string::npos);
}

TEST(Redact, DeepNestingNeedsNoDeepStack) {
    const int depth = 50000;
    // Written byte by byte: appending documents level by level would copy
    // quadratically, and JSON parsers limit nesting.
    bson_t *inner = bson_new();
    BSON_APPEND_UTF8(inner, "token", "MARK-DEEP");
    std::vector<std::uint8_t> bytes;
    auto put_len = [&bytes](std::uint32_t n) {
        for (int i = 0; i < 4; ++i)
            bytes.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    };
    for (int level = depth; level > 0; --level) {
        put_len(inner->len + 8u * static_cast<std::uint32_t>(level));
        bytes.insert(bytes.end(), {0x03, 'a', 0});
    }
    bytes.insert(bytes.end(), bson_get_data(inner), bson_get_data(inner) + inner->len);
    bytes.insert(bytes.end(), depth, 0);
    bson_destroy(inner);
    bson_t *levels = bson_new_from_data(bytes.data(), bytes.size());
    ASSERT_NE(levels, nullptr);
    Redactor r;
    auto safe = r.redact(levels);
    EXPECT_EQ(safe->len, levels->len + std::string("[redacted sha256:00000000]").size() -
                             std::string("MARK-DEEP").size());
    auto secrets = r.secrets_of(levels);
    ASSERT_FALSE(secrets.empty());
    EXPECT_EQ(secrets.front().second.substr(0, 17), "[redacted sha256:");
    bson_destroy(levels);
}

TEST(Redact, ScrubRemovesEveryFormOfEverySecretFromText) {
    Redactor r = Redactor::for_mapping(nextcrm::test::nextcrm_mapping());
    auto doc = json(R"({
        "password": {"$numberLong": "12345678915"},
        "legacy": {"password": "quote\"d-MARK"},
        "zip": "1234",
        "x": {"secret": "ab"}
    })");
    auto secrets = r.secrets_of(doc.get());
    std::string text = "Failing row contains (12345678915, x). field \"password\" holds "
                       "{ \"$numberLong\" : \"12345678915\" }; legacy: \"quote\\\"d-MARK\" and "
                       "quote\"d-MARK; short: \"ab\" but not about or tab; zip 1234";
    std::string out = Redactor::scrub(text, secrets);
    EXPECT_EQ(out.find("12345678915"), std::string::npos) << out;
    EXPECT_EQ(out.find("d-MARK"), std::string::npos) << out;
    EXPECT_EQ(out.find("\"ab\""), std::string::npos) << out;
    EXPECT_NE(out.find("about or tab"), std::string::npos) << out;
    EXPECT_NE(out.find("1234"), std::string::npos) << "zip is not a secret key: " << out;
}
