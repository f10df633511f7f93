// kiln — library version. Plans record the version that built them.
// Thread-safety: constants.
#pragma once

#include <cstdint>

namespace kiln {

inline constexpr uint32_t kVersionMajor = 0;
inline constexpr uint32_t kVersionMinor = 1;
inline constexpr uint32_t kVersionPatch = 0;
// major * 10000 + minor * 100 + patch
inline constexpr uint32_t kVersion = kVersionMajor * 10000 + kVersionMinor * 100 + kVersionPatch;

const char* version_string();  // "0.1.0"

}  // namespace kiln
