// Graph passes. Each pass is one file; run_passes runs the pipeline in order:
//   constant folding -> dead-code removal -> batch-norm folding -> [precision barriers] ->
//   GELU -> layer norm -> bias/activation -> softmax -> attention -> QKV projections ->
//   elementwise chains -> [barriers removed] -> dead-code removal ->
//   precision (reduced precision, per-layer constraints).
// A pass mutates the graph in place and keeps it valid (shape inference re-run by the caller).
#pragma once

#include <kiln/logger.h>
#include <kiln/status.h>

#include "ir/graph.h"

#include <map>
#include <string>
#include <vector>

namespace kiln {
class ThreadPool;
}

namespace kiln::passes {

struct PassOptions {
  Logger* logger = nullptr;
  // Threads for passes that move many bytes (weight casts, weight packing); null: inline. The
  // results do not depend on it.
  ThreadPool* threads = nullptr;
  // Constants larger than this are not folded (folding would bloat the plan).
  int64_t max_folded_bytes = int64_t{64} << 20;
  bool enable_fusion = true;
  // kFloat16 / kBFloat16: run eligible float32 layers in that precision (BuilderFlag::kFp16 /
  // kBf16); kFloat32: keep the network's types.
  DataType reduced_precision = DataType::kFloat32;
  // Per-layer precision constraints in the graph (ir::Node::precision, ir::Value::output_type)
  // are applied where present (the builder strips them unless a constraints flag is set).
  // true (kObeyPrecisionConstraints): one that cannot be met is an error; false: a warning, and
  // the layer runs unconstrained.
  bool obey_precision_constraints = false;
};

// Evaluates nodes whose inputs are all constants with the op's reference kernel, and turns
// static shape values into constants. Returns the number of nodes folded.
Result<int> fold_constants(ir::Graph& graph, const PassOptions& options);
// Removes nodes whose outputs nobody uses. Returns the number removed.
int remove_dead_code(ir::Graph& graph);
// Folds inference BatchNorm that follows a Conv into the Conv's weights and bias.
Result<int> fold_batch_norm(ir::Graph& graph, const PassOptions& options);
// Conv/MatMul + bias (+ residual add) + activation fusion.
Result<int> fuse_bias_activation(ir::Graph& graph, const PassOptions& options);
// Decomposed GELU (erf and tanh forms) -> Activation gelu_erf / gelu_tanh (gelu_fusion.cpp).
Result<int> fuse_gelu(ir::Graph& graph, const PassOptions& options);
// Decomposed layer norm -> LayerNorm; LayerNorm(a + b) -> LayerNorm with a Residual input
// (layer_norm_fusion.cpp).
Result<int> fuse_layer_norm(ir::Graph& graph, const PassOptions& options);
// Scale, additive mask and NaN guard around Softmax -> Softmax attributes / Mask input
// (softmax_fusion.cpp).
Result<int> fuse_softmax(ir::Graph& graph, const PassOptions& options);
// MatMul -> Softmax -> MatMul -> Attention, reading through the head split/merge
// (attention_fusion.cpp). Run after fuse_softmax.
Result<int> fuse_attention(ir::Graph& graph, const PassOptions& options);
// The Q/K/V projection GEMMs of an Attention -> one GEMM, Attention qkv_packed (qkv_fusion.cpp).
Result<int> fuse_qkv(ir::Graph& graph, const PassOptions& options);
// Chains of elementwise nodes -> FusedElementwise (elementwise_fusion.cpp). Run last.
Result<int> fuse_elementwise(ir::Graph& graph, const PassOptions& options);

// What the layout pass knows about speed. node_time() gets a small graph the pass built (one
// node and its inputs; shapes over the network's symbols) and returns the node's time in any
// consistent unit (the builder: milliseconds of the best tactic at the profiles' opt shapes,
// summed over profiles), or an error when no tactic implements it. Tests use fakes.
class LayoutCostModel {
 public:
  virtual ~LayoutCostModel() = default;
  virtual Result<double> node_time(const ir::Graph& graph, int node) = 0;
};

struct LayoutStats {
  int nhwc_nodes = 0;  // layers that run channels-last
  int reformats = 0;   // Transpose nodes inserted
  double cost = 0;     // the chosen assignment's cost (cost model units)
};

// Chooses NCHW or NHWC for the 4-D activations (CUDA backend; src/passes/layout.cpp and
// docs/cuda-backend.md): Conv / Pooling / BatchNorm nodes in NHWC get "channels_last", elementwise
// nodes follow their neighbours, Transposes go where layouts meet, the assignment minimizing the
// cost model's total (layer times plus reformats). Graph inputs and outputs stay NCHW. A graph
// without Conv, Pooling or BatchNorm is left unchanged. Compacts the graph and re-infers shapes
// when it changes it.
Result<LayoutStats> assign_layouts(ir::Graph& graph, LayoutCostModel& costs,
                                   const PassOptions& options);

// Runs eligible float32 layers in `target` (float16 or bfloat16), with casts at the boundaries.
// Returns the number of layers converted. (assign_precision without constraints.)
Result<int> reduce_precision(ir::Graph& graph, DataType target);

struct PrecisionStats {
  int converted = 0;    // layers whose types changed
  int constrained = 0;  // layers that run in their constrained precision
  int casts = 0;        // Cast nodes added
};
// Precision assignment (precision.cpp): constrained layers (ir::Node::precision) compute in their
// precision, unconstrained eligible float32 layers in `default_precision` (float32: as they
// are), tensors with an output type (ir::Value::output_type) get it; Casts where types meet, at
// most one per tensor and type. A constraint on an op kiln does not convert (TopK, ArgMax...)
// that its types do not already meet is an error under options.obey_precision_constraints, else
// a warning. Compacts the graph and re-infers shapes.
Result<PrecisionStats> assign_precision(ir::Graph& graph, DataType default_precision,
                                        const PassOptions& options);

// Precision constraints through the fusions (precision_constraints.cpp). Fusions never merge
// layers that run in different precisions where one of them is constrained, and never fuse a
// tensor with an output type away: record_precision_constraints() notes the constraints by
// layer and tensor name (before batch-norm folding, which folds regardless: it changes weights,
// not the computation's precision), insert_precision_barriers() puts an Identity on every such
// edge (no fusion pattern matches across one), and remove_precision_barriers() takes them out
// after the fusions and gives each fused layer the precision of its constrained parts (the
// widest, float32 over float16 / bfloat16, where an unconstrained layer bridged two different
// ones: a warning says so), and warns about output types whose tensor a fusion removed.
struct PrecisionBarriers {
  std::map<std::string, DataType, std::less<>> layers;   // constrained layers by name
  std::map<std::string, DataType, std::less<>> tensors;  // tensors with an output type
  std::vector<int> nodes;                                // the barriers
};
bool has_precision_constraints(const ir::Graph& graph);
PrecisionBarriers record_precision_constraints(const ir::Graph& graph);
// `default_precision`: what unconstrained layers run in (PassOptions::reduced_precision).
Status insert_precision_barriers(ir::Graph& graph, DataType default_precision,
                                 PrecisionBarriers* barriers);
void remove_precision_barriers(ir::Graph& graph, const PrecisionBarriers& barriers,
                               const PassOptions& options);

// The whole pipeline; compacts the graph and re-infers shapes at the end.
Status run_passes(ir::Graph& graph, const PassOptions& options);

}  // namespace kiln::passes
