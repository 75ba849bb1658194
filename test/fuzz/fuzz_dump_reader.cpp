// libFuzzer target: the mongodump file reader (DumpFileSource and
// count_dump_documents) on arbitrary bytes, plain or gzip, and the documents
// it reads replayed as an oplog (mongodump --oplog) on database "nextcrm"
// over an empty collection.  Every input must end in documents or an
// nextcrm::Error, never a crash, hang or leak.
#include "core/document_source.hpp"
#include "core/error.hpp"
#include "core/oplog_apply.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    int fd = memfd_create("nextcrm_fuzz_dump", 0);
    if (fd < 0)
        return 0;
    for (std::size_t done = 0; done < size;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return 0;
        }
        done += static_cast<std::size_t>(n);
    }
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    std::int64_t read = 0;
    auto oplog = std::make_shared<nextcrm::OplogReplay>("nextcrm");
    try {
        nextcrm::DumpFileSource source(path);
        while (const bson_t *doc = source.next()) {
            ++read;
            oplog->add(doc);
        }
    } catch (const nextcrm::Error &) {
    }
    oplog->end();
    std::set<std::string> collections;
    for (const auto &op : oplog->ops())
        collections.insert(op.collection);
    for (const auto &c : collections) {
        nextcrm::ReplayedSource replayed(nullptr, oplog, c);
        while (replayed.next())
            ;
        replayed.take_records();
    }
    try {
        std::int64_t counted = nextcrm::count_dump_documents(path);
        (void)counted;
    } catch (const nextcrm::Error &) {
    }
    close(fd);
    return 0;
}
