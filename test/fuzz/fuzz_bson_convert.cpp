// libFuzzer target: every conversion of bson_convert on every value of an
// arbitrary BSON document.  A value that cannot be converted is a
// ConversionError (an nextcrm::Error); nothing else may happen.
#include "core/bson_convert.hpp"

#include <cstdint>
#include <string>

namespace {

using namespace nextcrm;

void convert_all(const bson_iter_t *it) {
    const std::string field = bson_iter_key(it);
    auto attempt = [&](auto fn) {
        try {
            fn();
        } catch (const Error &) {
        }
    };
    attempt([&] { (void)describe_value(it); });
    attempt([&] { (void)is_null(it); });
    attempt([&] { (void)to_text(it, field); });
    attempt([&] { (void)to_integer(it, field, Target::Int8); });
    attempt([&] { (void)to_integer(it, field, Target::Int4); });
    attempt([&] { (void)to_integer(it, field, Target::Int2); });
    attempt([&] { (void)to_float8(it, field); });
    attempt([&] { (void)to_float4(it, field); });
    attempt([&] { (void)to_numeric(it, field); });
    attempt([&] { (void)to_bool(it, field); });
    attempt([&] { (void)to_timestamp_us(it, field); });
    attempt([&] { (void)to_date_days(it, field); });
    attempt([&] { (void)to_bytes(it, field); });
    attempt([&] { (void)to_uuid(it, field); });
    attempt([&] { (void)to_json(it, field); });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    bson_t doc;
    if (!bson_init_static(&doc, data, size))
        return 0;
    // What the readers hand on: bson_reader checks the frame, not the
    // elements, so the conversions must cope with an unvalidated document.
    try {
        (void)document_to_json(&doc);
    } catch (const Error &) {
    }
    bson_iter_t it;
    if (!bson_iter_init(&it, &doc))
        return 0;
    while (bson_iter_next(&it))
        convert_all(&it);
    return 0;
}
