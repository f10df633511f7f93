// kiln — the tactic selector: see, restrict and override the tuner's choice per layer.
//
// The builder asks the selector once per layer and optimization profile, after the candidates
// are measured (or read from the timing cache): select() returns the candidates to keep (their
// indices; empty = no preference), and the tuner takes the fastest kept candidate (the first in
// heuristic order if none of them was timed). report() then receives the final choice of
// every layer. See docs/builder.md.
//
// Thread-safety: a build calls its selector from the building thread only, one layer at a time.
// A selector shared by builds that run concurrently must be thread-safe itself (the built-in
// ones are: they hold no mutable state).
#pragma once

#include <kiln/builder.h>
#include <kiln/status.h>
#include <kiln/types.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

// One input or output tensor of a layer, at the profile's opt shape.
struct LayerTensor {
  std::string name;
  DataType dtype = DataType::kFloat32;
  Dims shape;                        // at the profile's opt shapes
  Dims min_shape, max_shape;         // at the profile's min and max
  std::string layout = "row-major";  // kiln tensors are contiguous row-major (NCHW for images)
  bool constant = false;             // weights
};

struct LayerContext {
  std::string name;                // the layer's name
  std::string op;                  // IR op ("Conv", "MatMul", ...)
  std::vector<std::string> fused;  // names of the layers fused into this one (empty if none)
  int profile = 0;                 // optimization profile index
  std::vector<LayerTensor> inputs, outputs;
  Backend backend = Backend::kCpu;
};

struct TacticCandidate {
  TacticSource source = TacticSource::kCpuReference;
  std::string id;          // stable tactic id "<op>/<source>/<name>"
  std::string name;        // readable name within the op, e.g. "im2col_blas"
  double time_ms = -1.0;   // median measured time; < 0 if not timed (level 0, or beyond the
                           // heuristic top candidates of the optimization level)
  uint64_t workspace = 0;  // scratch bytes over the profile's range
  int heuristic_rank = 0;  // position in the tuner's heuristic order (0 = most promising)
  bool timed() const { return time_ms >= 0.0; }
};

class TacticSelector {
 public:
  virtual ~TacticSelector() = default;
  // Indices into `candidates` to keep (duplicates ignored); empty = the default choice among
  // all. An out-of-range index or an error Status stops the build with that error (naming the
  // layer).
  virtual Result<std::vector<int>> select(const LayerContext& layer,
                                          std::span<const TacticCandidate> candidates) = 0;
  // The tactic the build chose for `layer` (called after select, once per layer and profile).
  virtual void report(const LayerContext& layer, const TacticCandidate& chosen) {}
};

// Built-in policies.
// Keeps the fastest timed candidate (what the tuner does without a selector).
std::shared_ptr<TacticSelector> make_fastest_selector();
// Keeps the candidate that needs the least workspace (ties: the fastest, then heuristic order).
std::shared_ptr<TacticSelector> make_smallest_workspace_selector();

// Rule files (the CLI's --tactic-rules): JSON of the form
//   {"rules": [
//     {"layer": "stage1.*", "action": "ban",   "tactic": "*winograd*"},
//     {"layer": "fc",       "action": "force", "tactic": "MatMul/cpu-blas/blas"},
//     {"layer": "*",        "action": "ban",   "source": "cudnn"}
//   ]}
// `layer` is a glob (fnmatch) matched against the layer name and the names of the layers fused
// into it; `tactic` a glob matched against the tactic id and its name; `source` a tactic source
// name (cpu-ref, cpu-blas, cpu-opt, kiln-cuda, cublas, cublaslt, cudnn). A rule needs `tactic`
// or `source` (both: both must match). Rules apply in order: "ban" drops the matching
// candidates, "force" keeps only them. A layer left without candidates is a build error naming
// the layer, the rule and the candidates. Parse errors name the rule and the field.
Result<std::shared_ptr<TacticSelector>> parse_tactic_rules(std::string_view json_text);
Result<std::shared_ptr<TacticSelector>> load_tactic_rules(const std::string& path);

}  // namespace kiln
