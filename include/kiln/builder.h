// kiln — the builder: optimizes a Network for one device and writes a serialized engine (plan).
//
// Thread-safety: a Builder may build several networks from several threads at once (each call
// uses its own state). OptimizationProfile and BuildConfig are values; do not modify one while
// a build that uses it runs.
#pragma once

#include <kiln/logger.h>
#include <kiln/network.h>
#include <kiln/status.h>
#include <kiln/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

class TimingCache;     // <kiln/timing_cache.h>
class TacticSelector;  // <kiln/tactic_selector.h>

// Shape ranges of the dynamic inputs. Kernels are tuned at `opt`; memory is sized at `max`.
class OptimizationProfile {
 public:
  struct Range {
    Dims min, opt, max;
  };
  // Sets the range of one input. Checked at build: rank matches the input, static dims equal,
  // 0 <= min <= opt <= max per dim.
  void set_shape(std::string input_name, Dims min, Dims opt, Dims max);
  const Range* shape(std::string_view input_name) const;
  const std::map<std::string, Range, std::less<>>& ranges() const { return ranges_; }
  // Checks min <= opt <= max for every range; names the input and dim that fail.
  Status validate() const;

 private:
  std::map<std::string, Range, std::less<>> ranges_;
};

// Sources of tactics. CPU sources are used when the backend is kCpu, the others for kCuda.
// A disabled source's library is never initialized, at build or run time (no cuBLAS/cuDNN
// handle is created for it).
enum class TacticSource : uint32_t {
  kCpuReference = 1u << 0,
  kCpuBlas = 1u << 1,       // OpenBLAS GEMM-based kernels
  kCpuOptimized = 1u << 2,  // kiln's blocked / vectorized CPU kernels
  kKilnCuda = 1u << 8,
  kCublas = 1u << 9,
  kCublasLt = 1u << 10,
  kCudnn = 1u << 11,
};
using TacticSources = uint32_t;
inline constexpr TacticSources kAllTacticSources = 0xffffffffu;
inline constexpr TacticSources operator|(TacticSource a, TacticSource b) {
  return static_cast<uint32_t>(a) | static_cast<uint32_t>(b);
}
inline constexpr TacticSource kAllTacticSourceList[] = {
    TacticSource::kCpuReference, TacticSource::kCpuBlas, TacticSource::kCpuOptimized,
    TacticSource::kKilnCuda,     TacticSource::kCublas,  TacticSource::kCublasLt,
    TacticSource::kCudnn};
// "cpu-ref", "cpu-blas", "cpu-opt", "kiln-cuda", "cublas", "cublaslt", "cudnn".
std::string_view tactic_source_name(TacticSource source);
bool tactic_source_from_name(std::string_view name, TacticSource* out);
// "cublas, cudnn" for a mask ("none" if empty; kAllTacticSources gives every name).
std::string tactic_sources_to_string(TacticSources sources);
// A comma-separated list: plain names set exactly those sources ("cublas,kiln-cuda"); names
// prefixed with '-' or '+' remove from / add to every source ("-cudnn,-cublas"). Case-insensitive;
// "all" and "none" are accepted. Error naming the unknown entry.
Result<TacticSources> parse_tactic_sources(std::string_view text);

// Build progress, reported after every tuned layer (and once before the first).
struct BuildProgress {
  int layers_done = 0;   // layers tuned so far, over all profiles
  int layers_total = 0;  // kernel layers x profiles
  int profile = 0;
  int num_profiles = 1;
  std::string layer;  // the layer just tuned ("" before the first)
  double elapsed_ms = 0.0;
  int cache_hits = 0;    // layers whose candidates all came from the timing cache
  int cache_misses = 0;  // layers that needed timing
};

enum class BuilderFlag : uint32_t {
  kFp16 = 1u << 0,
  kBf16 = 1u << 1,
  kTf32 = 1u << 2,  // on by default
  kRefit = 1u << 3,
  kVersionCompatible = 1u << 4,
  kStrictTypes = 1u << 5,
  // Per-layer precision constraints (Layer::set_precision / set_output_type; docs/builder.md,
  // "Per-layer precision"). Obey: every constrained layer runs in its precision, or the build
  // fails naming the layer, the precision and the op. Prefer: where some enabled tactic
  // implements it, otherwise a warning and the layer runs as if unconstrained. With neither,
  // constraints are ignored (with a warning); setting both is an error.
  kObeyPrecisionConstraints = 1u << 6,
  kPreferPrecisionConstraints = 1u << 7,
};

enum class HardwareCompatibility : uint8_t {
  kNone = 0,                   // same device model only
  kSameComputeCapability = 1,  // any device with the same compute capability
  kAmperePlus = 2,             // any device of compute capability >= 8.0
};

// Layouts of the 4-D activations on the CUDA backend (the layout pass, docs/cuda-backend.md).
// The CPU backend always runs NCHW.
enum class LayoutPolicy : uint8_t {
  kAuto = 0,  // NHWC where the tuned layer times plus the reformats it needs beat NCHW
  kNchw = 1,  // keep the network's NCHW everywhere
  kNhwc = 2,  // NHWC wherever a layer has an NHWC tactic (reformats not counted)
};

struct BuildConfig {
  Backend backend = Backend::kCpu;
  std::vector<OptimizationProfile> profiles;  // at least one if the network has dynamic dims
  uint32_t flags = static_cast<uint32_t>(BuilderFlag::kTf32);
  TacticSources tactic_sources = kAllTacticSources;
  HardwareCompatibility hardware_compatibility = HardwareCompatibility::kNone;
  size_t workspace_limit = size_t{1} << 30;  // per-layer scratch memory limit in bytes
  // Autotuning: timed runs per candidate (after `tuning_warmup` warm-up runs); the median wins.
  int tuning_iterations = 5;
  int tuning_warmup = 1;
  // 0: first valid tactic in heuristic order, no timing; 1-4: time the 2, 3, 4 or 8 heuristic
  // top candidates; 5: time every candidate, reference kernels included (docs/builder.md).
  int optimization_level = 3;
  // Check every tactic against the CPU reference kernel while tuning; drop those that differ.
  bool check_accuracy = false;
  // CPU backend: threads for kernels (0 = hardware concurrency).
  int cpu_threads = 0;
  LayoutPolicy layouts = LayoutPolicy::kAuto;
  // Measurements are read from and added to this cache (shared: one cache may serve several
  // builds at once). Without one, a build uses a private cache (identical layers are timed
  // once). A cache made for another device is an error unless ignore_timing_cache_mismatch,
  // which logs a warning and leaves the cache unused.
  std::shared_ptr<TimingCache> timing_cache;
  bool ignore_timing_cache_mismatch = false;
  // Asked once per layer and profile; see <kiln/tactic_selector.h>.
  std::shared_ptr<TacticSelector> tactic_selector;
  // Called from the building thread after every tuned layer.
  std::function<void(const BuildProgress&)> progress;

  void set_flag(BuilderFlag f) { flags |= static_cast<uint32_t>(f); }
  void clear_flag(BuilderFlag f) { flags &= ~static_cast<uint32_t>(f); }
  bool has_flag(BuilderFlag f) const { return (flags & static_cast<uint32_t>(f)) != 0; }
  void add_profile(OptimizationProfile p) { profiles.push_back(std::move(p)); }
};

// Receives a serialized engine piece by piece, in file order (see
// Builder::build_serialized_network_to_stream). Implementations decide where the bytes go (a
// file, a socket, a checksum); the builder calls write() from the building thread only.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Takes all `size` bytes at `data` (valid for the call only), or returns an error, which ends
  // the write and is returned by the build.
  virtual Status write(const void* data, size_t size) = 0;
};

class Builder {
 public:
  explicit Builder(Logger& logger = default_logger());
  ~Builder();

  std::unique_ptr<Network> create_network() const;

  // Runs the passes, autotunes every layer for every profile, plans memory and serializes.
  Result<std::vector<uint8_t>> build_serialized_network(const Network& network,
                                                        const BuildConfig& config) const;
  // The same build, with the plan written to `out` instead of returned: the same bytes, but the
  // weights go from the built engine's tensors to `out` without a copy of the whole plan in
  // memory (a BERT-base plan is 220-440 MB). Nothing is written unless the build succeeds.
  // Returns the plan's size in bytes.
  Result<uint64_t> build_serialized_network_to_stream(const Network& network,
                                                      const BuildConfig& config,
                                                      StreamWriter& out) const;

  Logger& logger() const { return logger_; }

 private:
  Logger& logger_;
};

}  // namespace kiln
