// Data files compiled into the module (no file path is needed at run time).
// The build passes each file's absolute path as a macro (Makefile and
// CMakeLists.txt) and embedded_data.cpp includes the bytes with the
// assembler's .incbin.
#pragma once

#include <string_view>

namespace nextcrm {

// data/nextcrm/mongo-fields.csv: the NextCRM collections and their fields.
std::string_view nextcrm_fields_csv();

} // namespace nextcrm
