// Opening a foreign table's documents: a cursor on the live server through
// the backend's cached client, or the collection in the mongodump backup
// (folder or archive, core/mongodump.hpp).
#include "fdw.hpp"

#include "connection.hpp"

#include "core/mongodump.hpp"

namespace nextcrm {

namespace {

// Keeps the shared client alive as long as the cursor that uses it.
class ClientCursorSource : public DocumentSource {
  public:
    ClientCursorSource(std::shared_ptr<Client> client, const std::string &database,
                       const std::string &collection, const QuerySpec &query)
        : client_(std::move(client)), cursor_(client_->raw(), database, collection, query) {}
    const bson_t *next() override {
        const bson_t *doc = cursor_.next();
        count_ = cursor_.count();
        return doc;
    }

  private:
    std::shared_ptr<Client> client_;
    MongoCursorSource cursor_;
};

} // namespace

std::unique_ptr<DocumentSource> open_table_source(const TableSpec &table, const QuerySpec &query) {
    if (table.dump()) {
        check_collection_name(table.collection); // before anything is read
        Dump dump(table.source, [] { check_for_interrupts(); });
        auto source = dump.open(table.collection);
        if (!source)
            throw Error(Message(NEXTCRM_MSG("collection \"%s\" has no dump file in \"%s\""),
                                table.collection, dump.location()),
                        sqlstate::fdw_table_not_found, {},
                        dump.is_archive() ? "The archive's prelude does not list it."
                                          : "Expected " + table.collection + ".bson or " +
                                                table.collection + ".bson.gz.");
        return source;
    }
    std::shared_ptr<Client> client = client_for(table.serverid, table.userid);
    return std::make_unique<ClientCursorSource>(client, table.source.database, table.collection,
                                                query);
}

std::vector<std::string> projected_fields(const TableSpec &table,
                                          const std::vector<AttrNumber> &attnums,
                                          bool *whole_document) {
    std::vector<std::string> fields;
    *whole_document = false;
    for (AttrNumber a : attnums) {
        if (a < 1 || a > static_cast<AttrNumber>(table.columns.size()))
            continue;
        const ColumnSpec &col = table.columns[a - 1];
        if (col.kind == ColumnSpec::Kind::Document)
            *whole_document = true;
        else if (col.kind != ColumnSpec::Kind::Dropped)
            fields.push_back(col.field);
    }
    return fields;
}

} // namespace nextcrm
