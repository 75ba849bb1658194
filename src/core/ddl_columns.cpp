#include "core/ddl_columns.hpp"

#include <cctype>
#include <vector>

namespace nextcrm {

namespace {

struct Token {
    std::string text; // identifiers as PostgreSQL folds them; keywords upper case
    bool ident = false;
    bool quoted = false;
};

using Statement = std::vector<Token>;

std::string upper(std::string s) {
    for (char &c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string lower(std::string s) {
    for (char &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Splits a script into statements of tokens; what cannot name a table or a
// column (literals, comments, function bodies) is dropped on the way.
std::vector<Statement> statements(std::string_view sql) {
    std::vector<Statement> out(1);
    std::size_t i = 0, n = sql.size();
    while (i < n) {
        char c = sql[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
            while (i < n && sql[i] != '\n')
                ++i;
        } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
            std::size_t end = sql.find("*/", i + 2);
            i = end == std::string_view::npos ? n : end + 2;
        } else if (c == '\'') {
            for (++i; i < n; ++i)
                if (sql[i] == '\'') {
                    if (i + 1 < n && sql[i + 1] == '\'')
                        ++i;
                    else
                        break;
                }
            ++i;
        } else if (c == '"') {
            std::string name;
            for (++i; i < n; ++i) {
                if (sql[i] == '"') {
                    if (i + 1 < n && sql[i + 1] == '"')
                        ++i;
                    else
                        break;
                }
                name += sql[i];
            }
            ++i;
            out.back().push_back({name, true, true});
        } else if (c == '$') {
            // $tag$ ... $tag$ (a function body), or a parameter such as $1.
            std::size_t j = i + 1;
            while (j < n && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_'))
                ++j;
            bool tag = j < n && sql[j] == '$' &&
                       !(j > i + 1 && std::isdigit(static_cast<unsigned char>(sql[i + 1])));
            if (tag) {
                std::string_view delimiter = sql.substr(i, j - i + 1);
                std::size_t end = sql.find(delimiter, j + 1);
                i = end == std::string_view::npos ? n : end + delimiter.size();
            } else {
                i = j;
            }
        } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::size_t start = i;
            while (i < n && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_' ||
                             sql[i] == '$'))
                ++i;
            std::string word(sql.substr(start, i - start));
            out.back().push_back({lower(word), true, false});
        } else if (c == ';') {
            if (!out.back().empty())
                out.emplace_back();
            ++i;
        } else {
            out.back().push_back({std::string(1, c), false, false});
            ++i;
        }
    }
    return out;
}

bool is_word(const Statement &s, std::size_t i, const char *keyword) {
    return i < s.size() && s[i].ident && !s[i].quoted && upper(s[i].text) == keyword;
}

// A possibly schema-qualified name at s[i]: its last part; i moves past it.
std::string qualified_name(const Statement &s, std::size_t &i) {
    std::string name;
    while (i < s.size() && s[i].ident) {
        name = s[i].text;
        ++i;
        if (i < s.size() && s[i].text == "." && !s[i].ident)
            ++i;
        else
            break;
    }
    return name;
}

void skip_words(const Statement &s, std::size_t &i, std::initializer_list<const char *> words) {
    for (const char *w : words) {
        if (!is_word(s, i, w))
            return;
        ++i;
    }
}

// Top-level comma-separated pieces of s[from, to), at parenthesis depth 0.
std::vector<std::pair<std::size_t, std::size_t>> pieces(const Statement &s, std::size_t from,
                                                        std::size_t to) {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    int depth = 0;
    std::size_t start = from;
    for (std::size_t i = from; i < to; ++i) {
        if (s[i].ident)
            continue;
        if (s[i].text == "(")
            ++depth;
        else if (s[i].text == ")")
            --depth;
        else if (s[i].text == "," && depth == 0) {
            out.emplace_back(start, i);
            start = i + 1;
        }
    }
    out.emplace_back(start, to);
    return out;
}

bool is_constraint_word(const Token &t) {
    if (!t.ident || t.quoted)
        return false;
    std::string w = upper(t.text);
    return w == "CONSTRAINT" || w == "PRIMARY" || w == "UNIQUE" || w == "FOREIGN" || w == "CHECK" ||
           w == "EXCLUDE" || w == "LIKE";
}

} // namespace

void DdlColumns::apply(std::string_view sql) {
    for (const Statement &s : statements(sql)) {
        std::size_t i = 0;
        if (is_word(s, 0, "CREATE")) {
            i = 1;
            skip_words(s, i, {"UNLOGGED"});
            if (!is_word(s, i, "TABLE"))
                continue;
            ++i;
            skip_words(s, i, {"IF", "NOT", "EXISTS"});
            std::string table = qualified_name(s, i);
            if (table.empty() || i >= s.size() || s[i].text != "(" || s[i].ident)
                continue;
            std::size_t close = i + 1;
            for (int depth = 1; close < s.size(); ++close) {
                if (s[close].ident)
                    continue;
                if (s[close].text == "(")
                    ++depth;
                else if (s[close].text == ")" && --depth == 0)
                    break;
            }
            auto &columns = tables_[table];
            for (auto [from, to] : pieces(s, i + 1, close))
                if (from < to && s[from].ident && !is_constraint_word(s[from]))
                    columns.insert(s[from].text);
        } else if (is_word(s, 0, "ALTER") && is_word(s, 1, "TABLE")) {
            i = 2;
            skip_words(s, i, {"IF", "EXISTS"});
            skip_words(s, i, {"ONLY"});
            std::string table = qualified_name(s, i);
            if (table.empty())
                continue;
            for (auto [from, to] : pieces(s, i, s.size())) {
                std::size_t k = from;
                if (is_word(s, k, "ADD")) {
                    ++k;
                    if (k < to && is_constraint_word(s[k]))
                        continue;
                    skip_words(s, k, {"COLUMN"});
                    skip_words(s, k, {"IF", "NOT", "EXISTS"});
                    if (k < to && s[k].ident)
                        tables_[table].insert(s[k].text);
                } else if (is_word(s, k, "DROP")) {
                    ++k;
                    if (is_word(s, k, "CONSTRAINT"))
                        continue;
                    skip_words(s, k, {"COLUMN"});
                    skip_words(s, k, {"IF", "EXISTS"});
                    if (k < to && s[k].ident)
                        tables_[table].erase(s[k].text);
                } else if (is_word(s, k, "RENAME")) {
                    ++k;
                    if (is_word(s, k, "TO") && k + 1 < to) {
                        auto node = tables_.extract(table);
                        if (node) {
                            node.key() = s[k + 1].text;
                            tables_.insert(std::move(node));
                        }
                        break;
                    }
                    if (is_word(s, k, "CONSTRAINT"))
                        continue;
                    skip_words(s, k, {"COLUMN"});
                    if (k + 2 < to && s[k].ident && is_word(s, k + 1, "TO")) {
                        tables_[table].erase(s[k].text);
                        tables_[table].insert(s[k + 2].text);
                    }
                }
            }
        } else if (is_word(s, 0, "DROP") && is_word(s, 1, "TABLE")) {
            i = 2;
            skip_words(s, i, {"IF", "EXISTS"});
            for (auto [from, to] : pieces(s, i, s.size())) {
                std::size_t k = from;
                std::string table = qualified_name(s, k);
                tables_.erase(table);
                (void)to;
            }
        }
    }
}

bool DdlColumns::has_column(const std::string &table, const std::string &column) const {
    auto it = tables_.find(table);
    return it != tables_.end() && it->second.count(column) > 0;
}

} // namespace nextcrm
