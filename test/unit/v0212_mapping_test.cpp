// The nextcrm-v0.21.2 profile's mapping (profiles/nextcrm-v0.21.2): every
// stored field of the MongoDB-era schema has exactly one row, each with a
// place in v0.21.2's migration-built schema or kept aside with a reason
// (UPSTREAM-v0.21.2.md §3), and the mapping is checked against the
// release's own migrations.
#include "core/csv.hpp"
#include "core/profile.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace nextcrm;

namespace {

const std::string profile_dir = NEXTCRM_SOURCE_DIR "/profiles/nextcrm-v0.21.2";
const std::string app_dir = "/work/shared/fixtures/nextcrm-app-v0.21.2";

const Profile &profile() {
    static const Profile p =
        Profile::load(profile_dir, "nextcrm-v0.21.2").with_app_migrations(app_dir);
    return p;
}

} // namespace

TEST(V0212Mapping, EveryStoredFieldHasOneRow) {
    std::ifstream in(profile_dir + "/mongo-fields.csv");
    std::stringstream text;
    text << in.rdbuf();
    std::vector<CsvRow> rows = parse_csv(text.str());
    const CsvRow &header = rows.front();
    auto col = [&](const char *name) {
        return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) -
                                        header.begin());
    };
    std::size_t c_model = col("model"), c_key = col("stored_key"), c_kind = col("kind");
    std::size_t stored = 0;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        const CsvRow &r = rows[i];
        if (r.size() <= c_kind || r[c_kind].rfind("relation", 0) == 0)
            continue; // a virtual relation field: not stored
        ++stored;
        const CollectionMapping *c = profile().mapping().collection(r[c_model]);
        ASSERT_NE(c, nullptr) << r[c_model];
        EXPECT_NE(c->find(r[c_key]), nullptr) << r[c_model] << "." << r[c_key];
    }
    EXPECT_EQ(stored, 409u);
    std::size_t mapped = 0;
    for (const auto &c : profile().mapping().collections())
        for (const auto &f : c.fields)
            mapped += f.kind != FieldKind::Derive;
    EXPECT_EQ(mapped, 409u);
}

TEST(V0212Mapping, CollectionsWithNoPlaceAreKeptWholeAndTheRestHaveTables) {
    std::set<std::string> whole;
    for (const auto &c : profile().mapping().collections())
        if (c.kept_whole) {
            whole.insert(c.name);
            EXPECT_FALSE(c.kept_reason.empty()) << c.name;
        }
    EXPECT_EQ(whole, (std::set<std::string>{"Invoices", "gpt_models", "modulStatus", "openAi_keys",
                                            "system_Modules_Enabled"}));
    EXPECT_EQ(profile().mapping().collections().size(), 29u);
}

TEST(V0212Mapping, TheTenJoinTablesHaveTheirNamedColumns) {
    std::map<std::string, std::string> tables;
    for (const auto &j : profile().mapping().junctions())
        tables[j.table] = j.a_column + "," + j.b_column;
    // DocumentsToInvoices stays empty: the invoices are kept aside whole.
    EXPECT_EQ(tables, (std::map<std::string, std::string>{
                          {"AccountWatchers", "account_id,user_id"},
                          {"BoardWatchers", "board_id,user_id"},
                          {"ContactsToOpportunities", "contact_id,opportunity_id"},
                          {"DocumentsToAccounts", "account_id,document_id"},
                          {"DocumentsToContacts", "contact_id,document_id"},
                          {"DocumentsToCrmAccountsTasks", "crm_accounts_task_id,document_id"},
                          {"DocumentsToLeads", "document_id,lead_id"},
                          {"DocumentsToOpportunities", "document_id,opportunity_id"},
                          {"DocumentsToTasks", "document_id,task_id"},
                      }));
}

TEST(V0212Mapping, TheReshapedFieldsAreRulesOfTheProfile) {
    const Mapping &m = profile().mapping();
    const FieldMapping *status = m.collection("crm_Leads")->find("status");
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->kind, FieldKind::Lookup);
    EXPECT_EQ(status->lookup_table, "crm_Lead_Statuses");
    EXPECT_EQ(status->target_column, "lead_status_id");
    EXPECT_EQ(m.value_maps().at("lead_status").at("in_progress"), "In Progress");
    EXPECT_EQ(m.collection("crm_Opportunities")->find("currency")->lookup_unknown,
              LookupUnknown::Null);
    EXPECT_EQ(m.collection("crm_Opportunities")->find("budget")->numeric_scale, 2);
    EXPECT_EQ(m.collection("crm_Contacts")->find("createdBy")->fallback_key, "created_by");
    EXPECT_EQ(m.collection("Users")->find("is_admin")->kind, FieldKind::Kept);
    bool role = false;
    for (const auto &f : m.collection("Users")->fields)
        if (f.kind == FieldKind::Derive) {
            role = true;
            EXPECT_EQ(f.target_column, "role");
            ASSERT_EQ(f.derive.size(), 3u);
            EXPECT_EQ(f.derive[0].value, "admin");
        }
    EXPECT_TRUE(role);
}

TEST(V0212Mapping, TheLooseReferencesWithoutAForeignKeyAreRules) {
    // v0.21.2 keeps createdBy, updatedBy, last_activity_by, crm_Contacts.account
    // and crm_Opportunities.contact as plain uuids: the validator must not
    // look for a foreign key there, and tasksComments.task still cascades.
    int none = 0;
    bool task_cascades = false;
    for (const ProfileRule &r : profile().rules()) {
        if (r.rule == "on_delete" && r.second == "none")
            ++none;
        if (r.rule == "on_delete" && r.table == "tasksComments" && r.first == "task")
            task_cascades = r.second == "cascade";
    }
    EXPECT_EQ(none, 19);
    EXPECT_TRUE(task_cascades);
}
