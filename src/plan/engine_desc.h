// EngineDesc: everything a plan file holds, in memory. The builder produces it, the plan writer
// serializes it, the plan reader validates and rebuilds it, and the runtime loads an Engine
// from it. See docs/plan-format.md.
#pragma once

#include <kiln/builder.h>
#include <kiln/status.h>
#include <kiln/types.h>

#include "ir/graph.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kiln::plan {

// The device (and libraries) an engine was built for; checked when a plan is loaded.
struct DeviceDescriptor {
  std::string name;       // "cpu" or the CUDA device name ("NVIDIA H100 80GB HBM3")
  int compute_major = 0;  // CUDA compute capability (0 for CPU)
  int compute_minor = 0;
  int cuda_runtime_version = 0;  // 0 for CPU
  int cudnn_version = 0;
  int cublas_version = 0;
  bool operator==(const DeviceDescriptor&) const = default;
};

// Range of one input in one profile.
struct InputRange {
  int value = -1;  // ir::Value id of a graph input
  Dims min, opt, max;
  bool operator==(const InputRange&) const = default;
};

struct ProfileDesc {
  std::vector<InputRange> ranges;  // one per dynamic graph input
  // Tactic id per node id ("" for nodes evaluated on the host, such as Shape).
  std::vector<std::string> tactics;
  // Activation-arena offset per value id, -1 for values not in the arena (inputs, outputs,
  // constants, host-evaluated shape tensors).
  std::vector<int64_t> value_offsets;
  uint64_t arena_size = 0;        // bytes of activations at the profile's max shapes
  uint64_t workspace_offset = 0;  // scratch region shared by all layers, inside the arena
  uint64_t workspace_size = 0;
  bool operator==(const ProfileDesc&) const = default;
};

struct EngineDesc {
  uint32_t kiln_version = 0;  // version that built the plan
  Backend backend = Backend::kCpu;
  DeviceDescriptor device;
  HardwareCompatibility hardware_compatibility = HardwareCompatibility::kNone;
  bool version_compatible = false;
  bool refittable = false;
  uint32_t builder_flags = 0;
  TacticSources tactic_sources = kAllTacticSources;

  // The optimized graph. Constants carry their data (the plan's weights section).
  ir::Graph graph;
  std::vector<ProfileDesc> profiles;
};

// Plan file format version this kiln writes, and the oldest it reads.
inline constexpr uint32_t kPlanFormatVersion = 1;
inline constexpr uint32_t kOldestReadablePlanFormat = 1;

// Serializes (see docs/plan-format.md). Deterministic: equal descs give equal bytes.
Result<std::vector<uint8_t>> write_plan(const EngineDesc& desc);
// The same bytes, written to `out` in file order without holding the whole plan in memory: the
// weights go from the desc's tensors to `out` (hashed in a read-only pass before, since the
// header that holds their checksum comes first). Returns the plan's size in bytes. The first
// error of `out` ends the write and is returned.
Result<uint64_t> write_plan_to(const EngineDesc& desc, StreamWriter& out);
// Validates everything (magic, versions, section table, checksums, every offset, count, enum,
// id and symbolic expression) and rebuilds the desc. Never crashes on any input.
Result<EngineDesc> read_plan(std::span<const uint8_t> bytes);

}  // namespace kiln::plan
