// kiln — the timing cache: autotuning measurements kept across builds, builders and processes.
//
//   auto cache = kiln::TimingCache::load_or_create("model.cache");  // Result<shared_ptr<...>>
//   config.timing_cache = *cache;                 // a warm rebuild times nothing already cached
//   builder.build_serialized_network(*net, config);
//   (*cache)->save("model.cache", kiln::TimingCache::SaveMode::kMerge);
//
// A key is the 64-bit xxHash of a layer's signature (op, attributes including fused epilogues,
// dtypes, layouts, whether inputs are constant, shapes at the profile's min/opt/max, backend):
// identical layers share one entry. An entry keeps every candidate tactic the tuner measured
// (stable tactic id, median time, workspace), not only the winner, so a later build with other
// tactic sources, selector rules or a higher optimization level still uses it.
//
// A cache belongs to one device: its descriptor (device name, compute capability, driver, CUDA,
// cuDNN and cuBLAS versions, kiln version, kernel-changing flags such as TF32) is set by the
// first build that uses the cache and checked by every later one. See docs/builder.md.
//
// Thread-safety: every method is thread-safe. One cache may serve several builders and threads
// at once (a build reads a snapshot of an entry and adds what it measured).
#pragma once

#include <kiln/status.h>
#include <kiln/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kiln {

// What a cache's measurements are valid for. Two descriptors must be equal for a build to use
// the cache.
struct TimingCacheDescriptor {
  Backend backend = Backend::kCpu;
  std::string device_name;  // the GPU's name, or "cpu: <model name>"
  int compute_major = 0, compute_minor = 0;
  int driver_version = 0, cuda_runtime_version = 0, cudnn_version = 0, cublas_version = 0;
  uint32_t kiln_version = 0;
  uint32_t kernel_flags = 0;  // BuilderFlag bits that change kernels (kTf32)

  bool operator==(const TimingCacheDescriptor&) const = default;
  // "NVIDIA H100 80GB HBM3 (sm_90), driver 12040, CUDA 12040, cuDNN 90100, ..., TF32 on"
  std::string to_string() const;
  // The fields that differ from `other`, e.g. "cuDNN version: 90100 here, 90300 in the cache".
  std::string describe_difference(const TimingCacheDescriptor& other) const;
};

// What a build learned about one tactic for one key: measured, only sized, or not applicable.
// Builds do not ask a tactic the cache knows about again (no supports() call, no kernel).
struct TacticTiming {
  std::string tactic_id;       // stable id "<op>/<source>/<name>", e.g. "Conv/cudnn/cudnn_gemm"
  double time_ms = -1.0;       // median time at the profile's opt shapes; < 0: not timed
  uint64_t workspace = 0;      // bytes over the profile's [min, max]
  int32_t heuristic_rank = 0;  // its heuristic rank for this key (lower: more promising)
  bool supported = true;       // false: the tactic does not implement this layer
  bool timed() const { return supported && time_ms >= 0.0; }
  bool operator==(const TacticTiming&) const = default;
};

struct TimingCacheValue {
  std::string signature;              // the readable layer signature the key hashes
  std::vector<TacticTiming> tactics;  // sorted by tactic_id, ids unique
  // Non-empty: builds use this tactic for the key (if it is a valid candidate of the build)
  // without looking at the times. An edit: TimingCache::update sets it.
  std::string pinned_tactic;
  bool operator==(const TimingCacheValue&) const = default;
};

using TimingCacheKey = uint64_t;
// 16 lowercase hex digits, and back.
std::string timing_cache_key_to_string(TimingCacheKey key);
bool timing_cache_key_from_string(std::string_view text, TimingCacheKey* key);

class TimingCache {
 public:
  // An empty cache; its descriptor is set by the first build (or combine) that uses it.
  static std::shared_ptr<TimingCache> create();
  // A cache from serialized bytes. Corrupt, truncated or foreign data gives kCorruptData (or
  // kVersionMismatch for another cache format version) naming what is wrong; nothing is trusted.
  static Result<std::shared_ptr<TimingCache>> deserialize(std::span<const uint8_t> bytes);
  static Result<std::shared_ptr<TimingCache>> load(const std::string& path);
  // load() if the file exists, else create(). A file that cannot be read or is corrupt is an
  // error (callers that want to go on without it log the error and call create()).
  static Result<std::shared_ptr<TimingCache>> load_or_create(const std::string& path);

  TimingCache();
  ~TimingCache();
  TimingCache(const TimingCache&) = delete;
  TimingCache& operator=(const TimingCache&) = delete;

  // Deterministic: equal contents give equal bytes (entries in key order).
  Result<std::vector<uint8_t>> serialize() const;

  enum class SaveMode {
    kReplace,  // the file becomes this cache
    kMerge,    // the file becomes this cache combined with what the file holds now (this wins)
  };
  // Writes atomically: a temporary file in the same folder, then rename, under an advisory lock
  // (`<path>.lock`), so several processes saving the same file never produce a torn or mixed
  // file and, with kMerge, keep each other's entries. With kMerge, a file that is corrupt or
  // from another device is replaced (a warning is logged to the default logger).
  Status save(const std::string& path, SaveMode mode = SaveMode::kReplace) const;

  // Merges `other` into this cache. Rule: for a key in both, tactics only in `other` are added;
  // a tactic in both keeps this cache's record, except that a timed measurement replaces an
  // untimed one; this cache's pin wins, else `other`'s pin is taken. Caches of different
  // descriptors are not combined: kVersionMismatch naming the difference, unless
  // `ignore_mismatch`, which leaves this cache unchanged and returns OK. An empty cache without
  // a descriptor takes `other`'s.
  Status combine(const TimingCache& other, bool ignore_mismatch = false);
  // Removes every entry and the descriptor.
  void reset();

  std::vector<TimingCacheKey> query_keys() const;  // sorted
  std::optional<TimingCacheValue> query(TimingCacheKey key) const;
  // Replaces the entry of `key` (nullopt deletes it). The value is checked: tactic ids non-empty
  // and unique, a pinned tactic non-empty ids only; tactics are sorted by id.
  Status update(TimingCacheKey key, std::optional<TimingCacheValue> value);
  // Pins `tactic_id` for `key` (empty: removes the pin); kNotFound if the key has no entry.
  Status pin(TimingCacheKey key, std::string tactic_id);
  size_t size() const;

  std::optional<TimingCacheDescriptor> descriptor() const;
  void set_descriptor(std::optional<TimingCacheDescriptor> descriptor);

  // For builds: checks `device` against the descriptor, adopting it if the cache has none.
  // kOk: use the cache. kVersionMismatch: the message names the differences.
  Status attach(const TimingCacheDescriptor& device);
  // For builds: adds measurements to an entry with the combine rule (existing ones win).
  void add_measurements(TimingCacheKey key, const std::string& signature,
                        std::span<const TacticTiming> tactics);

 private:
  mutable std::mutex mutex_;
  std::optional<TimingCacheDescriptor> descriptor_;
  std::map<TimingCacheKey, TimingCacheValue> entries_;
};

}  // namespace kiln
