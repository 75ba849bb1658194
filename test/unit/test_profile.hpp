// The repository's profiles, read by path as the extension reads the
// installed ones (core/profile.hpp).  NEXTCRM_SOURCE_DIR comes from
// CMakeLists.txt.
#pragma once

#include "core/profile.hpp"

#ifndef NEXTCRM_SOURCE_DIR
#error "NEXTCRM_SOURCE_DIR must name the repository (see CMakeLists.txt)"
#endif

namespace nextcrm::test {

inline const Profile &nextcrm_profile() {
    static const Profile profile = Profile::load(NEXTCRM_SOURCE_DIR "/profiles/nextcrm", "nextcrm");
    return profile;
}

inline const Mapping &nextcrm_mapping() {
    return nextcrm_profile().mapping();
}

} // namespace nextcrm::test
