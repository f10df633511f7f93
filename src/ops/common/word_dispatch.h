// Element-size dispatch for data-movement kernels: elements are moved as opaque words, so every
// dtype is served by four instantiations.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::ops {

// Calls fn(W{}) with W the unsigned integer of `size` bytes (1, 2, 4; anything else: 8) and
// returns what it returns.
template <typename Fn>
decltype(auto) dispatch_word(size_t size, Fn&& fn) {
  switch (size) {
    case 1:
      return fn(uint8_t{});
    case 2:
      return fn(uint16_t{});
    case 4:
      return fn(uint32_t{});
    default:
      return fn(uint64_t{});
  }
}

}  // namespace kiln::ops
