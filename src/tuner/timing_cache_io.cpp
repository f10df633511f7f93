// Timing-cache bytes (format v1):
//   0  magic "KILNTCAC"   8  format_version u32   12 header_size u32 (40)
//   16 payload_size u64  24 payload xxh64 u64    32 header xxh64 u64 (of bytes 0..32)
//   40 payload: FlatBuffers (src/tuner/timing_cache.fbs, identifier "KLNT")
// Little-endian, the plan format's byte helpers (plan/format.h) and decoding guard
// (plan/decode_budget.h). The reader trusts nothing: every failure is a kCorruptData (or
// kVersionMismatch) Status naming what is wrong, and allocations are bounded by the input size.
#include <kiln/timing_cache.h>
#include <kiln/version.h>

#include "plan/decode_budget.h"
#include "plan/format.h"
#include "tuner/timing_cache_generated.h"

#include <xxhash.h>

#include <flatbuffers/flatbuffers.h>

#include <cmath>
#include <cstring>

namespace kiln {

namespace {

namespace fbs = kiln::tuner::fb;
namespace format = kiln::plan::format;

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'T', 'C', 'A', 'C'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 40;
constexpr uint64_t kSeed = 0;
constexpr size_t kMaxNameInMessage = 64;

std::string quote(std::string_view s) {
  if (s.size() > kMaxNameInMessage)
    return "'" + std::string(s.substr(0, kMaxNameInMessage)) + "...'";
  return "'" + std::string(s) + "'";
}

}  // namespace

// Friend-free access: serialization works on snapshots taken under the lock.
Result<std::vector<uint8_t>> TimingCache::serialize() const {
  std::optional<TimingCacheDescriptor> desc;
  std::map<TimingCacheKey, TimingCacheValue> entries;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    desc = descriptor_;
    entries = entries_;
  }
  flatbuffers::FlatBufferBuilder fbb(1 << 14);
  fbb.ForceDefaults(true);  // one encoding per cache
  flatbuffers::Offset<fbs::Descriptor> d;
  if (desc) {
    auto name = fbb.CreateString(desc->device_name);
    d = fbs::CreateDescriptor(fbb, static_cast<uint8_t>(desc->backend), name, desc->compute_major,
                              desc->compute_minor, desc->driver_version, desc->cuda_runtime_version,
                              desc->cudnn_version, desc->cublas_version, desc->kiln_version,
                              desc->kernel_flags);
  }
  std::vector<flatbuffers::Offset<fbs::Entry>> offs;
  offs.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    std::vector<flatbuffers::Offset<fbs::Tactic>> tactics;
    for (const TacticTiming& t : value.tactics) {
      auto id = fbb.CreateString(t.tactic_id);
      tactics.push_back(
          fbs::CreateTactic(fbb, id, t.time_ms, t.workspace, t.heuristic_rank, t.supported));
    }
    auto tv = fbb.CreateVector(tactics);
    auto sig = fbb.CreateString(value.signature);
    auto pin = fbb.CreateString(value.pinned_tactic);
    offs.push_back(fbs::CreateEntry(fbb, key, sig, tv, pin));
  }
  auto ev = fbb.CreateVector(offs);
  fbs::CacheBuilder cb(fbb);
  if (desc) cb.add_descriptor(d);
  cb.add_entries(ev);
  fbs::FinishCacheBuffer(fbb, cb.Finish());

  const size_t payload = fbb.GetSize();
  std::vector<uint8_t> out(kHeaderSize + payload, 0);
  std::memcpy(out.data() + kHeaderSize, fbb.GetBufferPointer(), payload);
  uint8_t* h = out.data();
  std::memcpy(h, kMagic, sizeof(kMagic));
  format::put_u32(h + 8, kFormatVersion);
  format::put_u32(h + 12, static_cast<uint32_t>(kHeaderSize));
  format::put_u64(h + 16, payload);
  format::put_u64(h + 24, XXH64(out.data() + kHeaderSize, payload, kSeed));
  format::put_u64(h + 32, XXH64(h, 32, kSeed));
  return out;
}

Result<std::shared_ptr<TimingCache>> TimingCache::deserialize(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  const size_t n = bytes.size();
  if (n == 0) return corrupt_data("not a kiln timing cache (the data is empty)");
  if (std::memcmp(p, kMagic, std::min(n, sizeof(kMagic))) != 0) {
    return corrupt_data("not a kiln timing cache (bad magic)");
  }
  if (n < kHeaderSize) {
    return corrupt_data("timing cache is truncated: " + std::to_string(n) +
                        " bytes, the header alone is " + std::to_string(kHeaderSize));
  }
  if (format::get_u64(p + 32) != XXH64(p, 32, kSeed)) {
    return corrupt_data("timing cache header is corrupt (checksum mismatch)");
  }
  const uint32_t version = format::get_u32(p + 8);
  if (version != kFormatVersion) {
    return version_mismatch("timing cache format v" + std::to_string(version) +
                            " is not the one this kiln reads (v" + std::to_string(kFormatVersion) +
                            "); rebuild the cache");
  }
  if (format::get_u32(p + 12) != kHeaderSize) {
    return corrupt_data("timing cache header size is " + std::to_string(format::get_u32(p + 12)) +
                        ", expected " + std::to_string(kHeaderSize));
  }
  const uint64_t payload = format::get_u64(p + 16);
  if (payload > n - kHeaderSize) {
    return corrupt_data("timing cache is truncated: " + std::to_string(n) +
                        " bytes, the header "
                        "announces " +
                        std::to_string(payload) + " bytes of entries after " +
                        std::to_string(kHeaderSize) + " header bytes");
  }
  if (payload < n - kHeaderSize) {
    return corrupt_data("timing cache has " + std::to_string(n - kHeaderSize - payload) +
                        " unexpected bytes after its entries");
  }
  if (format::get_u64(p + 24) != XXH64(p + kHeaderSize, payload, kSeed)) {
    return corrupt_data("timing cache entries are corrupt (checksum mismatch)");
  }
  // 8-byte-aligned copy: the caller's buffer may have any alignment.
  std::vector<uint64_t> aligned((payload + 7) / 8);
  if (payload > 0) std::memcpy(aligned.data(), p + kHeaderSize, payload);
  const auto* buf = reinterpret_cast<const uint8_t*>(aligned.data());
  flatbuffers::Verifier::Options opts;
  opts.max_depth = 16;
  opts.max_tables = payload / 4 + 1;
  flatbuffers::Verifier verifier(buf, payload, opts);
  if (payload < 8 || !fbs::CacheBufferHasIdentifier(buf) || !fbs::VerifyCacheBuffer(verifier)) {
    return corrupt_data("timing cache entries fail FlatBuffers verification");
  }
  const fbs::Cache* root = fbs::GetCache(buf);
  plan::DecodeBudget budget(payload, "timing cache");
  KILN_CHARGE(budget.table());

  auto cache = std::make_shared<TimingCache>();
  if (const fbs::Descriptor* fd = root->descriptor()) {
    KILN_CHARGE(budget.table() && budget.string(fd->device_name()));
    if (fd->backend() > static_cast<uint8_t>(Backend::kCuda)) {
      return corrupt_data("timing cache descriptor names unknown backend " +
                          std::to_string(fd->backend()));
    }
    TimingCacheDescriptor d;
    d.backend = static_cast<Backend>(fd->backend());
    d.device_name = fd->device_name() ? fd->device_name()->str() : std::string();
    d.compute_major = fd->compute_major();
    d.compute_minor = fd->compute_minor();
    d.driver_version = fd->driver_version();
    d.cuda_runtime_version = fd->cuda_runtime_version();
    d.cudnn_version = fd->cudnn_version();
    d.cublas_version = fd->cublas_version();
    d.kiln_version = fd->kiln_version();
    d.kernel_flags = fd->kernel_flags();
    cache->descriptor_ = std::move(d);
  }
  const auto* entries = root->entries();
  KILN_CHARGE(budget.vec(entries));
  bool first = true;
  TimingCacheKey previous = 0;
  if (entries != nullptr) {
    for (flatbuffers::uoffset_t i = 0; i < entries->size(); ++i) {
      const fbs::Entry* e = entries->Get(i);
      const std::string where = "timing cache entry " + std::to_string(i);
      KILN_CHARGE(budget.table() && budget.string(e->signature()) && budget.string(e->pinned()) &&
                  budget.vec(e->tactics()));
      if (!first && e->key() <= previous) {
        return corrupt_data("keys are not in strictly ascending order").with_context(where);
      }
      first = false;
      previous = e->key();
      TimingCacheValue v;
      v.signature = e->signature() ? e->signature()->str() : std::string();
      v.pinned_tactic = e->pinned() ? e->pinned()->str() : std::string();
      if (const auto* ts = e->tactics()) {
        v.tactics.reserve(ts->size());
        for (flatbuffers::uoffset_t k = 0; k < ts->size(); ++k) {
          const fbs::Tactic* t = ts->Get(k);
          KILN_CHARGE(budget.table() && budget.string(t->id()));
          TacticTiming tt;
          tt.tactic_id = t->id() ? t->id()->str() : std::string();
          tt.time_ms = t->time_ms();
          tt.workspace = t->workspace();
          tt.heuristic_rank = t->heuristic_rank();
          tt.supported = t->supported();
          if (tt.tactic_id.empty())
            return corrupt_data("a tactic has an empty id").with_context(where);
          if (!v.tactics.empty() && !(v.tactics.back().tactic_id < tt.tactic_id)) {
            return corrupt_data("tactic " + quote(tt.tactic_id) +
                                " is out of order or listed twice")
                .with_context(where);
          }
          if (!std::isfinite(tt.time_ms) || !(tt.time_ms >= 0.0 || tt.time_ms == -1.0) ||
              tt.time_ms > 1e30) {
            return corrupt_data("tactic " + quote(tt.tactic_id) + " has an invalid time")
                .with_context(where);
          }
          v.tactics.push_back(std::move(tt));
        }
      }
      cache->entries_.emplace_hint(cache->entries_.end(), e->key(), std::move(v));
    }
  }
  return cache;
}

}  // namespace kiln
