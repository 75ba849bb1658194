#include "gen/docgen.hpp"

#include "core/bson_compat.hpp"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>

namespace nextcrm::gen {

namespace {

constexpr std::int64_t kDay = 86400000;
constexpr std::int64_t kTagsAdded = 1733702400;       // 2024-12-09: crm_Contacts.tags, notes
constexpr std::int64_t kSharedWithAdded = 1708560000; // 2024-02-22: Boards.sharedWith

void append_str(bson_t *doc, const char *key, const std::string &v) {
    bson_append_utf8(doc, key, -1, v.data(), static_cast<int>(v.size()));
}

const char *pick_of(Rng &r, std::initializer_list<const char *> items) {
    return items.begin()[r.below(items.size())];
}

const char *nth(std::initializer_list<const char *> items, std::uint32_t i) {
    return items.begin()[i % items.size()];
}

// Fields the Mongo-era code hardly ever writes (SOURCE-SCHEMA 8): mostly
// absent or null, so a migration sees real values only now and then.
bool mostly_empty(const std::string &model, const std::string &key) {
    return (model == "tasksComments" && key == "assigned_crm_account_task") ||
           (model == "Documents" && key == "created_by_user") ||
           (model == "crm_Contacts" && key == "created_by") ||
           (model == "crm_Contacts" && key == "account");
}

} // namespace

DocBuilder::DocBuilder(const Plan &plan, const QuirkPlan &quirks,
                       const std::vector<JunctionPlan> &junctions, Manifest &manifest,
                       const GenOptions &options)
    : plan_(plan), quirks_(quirks), junctions_(junctions), manifest_(manifest), options_(options),
      list_sides_(plan.collections().size()) {
    for (std::size_t j = 0; j < junctions.size(); ++j) {
        const Junction &jn = *junctions[j].junction;
        list_sides_[static_cast<std::size_t>(junctions[j].a_model)].push_back(
            {jn.a_field, {j, true}});
        if (!jn.b_field.empty())
            list_sides_[static_cast<std::size_t>(junctions[j].b_model)].push_back(
                {jn.b_field, {j, false}});
    }
}

const std::string &DocBuilder::coll() const {
    return plan_.at(model_).name;
}

std::string DocBuilder::user_email(std::uint32_t user) const {
    // From its own stream, so a duplicate can recompute an earlier user's.
    Rng r(plan_.seed(), 900, user);
    return email(r, user);
}

void DocBuilder::build(int model, std::uint32_t index, bson_t *doc) {
    model_ = model;
    index_ = index;
    rng_ = Rng(plan_.seed(), static_cast<std::uint64_t>(model) + 1, index);
    lang_ = pick_lang(rng_);
    first_ = first_name(rng_, lang_);
    last_ = last_name(rng_, lang_);
    created_ms_ =
        plan_.oid_seconds(model, index) * 1000 + static_cast<std::int64_t>(rng_.below(1000));
    const CollectionPlan &c = plan_.at(model);
    const Model &m = Catalog::get().models()[static_cast<std::size_t>(model)];
    const auto *targeted = quirks_.at(model, index);
    // Error documents get no repairable reference quirks: a migration rejects
    // them whole, so those would never show up as repairs or dropped elements.
    ref_quirks_ = options_.quirks && !quirks_.is_error(model, index);

    bool string_id = false;
    if (targeted)
        for (const Targeted *t : *targeted)
            string_id |= t->act == Act::NonObjectIdId;
    if (string_id) {
        // Documents written by hand or by old import scripts.
        id_ = index % 2
                  ? token(rng_, "0123456789abcdef", 8) + "-" + token(rng_, "0123456789abcdef", 4) +
                        "-4" + token(rng_, "0123456789abcdef", 3) + "-a" +
                        token(rng_, "0123456789abcdef", 3) + "-" +
                        token(rng_, "0123456789abcdef", 12)
                  : coll() + "-" + std::to_string(index);
        append_str(doc, "_id", id_);
    } else {
        bson_oid_t oid;
        plan_.oid(model, index, &oid);
        BSON_APPEND_OID(doc, "_id", &oid);
        id_ = oid_hex(oid);
    }

    if (index < c.seed_records) {
        static thread_local std::vector<std::vector<std::vector<std::uint8_t>>> seeds;
        if (seeds.size() < plan_.collections().size())
            seeds.resize(plan_.collections().size());
        auto &records = seeds[static_cast<std::size_t>(model)];
        if (records.empty())
            records = seed_records(c.name);
        bson_t rec;
        bson_init_static(&rec, records[index].data(), records[index].size());
        bson_concat(doc, &rec);
        // The seed script goes through Prisma, which fills @default(now()).
        for (const Field &f : m.fields)
            if (f.default_value == "now()" && !bson_has_field(&rec, f.key.c_str()))
                bson_append_date_time(doc, f.key.c_str(), -1, created_ms_);
    } else {
        for (const Field &f : m.fields) {
            if (f.is_id)
                continue;
            const Targeted *t = nullptr;
            if (targeted)
                for (const Targeted *q : *targeted)
                    if (f.key == q->field)
                        t = q;
            if (t)
                emit_targeted(doc, &f, *t);
            else
                emit_field(doc, f);
        }
    }
    if (targeted)
        for (const Targeted *t : *targeted) {
            if (t->act == Act::LegacyKey || t->act == Act::UnknownKey)
                emit_extra_key(doc, *t);
            manifest_.quirk(t->kind, model, id_, t->field);
            if (t->error)
                manifest_.error(model, id_, t->field, t->kind, t->reason);
        }
    manifest_.written(model);
}

void DocBuilder::emit_field(bson_t *doc, const Field &f) {
    const char *key = f.key.c_str();
    if (f.list) {
        emit_list(doc, f);
        return;
    }
    // Configuration singletons are written whole by the app's forms.
    if (f.optional && plan_.at(model_).count > 3) {
        const bool v_often_missing = f.key == "__v"; // Invoices, Documents
        const double r = rng_.unit();
        // Never written by Mongo-era code: CRM-task comments keep their
        // task in `task` and leave this empty (D12).
        const bool never = coll() == "tasksComments" && f.key == "assigned_crm_account_task";
        if (mostly_empty(coll(), f.key) && (never || r < 0.9)) {
            if (options_.quirks && r < 0.6) {
                manifest_.quirk_count("missing_optional");
            } else {
                bson_append_null(doc, key, -1);
            }
            return;
        }
        if (options_.quirks && (r < 0.08 || (v_often_missing && r < 0.45))) {
            manifest_.quirk_count(v_often_missing ? "v_missing" : "missing_optional");
            return;
        }
        if (r > 0.9) {
            bson_append_null(doc, key, -1);
            return;
        }
    }
    if (f.objectid) {
        emit_ref(doc, f);
        return;
    }
    switch (f.type) {
    case FieldType::String:
        if (coll() == "TodoList" && f.key == "user") { // a user id as a plain string
            bson_oid_t oid;
            plan_.oid(Catalog::get().model_index("Users"),
                      plan_.pick(Catalog::get().model_index("Users"), rng_), &oid);
            append_str(doc, key, oid_hex(oid));
        } else {
            append_str(doc, key, string_value(f));
            note_secret(f);
        }
        break;
    case FieldType::Int: {
        std::int64_t v = int_value(f);
        bson_append_int32(doc, key, -1, static_cast<std::int32_t>(v));
        break;
    }
    case FieldType::Boolean: {
        bool v = rng_.chance(0.5);
        if (f.key == "status" || f.key == "visibility" || f.key == "isVisible")
            v = rng_.chance(0.9);
        if (f.key == "is_admin" || f.key == "is_account_admin")
            v = index_ == 0 || rng_.chance(0.05);
        bson_append_bool(doc, key, -1, v);
        break;
    }
    case FieldType::DateTime:
        bson_append_date_time(doc, key, -1, date_value(f));
        break;
    case FieldType::Json:
        emit_json(doc, f, false);
        break;
    case FieldType::Enum: {
        const auto &values = *f.enum_values;
        std::string v = values[rng_.below(values.size())];
        if (!f.default_value.empty() && rng_.chance(0.5))
            v = f.default_value;
        if (coll() == "Users" && f.key == "userLanguage")
            v = rng_.chance(0.5) ? "en" : values[rng_.below(values.size())];
        append_str(doc, key, v);
        break;
    }
    }
}

void DocBuilder::append_oid(bson_t *doc, const char *key, int model, std::uint32_t index,
                            bool as_hex) {
    bson_oid_t oid;
    plan_.oid(model, index, &oid);
    if (as_hex)
        append_str(doc, key, oid_hex(oid));
    else
        bson_append_oid(doc, key, -1, &oid);
}

void DocBuilder::emit_ref(bson_t *doc, const Field &f) {
    const Catalog &cat = Catalog::get();
    int target = cat.model_index(f.ref_target);
    std::uint32_t index;
    if (coll() == "tasksComments" && f.key == "task" && rng_.chance(0.12)) {
        // CRM-task comments keep a crm_Accounts_Tasks id in `task` (D12).
        target = cat.model_index("crm_Accounts_Tasks");
        manifest_.quirk("comment_on_crm_task", model_, id_, f.key);
    }
    if (ref_quirks_ && f.optional && rng_.chance(0.01)) {
        index = plan_.ghost(target, rng_);
        manifest_.quirk("dangling_ref", model_, id_, f.key);
    } else {
        index = plan_.pick(target, rng_);
    }
    const bool hex = ref_quirks_ && rng_.chance(0.005);
    if (hex)
        manifest_.quirk("hex_string_ref", model_, id_, f.key);
    if (coll() == "Boards" && f.key == "user")
        owner_ = index;
    append_oid(doc, f.key.c_str(), target, index, hex);
}

void DocBuilder::emit_list(bson_t *doc, const Field &f) {
    for (const auto &[key, side] : list_sides_[static_cast<std::size_t>(model_)])
        if (key == f.key) {
            emit_junction_list(doc, f, side);
            return;
        }
    const std::int64_t created_s = created_ms_ / 1000;
    bson_t arr;
    if (coll() == "Boards" && f.key == "sharedWith") {
        if (options_.quirks && created_s < kSharedWithAdded && rng_.chance(0.8)) {
            manifest_.quirk_count("missing_list");
            return;
        }
        const int users = Catalog::get().model_index("Users");
        append_array_begin(doc, f.key.c_str(), -1, &arr);
        int n = 0;
        char idx[16];
        auto add = [&](std::uint32_t u, bool hex) {
            std::snprintf(idx, sizeof idx, "%d", n++);
            append_oid(&arr, idx, users, u, hex);
        };
        add(owner_, false);
        for (int k = rng_.range(0, 2); k > 0; --k)
            add(plan_.pick(users, rng_), false);
        if (ref_quirks_ && rng_.chance(0.05)) {
            add(plan_.ghost(users, rng_), false);
            manifest_.quirk("dangling_list_element", model_, id_, f.key);
        }
        bson_append_array_end(doc, &arr);
        return;
    }
    if (coll() == "crm_Contacts") { // tags, notes: added 2024-12-09
        if (created_s < kTagsAdded && (options_.quirks ? rng_.chance(0.9) : false)) {
            manifest_.quirk_count("missing_list");
            return;
        }
        append_array_begin(doc, f.key.c_str(), -1, &arr);
        if (created_s >= kTagsAdded || rng_.chance(0.5)) {
            static const char *const tags[] = {"vip",        "newsletter", "partner",
                                               "lead-2024",  "veletrh",    "Messe München",
                                               "конференція"};
            if (f.key == "tags") {
                for (int k = rng_.range(1, 3), n = 0; k > 0; --k, ++n)
                    bson_append_utf8(&arr, n ? (n == 1 ? "1" : "2") : "0", -1, rng_.pick(tags), -1);
            } else {
                append_str(&arr, "0", "Account: " + company(rng_, lang_));
                append_str(&arr, "1", "Message: " + sentence(rng_, lang_));
            }
        }
        bson_append_array_end(doc, &arr);
        return;
    }
    // Documents.connected_documents: no writer in the 2025 code.
    if (options_.quirks && rng_.chance(0.5)) {
        manifest_.quirk_count("missing_list");
        return;
    }
    append_array_begin(doc, f.key.c_str(), -1, &arr);
    bson_append_array_end(doc, &arr);
}

void DocBuilder::emit_junction_list(bson_t *doc, const Field &f, const ListSide &side) {
    const JunctionPlan &jp = junctions_[side.junction];
    const Adjacency &adj = side.side_a ? jp.a_side : jp.b_side;
    const int other = side.side_a ? jp.b_model : jp.a_model;
    const std::uint32_t *b = adj.begin(index_), *e = adj.end(index_);
    JunctionTally &tally = manifest_.junction(side.junction);
    if (b == e && options_.quirks && rng_.chance(0.5)) {
        manifest_.quirk_count("missing_list"); // never connected
        return;
    }
    bson_t arr;
    append_array_begin(doc, f.key.c_str(), -1, &arr);
    int n = 0;
    char idx[16];
    auto add = [&](std::uint32_t other_index, bool hex) {
        std::snprintf(idx, sizeof idx, "%d", n++);
        append_oid(&arr, idx, other, other_index, hex);
        ++tally.elements;
        if (hex)
            ++tally.hex_strings;
        if (other_index >= plan_.at(other).count) {
            ++tally.dangling;
            return;
        }
        const std::uint64_t a = side.side_a ? index_ : other_index;
        const std::uint64_t bb = side.side_a ? other_index : index_;
        tally.pairs.push_back(a << 32 | bb);
    };
    for (const std::uint32_t *p = b; p != e; ++p) {
        const bool hex = ref_quirks_ && rng_.chance(0.005);
        if (hex)
            manifest_.quirk("hex_string_list_element", model_, id_, f.key);
        add(*p, hex);
    }
    if (ref_quirks_ && b != e && rng_.chance(0.02)) {
        add(b[rng_.below(static_cast<std::uint64_t>(e - b))], false);
        ++tally.duplicates;
        manifest_.quirk("duplicate_list_element", model_, id_, f.key);
    }
    if (ref_quirks_ && rng_.chance(0.01)) {
        add(plan_.ghost(other, rng_), false);
        manifest_.quirk("dangling_list_element", model_, id_, f.key);
    }
    bson_append_array_end(doc, &arr);
}

void DocBuilder::emit_json(bson_t *doc, const Field &f, bool nested) {
    bson_t arr, item;
    char idx[16];
    append_array_begin(doc, f.key.c_str(), -1, &arr);
    if (nested) {
        // A table pasted from OCR: rows as arrays.
        for (int r = 0; r < 2; ++r) {
            bson_t row;
            std::snprintf(idx, sizeof idx, "%d", r);
            append_array_begin(&arr, idx, -1, &row);
            append_str(&row, "0", sentence(rng_, lang_));
            bson_append_int32(&row, "1", -1, rng_.range(1, 10));
            bson_append_array_end(&arr, &row);
        }
    } else if (f.key == "invoice_items") {
        for (int r = 0, n = rng_.range(1, 4); r < n; ++r) {
            std::snprintf(idx, sizeof idx, "%d", r);
            bson_append_document_begin(&arr, idx, -1, &item);
            append_str(&item, "description", sentence(rng_, lang_));
            bson_append_int32(&item, "quantity", -1, rng_.range(1, 20));
            append_str(&item, "unit_price", std::to_string(rng_.range(10, 9999)) + ".50");
            bson_append_int32(&item, "vat_rate", -1, rng_.chance(0.7) ? 21 : 19);
            bson_append_document_end(&arr, &item);
        }
    } else if (coll() == "Documents") {
        static const char *const tags[] = {"faktura", "smlouva", "Angebot",
                                           "рахунок", "2024",    "urgent"};
        for (int r = 0, n = rng_.range(0, 3); r < n; ++r) {
            std::snprintf(idx, sizeof idx, "%d", r);
            bson_append_utf8(&arr, idx, -1, rng_.pick(tags), -1);
        }
    } else {
        static const char *const names[] = {"bug", "feature", "důležité", "dringend", "терміново"};
        static const char *const colors[] = {"red", "green", "#1e90ff"};
        for (int r = 0, n = rng_.range(0, 2); r < n; ++r) {
            std::snprintf(idx, sizeof idx, "%d", r);
            bson_append_document_begin(&arr, idx, -1, &item);
            bson_append_utf8(&item, "name", -1, rng_.pick(names), -1);
            bson_append_utf8(&item, "color", -1, rng_.pick(colors), -1);
            bson_append_document_end(&arr, &item);
        }
    }
    bson_append_array_end(doc, &arr);
}

void DocBuilder::emit_targeted(bson_t *doc, const Field *f, const Targeted &t) {
    const char *key = t.field;
    switch (t.act) {
    case Act::InvalidEnum:
        append_str(doc, key, coll() == "Users" ? "fr" : coll() == "Tasks" ? "DONE" : "WON");
        return;
    case Act::MissingRequired:
    case Act::MissingDefaulted:
        return;
    case Act::DuplicateEmail: {
        // An earlier user that a migration keeps, so this one is the duplicate.
        std::uint32_t earlier = static_cast<std::uint32_t>(rng_.below(index_));
        for (std::uint32_t k = 0; k < index_ && plan_.at(model_).isolated[earlier]; ++k)
            earlier = (earlier + 1) % index_;
        append_str(doc, key, user_email(earlier));
        return;
    }
    case Act::IntOutOfRange:
        bson_append_int64(doc, key, -1, coll() == "Documents" ? 5368709120LL : 3000000000LL);
        return;
    case Act::Unconvertible:
        append_str(doc, key, "approx. 20k");
        return;
    case Act::DanglingRequired: {
        const int target = Catalog::get().model_index(f->ref_target);
        const std::uint32_t ghost = plan_.ghost(target, rng_);
        if (coll() == "Boards")
            owner_ = ghost;
        append_oid(doc, key, target, ghost, false);
        return;
    }
    case Act::Decimal128Fraction: {
        bson_decimal128_t d;
        bson_decimal128_from_string("1500.50", &d);
        bson_append_decimal128(doc, key, -1, &d);
        return;
    }
    case Act::Decimal128Integral: {
        bson_decimal128_t d;
        bson_decimal128_from_string("2000", &d);
        bson_append_decimal128(doc, key, -1, &d);
        return;
    }
    case Act::NaNInInt:
        bson_append_double(doc, key, -1, std::numeric_limits<double>::quiet_NaN());
        return;
    case Act::NumericString:
        append_str(doc, key, std::to_string(rng_.range(1, 500) * 100));
        return;
    case Act::IntAsDouble:
        bson_append_double(doc, key, -1, static_cast<double>(int_value(*f)));
        return;
    case Act::BoolString:
        append_str(doc, key, rng_.chance(0.7) ? "true" : "false");
        return;
    case Act::LegacyJson: {
        bson_t arr, item;
        append_array_begin(doc, key, -1, &arr);
        bson_append_document_begin(&arr, "0", -1, &item);
        bson_append_utf8(&item, "name", -1, "scan.pdf", -1);
        bson_append_int32(&item, "size", -1, 48213);
        bson_append_document_end(&arr, &item);
        bson_append_array_end(doc, &arr);
        return;
    }
    case Act::OddBirthday: {
        static const char *const odd[] = {"//", "undefined/5/undefined", "12/undefined/1990",
                                          "/3/"};
        append_str(doc, key, rng_.pick(odd));
        return;
    }
    case Act::DateString: {
        const std::int64_t ms = date_value(*f);
        append_str(doc, key, rng_.chance(0.5) ? iso_time(ms) : iso_date(ms));
        return;
    }
    case Act::OddEmail:
        append_str(doc, key, odd_email(rng_));
        return;
    case Act::NestedArrayJson:
        emit_json(doc, *f, true);
        return;
    case Act::NonObjectIdId:
    case Act::LegacyKey:
    case Act::UnknownKey:
        if (f)
            emit_field(doc, *f);
        return;
    }
}

void DocBuilder::emit_extra_key(bson_t *doc, const Targeted &t) {
    const std::string k = t.field;
    const Catalog &cat = Catalog::get();
    const std::int64_t old = created_ms_ - 3 * kDay;
    if (k.rfind("date_", 0) == 0 || k == "last_edited") {
        bson_append_date_time(doc, t.field, -1, old);
    } else if (k == "account" || k == "user" || k == "created_by" || k == "last_activity_by" ||
               k == "invoice_state" || k == "contact" || k == "opportunity") {
        // Pre-relation ids were plain strings in the first schemas.
        const char *target = k == "account"         ? "crm_Accounts"
                             : k == "contact"       ? "crm_Contacts"
                             : k == "opportunity"   ? "crm_Opportunities"
                             : k == "invoice_state" ? "invoice_States"
                                                    : "Users";
        const int m = cat.model_index(target);
        append_oid(doc, t.field, m, plan_.pick(m, rng_), true);
    } else if (k == "connected_contacts") {
        bson_t arr;
        const int m = cat.model_index("crm_Contacts");
        append_array_begin(doc, t.field, -1, &arr);
        append_oid(&arr, "0", m, plan_.pick(m, rng_), true);
        bson_append_array_end(doc, &arr);
    } else if (k == "hubspot_id") {
        bson_append_int64(doc, t.field, -1, 9000000000LL + rng_.range(0, 999999));
    } else if (k == "emailVerified") {
        bson_append_date_time(doc, t.field, -1, created_ms_ + kDay);
    } else if (k == "_class") {
        append_str(doc, t.field, "com.nextcrm.legacy.Task");
    } else if (k == "inovice_currency") {
        append_str(doc, t.field, "CZK");
    } else if (k == "open") {
        append_str(doc, t.field, "false");
    } else if (k == "route") {
        append_str(doc, t.field, "/" + plan_.at(model_).name);
    } else {
        append_str(doc, t.field,
                   k == "icon"       ? "BriefcaseIcon"
                   : k == "menuItem" ? "CRM"
                                     : street(rng_, lang_));
    }
}

void DocBuilder::note_secret(const Field &f) {
    const std::string &c = coll();
    if ((c == "Users" && f.key == "password") || (c == "openAi_keys" && f.key == "api_key") ||
        (c == "secondBrain_notions" && f.key == "notion_api_key") ||
        (c == "systemServices" && (f.key == "serviceKey" || f.key == "servicePassword")))
        manifest_.secret(c + "." + f.key);
}

std::string DocBuilder::string_value(const Field &f) {
    const std::string &c = coll();
    const std::string &k = f.key;
    Rng &r = rng_;
    if (c == "Users") {
        if (k == "email")
            return user_email(index_);
        if (k == "password")
            return bcrypt_hash(r);
        if (k == "name")
            return first_ + " " + last_;
        if (k == "username")
            return token(r, "abcdefghijklmnopqrstuvwxyz", 6) + std::to_string(index_);
        if (k == "account_name")
            return company(r, lang_);
    }
    if (k == "api_key")
        return "sk-" +
               token(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 48);
    if (k == "notion_api_key")
        return "secret_" +
               token(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 43);
    if (k == "serviceKey")
        return token(r, "0123456789abcdef", 40);
    if (k == "servicePassword")
        return token(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%&", 20);
    if (k == "organization_id" || k == "notion_db_id")
        return (k == "organization_id" ? "org-" : "") + token(r, "0123456789abcdefABCDEF", 24);
    if (k == "servicePort")
        return std::to_string(r.chance(0.5) ? 443 : 5432);
    if (k == "serviceId")
        return token(r, "0123456789", 6);
    if (k.find("email") != std::string::npos)
        return email(r, r.below(100000));
    if (k == "birthday")
        return std::to_string(r.range(1, 28)) + "/" + std::to_string(r.range(1, 12)) + "/" +
               std::to_string(r.range(1950, 2002));
    if (c == "TodoList" && k == "createdAt") {
        // Client-side strings in whatever format the browser produced.
        switch (r.below(3)) {
        case 0:
            return iso_time(created_ms_);
        case 1:
            return std::to_string(created_ms_);
        default:
            return iso_date(created_ms_) + " " + std::to_string(r.range(8, 18)) + ":00";
        }
    }
    if (k.find("_prefix") != std::string::npos)
        return pick_of(r, {"+420", "+44", "+49", "+380"});
    if (k.find("phone") != std::string::npos || k == "fax" || k == "mobile" ||
        k.find("_fax_") != std::string::npos)
        return phone(r, lang_);
    if (k.find("url") != std::string::npos || k == "website" || k == "avatar" ||
        k == "partner_website" || k.rfind("social_", 0) == 0)
        return url(r);
    if (k.find("country_code") != std::string::npos)
        return country_code(lang_);
    if (k.find("country") != std::string::npos)
        return country(lang_);
    if (k.find("city") != std::string::npos)
        return city(r, lang_);
    if (k.find("street") != std::string::npos || k == "partner_address")
        return street(r, lang_);
    if (k.find("zip") != std::string::npos || k.find("postal") != std::string::npos)
        return digits(r, 3) + " " + digits(r, 2);
    if (k == "billing_state" || k == "shipping_state" || k == "state")
        return city(r, lang_);
    if (k.find("IBAN") != std::string::npos)
        return country_code(lang_) + digits(r, 22);
    if (k.find("SWIFT") != std::string::npos || k.find("BIC") != std::string::npos)
        return token(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 8);
    if (k.find("VAT") != std::string::npos || k == "vat" || k.find("TAX") != std::string::npos ||
        k == "company_id")
        return country_code(lang_) + digits(r, 8);
    if (k.find("symbol") != std::string::npos || k.find("number") != std::string::npos ||
        k == "bank_code" || k == "bank_account")
        return digits(r, 10);
    if (k.find("currency") != std::string::npos)
        return pick_of(r, {"CZK", "EUR", "USD", "UAH"});
    if (k.find("mimeType") != std::string::npos)
        return pick_of(r, {"application/pdf", "image/png", "image/jpeg", "application/docs"});
    if (k == "key")
        return "documents/" + token(r, "0123456789abcdef", 16) + ".pdf";
    if (k == "invoice_amount")
        return std::to_string(r.range(100, 99999)) + (r.chance(0.5) ? ".00" : "");
    if (k == "annual_revenue")
        return pick_of(r, {"1M", "500000", "10-50M CZK", "n/a", "2 500 000 €"});
    if (k == "employees")
        return pick_of(r, {"1-10", "11-50", "250", "1000+"});
    if (k == "priority")
        return pick_of(r, {"low", "normal", "medium", "high"});
    if (k == "status") {
        if (c == "crm_Accounts")
            return pick_of(r, {"Active", "Inactive", "IN_PROGRESS"});
        if (c == "crm_Leads") { // the app writes statuses outside crm_Lead_Status (D3)
            std::string v = pick_of(r, {"NEW", "NEW", "CONTACTED", "IN_PROGRESS", "COMPLETED"});
            if (v == "IN_PROGRESS" || v == "COMPLETED")
                manifest_.quirk_count("lead_status_outside_enum");
            return v;
        }
        if (c == "Invoices")
            return "new";
        if (c == "crm_campaigns")
            return "ACTIVE";
        return pick_of(r, {"ACTIVE", "active", "draft"});
    }
    if (k == "rossum_status")
        return "importing";
    if (k == "type") {
        if (c == "crm_Contacts" || c == "crm_Accounts")
            return pick_of(r, {"Customer", "Partner", "Vendor", "Prospect"});
        if (c == "crm_Leads")
            return "DEMO";
        return pick_of(r, {"service", "license", "NDA"});
    }
    if (k == "visibility")
        return pick_of(r, {"public", "private"});
    if (k == "icon")
        return pick_of(r, {"📋", "🚀", "BriefcaseIcon"});
    if (k == "document_type" || k == "invoice_type")
        return pick_of(r, {"invoice", "receipt", "credit_note"});
    if (k == "invoice_language")
        return pick_of(r, {"cs", "en", "de", "uk"});
    if (k == "first_name" || k == "firstName")
        return first_;
    if (k == "last_name" || k == "lastName")
        return last_;
    if (k == "name") {
        if (c == "crm_Accounts" || c == "MyAccount")
            return company(r, lang_);
        if (c == "Employees")
            return first_ + " " + last_;
        if (c == "invoice_States")
            return pick_of(r, {"New", "Approved", "Paid", "Rejected"});
        if (c == "Documents_Types")
            return nth({"Invoice", "Receipt", "Contract", "Offer"}, index_);
        if (c == "modulStatus")
            return nth({"crm", "projects", "documents"}, index_);
        if (c == "systemServices")
            return nth({"resend_smtp", "rossum", "openai"}, index_);
        if (c == "crm_Industry_Type")
            return pick_of(r, {"Strojírenství", "Maschinenbau", "Агросектор", "Retail"});
        if (c == "crm_campaigns")
            return pick_of(r, {"Veletrh Brno", "Newsletter Q3", "LinkedIn Ads"});
        return title(r, lang_);
    }
    if (k == "company" || k == "company_name" || k == "partner" || k == "member_of" ||
        k == "bank_name" || k == "partner_bank")
        return company(r, lang_);
    if (k == "jobTitle" || k == "position")
        return pick_of(r, {"CEO", "Jednatel", "Geschäftsführer", "Директор", "Sales manager"});
    if (k == "lead_source" || k == "refered_by" || k == "campaign")
        return pick_of(r, {"web", "Doporučení", "Messe", "LinkedIn", "cold call"});
    if (k == "model")
        return "gpt-4o-mini";
    if (k == "description" || k == "content" || k == "comment" || k == "next_step")
        return paragraph(r, lang_);
    if (k == "title" || k == "document_name")
        return title(r, lang_);
    return sentence(r, lang_);
}

std::int64_t DocBuilder::int_value(const Field &f) {
    const std::string &k = f.key;
    Rng &r = rng_;
    if (k == "__v")
        return coll() == "crm_Leads" ? 1 : 0;
    if (k == "budget" || k == "expected_revenue")
        return r.range(5, 2500) * 100;
    if (k == "value")
        return r.range(1, 1000) * 1000;
    if (k == "size")
        return r.range(1000, 20000000);
    if (k == "salary")
        return r.range(250, 1200) * 100;
    if (k == "probability")
        return r.range(1, 10) * 10;
    if (k == "likes")
        return r.range(0, 15);
    return r.range(0, 30); // position, order, favouritePosition
}

std::int64_t DocBuilder::date_value(const Field &f) {
    const std::string &k = f.key;
    Rng &r = rng_;
    const auto days = [&](int lo, int hi) {
        return created_ms_ + r.range(lo, hi) * kDay + r.range(0, 86399) * 1000LL;
    };
    if (k == "createdAt" || k == "cratedAt" || k == "created_on" || k == "date_created" ||
        k == "date_received" || k == "startDate")
        return created_ms_;
    if (k == "dueDateAt" || k == "date_due" || k == "close_date" || k == "endDate" ||
        k == "renewalReminderDate")
        return days(1, 120);
    return days(0, 90);
}

} // namespace nextcrm::gen
