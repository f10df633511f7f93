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
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

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
enum class TacticSource : uint32_t {
  kCpuReference = 1u << 0,
  kCpuBlas = 1u << 1,      // OpenBLAS GEMM-based kernels
  kCpuOptimized = 1u << 2, // kiln's blocked / vectorized CPU kernels
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
std::string_view tactic_source_name(TacticSource source);

enum class BuilderFlag : uint32_t {
  kFp16 = 1u << 0,
  kBf16 = 1u << 1,
  kTf32 = 1u << 2,  // on by default
  kRefit = 1u << 3,
  kVersionCompatible = 1u << 4,
  kStrictTypes = 1u << 5,
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
  // 0: first valid tactic, no timing; 1-5: time candidates (see docs/builder.md).
  int optimization_level = 3;
  // Check every tactic against the CPU reference kernel while tuning; drop those that differ.
  bool check_accuracy = false;
  // CPU backend: threads for kernels (0 = hardware concurrency).
  int cpu_threads = 0;
  LayoutPolicy layouts = LayoutPolicy::kAuto;

  void set_flag(BuilderFlag f) { flags |= static_cast<uint32_t>(f); }
  void clear_flag(BuilderFlag f) { flags &= ~static_cast<uint32_t>(f); }
  bool has_flag(BuilderFlag f) const { return (flags & static_cast<uint32_t>(f)) != 0; }
  void add_profile(OptimizationProfile p) { profiles.push_back(std::move(p)); }
};

class Builder {
 public:
  explicit Builder(Logger& logger = default_logger());
  ~Builder();

  std::unique_ptr<Network> create_network() const;

  // Runs the passes, autotunes every layer for every profile, plans memory and serializes.
  Result<std::vector<uint8_t>> build_serialized_network(const Network& network,
                                                        const BuildConfig& config) const;

  Logger& logger() const { return logger_; }

 private:
  Logger& logger_;
};

}  // namespace kiln
