// The oplog of a mongodump --oplog backup, applied as mongorestore
// --oplogReplay applies it.
//
// Design.  mongodump --oplog copies the collections while the database is
// written to, then the oplog entries made meanwhile; the collections alone are
// a state the source never had.  mongorestore --oplogReplay restores the
// collections and then applies the entries on top, in oplog order.  Every
// entry we apply acts on one document, named by its _id: `i` (an insert,
// applied as an upsert: the document replaces whatever has that _id), `u` (an
// update: a replacement document, a $set/$unset modifier document, or the
// $v:2 `diff` form with d/u/i/s<field> subdiffs and array diffs; applyOps'
// alwaysUpsert, on by default, makes an update to an _id the dump lacks
// create {_id} and apply the update to it), `d` (a delete by _id); `n` is
// ignored; `c` commands are flattened when they are applyOps (a transaction;
// one written over several entries, partialTxn or prepared, is applied at its
// commit, and not at all if the oplog ends before it commits or it aborts) and
// otherwise recorded as not applied: skipped when they change no document
// (createIndexes and the other index commands, create), failed otherwise
// (drop, renameCollection ... would change documents in a way not replayed).
// Entries on other databases are not this migration's and are skipped
// without a record.
//
// Because no entry we apply reads another document, applying the entries
// "after the load" is the same as applying each document's entries to it when
// it is read: the dump's document with that _id (or nothing) is the base, its
// entries in oplog order give its final state, and that state goes through the
// same conversion path as any document.  So the replay is a DocumentSource
// wrapping the collection's: a document the entries touch comes out in its
// final state (a deleted one not at all), and the touched _ids the dump lacks
// follow its last document, in the order of their first entry.  References to
// a deleted document then dangle, and the migration's dangling-reference
// handling records them as it records any.  An update that cannot be applied
// (an operator or diff form not implemented) makes that document an error
// row, never a silently older state.  Each entry's outcome is recorded by the
// batch that reads its document (so a resumed run, which re-reads the same
// deterministic stream, records nothing twice).
//
// An entry finds its document as MongoDB's _id index does (core/id_key.hpp):
// NumberLong(7), 7.0 or Decimal128 7 in an entry address the document whose
// _id is the int32 7.  The entry's _id only selects: the document keeps the
// _id bytes it has (the dump's, or its first insert's), so the migration
// gives it the same target id it would without the oplog.  PostgreSQL-free.
#pragma once

#include "document_source.hpp"
#include "mongo_client.hpp"

#include <bson/bson.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nextcrm {

class Dump;

// One operation of the oplog on the migrated database, applyOps flattened.
struct OplogOp {
    std::int64_t position = 0; // 1, 2, ... among the database's operations
    std::string ts;            // the entry's ts as Timestamp(t, i)
    std::string op;            // i, u, d, c
    std::string collection;    // empty for a command on the database
    std::string source_id;     // the _id as the side tables spell it; empty if none
    std::string key;           // the _id as the _id index compares it (core/id_key.hpp)
    OwnedValue id;
    BsonPtr o; // i: the document, u: the update (a copy)
    // Non-empty when the entry is not applied, with why (a command, no _id).
    std::string problem;
    // Not applied, and rightly (outcome "skipped", not "failed"): its
    // transaction had not committed when the oplog ends, so the source never
    // held its effect, or it is a command that changes no document (an
    // index's, a collection's creation).
    bool skipped = false;
};

// What became of one entry: outcome "applied", "failed" (with reason), or
// "skipped" (its collection is not migrated).
struct OplogRecord {
    std::int64_t position = 0;
    std::string ts, op, collection, source_id, outcome, reason;
};

// Applies one update (an oplog `u` entry's `o`) to `base` (nullptr: the _id
// is absent, and the update upserts {_id: id}).  Returns the new document;
// throws Error with the reason when the update's form is not one mongodump of
// MongoDB 4.x-7.x writes (or not one implemented), or does not fit the
// document (a subdiff of a field that is not an object).
BsonPtr apply_update(const bson_t *base, const bson_value_t *id, const bson_t *update);

// The entries of an oplog on one database, by collection and _id.
class OplogReplay {
  public:
    explicit OplogReplay(std::string database) : database_(std::move(database)) {}
    // Reads the dump's oplog (Dump::for_each_oplog_entry); nullptr when the
    // dump has no operation on its database.
    static std::shared_ptr<const OplogReplay> read(const Dump &dump);

    // Adds one oplog entry (an applyOps is flattened; a transaction's
    // operations are added at its commit).
    void add(const bson_t *entry);
    // After the last entry: the operations of transactions that had not
    // committed are added, not to be applied.
    void end();

    // Every operation on the database, in oplog order.
    const std::deque<OplogOp> &ops() const noexcept { return ops_; }
    // The operations on one document, named by its _id's key (id_key()), in
    // order; nullptr when none.
    const std::vector<const OplogOp *> *ops_of(const std::string &collection,
                                               const std::string &key) const;
    // The keys of the _ids of a collection's documents that operations
    // touch, in the order of their first operation.
    const std::vector<std::string> &touched(const std::string &collection) const;

  private:
    void add_op(const bson_t *op, const std::string &ts, bool uncommitted = false);
    std::string database_;
    // Operations of transactions not yet committed, by lsid and txnNumber.
    std::map<std::string, std::vector<BsonPtr>> pending_;
    std::deque<OplogOp> ops_;
    std::map<std::string, std::vector<std::string>> touched_;
    // ops_ is a deque: by_doc_ points into it.
    std::map<std::pair<std::string, std::string>, std::vector<const OplogOp *>> by_doc_;
};

// A document's final state after its operations: `doc` (null: absent),
// or `failure` (why one could not be applied).  Records each operation's
// outcome in `records`.
struct Replayed {
    BsonPtr doc;
    std::string failure;
};
Replayed replay_document(const std::vector<const OplogOp *> &ops, const bson_t *base,
                         std::vector<OplogRecord> *records);

// A collection's documents with the oplog applied (see the design above).
class ReplayedSource : public DocumentSource {
  public:
    ReplayedSource(std::unique_ptr<DocumentSource> inner, std::shared_ptr<const OplogReplay> replay,
                   std::string collection);
    const bson_t *next() override;
    // Why the document next() returned last cannot be migrated (an entry on
    // it could not be applied; the document returned is its last state
    // before that entry), or empty.
    const std::string &failure() const noexcept { return failure_; }
    // The outcomes of the entries on the documents read since the last call.
    std::vector<OplogRecord> take_records();
    // Documents read from the dump itself, before the oplog's entries: what
    // a count of the dump's file (source_count.hpp) must agree with.
    std::int64_t dump_count() const noexcept { return inner_ ? inner_->count() : 0; }

  private:
    std::unique_ptr<DocumentSource> inner_;
    std::shared_ptr<const OplogReplay> replay_;
    std::string collection_;
    std::map<std::string, bool> seen_;
    std::size_t appended_ = 0; // next index into touched() after the dump's end
    bool inner_done_ = false;
    BsonPtr current_;
    std::string failure_;
    std::vector<OplogRecord> records_;
};

} // namespace nextcrm
