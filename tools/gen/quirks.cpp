#include "gen/quirks.hpp"

#include <algorithm>
#include <cmath>

namespace nextcrm::gen {

const std::vector<Targeted> &targeted_quirks() {
    // Error quirks come first: they pick their documents before anything else
    // and keep them to themselves.  Dump-only ones come last so that the
    // documents the others pick are the same in dump and server mode.
    static const std::vector<Targeted> list = {
        {"invalid_enum", "Users", "userLanguage", Act::InvalidEnum, 0.01, true, false,
         "userLanguage \"fr\" is not in enum Language"},
        {"invalid_enum", "Tasks", "taskStatus", Act::InvalidEnum, 0.0005, true, false,
         "taskStatus \"DONE\" is not in enum taskStatus"},
        {"invalid_enum", "crm_Opportunities", "status", Act::InvalidEnum, 0.001, true, false,
         "status \"WON\" is not in enum crm_Opportunity_Status"},
        {"missing_required", "crm_Leads", "lastName", Act::MissingRequired, 0.002, true, false,
         "required lastName is missing and has no default"},
        {"missing_required", "Documents", "document_name", Act::MissingRequired, 0.0005, true,
         false, "required document_name is missing and has no default"},
        {"duplicate_unique", "Users", "email", Act::DuplicateEmail, 0.01, true, false,
         "email duplicates an earlier user's (unique)"},
        {"int_out_of_range", "crm_Contracts", "value", Act::IntOutOfRange, 0.002, true, false,
         "value 3000000000 is out of range for Int (int4)"},
        {"int_out_of_range", "Documents", "size", Act::IntOutOfRange, 0.0005, true, false,
         "size 5368709120 is out of range for Int (int4)"},
        {"unconvertible_value", "crm_Opportunities", "expected_revenue", Act::Unconvertible, 0.001,
         true, false, "expected_revenue \"approx. 20k\" is not an integer"},
        {"dangling_required_ref", "Sections", "board", Act::DanglingRequired, 0.01, true, false,
         "required board points at a deleted board"},
        {"dangling_required_ref", "tasksComments", "user", Act::DanglingRequired, 0.0005, true,
         false, "required user points at a deleted user"},
        {"dangling_required_ref", "Boards", "user", Act::DanglingRequired, 0.02, true, false,
         "required user points at a deleted user"},

        {"non_objectid_id", "tasksComments", "_id", Act::NonObjectIdId, 0.001, false, false,
         nullptr},
        {"non_objectid_id", "TodoList", "_id", Act::NonObjectIdId, 0.005, false, false, nullptr},
        {"legacy_key", "Boards", "date_created", Act::LegacyKey, 0.05, false, false, nullptr},
        {"legacy_key", "Boards", "last_edited", Act::LegacyKey, 0.05, false, false, nullptr},
        {"legacy_key", "Documents", "account", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "Invoices", "account", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "Invoices", "user", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "Invoices", "invoice_state", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "Invoices", "inovice_currency", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "Invoices", "partner_address", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "Tasks", "account", Act::LegacyKey, 0.002, false, false, nullptr},
        {"legacy_key", "Tasks", "contact", Act::LegacyKey, 0.002, false, false, nullptr},
        {"legacy_key", "Tasks", "opportunity", Act::LegacyKey, 0.002, false, false, nullptr},
        {"legacy_key", "crm_Accounts", "connected_contacts", Act::LegacyKey, 0.01, false, false,
         nullptr},
        {"legacy_key", "crm_Accounts", "created_by", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "crm_Accounts", "date_created", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "crm_Accounts", "date_last_modified", Act::LegacyKey, 0.01, false, false,
         nullptr},
        {"legacy_key", "crm_Leads", "date_created", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "crm_Leads", "date_modify", Act::LegacyKey, 0.01, false, false, nullptr},
        {"legacy_key", "crm_Leads", "last_activity_by", Act::LegacyKey, 0.01, false, false,
         nullptr},
        {"legacy_key", "system_Modules_Enabled", "icon", Act::LegacyKey, 0.3, false, false,
         nullptr},
        {"legacy_key", "system_Modules_Enabled", "menuItem", Act::LegacyKey, 0.3, false, false,
         nullptr},
        {"legacy_key", "system_Modules_Enabled", "open", Act::LegacyKey, 0.3, false, false,
         nullptr},
        {"legacy_key", "system_Modules_Enabled", "route", Act::LegacyKey, 0.3, false, false,
         nullptr},
        {"unknown_key", "crm_Contacts", "linkedinImportId", Act::UnknownKey, 0.003, false, false,
         nullptr},
        {"unknown_key", "crm_Accounts", "hubspot_id", Act::UnknownKey, 0.003, false, false,
         nullptr},
        {"unknown_key", "Tasks", "_class", Act::UnknownKey, 0.002, false, false, nullptr},
        {"unknown_key", "Users", "emailVerified", Act::UnknownKey, 0.05, false, false, nullptr},
        {"numeric_string", "crm_Opportunities", "budget", Act::NumericString, 0.01, false, false,
         nullptr},
        {"numeric_string", "crm_Opportunities", "expected_revenue", Act::NumericString, 0.01, false,
         false, nullptr},
        {"int_as_double", "Tasks", "position", Act::IntAsDouble, 0.01, false, false, nullptr},
        {"int_as_double", "crm_Contracts", "value", Act::IntAsDouble, 0.01, false, false, nullptr},
        {"bool_string", "crm_Contacts", "status", Act::BoolString, 0.02, false, false, nullptr},
        {"bool_string", "Invoices", "visibility", Act::BoolString, 0.03, false, false, nullptr},
        {"legacy_json", "Documents", "connected_documents", Act::LegacyJson, 0.01, false, false,
         nullptr},
        {"odd_birthday", "crm_Contacts", "birthday", Act::OddBirthday, 0.02, false, false, nullptr},
        {"date_string", "Invoices", "date_of_case", Act::DateString, 0.02, false, false, nullptr},
        {"date_string", "Invoices", "date_due", Act::DateString, 0.02, false, false, nullptr},
        {"date_string", "Tasks", "dueDateAt", Act::DateString, 0.005, false, false, nullptr},
        {"date_string", "crm_Contracts", "endDate", Act::DateString, 0.01, false, false, nullptr},
        {"odd_email", "crm_Contacts", "email", Act::OddEmail, 0.03, false, false, nullptr},
        {"odd_email", "crm_Contacts", "personal_email", Act::OddEmail, 0.03, false, false, nullptr},
        {"odd_email", "crm_Leads", "email", Act::OddEmail, 0.02, false, false, nullptr},
        {"odd_email", "Invoices", "partner_email", Act::OddEmail, 0.02, false, false, nullptr},
        {"missing_required_default", "Users", "created_on", Act::MissingDefaulted, 0.05, false,
         false, nullptr},
        {"missing_required_default", "Users", "userStatus", Act::MissingDefaulted, 0.02, false,
         false, nullptr},
        {"missing_required_default", "crm_Accounts", "createdAt", Act::MissingDefaulted, 0.01,
         false, false, nullptr},
        {"missing_required_default", "crm_Opportunities", "createdAt", Act::MissingDefaulted, 0.01,
         false, false, nullptr},
        {"missing_required_default", "crm_Opportunities", "budget", Act::MissingDefaulted, 0.005,
         false, false, nullptr},
        {"missing_required_default", "crm_Contracts", "status", Act::MissingDefaulted, 0.01, false,
         false, nullptr},
        {"missing_required_default", "crm_Contacts", "__v", Act::MissingDefaulted, 0.01, false,
         false, nullptr},

        {"decimal128_fraction", "crm_Opportunities", "budget", Act::Decimal128Fraction, 0.0005,
         true, true, "budget Decimal128 1500.50 is not an integer"},
        {"nan_in_int", "crm_Opportunities", "expected_revenue", Act::NaNInInt, 0.0005, true, true,
         "expected_revenue NaN is not an integer"},
        {"decimal128_integral", "crm_Opportunities", "budget", Act::Decimal128Integral, 0.001,
         false, true, nullptr},
        {"nested_array_json", "Invoices", "invoice_items", Act::NestedArrayJson, 0.005, false, true,
         nullptr},
        {"nested_array_json", "crm_Accounts_Tasks", "tags", Act::NestedArrayJson, 0.005, false,
         true, nullptr},
    };
    return list;
}

QuirkPlan::QuirkPlan(Plan &plan, bool enabled, bool dump_mode)
    : by_doc_(plan.collections().size()) {
    if (!enabled)
        return;
    const Catalog &catalog = Catalog::get();
    std::vector<std::vector<std::uint8_t>> taken(plan.collections().size());
    const auto &list = targeted_quirks();
    for (std::size_t q = 0; q < list.size(); ++q) {
        const Targeted &t = list[q];
        // Dump-only quirks pick (and isolate) their documents in server mode
        // too, without planting anything, so both modes agree elsewhere.
        const bool plant = !t.dump_only || dump_mode;
        const int model = catalog.model_index(t.collection);
        CollectionPlan &c = plan.at(model);
        auto &busy = taken[static_cast<std::size_t>(model)];
        busy.resize(c.count, 0);
        // Error documents need company: at least half the collection stays
        // referencable, and tiny lookup collections get none.
        const bool exclusive = t.error || t.act == Act::NonObjectIdId;
        std::uint32_t wanted = static_cast<std::uint32_t>(std::lround(c.count * t.rate));
        wanted = std::max<std::uint32_t>(wanted, 1);
        if (exclusive) {
            std::uint32_t isolated = 0;
            for (auto b : c.isolated)
                isolated += b;
            if (c.count < 4)
                continue;
            wanted = std::min(wanted, c.count / 2 > isolated ? c.count / 2 - isolated : 0);
        }
        Rng rng(plan.seed(), 1000 + q, 77);
        std::uint32_t got = 0;
        for (std::uint32_t tries = 0; got < wanted && tries < wanted * 20 + 50; ++tries) {
            auto i = static_cast<std::uint32_t>(rng.below(c.count));
            if (i < c.seed_records && t.act != Act::LegacyKey)
                continue; // NextCRM's own seed records stay as shipped
            if (busy[i] == 2 || (exclusive && busy[i]))
                continue;
            if (t.act == Act::DuplicateEmail && i < c.count / 2)
                continue; // needs earlier users to copy from
            auto &slots = by_doc_[static_cast<std::size_t>(model)];
            auto found = slots.find(i);
            bool same_field = false;
            if (found != slots.end())
                for (const Targeted *other : found->second)
                    same_field |= std::string(other->field) == t.field;
            if (same_field)
                continue;
            if (plant)
                slots[i].push_back(&t);
            busy[i] = exclusive ? 2 : 1;
            if (exclusive)
                c.isolated[i] = 1;
            ++got;
        }
    }
}

const std::vector<const Targeted *> *QuirkPlan::at(int model, std::uint32_t index) const {
    const auto &m = by_doc_[static_cast<std::size_t>(model)];
    auto it = m.find(index);
    return it == m.end() ? nullptr : &it->second;
}

bool QuirkPlan::is_error(int model, std::uint32_t index) const {
    const auto *list = at(model, index);
    if (list)
        for (const Targeted *t : *list)
            if (t->error)
                return true;
    return false;
}

} // namespace nextcrm::gen
