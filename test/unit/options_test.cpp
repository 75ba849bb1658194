#include "core/error.hpp"
#include "core/mongo_client.hpp"
#include "core/options.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

using nextcrm::OptionContext;

namespace {

std::string sqlstate_of(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const nextcrm::Error &e) {
        return e.sqlstate();
    }
    return "none";
}

} // namespace

TEST(OptionCatalog, EachOptionBelongsToItsContext) {
    EXPECT_TRUE(nextcrm::option_is_valid("uri", OptionContext::Server));
    EXPECT_TRUE(nextcrm::option_is_valid("dump_dir", OptionContext::Server));
    EXPECT_TRUE(nextcrm::option_is_valid("password", OptionContext::UserMapping));
    EXPECT_TRUE(nextcrm::option_is_valid("collection", OptionContext::Table));
    EXPECT_TRUE(nextcrm::option_is_valid("field", OptionContext::Column));
    EXPECT_FALSE(nextcrm::option_is_valid("password", OptionContext::Server));
    EXPECT_FALSE(nextcrm::option_is_valid("username", OptionContext::Server));
    EXPECT_FALSE(nextcrm::option_is_valid("uri", OptionContext::UserMapping));
    EXPECT_FALSE(nextcrm::option_is_valid("URI", OptionContext::Server));
    EXPECT_FALSE(nextcrm::option_is_valid("", OptionContext::Wrapper));
}

TEST(OptionCatalog, HintListsExactlyTheValidNames) {
    EXPECT_EQ(nextcrm::valid_option_names(OptionContext::UserMapping), "username, password");
    EXPECT_EQ(nextcrm::valid_option_names(OptionContext::Wrapper), "");
    EXPECT_EQ(nextcrm::valid_option_names(OptionContext::Table),
              "collection, database, batch_size");
}

TEST(OptionValues, UriMustBeMongoWithoutCredentials) {
    EXPECT_NO_THROW(nextcrm::check_option_value("uri", "mongodb://127.0.0.1:27017"));
    EXPECT_NO_THROW(nextcrm::check_option_value("uri", "mongodb://h1,h2/?replicaSet=rs&tls=true"));
    EXPECT_EQ(sqlstate_of([] { nextcrm::check_option_value("uri", "postgres://x"); }), "HV024");
    EXPECT_EQ(sqlstate_of([] { nextcrm::check_option_value("uri", "mongodb://u:secret@h/"); }),
              "HV024");
    EXPECT_EQ(sqlstate_of([] { nextcrm::check_option_value("uri", "mongodb://"); }), "HV024");
}

TEST(OptionValues, TimeoutsArePositiveIntegers) {
    EXPECT_NO_THROW(nextcrm::check_option_value("socket_timeout_ms", "1500"));
    for (const char *bad : {"0", "-1", "12ms", "", "99999999999"})
        EXPECT_EQ(sqlstate_of([bad] { nextcrm::check_option_value("connect_timeout_ms", bad); }),
                  "HV024")
            << bad;
}

TEST(SourceOptions, NeedsExactlyOneSourceAndADatabaseForLiveServers) {
    nextcrm::SourceOptions none;
    EXPECT_EQ(sqlstate_of([&] { none.check_complete(); }), "HV00J");

    nextcrm::SourceOptions live;
    live.set("uri", "mongodb://127.0.0.1");
    EXPECT_EQ(sqlstate_of([&] { live.check_complete(); }), "HV00J");
    live.set("database", "nextcrm");
    EXPECT_NO_THROW(live.check_complete());

    nextcrm::SourceOptions dump;
    dump.set("dump_dir", "/backups/x");
    EXPECT_NO_THROW(dump.check_complete());
}

TEST(SourceOptions, EffectiveUriCarriesCredentialsAndEveryTimeout) {
    nextcrm::SourceOptions opts;
    opts.set("uri", "mongodb://127.0.0.1:27017/?socketTimeoutMS=5");
    opts.set("database", "nextcrm");
    opts.set("username", "crm");
    opts.set("password", "p@ss");
    opts.set("connect_timeout_ms", "1234");
    nextcrm::UriPtr uri = nextcrm::driver_uri(opts);
    EXPECT_STREQ(mongoc_uri_get_username(uri.get()), "crm");
    EXPECT_STREQ(mongoc_uri_get_password(uri.get()), "p@ss");
    EXPECT_EQ(mongoc_uri_get_option_as_int32(uri.get(), MONGOC_URI_CONNECTTIMEOUTMS, 0), 1234);
    EXPECT_EQ(mongoc_uri_get_option_as_int32(uri.get(), MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0),
              nextcrm::default_server_selection_timeout_ms);
    // The URI's own setting wins over the default.
    EXPECT_EQ(mongoc_uri_get_option_as_int32(uri.get(), MONGOC_URI_SOCKETTIMEOUTMS, 0), 5);
}

TEST(Client, UnreachableServerFailsWithinTheTimeout) {
    nextcrm::SourceOptions opts;
    opts.set("uri", "mongodb://127.0.0.1:1/");
    opts.set("database", "nextcrm");
    opts.set("server_selection_timeout_ms", "200");
    nextcrm::Client client(opts);
    EXPECT_EQ(sqlstate_of([&] { client.ping(); }), "HV00N");
}
