// The tables and columns a sequence of migration scripts creates, read from
// their text, so that a profile whose mapping writes into a column its own
// migrations never create is refused when it is loaded rather than half-way
// through a migration.  PostgreSQL-free.
//
// It understands the statements migration tools write for tables (CREATE
// TABLE, ALTER TABLE ... ADD / DROP / RENAME COLUMN, ALTER TABLE ... RENAME
// TO, DROP TABLE) and skips every other statement; comments, string
// literals and dollar-quoted bodies are skipped too.  Schema qualifiers are
// dropped: the target schema is the profile's one.  The database still
// vouches for the result: the migration checks every mapped column's type
// in the catalog before it writes (migrate_schema.cpp).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

namespace nextcrm {

class DdlColumns {
  public:
    // Reads one script and applies its table statements.
    void apply(std::string_view sql);

    bool has_table(const std::string &table) const { return tables_.count(table) > 0; }
    bool has_column(const std::string &table, const std::string &column) const;

  private:
    std::map<std::string, std::set<std::string>> tables_;
};

} // namespace nextcrm
