// Element-size dispatch for data-movement kernels: elements are moved as opaque words, so every
// dtype is served by four instantiations.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::ops {

// Calls fn(W{}) with W the unsigned integer of `size` bytes (1, 2, 4; anything else: 8).
template <typename Fn>
void dispatch_word(size_t size, Fn&& fn) {
  switch (size) {
    case 1:
      fn(uint8_t{});
      break;
    case 2:
      fn(uint16_t{});
      break;
    case 4:
      fn(uint32_t{});
      break;
    default:
      fn(uint64_t{});
      break;
  }
}

}  // namespace kiln::ops
