#include "core/profile.hpp"

#include "core/app_migrations.hpp"
#include "core/csv.hpp"
#include "core/ddl_columns.hpp"
#include "core/error.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace nextcrm {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_file(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad())
        return std::nullopt;
    return out.str();
}

std::string trim(const std::string &s) {
    auto begin = s.find_first_not_of(" \t\r");
    if (begin == std::string::npos)
        return "";
    return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

bool is_hex64(const std::string &s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

} // namespace

std::vector<std::string> profile_names(const std::string &base) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory())
            names.push_back(it->path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

bool is_directory(const std::string &dir) {
    std::error_code ec;
    return fs::is_directory(dir, ec);
}

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
        throw Error("could not compute a sha256 digest");
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

Profile Profile::load(const std::string &dir, const std::string &name) {
    Profile p;
    p.dir_ = dir;
    // Every refusal names the profile, then the file, line and field.
    auto refuse = [&name, &dir](const std::string &what) -> Error {
        return Error(Message(NEXTCRM_MSG("invalid profile \"%s\": %s"), name, what),
                     sqlstate::invalid_parameter_value, "The profile was read from " + dir + ".");
    };
    auto at = [](const std::string &file, std::size_t line, const std::string &field) {
        return file + " line " + std::to_string(line) + ", field \"" + field + "\"";
    };

    std::optional<std::string> conf = read_file(fs::path(dir) / "profile.conf");
    if (!conf)
        throw refuse("profile.conf is missing or unreadable");
    std::istringstream lines(*conf);
    std::string line;
    std::size_t number = 0, name_line = 0;
    std::vector<std::pair<std::size_t, std::string>> listed; // line, "name sha256"
    std::string migrations_from = "profile";
    while (std::getline(lines, line)) {
        ++number;
        std::string text = trim(line);
        if (text.empty() || text[0] == '#')
            continue;
        auto eq = text.find('=');
        if (eq == std::string::npos)
            throw refuse("profile.conf line " + std::to_string(number) +
                         ": expected \"key = value\"");
        std::string key = trim(text.substr(0, eq)), value = trim(text.substr(eq + 1));
        if (key == "name") {
            p.name_ = value;
            name_line = number;
        } else if (key == "title")
            p.title_ = value;
        else if (key == "version")
            p.version_ = value;
        else if (key == "description")
            p.description_ = value;
        else if (key == "migrations_from")
            migrations_from = value;
        else if (key == "migration")
            listed.emplace_back(number, value);
        else if (key == "requires_postgresql") {
            if (value.empty() || value.size() > 3 ||
                value.find_first_not_of("0123456789") != std::string::npos)
                throw refuse(at("profile.conf", number, key) +
                             ": expected a major version number such as 17");
            p.required_postgresql_ = std::stoi(value);
        } else if (key == "requires_extension") {
            if (value.empty() || value.find_first_of(" \t\"'") != std::string::npos)
                throw refuse(at("profile.conf", number, key) + ": expected an extension name");
            p.required_extensions_.push_back(value);
        } else
            throw refuse(at("profile.conf", number, key) + ": unknown key");
    }
    if (p.name_ != name)
        throw refuse(name_line ? at("profile.conf", name_line, "name") + ": names profile \"" +
                                     p.name_ + "\", not the directory's name"
                               : std::string("profile.conf has no name"));
    if (p.title_.empty())
        p.title_ = p.name_;
    if (migrations_from == "app_dir")
        p.from_app_ = true;
    else if (migrations_from != "profile")
        throw Error(Message(NEXTCRM_MSG("profile \"%s\" takes its migrations from \"%s\", which "
                                        "this version of nextcrm_mongo_fdw does not support"),
                            name, migrations_from),
                    sqlstate::feature_not_supported);

    // The migrations: exactly those listed, in the manifest's order, each
    // with the bytes the manifest's checksum vouches for.
    std::set<std::string> names;
    for (const auto &[at_line, value] : listed) {
        std::istringstream words(value);
        ProfileMigration m;
        std::string extra;
        words >> m.name >> m.sha256 >> extra;
        if (m.name.empty() || !is_hex64(m.sha256) || !extra.empty())
            throw refuse(at("profile.conf", at_line, "migration") +
                         ": expected \"<directory> <sha256 in lower-case hex>\"");
        if (m.name.find('/') != std::string::npos || m.name == "." || m.name == "..")
            throw refuse(at("profile.conf", at_line, "migration") + ": \"" + m.name +
                         "\" is not a directory name");
        if (!names.insert(m.name).second)
            throw refuse(at("profile.conf", at_line, "migration") + ": \"" + m.name +
                         "\" is listed twice");
        if (p.from_app_) {
            // Prisma applies a checkout's folders in the order of their
            // names; the manifest lists them in that order.
            if (!p.migrations_.empty() && !(p.migrations_.back().name < m.name))
                throw refuse(at("profile.conf", at_line, "migration") + ": \"" + m.name +
                             "\" is not listed in the order of the folders' names, the order "
                             "in which Prisma applies them");
            p.migrations_.push_back(std::move(m));
            continue;
        }
        std::string file = "migrations/" + m.name + "/migration.sql";
        std::optional<std::string> sql = read_file(fs::path(dir) / file);
        if (!sql)
            throw refuse(at("profile.conf", at_line, "migration") + ": " + file +
                         " is missing or unreadable");
        std::string actual = sha256_hex(*sql);
        if (actual != m.sha256)
            throw refuse(at("profile.conf", at_line, "migration") + ": " + file + " has sha256 " +
                         actual + ", the manifest lists " + m.sha256);
        m.sql = std::move(*sql);
        p.migrations_.push_back(std::move(m));
    }
    if (p.migrations_.empty())
        throw refuse("profile.conf lists no migration");
    std::error_code ec;
    for (fs::directory_iterator it(fs::path(dir) / "migrations", ec), end;
         !p.from_app_ && !ec && it != end; it.increment(ec))
        if (it->is_directory() && !names.count(it->path().filename().string()))
            throw refuse("migrations/" + it->path().filename().string() +
                         " is not listed in profile.conf");

    std::optional<std::string> mapping_csv = read_file(fs::path(dir) / "mapping.csv");
    std::optional<std::string> enums_csv = read_file(fs::path(dir) / "mongo-enums.csv");
    // Optional: the value maps lookups apply (value-maps.csv: map,from,to).
    std::optional<std::string> maps_csv = read_file(fs::path(dir) / "value-maps.csv");
    if (!mapping_csv)
        throw refuse("mapping.csv is missing or unreadable");
    try {
        p.mapping_.emplace(*mapping_csv, enums_csv.value_or("enum,values\n"), maps_csv.value_or(""),
                           "mapping.csv", "mongo-enums.csv", "value-maps.csv");
    } catch (const Error &e) {
        throw refuse(e.what());
    }
    p.fields_csv_ = read_file(fs::path(dir) / "mongo-fields.csv");

    if (!p.from_app_)
        p.check_mapped_columns();

    // Validation rules: a date range names two mapped timestamp columns of one
    // table; an ON DELETE action names a mapped reference column.
    if (std::optional<std::string> rules_csv = read_file(fs::path(dir) / "rules.csv")) {
        std::vector<std::size_t> rule_lines;
        std::vector<CsvRow> rows = parse_csv(*rules_csv, &rule_lines);
        const char *columns[] = {"rule", "table", "first", "second"};
        if (rows.empty() || rows[0].size() < 4 ||
            !std::equal(std::begin(columns), std::end(columns), rows[0].begin()))
            throw refuse("rules.csv line 1: the header must begin rule,table,first,second");
        for (std::size_t i = 1; i < rows.size(); ++i) {
            const CsvRow &r = rows[i];
            if (r.size() == 1 && r[0].empty())
                continue;
            if (r.size() < 4)
                throw refuse(at("rules.csv", rule_lines[i], columns[r.size()]) +
                             ": missing (the row is short)");
            ProfileRule rule{r[0], r[1], r[2], r[3]};
            if (rule.rule != "date_range" && rule.rule != "on_delete")
                throw refuse(at("rules.csv", rule_lines[i], "rule") + ": unknown rule \"" +
                             rule.rule + "\"");
            const CollectionMapping *c = p.mapping_->collection(rule.table);
            if (!c)
                throw refuse(at("rules.csv", rule_lines[i], "table") + ": unknown collection \"" +
                             rule.table + "\"");
            if (rule.rule == "on_delete") {
                // A reference whose key's ON DELETE action is not the default
                // the validator expects (RESTRICT when required, SET NULL
                // when optional): first names the reference's column, second
                // the action.
                bool found = false;
                for (const auto &f : c->fields)
                    found = found || (f.kind == FieldKind::Ref && f.target_column == rule.first);
                if (!found)
                    throw refuse(at("rules.csv", rule_lines[i], "first") + ": \"" + rule.first +
                                 "\" is not a mapped reference column of \"" + rule.table + "\"");
                // none: the target declares no foreign key for it (a loose
                // reference; the migration still resolves it or records it).
                static const char *actions[] = {"cascade",     "restrict",  "set_null",
                                                "set_default", "no_action", "none"};
                if (std::find(std::begin(actions), std::end(actions), rule.second) ==
                    std::end(actions))
                    throw refuse(at("rules.csv", rule_lines[i], "second") +
                                 ": unknown ON DELETE action \"" + rule.second +
                                 "\" (cascade, restrict, set_null, set_default, no_action, none)");
                p.rules_.push_back(std::move(rule));
                continue;
            }
            for (const char *which : {"first", "second"}) {
                const std::string &column = which[0] == 'f' ? rule.first : rule.second;
                bool found = false;
                for (const auto &f : c->fields)
                    found = found || (f.kind == FieldKind::Timestamp && f.target_column == column);
                if (!found)
                    throw refuse(at("rules.csv", rule_lines[i], which) + ": \"" + column +
                                 "\" is not a mapped timestamp column of \"" + rule.table + "\"");
            }
            p.rules_.push_back(std::move(rule));
        }
    }
    return p;
}

Profile Profile::with_app_migrations(const std::string &app_dir) const {
    Profile p = *this;
    p.migrations_ = read_app_migrations(app_dir, migrations_, name_, title_);
    p.check_mapped_columns();
    return p;
}

void Profile::check_mapped_columns() const {
    auto refuse = [this](const std::string &what) -> Error {
        return Error(Message(NEXTCRM_MSG("invalid profile \"%s\": %s"), name_, what),
                     sqlstate::invalid_parameter_value, "The profile was read from " + dir_ + ".");
    };
    auto at = [](const std::string &file, std::size_t line, const std::string &field) {
        return file + " line " + std::to_string(line) + ", field \"" + field + "\"";
    };
    // Every mapped column exists once the migrations have run.
    DdlColumns ddl;
    for (const auto &m : migrations_)
        ddl.apply(m.sql);
    for (const auto &c : mapping_->collections())
        for (const auto &f : c.fields) {
            auto need = [&](const std::string &column, const char *field) {
                if (!ddl.has_table(f.target_table))
                    throw refuse(at("mapping.csv", f.line, "target_table") + ": table \"" +
                                 f.target_table + "\" is not created by the profile's migrations");
                if (!ddl.has_column(f.target_table, column))
                    throw refuse(at("mapping.csv", f.line, field) + ": column \"" + column +
                                 "\" of table \"" + f.target_table +
                                 "\" is not created by the profile's migrations");
            };
            if (f.kind == FieldKind::Kept || f.kind == FieldKind::Merged)
                continue; // no target
            if (f.kind != FieldKind::Junction && f.target_table != c.name)
                throw refuse(at("mapping.csv", f.line, "target_table") + ": \"" + f.target_table +
                             "\" is not the collection's own table \"" + c.name + "\"");
            need(f.target_column, "target_column");
            if (f.kind == FieldKind::Junction)
                need(f.owner_column, "owner_column");
            if (!f.route_column.empty())
                need(f.route_column, "special");
            if (f.kind == FieldKind::Lookup)
                for (const std::string *column : {&f.lookup_match, &f.lookup_result})
                    if (!ddl.has_column(f.lookup_table, *column))
                        throw refuse(at("mapping.csv", f.line, "special") + ": lookup column \"" +
                                     *column + "\" of table \"" + f.lookup_table +
                                     "\" is not created by the profile's migrations");
        }
}

} // namespace nextcrm
