// Data files compiled into the module (no file path is needed at run time).
// The build passes each file's absolute path as a macro (Makefile and
// CMakeLists.txt) and NEXTCRM_EMBED_FILE includes the bytes with the
// assembler's .incbin.
#pragma once

#include <cstddef>
#include <string_view>

// Places the bytes of `path` between the hidden symbols name_begin and
// name_end in .rodata (followed by a NUL), and declares both.
#define NEXTCRM_EMBED_FILE(name, path)                                                             \
    __asm__(".section .rodata\n"                                                                   \
            ".balign 16\n"                                                                         \
            ".hidden " #name "_begin\n"                                                            \
            ".hidden " #name "_end\n" #name "_begin:\n"                                            \
            ".incbin \"" path "\"\n" #name "_end:\n"                                               \
            ".byte 0\n"                                                                            \
            ".previous\n");                                                                        \
    extern "C" const char name##_begin[];                                                          \
    extern "C" const char name##_end[]

#define NEXTCRM_EMBEDDED(name)                                                                     \
    std::string_view(name##_begin, static_cast<std::size_t>(name##_end - name##_begin))

namespace nextcrm {

// data/nextcrm/mongo-fields.csv: the NextCRM collections and their fields.
std::string_view nextcrm_fields_csv();
// data/nextcrm/mongo-enums.csv: the enums and their values.
std::string_view nextcrm_enums_csv();
// data/nextcrm/mapping.csv: where every stored field goes in the target.
std::string_view nextcrm_mapping_csv();

} // namespace nextcrm
