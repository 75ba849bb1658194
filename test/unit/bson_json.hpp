// Test helper: a BSON document from (Extended) JSON text, owned.
#pragma once

#include "core/mongo_client.hpp"

#include <gtest/gtest.h>

#include <string>

inline nextcrm::BsonPtr json(const std::string &text) {
    bson_error_t err;
    bson_t *b = bson_new_from_json(reinterpret_cast<const uint8_t *>(text.data()),
                                   static_cast<ssize_t>(text.size()), &err);
    EXPECT_NE(b, nullptr) << err.message;
    return nextcrm::BsonPtr(b);
}
