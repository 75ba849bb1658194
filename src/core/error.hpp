// Errors raised by the PostgreSQL-free C++ code.
//
// The code below the wall knows nothing of ereport, so it describes a failure
// with the five-character SQLSTATE that the entry wall (pg_wall.hpp) will raise
// it with.  Keeping the code as text lets unit tests check it without a server.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace nextcrm {

// SQLSTATE codes used by this extension, as PostgreSQL spells them.
namespace sqlstate {
inline constexpr const char *internal_error = "XX000";
inline constexpr const char *fdw_error = "HV000";
inline constexpr const char *fdw_unable_to_establish_connection = "HV00N";
inline constexpr const char *fdw_invalid_option_name = "HV00D";
inline constexpr const char *fdw_option_name_not_found = "HV00J";
inline constexpr const char *fdw_invalid_attribute_value = "HV024";
inline constexpr const char *fdw_table_not_found = "HV00R";
inline constexpr const char *invalid_parameter_value = "22023";
inline constexpr const char *datatype_mismatch = "42804";
inline constexpr const char *numeric_value_out_of_range = "22003";
inline constexpr const char *invalid_text_representation = "22P02";
inline constexpr const char *untranslatable_character = "22P05";
inline constexpr const char *feature_not_supported = "0A000";
inline constexpr const char *invalid_authorization = "28000";
inline constexpr const char *insufficient_privilege = "42501";
inline constexpr const char *data_corrupted = "XX001";
inline constexpr const char *character_not_in_repertoire = "22021";
inline constexpr const char *program_limit_exceeded = "54000";
inline constexpr const char *duplicate_json_object_key_value = "22030";
inline constexpr const char *object_not_in_prerequisite_state = "55000";
inline constexpr const char *insufficient_resources = "53000";
inline constexpr const char *active_sql_transaction = "25001";
inline constexpr const char *object_in_use = "55006";
inline constexpr const char *query_canceled = "57014";
inline constexpr const char *not_null_violation = "23502";
inline constexpr const char *foreign_key_violation = "23503";
} // namespace sqlstate

// Marks a message format for translation without translating it here, as
// PostgreSQL's gettext_noop() does: the entry wall hands the format to
// errmsg(), which looks it up in the message catalog.
#define NEXTCRM_MSG(format) format

// A message as PostgreSQL translates it: a format whose only conversions are
// %s (and %% for a percent sign), marked with NEXTCRM_MSG, and the values of
// its %s, at most max_message_args (the entry wall passes that many to
// errmsg()).
inline constexpr std::size_t max_message_args = 8;

struct Message {
    const char *format;
    std::vector<std::string> args;

    template <typename... Args>
    explicit Message(const char *fmt, Args &&...values)
        : format(fmt), args{std::string(std::forward<Args>(values))...} {
        static_assert(sizeof...(Args) <= max_message_args,
                      "errmsg() gets at most max_message_args arguments here");
    }

    // The format with its arguments filled in, untranslated.
    std::string text() const {
        std::string out;
        std::size_t next = 0;
        for (const char *p = format; *p; ++p) {
            if (p[0] == '%' && p[1] == 's') {
                out += next < args.size() ? args[next++] : std::string();
                ++p;
            } else if (p[0] == '%' && p[1] == '%') {
                out += '%';
                ++p;
            } else {
                out += *p;
            }
        }
        return out;
    }
};

class Error : public std::runtime_error {
  public:
    // A message built from parts that no translator could read as one
    // sentence (a driver's text, a path): raised with errmsg_internal().
    explicit Error(const std::string &message, const char *sqlstate = sqlstate::internal_error,
                   std::string detail = {}, std::string hint = {})
        : std::runtime_error(message), sqlstate_(sqlstate), detail_(std::move(detail)),
          hint_(std::move(hint)) {}

    // A message the user reads: raised with errmsg(format, args...), so it is
    // translated.
    Error(Message message, const char *sqlstate, std::string detail = {}, std::string hint = {})
        : std::runtime_error(message.text()), sqlstate_(sqlstate), detail_(std::move(detail)),
          hint_(std::move(hint)), format_(message.format), args_(std::move(message.args)) {}

    // The same error, its message still translatable, with another detail:
    // for a caller that knows where the failure happened.
    Error with_detail(std::string detail) const {
        Error out(*this);
        out.detail_ = std::move(detail);
        return out;
    }

    const char *sqlstate() const noexcept { return sqlstate_; }
    const std::string &detail() const noexcept { return detail_; }
    const std::string &hint() const noexcept { return hint_; }
    // The untranslated format, or nullptr for an internal message.
    const char *format() const noexcept { return format_; }
    const std::vector<std::string> &args() const noexcept { return args_; }

  private:
    const char *sqlstate_;
    std::string detail_;
    std::string hint_;
    const char *format_ = nullptr;
    std::vector<std::string> args_;
};

} // namespace nextcrm
