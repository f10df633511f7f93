// TimingCache: the in-memory cache (entries, descriptor, combine and edit rules). Reading and
// writing bytes is in timing_cache_io.cpp, files in cache_file.cpp.
#include <kiln/builder.h>
#include <kiln/timing_cache.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>

namespace kiln {

namespace {

std::string version_text(int v) {
  return v == 0 ? std::string("none") : std::to_string(v);
}

// Merges `from` into `into` with the combine rule: existing measurements win, except that a
// timed measurement replaces an untimed one; new tactics are added; `into`'s pin wins.
void merge_value(TimingCacheValue& into, const TimingCacheValue& from) {
  if (into.signature.empty()) into.signature = from.signature;
  for (const TacticTiming& t : from.tactics) {
    auto it = std::lower_bound(
        into.tactics.begin(), into.tactics.end(), t.tactic_id,
        [](const TacticTiming& a, const std::string& id) { return a.tactic_id < id; });
    if (it == into.tactics.end() || it->tactic_id != t.tactic_id) {
      into.tactics.insert(it, t);
    } else if (!it->timed() && t.timed()) {
      *it = t;
    }
  }
  if (into.pinned_tactic.empty()) into.pinned_tactic = from.pinned_tactic;
}

}  // namespace

std::string TimingCacheDescriptor::to_string() const {
  std::string s = std::string(backend_name(backend)) + " '" + device_name + "'";
  if (backend == Backend::kCuda) {
    s += " (sm_" + std::to_string(compute_major) + std::to_string(compute_minor) + "), driver " +
         version_text(driver_version) + ", CUDA " + version_text(cuda_runtime_version) +
         ", cuDNN " + version_text(cudnn_version) + ", cuBLAS " + version_text(cublas_version);
  }
  s += ", kiln " + std::to_string(kiln_version);
  s += (kernel_flags & static_cast<uint32_t>(BuilderFlag::kTf32)) != 0 ? ", TF32 on" : ", TF32 off";
  return s;
}

std::string TimingCacheDescriptor::describe_difference(const TimingCacheDescriptor& o) const {
  std::vector<std::string> diffs;
  auto num = [&](const char* what, int64_t here, int64_t there) {
    if (here != there) {
      diffs.push_back(std::string(what) + ": " + std::to_string(here) + " here, " +
                      std::to_string(there) + " in the cache");
    }
  };
  if (backend != o.backend) {
    diffs.push_back("backend: " + std::string(backend_name(backend)) + " here, " +
                    std::string(backend_name(o.backend)) + " in the cache");
  }
  if (device_name != o.device_name) {
    diffs.push_back("device: '" + device_name + "' here, '" + o.device_name + "' in the cache");
  }
  if (compute_major != o.compute_major || compute_minor != o.compute_minor) {
    diffs.push_back("compute capability: " + std::to_string(compute_major) + "." +
                    std::to_string(compute_minor) + " here, " + std::to_string(o.compute_major) +
                    "." + std::to_string(o.compute_minor) + " in the cache");
  }
  num("driver version", driver_version, o.driver_version);
  num("CUDA runtime version", cuda_runtime_version, o.cuda_runtime_version);
  num("cuDNN version", cudnn_version, o.cudnn_version);
  num("cuBLAS version", cublas_version, o.cublas_version);
  num("kiln version", kiln_version, o.kiln_version);
  if (kernel_flags != o.kernel_flags) {
    auto tf32 = [](uint32_t f) {
      return (f & static_cast<uint32_t>(BuilderFlag::kTf32)) != 0 ? "TF32 on" : "TF32 off";
    };
    diffs.push_back(std::string("kernel flags: ") + tf32(kernel_flags) + " here, " +
                    tf32(o.kernel_flags) + " in the cache");
  }
  std::string out;
  for (const auto& d : diffs) out += (out.empty() ? "" : "; ") + d;
  return out;
}

std::string timing_cache_key_to_string(TimingCacheKey key) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, key);
  return buf;
}

bool timing_cache_key_from_string(std::string_view text, TimingCacheKey* key) {
  if (text.empty() || text.size() > 16) return false;
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *key = v;
  return true;
}

std::shared_ptr<TimingCache> TimingCache::create() {
  return std::make_shared<TimingCache>();
}

TimingCache::TimingCache() = default;
TimingCache::~TimingCache() = default;

Status TimingCache::combine(const TimingCache& other, bool ignore_mismatch) {
  if (&other == this) return Status::ok();
  // Snapshot `other` first: never hold both locks (two caches combined into each other from
  // two threads would deadlock).
  std::optional<TimingCacheDescriptor> other_desc;
  std::map<TimingCacheKey, TimingCacheValue> other_entries;
  {
    std::lock_guard<std::mutex> lock(other.mutex_);
    other_desc = other.descriptor_;
    other_entries = other.entries_;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (descriptor_ && other_desc && !(*descriptor_ == *other_desc)) {
    if (ignore_mismatch) return Status::ok();
    return version_mismatch("cannot combine timing caches of different devices (" +
                            descriptor_->describe_difference(*other_desc) + ")");
  }
  if (!descriptor_) descriptor_ = other_desc;
  for (auto& [key, value] : other_entries) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      entries_.emplace(key, std::move(value));
    } else {
      merge_value(it->second, value);
    }
  }
  return Status::ok();
}

void TimingCache::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
  descriptor_.reset();
}

std::vector<TimingCacheKey> TimingCache::query_keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<TimingCacheKey> keys;
  keys.reserve(entries_.size());
  for (const auto& kv : entries_) keys.push_back(kv.first);
  return keys;
}

std::optional<TimingCacheValue> TimingCache::query(TimingCacheKey key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

Status TimingCache::update(TimingCacheKey key, std::optional<TimingCacheValue> value) {
  const std::string where = "timing cache entry " + timing_cache_key_to_string(key);
  if (value) {
    std::set<std::string> ids;
    for (const TacticTiming& t : value->tactics) {
      if (t.tactic_id.empty())
        return invalid_argument("a tactic has an empty id").with_context(where);
      if (!ids.insert(t.tactic_id).second) {
        return invalid_argument("tactic '" + t.tactic_id + "' is listed twice").with_context(where);
      }
      if (!(t.time_ms >= 0.0 || t.time_ms == -1.0) || t.time_ms > 1e30) {
        return invalid_argument("tactic '" + t.tactic_id + "' has time " +
                                std::to_string(t.time_ms) + " (expected >= 0, or -1: not timed)")
            .with_context(where);
      }
    }
    std::sort(
        value->tactics.begin(), value->tactics.end(),
        [](const TacticTiming& a, const TacticTiming& b) { return a.tactic_id < b.tactic_id; });
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (value) {
    entries_[key] = std::move(*value);
  } else {
    entries_.erase(key);
  }
  return Status::ok();
}

Status TimingCache::pin(TimingCacheKey key, std::string tactic_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return not_found("timing cache has no entry " + timing_cache_key_to_string(key));
  }
  it->second.pinned_tactic = std::move(tactic_id);
  return Status::ok();
}

size_t TimingCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::optional<TimingCacheDescriptor> TimingCache::descriptor() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return descriptor_;
}

void TimingCache::set_descriptor(std::optional<TimingCacheDescriptor> descriptor) {
  std::lock_guard<std::mutex> lock(mutex_);
  descriptor_ = std::move(descriptor);
}

Status TimingCache::attach(const TimingCacheDescriptor& device) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!descriptor_) {
    descriptor_ = device;
    return Status::ok();
  }
  if (*descriptor_ == device) return Status::ok();
  return version_mismatch("the timing cache was made for " + descriptor_->to_string() +
                          ", this build is for " + device.to_string() + " (" +
                          device.describe_difference(*descriptor_) + ")");
}

void TimingCache::add_measurements(TimingCacheKey key, const std::string& signature,
                                   std::span<const TacticTiming> tactics) {
  TimingCacheValue v;
  v.signature = signature;
  v.tactics.assign(tactics.begin(), tactics.end());
  std::sort(v.tactics.begin(), v.tactics.end(),
            [](const TacticTiming& a, const TacticTiming& b) { return a.tactic_id < b.tactic_id; });
  v.tactics.erase(std::unique(v.tactics.begin(), v.tactics.end(),
                              [](const TacticTiming& a, const TacticTiming& b) {
                                return a.tactic_id == b.tactic_id;
                              }),
                  v.tactics.end());
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_.emplace(key, std::move(v));
  } else {
    merge_value(it->second, v);
  }
}

}  // namespace kiln
