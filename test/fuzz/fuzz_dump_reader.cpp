// libFuzzer target: the mongodump file reader (DumpFileSource and
// count_dump_documents) on arbitrary bytes, plain or gzip.  Every input must
// end in documents or an nextcrm::Error, never a crash, hang or leak.
#include "core/document_source.hpp"
#include "core/error.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
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
    try {
        nextcrm::DumpFileSource source(path);
        while (const bson_t *doc = source.next()) {
            (void)doc;
            ++read;
        }
    } catch (const nextcrm::Error &) {
    }
    try {
        std::int64_t counted = nextcrm::count_dump_documents(path);
        (void)counted;
    } catch (const nextcrm::Error &) {
    }
    close(fd);
    return 0;
}
