// Where generated documents go: a mongodump-style directory or a live server.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace nextcrm::gen {

class Sink {
  public:
    virtual ~Sink() = default;
    virtual void begin(const std::string &collection) = 0;
    virtual void write(const bson_t *doc) = 0;
    virtual void end() = 0;
};

// One <collection>.bson (or .bson.gz) of concatenated documents plus
// <collection>.metadata.json per collection, as mongodump writes them.
class DumpSink : public Sink {
  public:
    DumpSink(std::string dir, bool gzip);
    ~DumpSink() override;
    void begin(const std::string &collection) override;
    void write(const bson_t *doc) override;
    void end() override;

  private:
    std::string dir_;
    bool gzip_;
    std::FILE *file_ = nullptr;
    void *gz_ = nullptr; // gzFile
    std::string path_;
};

// Drops the collections first, then inserts with insert_many in batches.
class ServerSink : public Sink {
  public:
    ServerSink(const std::string &uri, std::string database, std::size_t batch,
               const std::vector<std::string> &collections);
    ~ServerSink() override;
    void begin(const std::string &collection) override;
    void write(const bson_t *doc) override;
    void end() override;

  private:
    struct State;
    std::unique_ptr<State> s_;
    void flush();
};

// Adds bounded driver timeouts to a URI that does not set them itself.
std::string uri_with_timeouts(const std::string &uri);

} // namespace nextcrm::gen
