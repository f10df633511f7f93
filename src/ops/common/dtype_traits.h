// Compile-time dtype predicates shared by CPU kernels that dispatch with dispatch_dtype.
#pragma once

#include "core/half.h"

#include <type_traits>

namespace kiln::ops {

// True for the floating-point element types (float32, float16, bfloat16).
template <typename T>
inline constexpr bool kIsFloatType =
    std::is_same_v<T, float> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

}  // namespace kiln::ops
