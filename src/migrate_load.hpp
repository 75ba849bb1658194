// Loading one collection, one batch of 1000 documents at a time, inside the
// transaction the worker commits with the batch's checkpoint.
#pragma once

#include "migrate_stages.hpp"
#include "pg_wall.hpp"
#include "target_encoding.hpp"

#include "core/doc_transform.hpp"
#include "core/document_source.hpp"
#include "core/oplog_apply.hpp"
#include "core/options.hpp"

#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace nextcrm {

class Client;

// The requirements' fixed batch of 1000 documents is the upper bound of a
// batch's count: a batch also ends once its documents' BSON reaches
// migration_batch_bytes (the last one of a collection may be shorter).
inline constexpr int migration_batch_size = 1000;

// Bytes of BSON after which a batch ends (so a batch holds at most this
// plus one document).  A batch's documents are held
// several times over while it is written (the BSON, the converted text, the
// statement's arrays, the rows), and one column's array of a batch must stay
// under PostgreSQL's 1 GB limit on a value: 1000 documents near 16 MB were
// more than 1 GB in one array and 5 GB of worker memory.  64 MB keeps the
// worker's peak a few hundred MB whatever the documents' sizes, while
// ordinary documents (a few kB) still fill batches of 1000.  A document
// alone is at most 16 MB (BSON's limit), so every document fits one batch;
// one larger (a damaged or hand-made dump) is an error row.
inline constexpr std::size_t migration_batch_bytes = 64 * 1024 * 1024;

struct BatchCounts {
    int64 documents = 0;
    int64 migrated = 0;
    int64 failed = 0;
    int64 repaired = 0;
    std::string last_id; // canonical form of the last document's _id
    bool exhausted = false;
    // A dump's collection file failed (truncated, corrupt, unreadable) after
    // the documents counted here: the error's message, detail included.
    // Empty otherwise.  A live server's failures are thrown instead.
    std::string damage;
    // Seconds in each stage but the commit (which follows load_batch()).
    StageSeconds stages;
};

class CollectionLoader {
  public:
    // Reads the collection from its source positioned after `resume_position`
    // documents (in _id order for a live server, file order for a dump), and
    // checks that the document at that position is still `last_id`, so a
    // changed source is an error rather than a skipped or doubled document.
    static std::unique_ptr<CollectionLoader> resume(Oid serverid, const SourceOptions &opts,
                                                    const CollectionMapping &collection,
                                                    int64 resume_position,
                                                    const std::string &last_id);

    // Reads only the documents whose ids are listed (as the error table
    // spells them), replacing their error rows with the new outcome.
    static std::unique_ptr<CollectionLoader> retry(Oid serverid, const SourceOptions &opts,
                                                   const CollectionMapping &collection,
                                                   const std::vector<std::string> &source_ids);

    CollectionLoader(const CollectionMapping &collection, std::shared_ptr<Client> client,
                     std::unique_ptr<DocumentSource> source, bool replace_errors);
    ~CollectionLoader();

    // The source's oplog replay (it is, or is inside, the loader's source):
    // a document whose entries could not be applied is an error row, and
    // the entries' outcomes are written with the batch that read them.
    void watch_oplog(ReplayedSource *replay) { replay_ = replay; }

    // Reads, converts and writes up to one batch.  Needs SPI to be connected.
    // A dump's damage ends the batch early: the documents read before it are
    // written and BatchCounts::damage says what failed (never exhausted).
    BatchCounts load_batch(int batch);

  private:
    struct Resolved;
    void resolve_references(std::vector<TransformedDocument> &docs,
                            std::vector<const bson_t *> &raw, std::vector<bool> &ok,
                            BatchCounts &counts, int batch);
    void insert_rows(std::vector<TransformedDocument> &docs, std::vector<const bson_t *> &raw,
                     std::vector<bool> &ok, BatchCounts &counts, int batch);
    void resolve_lookups(std::vector<TransformedDocument> &docs, const std::vector<bool> &ok);
    void read_value_overrides();
    void reject(std::size_t i, const std::string &field, const Error &e,
                const std::vector<const bson_t *> &raw, std::vector<TransformedDocument> &docs,
                std::vector<bool> &ok, BatchCounts &counts, int batch);
    // `message` and `detail` are UTF-8 (ours) unless `server_text` (an
    // error PostgreSQL raised, already in the database's encoding).
    void record_error(const bson_t *doc, const std::string &source_id, const std::string &field,
                      const char *sqlstate, const std::string &message, const std::string &detail,
                      int batch, bool server_text = false);
    // Puts a transformed document's text in the database's encoding;
    // returns the source field holding a character the encoding lacks
    // (and the character), or nothing when all of it converts.
    std::optional<std::pair<std::string, std::string>> encode(TransformedDocument &d,
                                                              const bson_t *doc) const;
    void flush_side_tables();

    const CollectionMapping &collection_;
    Transformer transformer_;
    TargetEncoding encoding_;
    std::shared_ptr<Client> client_;
    std::unique_ptr<DocumentSource> source_;
    ReplayedSource *replay_ = nullptr;
    std::string insert_sql_;
    bool replace_errors_;
    bool overrides_read_ = false;

    // Rows for the side tables, written once per batch.
    struct SideRows;
    std::unique_ptr<SideRows> side_;
};

// How many documents a collection of the source holds, for progress: exact
// for a dump (length prefixes walked), the server's metadata figure for a
// live server.  A collection's count is made exact when it has been read.
int64 estimate_source_documents(Oid serverid, const SourceOptions &opts,
                                const std::string &collection);

// After documents arrived (a retry, a later collection): restores the
// references that nextcrm_migration.repairs records as dangling
// (kind 'dangling_ref', resolved_at NULL) whose target row now exists --
// a reference column set back, a list element put back at its source
// position, a junction pair added -- and marks those repair rows resolved
// (resolved_at).  Needs SPI; returns how many were restored.
int64 restore_references(const Mapping &mapping);

// Setting nextcrm_mongo_fdw.restore_chunk_rows: how many dangling
// references restore_references() reads at a time.
int restore_chunk_rows();

} // namespace nextcrm
