// nextcrm_fixture: writes mongodump-format files (<collection>.bson, or
// .bson.gz) with the BSON shapes FerretDB cannot store, for the tests of dump
// sources.
//
//   nextcrm_fixture DIR
//
// Collections written (every document has an ObjectId or int _id):
//   typed          one document whose fields each convert exactly to one type
//   typed_gz       the same document, gzip-compressed (.bson.gz)
//   many           5000 small documents, gzip-compressed
//   bad_utf8       a string that is not UTF-8
//   nul_string     a string with a NUL byte
//   nested_array   an array inside an array
//   decimal_frac   Decimal128 1.5 (no exact integer or double)
//   long_big       int64 10000000000 (beyond integer)
//   big            one document of nearly 16 MB
//   truncated      10 documents, the file cut inside the last one
//   legacy_uuid    two documents whose _ids are the same 16 bytes as BinData
//                  subtype 3 and subtype 4, each with a field "g" holding the
//                  .NET driver's subtype 3 bytes of GUID
//                  00112233-4455-6677-8899-aabbccddeeff
//
//   nextcrm_fixture --nextcrm DIR
//
// writes instead NextCRM collections with documents a migration must survive
// (Users.bson, Invoices.bson); each awkward document says in its field
// "expect" whether it must migrate ("migrated") or be an error, and on which
// field ("error:<field>").
//
//   nextcrm_fixture --json DIR COLLECTION FILE
//
// writes DIR/COLLECTION.bson from FILE, one Extended JSON document per line
// (blank lines skipped): a small dump written as readable text, such as the
// test profile's (test/profiles/mini-dump/).
//
//   nextcrm_fixture --documents DIR
//
// writes NextCRM collections (crm_Accounts, crm_Leads, Tasks, Invoices,
// crm_Contacts) of documents that cannot be walked whole or that test
// exactness, to append to a generated dump: NUL characters, keys that are not
// UTF-8, nesting of 100 to 20000 levels, repeated keys (top level, _id,
// nested), a malformed element after a valid length prefix, doubles in Json,
// a time given as a string, Symbols.  test/integration/documents.sh states
// each one's outcome.
#include <bson/bson.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct BsonDeleter {
    void operator()(bson_t *b) const { bson_destroy(b); }
};
using BsonPtr = std::unique_ptr<bson_t, BsonDeleter>;

std::string bytes_of(const std::vector<BsonPtr> &docs) {
    std::string out;
    for (const auto &d : docs)
        out.append(reinterpret_cast<const char *>(bson_get_data(d.get())), d->len);
    return out;
}

void write_file(const std::string &path, const std::string &bytes) {
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f))
        throw std::runtime_error("cannot write " + path);
}

void write_gzip(const std::string &path, const std::string &bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!f || gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) <= 0 ||
        gzclose(f) != Z_OK)
        throw std::runtime_error("cannot write " + path);
}

bson_oid_t oid(const char *hex) {
    bson_oid_t o;
    bson_oid_init_from_string(&o, hex);
    return o;
}

BsonPtr with_id(const char *hex) {
    BsonPtr d(bson_new());
    bson_oid_t o = oid(hex);
    BSON_APPEND_OID(d.get(), "_id", &o);
    return d;
}

void append_decimal(bson_t *d, const char *key, const char *text) {
    bson_decimal128_t dec;
    if (!bson_decimal128_from_string(text, &dec))
        throw std::runtime_error(std::string("bad decimal ") + text);
    BSON_APPEND_DECIMAL128(d, key, &dec);
}

BsonPtr typed_document() {
    BsonPtr d = with_id("65a000000000000000000001");
    bson_t *b = d.get();
    append_decimal(b, "dec", "12345678901234567890.123456789");
    append_decimal(b, "dec_huge", "1E+6000");
    append_decimal(b, "dec_tiny", "-1.0E-6100");
    append_decimal(b, "dec_nan", "NaN");
    append_decimal(b, "dec_int", "4.2E+1");
    BSON_APPEND_DOUBLE(b, "nan", NAN);
    BSON_APPEND_DOUBLE(b, "pinf", INFINITY);
    BSON_APPEND_DOUBLE(b, "ninf", -INFINITY);
    BSON_APPEND_DOUBLE(b, "tenth", 0.1);
    BSON_APPEND_INT64(b, "big_long", 9007199254740993LL);
    bson_t outer, inner;
    BSON_APPEND_ARRAY_BEGIN(b, "nested", &outer);
    BSON_APPEND_ARRAY_BEGIN(&outer, "0", &inner);
    BSON_APPEND_INT32(&inner, "0", 1);
    BSON_APPEND_INT32(&inner, "1", 2);
    bson_append_array_end(&outer, &inner);
    BSON_APPEND_ARRAY_BEGIN(&outer, "1", &inner);
    BSON_APPEND_INT32(&inner, "0", 3);
    bson_append_array_end(&outer, &inner);
    bson_append_array_end(b, &outer);
    BSON_APPEND_MINKEY(b, "minkey");
    BSON_APPEND_MAXKEY(b, "maxkey");
    BSON_APPEND_REGEX(b, "regex", "ab+c", "i");
    BSON_APPEND_TIMESTAMP(b, "ts", 1700000000, 7);
    const uint8_t bytes[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                               0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    BSON_APPEND_BINARY(b, "bin_generic", BSON_SUBTYPE_BINARY, bytes, 3);
    BSON_APPEND_BINARY(b, "bin_uuid", BSON_SUBTYPE_UUID, bytes, 16);
    BSON_APPEND_BINARY(b, "bin_md5", BSON_SUBTYPE_MD5, bytes, 16);
    BSON_APPEND_BINARY(b, "bin_user", BSON_SUBTYPE_USER, bytes, 2);
    BSON_APPEND_SYMBOL(b, "sym", "a symbol");
    BSON_APPEND_UNDEFINED(b, "undef");
    BSON_APPEND_NULL(b, "nothing");
    BSON_APPEND_DATE_TIME(b, "when", 1700000000123LL);
    BSON_APPEND_DATE_TIME(b, "day", 1700006400000LL - 1700006400000LL % 86400000LL);
    bson_t tags;
    BSON_APPEND_ARRAY_BEGIN(b, "tags", &tags);
    BSON_APPEND_UTF8(&tags, "0", "a");
    BSON_APPEND_NULL(&tags, "1");
    BSON_APPEND_UTF8(&tags, "2", "b");
    bson_append_array_end(b, &tags);
    bson_t counts;
    BSON_APPEND_ARRAY_BEGIN(b, "counts", &counts);
    BSON_APPEND_INT32(&counts, "0", 1);
    BSON_APPEND_INT64(&counts, "1", 2);
    BSON_APPEND_DOUBLE(&counts, "2", 3.0);
    bson_append_array_end(b, &counts);
    bson_t sub;
    BSON_APPEND_DOCUMENT_BEGIN(b, "address", &sub);
    BSON_APPEND_UTF8(&sub, "city", "Brno");
    BSON_APPEND_INT32(&sub, "zip", 60200);
    bson_append_document_end(b, &sub);
    // 100 levels of {"a": {"a": ... {"a": 1}}}.
    std::vector<bson_t> levels(100);
    bson_t *parent = b;
    for (int i = 0; i < 100; ++i) {
        bson_append_document_begin(parent, i == 0 ? "deep" : "a", -1, &levels[i]);
        parent = &levels[i];
    }
    BSON_APPEND_INT32(parent, "a", 1);
    for (int i = 99; i >= 0; --i)
        bson_append_document_end(i == 0 ? b : &levels[i - 1], &levels[i]);
    return d;
}

BsonPtr one_field(const char *id, void (*fill)(bson_t *)) {
    BsonPtr d = with_id(id);
    fill(d.get());
    return d;
}

void write_collection(const std::string &dir, const std::string &name,
                      const std::vector<BsonPtr> &docs, bool gzip = false) {
    if (gzip)
        write_gzip(dir + "/" + name + ".bson.gz", bytes_of(docs));
    else
        write_file(dir + "/" + name + ".bson", bytes_of(docs));
}

// A document {"d": {"d": ... {"leaf": "bottom"}}} nesting `levels` levels.
BsonPtr nested(int levels) {
    BsonPtr inner(bson_new());
    BSON_APPEND_UTF8(inner.get(), "leaf", "bottom");
    for (int i = 1; i < levels; ++i) {
        BsonPtr outer(bson_new());
        BSON_APPEND_DOCUMENT(outer.get(), "d", inner.get());
        inner = std::move(outer);
    }
    return inner;
}

BsonPtr account(const char *hex, const char *name) {
    BsonPtr d = with_id(hex);
    if (name)
        BSON_APPEND_UTF8(d.get(), "name", name);
    BSON_APPEND_INT32(d.get(), "__v", 0);
    return d;
}

BsonPtr task(const char *hex, const char *title, int position) {
    BsonPtr d = with_id(hex);
    BSON_APPEND_UTF8(d.get(), "title", title);
    BSON_APPEND_UTF8(d.get(), "priority", "low");
    BSON_APPEND_INT32(d.get(), "position", position);
    BSON_APPEND_INT32(d.get(), "__v", 0);
    return d;
}

void write_document_kinds(const std::string &dir) {
    std::vector<BsonPtr> accounts;
    BsonPtr d = account("65a1f0c2e4b0a1b2c3d4a001", "Nul Trading");
    bson_append_utf8(d.get(), "description", -1, "line1\0line2", 11);
    accounts.push_back(std::move(d));
    // The same key twice: at the top, in the _id, inside an unknown key.
    d = with_id("65a1f0c2e4b0a1b2c3d4a031");
    BSON_APPEND_UTF8(d.get(), "name", "Initial Value");
    BSON_APPEND_UTF8(d.get(), "name", "Changed Value");
    BSON_APPEND_INT32(d.get(), "__v", 0);
    accounts.push_back(std::move(d));
    d = with_id("65a1f0c2e4b0a1b2c3d4a032");
    bson_oid_t other = oid("65a1f0c2e4b0a1b2c3d4a0ff");
    BSON_APPEND_OID(d.get(), "_id", &other);
    BSON_APPEND_UTF8(d.get(), "name", "Two Ids");
    accounts.push_back(std::move(d));
    d = account("65a1f0c2e4b0a1b2c3d4a033", "Nested Twice");
    {
        bson_t legacy, arr, el;
        BSON_APPEND_DOCUMENT_BEGIN(d.get(), "legacy", &legacy);
        BSON_APPEND_ARRAY_BEGIN(&legacy, "list", &arr);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &el);
        BSON_APPEND_DOUBLE(&el, "x", 1.5);
        BSON_APPEND_DOUBLE(&el, "x", 2.5);
        bson_append_document_end(&arr, &el);
        bson_append_array_end(&legacy, &arr);
        bson_append_document_end(d.get(), &legacy);
    }
    accounts.push_back(std::move(d));
    // A NUL inside an unknown key: jsonb cannot store it.
    d = account("65a1f0c2e4b0a1b2c3d4a034", "Nul Legacy");
    bson_append_utf8(d.get(), "legacy_note", -1, "a\0b", 3);
    accounts.push_back(std::move(d));
    // A time written as a string: migrated, recorded as a repair.
    d = account("65a1f0c2e4b0a1b2c3d4a035", "String Time");
    BSON_APPEND_UTF8(d.get(), "createdAt", "2024-01-13T02:09:06.123Z");
    accounts.push_back(std::move(d));
    // A bogus element type after a valid length prefix; the next document
    // must still be read.
    d = account("65a1f0c2e4b0a1b2c3d4a036", "Malformed");
    BSON_APPEND_UTF8(d.get(), "description", "damaged");
    {
        std::string bytes(reinterpret_cast<const char *>(bson_get_data(d.get())), d->len);
        std::size_t at = bytes.find(std::string("\x02"
                                                "description",
                                                12));
        bytes[at] = 0x55;
        d.reset(bson_new_from_data(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
        if (!d)
            throw std::runtime_error("cannot build the malformed document");
    }
    accounts.push_back(std::move(d));
    accounts.push_back(account("65a1f0c2e4b0a1b2c3d4a037", "After The Damage"));
    write_collection(dir, "crm_Accounts", accounts);

    std::vector<BsonPtr> leads;
    d = with_id("65a1f0c2e4b0a1b2c3d4a002");
    BSON_APPEND_UTF8(d.get(), "lastName", "Novak");
    bson_append_utf8(d.get(), "legacy_\xff", -1, "x", 1);
    BSON_APPEND_INT32(d.get(), "__v", 0);
    leads.push_back(std::move(d));
    d = with_id("65a1f0c2e4b0a1b2c3d4a003");
    BSON_APPEND_UTF8(d.get(), "lastName", "Dvorak");
    {
        bson_t arr, el;
        BSON_APPEND_ARRAY_BEGIN(d.get(), "legacy_notes", &arr);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &el);
        bson_append_int32(&el, "k\xfe", -1, 1);
        bson_append_document_end(&arr, &el);
        bson_append_array_end(d.get(), &arr);
    }
    leads.push_back(std::move(d));
    write_collection(dir, "crm_Leads", leads);

    std::vector<BsonPtr> tasks;
    const char *deep_ids[] = {"65a1f0c2e4b0a1b2c3d4a010", "65a1f0c2e4b0a1b2c3d4a011",
                              "65a1f0c2e4b0a1b2c3d4a012", "65a1f0c2e4b0a1b2c3d4a013",
                              "65a1f0c2e4b0a1b2c3d4a014"};
    int depths[] = {100, 101, 201, 5000, 20000};
    for (int i = 0; i < 5; ++i) {
        d = task(deep_ids[i], ("depth " + std::to_string(depths[i])).c_str(), i);
        BSON_APPEND_DOCUMENT(d.get(), "tags", nested(depths[i]).get());
        tasks.push_back(std::move(d));
    }
    // Deep inside an array of an unknown key.
    d = task("65a1f0c2e4b0a1b2c3d4a015", "deep unknown key", 9);
    {
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(d.get(), "legacy_history", &arr);
        BSON_APPEND_DOCUMENT(&arr, "0", nested(150).get());
        bson_append_array_end(d.get(), &arr);
    }
    tasks.push_back(std::move(d));
    // BSON undefined (deprecated, still in old dumps) is null: the row holds
    // NULL and validation compares it as null.
    d = task("65a1f0c2e4b0a1b2c3d4a016", "undefined content", 10);
    BSON_APPEND_UNDEFINED(d.get(), "content");
    tasks.push_back(std::move(d));
    // A backslash followed by "u0000" is text, not a NUL: JSON "\\u0000".
    d = task("65a1f0c2e4b0a1b2c3d4a017", "backslash u0000", 11);
    BSON_APPEND_UTF8(d.get(), "legacy_path", "C:\\u0000dir");
    tasks.push_back(std::move(d));
    // An _id that is a string holding a NUL: migrated (foreign_ids shows the
    // NUL as the text \u0000) and validated.
    d.reset(bson_new());
    bson_append_utf8(d.get(), "_id", -1, "nul\0id", 6);
    BSON_APPEND_UTF8(d.get(), "title", "nul in _id");
    BSON_APPEND_UTF8(d.get(), "priority", "low");
    BSON_APPEND_INT32(d.get(), "position", 12);
    BSON_APPEND_INT32(d.get(), "__v", 0);
    tasks.push_back(std::move(d));
    write_collection(dir, "Tasks", tasks);

    std::vector<BsonPtr> invoices;
    d = with_id("65a1f0c2e4b0a1b2c3d4a051");
    BSON_APPEND_UTF8(d.get(), "invoice_number", "INV-0051");
    BSON_APPEND_UTF8(d.get(), "invoice_file_mimeType", "application/pdf");
    BSON_APPEND_UTF8(d.get(), "invoice_file_url", "https://files.example.test/inv-0051.pdf");
    {
        bson_t arr, el;
        BSON_APPEND_ARRAY_BEGIN(d.get(), "invoice_items", &arr);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &el);
        BSON_APPEND_UTF8(&el, "name", "Consulting");
        BSON_APPEND_DOUBLE(&el, "unit_price", 19.99);
        BSON_APPEND_DOUBLE(&el, "vat", 0.21);
        BSON_APPEND_DOUBLE(&el, "qty", 3.0);
        BSON_APPEND_DOUBLE(&el, "tiny", 1e-7);
        BSON_APPEND_DOUBLE(&el, "third", 0.1 + 0.2);
        BSON_APPEND_DOUBLE(&el, "neg_zero", -0.0);
        {
            bson_t part;
            BSON_APPEND_DOCUMENT_BEGIN(&el, "part", &part);
            BSON_APPEND_DOUBLE(&part, "discount", -0.0);
            bson_append_document_end(&el, &part);
        }
        BSON_APPEND_DOUBLE(&el, "inf", INFINITY);
        BSON_APPEND_SYMBOL(&el, "unit", "pcs");
        BSON_APPEND_INT64(&el, "big", 9007199254740993LL);
        append_decimal(&el, "exact", "0.1000000000000000000000000000000001");
        bson_append_document_end(&arr, &el);
        bson_append_array_end(d.get(), &arr);
    }
    BSON_APPEND_INT32(d.get(), "__v", 0);
    invoices.push_back(std::move(d));
    write_collection(dir, "Invoices", invoices);

    // Symbols (deprecated strings) as text, as a text[] element and in Json.
    std::vector<BsonPtr> contacts;
    d = with_id("65a1f0c2e4b0a1b2c3d4a061");
    BSON_APPEND_SYMBOL(d.get(), "last_name", "Novák");
    {
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(d.get(), "tags", &arr);
        BSON_APPEND_UTF8(&arr, "0", "vip");
        BSON_APPEND_SYMBOL(&arr, "1", "alpha");
        bson_append_array_end(d.get(), &arr);
    }
    BSON_APPEND_INT32(d.get(), "__v", 0);
    contacts.push_back(std::move(d));
    write_collection(dir, "crm_Contacts", contacts);
}

} // namespace

BsonPtr user(const char *hex, const char *expect, const char *email) {
    BsonPtr d = with_id(hex);
    BSON_APPEND_UTF8(d.get(), "expect", expect);
    BSON_APPEND_INT32(d.get(), "__v", 0);
    BSON_APPEND_UTF8(d.get(), "email", email);
    BSON_APPEND_UTF8(d.get(), "password", "$2a$12$secretsecretsecretsecret");
    return d;
}

// Users and Invoices a migration must either migrate exactly or reject with
// the field named, never crash on or fail its batch over.
void write_nextcrm_awkward(const std::string &dir) {
    std::vector<BsonPtr> users;
    users.push_back(user("65b000000000000000000001", "migrated", "plain@example.com"));
    BsonPtr d = user("65b000000000000000000002", "error:name", "utf8@example.com");
    bson_append_utf8(d.get(), "name", 4, "Jan\xff", 4);
    users.push_back(std::move(d));
    d = user("65b000000000000000000003", "error:(unknown keys)", "legacy@example.com");
    bson_append_utf8(d.get(), "legacy_note", 11, "\xc3\x28", 2);
    users.push_back(std::move(d));
    d = user("65b000000000000000000004", "error:name", "nul@example.com");
    bson_append_utf8(d.get(), "name", 4, "a\0b", 3);
    users.push_back(std::move(d));
    d = user("65b000000000000000000005", "migrated", "deep@example.com");
    {
        // An unknown key nested 100 levels deep is kept whole in extra_keys.
        std::vector<bson_t> levels(100);
        bson_t *parent = d.get();
        for (int i = 0; i < 100; ++i) {
            BSON_APPEND_DOCUMENT_BEGIN(parent, "deep", &levels[i]);
            parent = &levels[i];
        }
        BSON_APPEND_INT32(parent, "bottom", 1);
        for (int i = 99; i >= 0; --i)
            bson_append_document_end(i ? &levels[i - 1] : d.get(), &levels[i]);
    }
    users.push_back(std::move(d));
    d = user("65b000000000000000000006", "migrated", "decimal@example.com");
    bson_iter_t it;
    if (bson_iter_init_find(&it, d.get(), "__v"))
        bson_iter_overwrite_int32(&it, 0);
    append_decimal(d.get(), "is_admin_note", "7"); // unknown key, kept
    users.push_back(std::move(d));
    BsonPtr s = with_id("65b000000000000000000007");
    BSON_APPEND_UTF8(s.get(), "expect", "migrated");
    append_decimal(s.get(), "__v", "3"); // an exact integer in Decimal128
    BSON_APPEND_UTF8(s.get(), "email", "dec-version@example.com");
    users.push_back(std::move(s));
    BsonPtr str_id(bson_new());
    BSON_APPEND_UTF8(str_id.get(), "_id", "legacy-user");
    BSON_APPEND_UTF8(str_id.get(), "expect", "migrated");
    BSON_APPEND_UTF8(str_id.get(), "email", "string-id@example.com");
    // No ObjectId to take a creation time from, so it must carry its own.
    BSON_APPEND_DATE_TIME(str_id.get(), "created_on", 1600000000000);
    users.push_back(std::move(str_id));
    // Binary _ids with the same 16 bytes as BinData subtype 3 (legacy UUID)
    // and subtype 4: two users, whose ids the FDW and the migration agree on.
    const std::uint8_t same[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                   0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
    for (bson_subtype_t subtype : {BSON_SUBTYPE_UUID_DEPRECATED, BSON_SUBTYPE_UUID}) {
        BsonPtr b(bson_new());
        BSON_APPEND_BINARY(b.get(), "_id", subtype, same, 16);
        BSON_APPEND_UTF8(b.get(), "expect", "migrated");
        std::string email = "binary-uuid" + std::to_string(subtype) + "@example.com";
        BSON_APPEND_UTF8(b.get(), "email", email.c_str());
        BSON_APPEND_DATE_TIME(b.get(), "created_on", 1600000000000);
        users.push_back(std::move(b));
    }
    write_collection(dir, "Users", users);

    std::vector<BsonPtr> invoices;
    d = with_id("65b000000000000000000101");
    BSON_APPEND_UTF8(d.get(), "expect", "migrated");
    BSON_APPEND_UTF8(d.get(), "invoice_file_url", "u");
    BSON_APPEND_UTF8(d.get(), "invoice_file_mimeType", "application/pdf");
    {
        // Line items with what JSON cannot say plainly: NaN, nested arrays,
        // a Decimal128 and a date.
        bson_t items, item, nested, inner;
        BSON_APPEND_ARRAY_BEGIN(d.get(), "invoice_items", &items);
        BSON_APPEND_DOCUMENT_BEGIN(&items, "0", &item);
        BSON_APPEND_DOUBLE(&item, "discount", std::nan(""));
        append_decimal(&item, "price", "19.99");
        BSON_APPEND_DATE_TIME(&item, "delivered", 1700000000123);
        BSON_APPEND_ARRAY_BEGIN(&item, "grid", &nested);
        BSON_APPEND_ARRAY_BEGIN(&nested, "0", &inner);
        BSON_APPEND_INT32(&inner, "0", 1);
        bson_append_array_end(&nested, &inner);
        bson_append_array_end(&item, &nested);
        bson_append_document_end(&items, &item);
        bson_append_array_end(d.get(), &items);
    }
    invoices.push_back(std::move(d));
    d = with_id("65b000000000000000000102");
    BSON_APPEND_UTF8(d.get(), "expect", "error:invoice_items");
    BSON_APPEND_UTF8(d.get(), "invoice_file_url", "u");
    BSON_APPEND_UTF8(d.get(), "invoice_file_mimeType", "application/pdf");
    bson_t items;
    BSON_APPEND_ARRAY_BEGIN(d.get(), "invoice_items", &items);
    bson_append_utf8(&items, "0", 1, "x\0y", 3); // jsonb cannot hold U+0000
    bson_append_array_end(d.get(), &items);
    invoices.push_back(std::move(d));
    write_collection(dir, "Invoices", invoices);
}

// --json: one Extended JSON document per line of `file`.
void write_from_json(const std::string &dir, const std::string &collection,
                     const std::string &file) {
    std::ifstream in(file);
    if (!in)
        throw std::runtime_error("cannot read " + file);
    std::vector<BsonPtr> docs;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        bson_error_t error;
        BsonPtr d(bson_new_from_json(reinterpret_cast<const uint8_t *>(line.data()),
                                     static_cast<ssize_t>(line.size()), &error));
        if (!d)
            throw std::runtime_error(file + " line " + std::to_string(number) + ": " +
                                     error.message);
        docs.push_back(std::move(d));
    }
    write_collection(dir, collection, docs);
}

int main(int argc, char **argv) {
    if (argc == 5 && std::string(argv[1]) == "--json") {
        try {
            write_from_json(argv[2], argv[3], argv[4]);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "nextcrm_fixture: %s\n", e.what());
            return 1;
        }
        return 0;
    }
    if (argc == 3 && std::string(argv[1]) == "--nextcrm") {
        try {
            write_nextcrm_awkward(argv[2]);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "nextcrm_fixture: %s\n", e.what());
            return 1;
        }
        return 0;
    }
    if (argc == 3 && std::string(argv[1]) == "--documents") {
        try {
            write_document_kinds(argv[2]);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "nextcrm_fixture: %s\n", e.what());
            return 1;
        }
        return 0;
    }
    if (argc != 2) {
        std::fprintf(stderr,
                     "usage: %s [--nextcrm | --documents] DIR | --json DIR COLLECTION FILE\n",
                     argv[0]);
        return 2;
    }
    std::string dir = argv[1];
    try {
        std::vector<BsonPtr> docs;
        docs.push_back(typed_document());
        write_collection(dir, "typed", docs);
        write_collection(dir, "typed_gz", docs, true);

        std::vector<BsonPtr> many;
        for (int i = 0; i < 5000; ++i) {
            BsonPtr d(bson_new());
            BSON_APPEND_INT32(d.get(), "_id", i);
            BSON_APPEND_UTF8(d.get(), "name", ("name " + std::to_string(i)).c_str());
            BSON_APPEND_INT32(d.get(), "n", i % 7);
            many.push_back(std::move(d));
        }
        write_collection(dir, "many", many, true);

        std::vector<BsonPtr> one;
        one.push_back(one_field("65a000000000000000000002",
                                [](bson_t *b) { bson_append_utf8(b, "s", 1, "ok\xff", 3); }));
        write_collection(dir, "bad_utf8", one);
        one.clear();
        one.push_back(one_field("65a000000000000000000003",
                                [](bson_t *b) { bson_append_utf8(b, "s", 1, "a\0b", 3); }));
        write_collection(dir, "nul_string", one);
        one.clear();
        one.push_back(one_field("65a000000000000000000004", [](bson_t *b) {
            bson_t outer, inner;
            BSON_APPEND_ARRAY_BEGIN(b, "v", &outer);
            BSON_APPEND_ARRAY_BEGIN(&outer, "0", &inner);
            BSON_APPEND_INT32(&inner, "0", 1);
            bson_append_array_end(&outer, &inner);
            bson_append_array_end(b, &outer);
        }));
        write_collection(dir, "nested_array", one);
        one.clear();
        one.push_back(one_field("65a000000000000000000005",
                                [](bson_t *b) { append_decimal(b, "v", "1.5"); }));
        write_collection(dir, "decimal_frac", one);
        one.clear();
        one.push_back(one_field("65a000000000000000000006",
                                [](bson_t *b) { BSON_APPEND_INT64(b, "v", 10000000000LL); }));
        write_collection(dir, "long_big", one);
        one.clear();
        one.push_back(one_field("65a000000000000000000007", [](bson_t *b) {
            std::string text(16 * 1024 * 1024 - 100, 'x');
            bson_append_utf8(b, "s", 1, text.c_str(), static_cast<int>(text.size()));
        }));
        write_collection(dir, "big", one);

        one.clear();
        const std::uint8_t same[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                       0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
        const std::uint8_t guid[16] = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
                                       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
        for (bson_subtype_t subtype : {BSON_SUBTYPE_UUID_DEPRECATED, BSON_SUBTYPE_UUID}) {
            BsonPtr d(bson_new());
            BSON_APPEND_BINARY(d.get(), "_id", subtype, same, 16);
            BSON_APPEND_INT32(d.get(), "subtype", subtype);
            BSON_APPEND_BINARY(d.get(), "g", BSON_SUBTYPE_UUID_DEPRECATED, guid, 16);
            one.push_back(std::move(d));
        }
        write_collection(dir, "legacy_uuid", one);

        std::vector<BsonPtr> ten;
        for (int i = 0; i < 10; ++i) {
            BsonPtr d(bson_new());
            BSON_APPEND_INT32(d.get(), "_id", i);
            BSON_APPEND_UTF8(d.get(), "name", "row");
            ten.push_back(std::move(d));
        }
        std::string bytes = bytes_of(ten);
        write_file(dir + "/truncated.bson", bytes.substr(0, bytes.size() - 5));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "nextcrm_fixture: %s\n", e.what());
        return 1;
    }
    return 0;
}
