#include "oplog_apply.hpp"

#include "bson_check.hpp"
#include "doc_transform.hpp"
#include "error.hpp"
#include "id_key.hpp"
#include "mongodump.hpp"

#include <algorithm>
#include <cstdlib>

namespace nextcrm {

namespace {

// A document as a tree that updates can change in place, then written back
// as BSON in its field order.
struct Node {
    enum class Kind { Scalar, Document, Array } kind = Kind::Scalar;
    OwnedValue scalar;
    std::vector<std::pair<std::string, Node>> fields; // a Document's, or an Array's elements
};

Node node_of(const bson_iter_t *it);

Node node_of_children(bson_iter_t *child, Node::Kind kind) {
    Node n;
    n.kind = kind;
    while (bson_iter_next(child))
        n.fields.emplace_back(bson_iter_key(child), node_of(child));
    return n;
}

Node node_of(const bson_iter_t *it) {
    bson_iter_t child;
    if (BSON_ITER_HOLDS_DOCUMENT(it) && bson_iter_recurse(it, &child))
        return node_of_children(&child, Node::Kind::Document);
    if (BSON_ITER_HOLDS_ARRAY(it) && bson_iter_recurse(it, &child))
        return node_of_children(&child, Node::Kind::Array);
    Node n;
    n.scalar = OwnedValue(bson_iter_value(const_cast<bson_iter_t *>(it)));
    return n;
}

Node node_of_document(const bson_t *doc) {
    bson_iter_t it;
    Node n;
    n.kind = Node::Kind::Document;
    if (bson_iter_init(&it, doc))
        n = node_of_children(&it, Node::Kind::Document);
    return n;
}

Node null_node() {
    bson_value_t v{};
    v.value_type = BSON_TYPE_NULL;
    Node n;
    n.scalar = OwnedValue(&v);
    return n;
}

void append_node(bson_t *out, const std::string &key, const Node &n);

void append_children(bson_t *out, const Node &n) {
    std::size_t i = 0;
    for (const auto &[key, child] : n.fields)
        append_node(out, n.kind == Node::Kind::Array ? std::to_string(i++) : key, child);
}

void append_node(bson_t *out, const std::string &key, const Node &n) {
    bson_t child;
    switch (n.kind) {
    case Node::Kind::Document:
        bson_append_document_begin(out, key.c_str(), static_cast<int>(key.size()), &child);
        append_children(&child, n);
        bson_append_document_end(out, &child);
        break;
    case Node::Kind::Array:
        bson_append_array_begin(out, key.c_str(), static_cast<int>(key.size()), &child);
        append_children(&child, n);
        bson_append_array_end(out, &child);
        break;
    case Node::Kind::Scalar:
        bson_append_value(out, key.c_str(), static_cast<int>(key.size()), n.scalar.get());
        break;
    }
}

BsonPtr document_of(const Node &n) {
    BsonPtr out(bson_new());
    append_children(out.get(), n);
    return out;
}

Node *field(Node &n, const std::string &key) {
    for (auto &[k, child] : n.fields)
        if (k == key)
            return &child;
    return nullptr;
}

void remove_field(Node &n, const std::string &key) {
    n.fields.erase(std::remove_if(n.fields.begin(), n.fields.end(),
                                  [&key](const auto &f) { return f.first == key; }),
                   n.fields.end());
}

void set_field(Node &n, const std::string &key, Node value) {
    if (Node *f = field(n, key))
        *f = std::move(value);
    else
        n.fields.emplace_back(key, std::move(value));
}

// An array index as MongoDB spells it in paths and diffs: decimal digits.
bool array_index(const std::string &text, std::size_t *index) {
    if (text.empty() || text.size() > 9 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        return false;
    *index = static_cast<std::size_t>(std::strtoul(text.c_str(), nullptr, 10));
    return true;
}

// MongoDB pads an array with nulls by at most this many elements (its
// update code refuses more); an index the entry names beyond that is no
// entry it wrote, and padding up to a nine-digit index would allocate
// without bound in the backend.
constexpr std::size_t max_array_padding = 1500000;

// The array's element `index`, the array padded with nulls up to it.
Node &element(Node &array, std::size_t index) {
    if (index >= array.fields.size() && index - array.fields.size() > max_array_padding)
        throw Error("the update pads an array of " + std::to_string(array.fields.size()) +
                    " elements up to element " + std::to_string(index) + ", more than the " +
                    std::to_string(max_array_padding) + " MongoDB pads");
    while (array.fields.size() <= index)
        array.fields.emplace_back(std::string(), null_node());
    return array.fields[index].second;
}

std::vector<std::string> split_path(const std::string &path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        std::size_t dot = path.find('.', start);
        parts.push_back(path.substr(start, dot - start));
        if (dot == std::string::npos)
            return parts;
        start = dot + 1;
    }
}

// $set of a dotted path: missing objects on the way are created; an array on
// the way is indexed by a number; a scalar on the way cannot hold the field.
void set_path(Node &root, const std::string &path, Node value) {
    std::vector<std::string> parts = split_path(path);
    Node *at = &root;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::string &part = parts[i];
        if (part.empty())
            throw Error("$set path \"" + path + "\" has an empty part");
        bool last = i + 1 == parts.size();
        if (at->kind == Node::Kind::Array) {
            std::size_t index = 0;
            if (!array_index(part, &index))
                throw Error("$set path \"" + path + "\" names field \"" + part + "\" of an array");
            Node &e = element(*at, index);
            if (last)
                e = std::move(value);
            at = &e;
            continue;
        }
        if (at->kind != Node::Kind::Document)
            throw Error("$set path \"" + path + "\" goes through a value that is not an object");
        if (last) {
            set_field(*at, part, std::move(value));
            return;
        }
        Node *next = field(*at, part);
        if (!next) {
            Node object;
            object.kind = Node::Kind::Document;
            at->fields.emplace_back(part, std::move(object));
            next = &at->fields.back().second;
        }
        at = next;
    }
}

// $unset of a dotted path: a missing field is nothing to do; an array element
// becomes null (MongoDB keeps the array's length).
void unset_path(Node &root, const std::string &path) {
    std::vector<std::string> parts = split_path(path);
    Node *at = &root;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        bool last = i + 1 == parts.size();
        if (at->kind == Node::Kind::Array) {
            std::size_t index = 0;
            if (!array_index(parts[i], &index) || index >= at->fields.size())
                return;
            if (last) {
                at->fields[index].second = null_node();
                return;
            }
            at = &at->fields[index].second;
            continue;
        }
        if (at->kind != Node::Kind::Document)
            return;
        if (last) {
            remove_field(*at, parts[i]);
            return;
        }
        at = field(*at, parts[i]);
        if (!at)
            return;
    }
}

bool holds_document(const bson_iter_t *it) {
    return BSON_ITER_HOLDS_DOCUMENT(it);
}

// The children of a document-valued iterator.
bson_iter_t children(const bson_iter_t *it) {
    bson_iter_t child;
    if (!bson_iter_recurse(it, &child))
        throw Error(std::string("cannot read \"") + bson_iter_key(it) + "\"");
    return child;
}

void apply_diff(Node &target, const bson_iter_t *diff, const std::string &where);

// An array diff ({a: true, l: length, u<i>: value, s<i>: subdiff}).
void apply_array_diff(Node &array, const bson_iter_t *diff, const std::string &where) {
    if (array.kind != Node::Kind::Array)
        throw Error("diff of array \"" + where + "\" applies to a value that is not an array");
    bson_iter_t it = children(diff);
    while (bson_iter_next(&it)) {
        std::string key = bson_iter_key(&it);
        std::size_t index = 0;
        if (key == "a")
            continue;
        if (key == "l") {
            if (!BSON_ITER_HOLDS_NUMBER(&it) || bson_iter_as_int64(&it) < 0)
                throw Error("diff of array \"" + where + "\" has a length that is not a number");
            std::size_t length = static_cast<std::size_t>(bson_iter_as_int64(&it));
            if (length < array.fields.size())
                array.fields.resize(length);
            else if (length > 0)
                element(array, length - 1);
        } else if (key.size() > 1 && key[0] == 'u' && array_index(key.substr(1), &index)) {
            element(array, index) = node_of(&it);
        } else if (key.size() > 1 && key[0] == 's' && array_index(key.substr(1), &index)) {
            if (!holds_document(&it) || index >= array.fields.size())
                throw Error("diff of array \"" + where + "\" changes element " +
                            std::to_string(index) + ", which it does not hold");
            apply_diff(array.fields[index].second, &it, where + "." + std::to_string(index));
        } else {
            throw Error("diff of array \"" + where + "\" has the unknown key \"" + key + "\"");
        }
    }
}

// A $v:2 diff of an object ({d: {f: false}, u: {f: v}, i: {f: v}, s<f>:
// subdiff}) or, with a: true, of an array.
void apply_diff(Node &target, const bson_iter_t *diff, const std::string &where) {
    bson_iter_t probe = children(diff);
    if (bson_iter_find(&probe, "a")) {
        apply_array_diff(target, diff, where);
        return;
    }
    std::string shown = where.empty() ? "the document" : "\"" + where + "\"";
    if (target.kind != Node::Kind::Document)
        throw Error("diff of object " + shown + " applies to a value that is not an object");
    std::string prefix = where.empty() ? "" : where + ".";
    bson_iter_t it = children(diff);
    while (bson_iter_next(&it)) {
        std::string key = bson_iter_key(&it);
        if ((key == "d" || key == "u" || key == "i") && holds_document(&it)) {
            bson_iter_t f = children(&it);
            while (bson_iter_next(&f)) {
                std::string name = bson_iter_key(&f);
                // MongoDB never changes an _id; an entry that does is not
                // one it wrote, and applied it would move the document to
                // another _id (or leave it none).
                if (where.empty() && name == "_id")
                    throw Error("the diff changes the _id");
                if (key == "d")
                    remove_field(target, name);
                else if (key == "u")
                    set_field(target, name, node_of(&f));
                else {
                    // An insert puts the field last, where MongoDB puts it.
                    remove_field(target, name);
                    target.fields.emplace_back(name, node_of(&f));
                }
            }
        } else if (key.size() > 1 && key[0] == 's' && holds_document(&it)) {
            if (where.empty() && key.substr(1) == "_id")
                throw Error("the diff changes the _id");
            Node *sub = field(target, key.substr(1));
            if (!sub)
                throw Error("diff changes \"" + prefix + key.substr(1) +
                            "\", which the document does not hold");
            apply_diff(*sub, &it, prefix + key.substr(1));
        } else {
            throw Error("diff of " + shown + " has the unknown key \"" + key + "\"");
        }
    }
}

bool is_modifier_document(const bson_t *update) {
    bson_iter_t it;
    return bson_iter_init(&it, update) && bson_iter_next(&it) && bson_iter_key(&it)[0] == '$';
}

std::string timestamp_text(const bson_t *entry) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, entry, "ts"))
        return "(none)";
    if (BSON_ITER_HOLDS_TIMESTAMP(&it)) {
        std::uint32_t t = 0, i = 0;
        bson_iter_timestamp(&it, &t, &i);
        return "Timestamp(" + std::to_string(t) + ", " + std::to_string(i) + ")";
    }
    return "(not a timestamp)";
}

std::string utf8_field(const bson_t *doc, const char *key) {
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, nullptr);
    return {};
}

bool subdocument(const bson_t *doc, const char *key, bson_t *out) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_DOCUMENT(&it))
        return false;
    std::uint32_t len = 0;
    const std::uint8_t *data = nullptr;
    bson_iter_document(&it, &len, &data);
    return bson_init_static(out, data, len);
}

// The _id an entry's document names ({_id: ...}).
bool id_of(const bson_t *doc, OwnedValue *id) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return false;
    *id = OwnedValue(bson_iter_value(&it));
    return true;
}

std::string source_id_of_value(const bson_value_t *id) {
    BsonPtr doc(bson_new());
    bson_append_value(doc.get(), "_id", 3, id);
    return source_id_of(doc.get());
}

// `doc` with the _id of `previous` (the document's own bytes, where an
// entry named it by an equal value of another type), in its place.
BsonPtr keep_id(BsonPtr doc, const bson_t *previous) {
    bson_iter_t old_id;
    if (!previous || !doc || !bson_iter_init_find(&old_id, previous, "_id"))
        return doc;
    Node n = node_of_document(doc.get());
    Node id = node_of(&old_id);
    if (Node *f = field(n, "_id"))
        *f = std::move(id);
    else
        n.fields.insert(n.fields.begin(), {"_id", std::move(id)});
    return document_of(n);
}

} // namespace

BsonPtr apply_update(const bson_t *base, const bson_value_t *id, const bson_t *update) {
    Node doc;
    if (base) {
        doc = node_of_document(base);
    } else {
        doc.kind = Node::Kind::Document;
        Node idn;
        idn.scalar = OwnedValue(id);
        doc.fields.emplace_back("_id", std::move(idn));
    }
    if (!is_modifier_document(update)) {
        // A replacement: the new document, keeping the _id first.  Its
        // _id, if it has one, must be the document's by value (the
        // document's own bytes stay: keep_id).
        Node replacement = node_of_document(update);
        if (field(replacement, "_id")) {
            if (!id || id_key_of(update) != id_key(id))
                throw Error("the replacement document changes the _id");
        } else {
            Node idn;
            idn.scalar = OwnedValue(id);
            replacement.fields.insert(replacement.fields.begin(), {"_id", std::move(idn)});
        }
        return keep_id(document_of(replacement), base);
    }
    bson_iter_t it;
    bson_iter_init(&it, update);
    int version = 1;
    bson_iter_t v;
    if (bson_iter_init_find(&v, update, "$v") && BSON_ITER_HOLDS_NUMBER(&v))
        version = static_cast<int>(bson_iter_as_int64(&v));
    while (bson_iter_next(&it)) {
        std::string op = bson_iter_key(&it);
        if (op == "$v")
            continue;
        if (version == 2 && op == "diff" && holds_document(&it)) {
            apply_diff(doc, &it, "");
            continue;
        }
        if ((op == "$set" || op == "$unset") && holds_document(&it) && version == 1) {
            bson_iter_t f = children(&it);
            while (bson_iter_next(&f)) {
                std::string path = bson_iter_key(&f);
                if (path == "_id" || path.rfind("_id.", 0) == 0)
                    throw Error(op + " changes the _id");
                if (op == "$set")
                    set_path(doc, path, node_of(&f));
                else
                    unset_path(doc, path);
            }
            continue;
        }
        throw Error("the update operator \"" + op + "\"" +
                    (version == 1 ? "" : " of update version " + std::to_string(version)) +
                    " is not applied");
    }
    return document_of(doc);
}

// The transaction an entry belongs to (its lsid and txnNumber), or empty.
std::string transaction_of(const bson_t *entry) {
    bson_iter_t lsid, number;
    if (!bson_iter_init_find(&lsid, entry, "lsid") ||
        !bson_iter_init_find(&number, entry, "txnNumber"))
        return {};
    const bson_value_t *l = bson_iter_value(&lsid);
    std::string key;
    if (l->value_type == BSON_TYPE_DOCUMENT)
        key.assign(reinterpret_cast<const char *>(l->value.v_doc.data), l->value.v_doc.data_len);
    return key + "/" + std::to_string(bson_iter_as_int64(&number));
}

bool flag_set(const bson_t *o, const char *key) {
    bson_iter_t it;
    return bson_iter_init_find(&it, o, key) && bson_iter_as_bool(&it);
}

void OplogReplay::add(const bson_t *entry) {
    std::string ts = timestamp_text(entry);
    bson_t o;
    if (utf8_field(entry, "op") == "c" && subdocument(entry, "o", &o)) {
        // A transaction written over several entries (4.2+) is applied at
        // its commit, as mongorestore's transaction buffer applies it: the
        // entries flagged partialTxn (and a prepared one) hold its operations
        // until the applyOps without the flag, or the commitTransaction
        // command, commits them; abortTransaction drops them.
        std::string txn = transaction_of(entry);
        bson_iter_t ops, child;
        bool is_apply_ops = bson_iter_init_find(&ops, &o, "applyOps") &&
                            BSON_ITER_HOLDS_ARRAY(&ops) && bson_iter_recurse(&ops, &child);
        if (is_apply_ops && !txn.empty() &&
            (flag_set(&o, "partialTxn") || flag_set(&o, "prepare"))) {
            auto &held = pending_[txn];
            while (bson_iter_next(&child))
                if (BSON_ITER_HOLDS_DOCUMENT(&child)) {
                    std::uint32_t len = 0;
                    const std::uint8_t *data = nullptr;
                    bson_iter_document(&child, &len, &data);
                    held.emplace_back(bson_new_from_data(data, len));
                }
            return;
        }
        bson_iter_t command;
        bool commit = bson_iter_init_find(&command, &o, "commitTransaction");
        bool abort = bson_iter_init_find(&command, &o, "abortTransaction");
        if (commit || abort || (is_apply_ops && !txn.empty())) {
            auto held = pending_.find(txn);
            if (held != pending_.end()) {
                if (commit || is_apply_ops)
                    for (const auto &op : held->second)
                        if (op)
                            add_op(op.get(), ts);
                pending_.erase(held);
            }
            if (commit || abort)
                return;
        }
    }
    add_op(entry, ts);
}

void OplogReplay::end() {
    // What no commit reached had not happened when the oplog ends: like
    // mongorestore, not applied; recorded as such.
    for (auto &[txn, held] : pending_)
        for (const auto &op : held)
            if (op)
                add_op(op.get(), "(not committed)", true);
    pending_.clear();
}

void OplogReplay::add_op(const bson_t *entry, const std::string &ts, bool uncommitted) {
    std::string op = utf8_field(entry, "op");
    std::string ns = utf8_field(entry, "ns");
    if (op == "n")
        return;
    bson_t o;
    bool has_o = subdocument(entry, "o", &o);
    if (op == "c" && has_o) {
        bson_iter_t ops, child;
        if (bson_iter_init_find(&ops, &o, "applyOps") && BSON_ITER_HOLDS_ARRAY(&ops) &&
            bson_iter_recurse(&ops, &child)) {
            while (bson_iter_next(&child)) {
                if (!BSON_ITER_HOLDS_DOCUMENT(&child))
                    continue;
                std::uint32_t len = 0;
                const std::uint8_t *data = nullptr;
                bson_iter_document(&child, &len, &data);
                bson_t inner;
                if (bson_init_static(&inner, data, len))
                    add_op(&inner, ts, uncommitted);
            }
            return;
        }
    }
    std::string prefix = database_ + ".";
    if (database_.empty() || ns.compare(0, prefix.size(), prefix) != 0 ||
        ns.size() == prefix.size())
        return;
    OplogOp rec;
    rec.position = static_cast<std::int64_t>(ops_.size()) + 1;
    rec.ts = ts;
    rec.op = op;
    rec.collection = ns.substr(prefix.size());
    if (op == "c") {
        bson_iter_t it;
        std::string command =
            has_o && bson_iter_init(&it, &o) && bson_iter_next(&it) ? bson_iter_key(&it) : "(none)";
        rec.collection.clear();
        if (has_o && bson_iter_init(&it, &o) && bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it))
            rec.collection = bson_iter_utf8(&it, nullptr);
        // Index commands and a collection's creation change no document
        // (the target's indexes come from its schema; documents inserted
        // into a new collection are entries of their own): not applied, and
        // rightly.  Any other command (drop, renameCollection ...) would
        // change documents in a way not replayed: it fails.
        static const char *const harmless[] = {"createIndexes",    "startIndexBuild",
                                               "commitIndexBuild", "abortIndexBuild",
                                               "dropIndexes",      "create"};
        rec.skipped =
            std::find(std::begin(harmless), std::end(harmless), command) != std::end(harmless);
        rec.problem = rec.skipped ? "the command \"" + command + "\" changes no document"
                                  : "the command \"" + command + "\" is not applied";
    } else if (op == "i" || op == "u" || op == "d") {
        bson_t o2;
        bool found = op == "u" ? subdocument(entry, "o2", &o2) && id_of(&o2, &rec.id)
                               : has_o && id_of(&o, &rec.id);
        if (found) {
            rec.source_id = source_id_of_value(rec.id.get());
            rec.key = id_key(rec.id.get());
        }
        if (!found)
            rec.problem = "the entry names no _id";
        else if (op != "d" && !has_o)
            rec.problem = "the entry has no document (o)";
        else if (op != "d")
            rec.o.reset(bson_copy(&o));
    } else {
        rec.problem = "the operation \"" + op + "\" is not one mongodump writes";
    }
    if (uncommitted) {
        rec.skipped = true;
        rec.problem = "its transaction had not committed when the oplog ends";
    }
    ops_.push_back(std::move(rec));
    const OplogOp &added = ops_.back();
    if (added.problem.empty()) {
        auto &list = by_doc_[{added.collection, added.key}];
        if (list.empty())
            touched_[added.collection].push_back(added.key);
        list.push_back(&added);
    }
}

std::shared_ptr<const OplogReplay> OplogReplay::read(const Dump &dump) {
    auto replay = std::make_shared<OplogReplay>(dump.database());
    dump.for_each_oplog_entry([&replay](const bson_t *entry) { replay->add(entry); });
    replay->end();
    if (replay->ops().empty())
        return nullptr;
    return replay;
}

const std::vector<const OplogOp *> *OplogReplay::ops_of(const std::string &collection,
                                                        const std::string &key) const {
    auto it = by_doc_.find({collection, key});
    return it == by_doc_.end() ? nullptr : &it->second;
}

const std::vector<std::string> &OplogReplay::touched(const std::string &collection) const {
    static const std::vector<std::string> none;
    auto it = touched_.find(collection);
    return it == touched_.end() ? none : it->second;
}

Replayed replay_document(const std::vector<const OplogOp *> &ops, const bson_t *base,
                         std::vector<OplogRecord> *records) {
    Replayed out;
    if (base)
        out.doc.reset(bson_copy(base));
    std::size_t first = records->size();
    for (const OplogOp *op : ops) {
        records->push_back(
            {op->position, op->ts, op->op, op->collection, op->source_id, "applied", {}});
        if (!out.failure.empty()) {
            records->back().outcome = "failed";
            records->back().reason = "an earlier entry on the same document could not be applied";
            continue;
        }
        try {
            if (op->op == "i") {
                // mongorestore applies an insert as an upsert: the entry's
                // document is the document, under the _id it already has.
                out.doc = keep_id(BsonPtr(bson_copy(op->o.get())), out.doc.get());
            } else if (op->op == "u") {
                out.doc = apply_update(out.doc.get(), op->id.get(), op->o.get());
            } else {
                out.doc.reset();
            }
        } catch (const Error &e) {
            out.failure = "oplog entry " + std::to_string(op->position) + " (" + op->ts + ", op " +
                          op->op + ") cannot be applied: " + e.what();
            // The entries before it did not reach the target either.
            for (std::size_t i = first; i < records->size(); ++i) {
                (*records)[i].outcome = "failed";
                (*records)[i].reason = i + 1 == records->size()
                                           ? e.what()
                                           : "a later entry on the same document could not be "
                                             "applied";
            }
        }
    }
    if (!out.failure.empty() && !out.doc) {
        // The error row needs a document: the _id alone.
        out.doc.reset(bson_new());
        bson_append_value(out.doc.get(), "_id", 3, ops.front()->id.get());
    }
    return out;
}

ReplayedSource::ReplayedSource(std::unique_ptr<DocumentSource> inner,
                               std::shared_ptr<const OplogReplay> replay, std::string collection)
    : inner_(std::move(inner)), replay_(std::move(replay)), collection_(std::move(collection)) {}

const bson_t *ReplayedSource::next() {
    failure_.clear();
    while (!inner_done_) {
        const bson_t *doc = inner_ ? inner_->next() : nullptr;
        if (!doc) {
            inner_done_ = true;
            break;
        }
        std::string id = id_key_of(doc);
        const auto *ops = replay_ && !id.empty() ? replay_->ops_of(collection_, id) : nullptr;
        if (!ops) {
            ++count_;
            return doc;
        }
        // A second document with the same _id (a damaged dump): the entries
        // were applied to the first.  Left as it is, it would be migrated in
        // its state before them -- after a delete, when the first was not
        // written, without even a duplicate key to report it -- so it is an
        // error row.
        if (seen_.count(id)) {
            failure_ = "the dump holds a second document with this _id; the oplog's entries on "
                       "the _id were applied to the first";
            ++count_;
            return doc;
        }
        seen_[id] = true;
        // Applying entries walks the document by recursion: one nested
        // past max_document_depth (which no reader converts) would take
        // the backend's stack with it.  Its entries fail, and it is an
        // error row.
        if (auto fault = check_document(doc);
            fault && fault->kind == DocumentFault::Kind::TooDeep) {
            for (const OplogOp *op : *ops)
                records_.push_back({op->position, op->ts, op->op, op->collection, op->source_id,
                                    "failed", "its document cannot be read: " + fault->reason});
            failure_ = "the oplog's entries on this document are not applied: " + fault->reason;
            ++count_;
            return doc;
        }
        Replayed r = replay_document(*ops, doc, &records_);
        if (!r.doc)
            continue; // deleted while mongodump ran
        current_ = std::move(r.doc);
        failure_ = r.failure;
        ++count_;
        return current_.get();
    }
    if (!replay_)
        return nullptr;
    const auto &touched = replay_->touched(collection_);
    while (appended_ < touched.size()) {
        const std::string &id = touched[appended_++];
        if (seen_.count(id))
            continue;
        Replayed r = replay_document(*replay_->ops_of(collection_, id), nullptr, &records_);
        if (!r.doc)
            continue; // inserted and deleted while mongodump ran
        current_ = std::move(r.doc);
        failure_ = r.failure;
        ++count_;
        return current_.get();
    }
    return nullptr;
}

std::vector<OplogRecord> ReplayedSource::take_records() {
    std::vector<OplogRecord> out;
    out.swap(records_);
    return out;
}

} // namespace nextcrm
