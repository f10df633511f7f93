// libFuzzer target: the timing-cache reader on arbitrary bytes (built with -DKILN_FUZZ=ON and
// clang).
//   build-fuzz/bin/timing_cache_fuzz -max_total_time=60 corpus_dir
// Each input is read as is, and again with its header's payload size and both checksums
// repaired, so that mutations reach the FlatBuffers verifier and the field checks instead of
// stopping at a checksum. Every input must either load or give an error; a cache that loads
// must serialize and load back equal. Crashes, leaks, UB and huge allocations are bugs.
#include <kiln/timing_cache.h>

#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

namespace {

void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void check(std::span<const uint8_t> bytes) {
  auto cache = kiln::TimingCache::deserialize(bytes);
  if (!cache.is_ok()) {
    if (cache.status().message().empty()) std::abort();  // errors must say what is wrong
    return;
  }
  auto again = (*cache)->serialize();
  if (!again.is_ok()) std::abort();
  auto back = kiln::TimingCache::deserialize(*again);
  if (!back.is_ok()) std::abort();
  if ((*back)->query_keys() != (*cache)->query_keys()) std::abort();
  if ((*back)->descriptor() != (*cache)->descriptor()) std::abort();
  for (kiln::TimingCacheKey k : (*cache)->query_keys()) {
    if ((*back)->query(k) != (*cache)->query(k)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check(std::span<const uint8_t>(data, size));
  constexpr size_t kHeader = 40;  // see src/tuner/timing_cache_io.cpp
  if (size < kHeader) return 0;
  std::vector<uint8_t> fixed(data, data + size);
  put_u64(fixed.data() + 16, size - kHeader);
  put_u64(fixed.data() + 24, XXH64(fixed.data() + kHeader, size - kHeader, 0));
  put_u64(fixed.data() + 32, XXH64(fixed.data(), 32, 0));
  check(fixed);
  return 0;
}
