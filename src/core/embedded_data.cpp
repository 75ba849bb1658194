#include "embedded_data.hpp"

#ifndef NEXTCRM_FIELDS_CSV
#error "NEXTCRM_FIELDS_CSV must name data/nextcrm/mongo-fields.csv (see the Makefile)"
#endif

// The file's bytes between two hidden symbols in .rodata.
__asm__(".section .rodata\n"
        ".balign 16\n"
        ".hidden nextcrm_fields_csv_begin\n"
        ".hidden nextcrm_fields_csv_end\n"
        "nextcrm_fields_csv_begin:\n"
        ".incbin \"" NEXTCRM_FIELDS_CSV "\"\n"
        "nextcrm_fields_csv_end:\n"
        ".byte 0\n"
        ".previous\n");

extern "C" const char nextcrm_fields_csv_begin[];
extern "C" const char nextcrm_fields_csv_end[];

namespace nextcrm {

std::string_view nextcrm_fields_csv() {
    return {nextcrm_fields_csv_begin,
            static_cast<std::size_t>(nextcrm_fields_csv_end - nextcrm_fields_csv_begin)};
}

} // namespace nextcrm
