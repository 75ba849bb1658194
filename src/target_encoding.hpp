// The target database's encoding, for the text the migration writes.
//
// libbson hands out UTF-8; a target created with another encoding (LATIN1,
// EUC_JP, ...) must receive its own bytes, as the FDW's rows do through
// pg_any_to_server().  PostgreSQL's conversion routines decide what a
// character becomes, and a character the encoding lacks is reported, never
// replaced: the document holding it is an error row naming its field.
#pragma once

#include "pg_wall.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace nextcrm {

class TargetEncoding {
  public:
    // Reads the database's encoding and looks its conversion from UTF-8 up.
    // Needs a transaction.  SQL_ASCII is refused (refuse_sql_ascii_target).
    TargetEncoding();

    // Whether text is written as libbson gives it (a UTF-8 database).
    bool identity() const { return identity_; }

    // The encoding's name, for messages ("LATIN1").
    const char *name() const { return name_; }

    // `utf8` in the database's encoding, or nullopt when one of its
    // characters has no form there.
    std::optional<std::string> convert(std::string_view utf8) const;

    // For the side tables' names and ids (an error row's source_id, field,
    // message): `utf8` converted, each character the encoding lacks written
    // as \uXXXX (\UXXXXXXXX above U+FFFF), so the row can still be written
    // and still says which character it was.
    std::string escaped(std::string_view utf8) const;

    // The first character of `utf8` the encoding lacks, as U+XXXX (empty
    // when there is none).
    std::string first_unrepresentable(std::string_view utf8) const;

    // Text read back from the database (a checkpoint's _id, an error row's
    // source_id) in UTF-8 again, to compare with what libbson reads.
    std::string to_utf8(std::string_view server_text) const;

  private:
    bool identity_;
    int encoding_;
    Oid proc_ = InvalidOid;
    const char *name_;
};

// Refuses a SQL_ASCII database: it stores bytes without knowing their
// characters, so there is nothing to convert the source's UTF-8 to, and a
// later dump and restore into a real encoding would trip over them.
void refuse_sql_ascii_target();

} // namespace nextcrm
