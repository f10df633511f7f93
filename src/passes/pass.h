// Graph passes. Each pass is one file; run_passes runs the pipeline in order:
//   constant folding -> dead-code removal -> batch-norm folding -> fusions -> dead-code removal.
// A pass mutates the graph in place and keeps it valid (shape inference re-run by the caller).
#pragma once

#include <kiln/logger.h>
#include <kiln/status.h>

#include "ir/graph.h"

namespace kiln::passes {

struct PassOptions {
  Logger* logger = nullptr;
  // Constants larger than this are not folded (folding would bloat the plan).
  int64_t max_folded_bytes = int64_t{64} << 20;
  bool enable_fusion = true;
  // kFloat16 / kBFloat16: run eligible float32 layers in that precision (BuilderFlag::kFp16 /
  // kBf16); kFloat32: keep the network's types.
  DataType reduced_precision = DataType::kFloat32;
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

// Runs eligible float32 layers in `target` (float16 or bfloat16), with casts at the boundaries.
// Returns the number of layers converted.
Result<int> reduce_precision(ir::Graph& graph, DataType target);

// The whole pipeline; compacts the graph and re-infers shapes at the end.
Status run_passes(ir::Graph& graph, const PassOptions& options);

}  // namespace kiln::passes
