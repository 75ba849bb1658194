// libFuzzer target: the NextCRM document transform.  An input is a collection
// name, a NUL and a BSON document (a name that is not a collection picks one
// by its bytes); the outcome is a transformed document or a DocumentError /
// ConversionError, never a crash.
#include "core/doc_transform.hpp"
#include "../unit/test_profile.hpp"
#include "core/mapping.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <memory>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace nextcrm;
    static std::vector<std::unique_ptr<Transformer>> transformers = [] {
        std::vector<std::unique_ptr<Transformer>> out;
        for (const auto &c : nextcrm::test::nextcrm_mapping().collections())
            out.push_back(std::make_unique<Transformer>(nextcrm::test::nextcrm_mapping(), c));
        return out;
    }();
    const auto *nul = static_cast<const std::uint8_t *>(std::memchr(data, 0, size));
    if (!nul)
        return 0;
    std::string name(reinterpret_cast<const char *>(data), nul - data);
    const auto &all = nextcrm::test::nextcrm_mapping().collections();
    std::size_t pick = 0;
    for (unsigned char c : name)
        pick = pick * 31 + c;
    pick %= all.size();
    for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i].name == name)
            pick = i;
    const Transformer &t = *transformers[pick];
    std::size_t offset = static_cast<std::size_t>(nul - data) + 1;
    bson_t doc;
    if (!bson_init_static(&doc, data + offset, size - offset))
        return 0;
    try {
        TransformedDocument d = t.transform(&doc);
        (void)d;
    } catch (const Error &) {
    }
    try {
        (void)t.document_json(&doc);
    } catch (const Error &) {
    }
    return 0;
}
