// nextcrm_gen: realistic NextCRM source data with the quirks of
// SOURCE-SCHEMA 8-9, for the migration's tests and benchmark.
//
//   nextcrm_gen --docs N [--seed S] (--uri URI --database DB | --dump-dir DIR [--gzip])
//               [--manifest FILE] [--quirks on|off] [--batch 1000]
//
// The same N and seed give the same documents and ids.  See tools/gen/README.md
// for what is generated and for the manifest format.
#include "gen/generator.hpp"

#include <mongoc/mongoc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace {

const char kUsage[] =
    "usage: nextcrm_gen --docs N [--seed S] (--uri URI --database DB | --dump-dir DIR [--gzip])\n"
    "                   [--manifest FILE] [--quirks on|off] [--batch 1000]\n";

std::uint64_t number(const std::string &flag, const std::string &v) {
    char *end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end || errno || v[0] == '-')
        throw std::invalid_argument(flag + " needs a non-negative integer, got \"" + v + "\"");
    return n;
}

struct Args {
    std::uint64_t docs = 0, seed = 1, batch = 1000;
    std::string uri, database, dump_dir, manifest;
    bool gzip = false, quirks = true;
};

Args parse(int argc, char **argv) {
    Args a;
    bool have_docs = false;
    for (int i = 1; i < argc; ++i) {
        std::string f = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::invalid_argument(f + " needs a value");
            return argv[++i];
        };
        if (f == "--docs") {
            a.docs = number(f, value());
            have_docs = true;
        } else if (f == "--seed") {
            a.seed = number(f, value());
        } else if (f == "--batch") {
            a.batch = number(f, value());
        } else if (f == "--uri") {
            a.uri = value();
        } else if (f == "--database") {
            a.database = value();
        } else if (f == "--dump-dir") {
            a.dump_dir = value();
        } else if (f == "--manifest") {
            a.manifest = value();
        } else if (f == "--gzip") {
            a.gzip = true;
        } else if (f == "--quirks") {
            std::string v = value();
            if (v != "on" && v != "off")
                throw std::invalid_argument("--quirks takes on or off");
            a.quirks = v == "on";
        } else if (f == "-h" || f == "--help") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else {
            throw std::invalid_argument("unknown argument " + f);
        }
    }
    if (!have_docs || a.docs < 100)
        throw std::invalid_argument("--docs N is required, N >= 100");
    if (a.uri.empty() == a.dump_dir.empty())
        throw std::invalid_argument("give either --uri with --database, or --dump-dir");
    if (!a.uri.empty() && a.database.empty())
        throw std::invalid_argument("--uri needs --database");
    if (a.gzip && a.dump_dir.empty())
        throw std::invalid_argument("--gzip goes with --dump-dir");
    if (a.batch == 0 || a.batch > 100000)
        throw std::invalid_argument("--batch must be between 1 and 100000");
    return a;
}

// FerretDB has no endSessions, so the driver warns at every client's end;
// the warning says nothing about the data and is dropped.
void log_handler(mongoc_log_level_t level, const char *domain, const char *message, void *data) {
    if (std::strstr(message, "endSessions"))
        return;
    mongoc_log_default_handler(level, domain, message, data);
}

} // namespace

int main(int argc, char **argv) {
    using namespace nextcrm::gen;
    Args args;
    try {
        args = parse(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "nextcrm_gen: %s\n%s", e.what(), kUsage);
        return 2;
    }
    mongoc_init();
    mongoc_log_set_handler(log_handler, nullptr);
    int status = 0;
    try {
        const auto t0 = std::chrono::steady_clock::now();
        GenOptions options;
        options.seed = args.seed;
        options.quirks = args.quirks;
        options.dump = !args.dump_dir.empty();
        Generator gen(args.docs, options);
        std::unique_ptr<Sink> sink;
        if (options.dump)
            sink = std::make_unique<DumpSink>(args.dump_dir, args.gzip);
        else
            sink = std::make_unique<ServerSink>(args.uri, args.database, args.batch,
                                                gen.collection_names());
        gen.run(*sink);
        sink.reset();
        if (!args.manifest.empty()) {
            std::ofstream out(args.manifest);
            gen.write_manifest(out, options.dump ? "dump" : "server");
            out.close();
            if (!out)
                throw std::runtime_error("cannot write " + args.manifest);
        }
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "nextcrm_gen: %llu documents in 29 collections, %.2f s, %.0f docs/s\n",
                     static_cast<unsigned long long>(args.docs), s, args.docs / (s > 0 ? s : 1e-9));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "nextcrm_gen: %s\n", e.what());
        status = 1;
    }
    mongoc_cleanup();
    return status;
}
