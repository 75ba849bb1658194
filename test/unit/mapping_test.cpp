// What a partial run may touch: the collections one references (which must
// be complete before it migrates) and the ones that reference it (which a
// restart of it empties too), read from the mapping's references.
#include "core/mapping.hpp"
#include "test_profile.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

using nextcrm::Mapping;

namespace {

using Names = std::vector<std::string>;

// The references of one collection as the mapping file lists them.
std::set<std::string> direct_refs(const Mapping &m, const std::string &name) {
    const auto *c = m.collection(name);
    return {c->depends_on.begin(), c->depends_on.end()};
}

} // namespace

TEST(MappingReferences, TasksNeedUsersBoardsAndSectionsInThatOrder) {
    const Mapping &m = nextcrm::test::nextcrm_mapping();
    EXPECT_EQ(m.references_of("Tasks"), (Names{"Users", "Boards", "Sections"}));
    EXPECT_EQ(m.references_of("Sections"), (Names{"Users", "Boards"}));
    EXPECT_EQ(m.references_of("Users"), Names{});
    EXPECT_EQ(m.references_of("TodoList"), Names{});
    EXPECT_EQ(m.references_of("NoSuchThing"), Names{});
}

TEST(MappingReferences, ARestartReachesEveryCollectionThatReferencesIt) {
    const Mapping &m = nextcrm::test::nextcrm_mapping();
    EXPECT_EQ(m.dependents_of("TodoList"), Names{"TodoList"});
    EXPECT_EQ(m.dependents_of("Boards"), (Names{"Boards", "Sections", "Tasks", "tasksComments"}));
    EXPECT_EQ(m.dependents_of("NoSuchThing"), Names{});
    // Everything but collections without references to Users, directly or not.
    Names users = m.dependents_of("Users");
    EXPECT_EQ(users.front(), "Users");
    EXPECT_NE(std::find(users.begin(), users.end(), "tasksComments"), users.end());
    EXPECT_EQ(std::find(users.begin(), users.end(), "TodoList"), users.end());
}

// For every pair: b is among a's references exactly when a is among b's
// dependents, and both follow the transitive closure of the direct lists.
TEST(MappingReferences, ReferencesAndDependentsAreTheSameRelation) {
    const Mapping &m = nextcrm::test::nextcrm_mapping();
    std::map<std::string, std::set<std::string>> closure;
    for (const auto &c : m.collections()) { // dependency order: references first
        auto &mine = closure[c.name];
        for (const auto &d : direct_refs(m, c.name)) {
            mine.insert(d);
            mine.insert(closure[d].begin(), closure[d].end());
        }
    }
    for (const auto &a : m.collections()) {
        Names refs = m.references_of(a.name);
        EXPECT_EQ(std::set<std::string>(refs.begin(), refs.end()), closure[a.name]) << a.name;
        for (const auto &b : m.collections()) {
            Names deps = m.dependents_of(b.name);
            bool a_depends_on_b = std::find(deps.begin(), deps.end(), a.name) != deps.end();
            EXPECT_EQ(a_depends_on_b, a.name == b.name || closure[a.name].count(b.name) > 0)
                << a.name << " / " << b.name;
        }
    }
}
