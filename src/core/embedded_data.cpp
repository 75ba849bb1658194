#include "embedded_data.hpp"

#if !defined(NEXTCRM_FIELDS_CSV) || !defined(NEXTCRM_ENUMS_CSV) || !defined(NEXTCRM_MAPPING_CSV)
#error "NEXTCRM_FIELDS_CSV, NEXTCRM_ENUMS_CSV and NEXTCRM_MAPPING_CSV must name data/nextcrm files"
#endif

NEXTCRM_EMBED_FILE(nextcrm_fields_csv_data, NEXTCRM_FIELDS_CSV);
NEXTCRM_EMBED_FILE(nextcrm_enums_csv_data, NEXTCRM_ENUMS_CSV);
NEXTCRM_EMBED_FILE(nextcrm_mapping_csv_data, NEXTCRM_MAPPING_CSV);

namespace nextcrm {

std::string_view nextcrm_fields_csv() {
    return NEXTCRM_EMBEDDED(nextcrm_fields_csv_data);
}
std::string_view nextcrm_enums_csv() {
    return NEXTCRM_EMBEDDED(nextcrm_enums_csv_data);
}
std::string_view nextcrm_mapping_csv() {
    return NEXTCRM_EMBEDDED(nextcrm_mapping_csv_data);
}

} // namespace nextcrm
