// Data files compiled into the generator (see embed.cmake).
#pragma once

#include <cstddef>
#include <string>

namespace nextcrm::gen {

struct EmbeddedFile {
    const char *name; // file name without directory
    const char *text;
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const std::size_t kEmbeddedFileCount;

// The text of the embedded file called `name`; throws when there is none.
std::string embedded_file(const std::string &name);

} // namespace nextcrm::gen
