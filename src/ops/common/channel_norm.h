// Helpers shared by the per-channel normalization ops whose X is [N, C, ...] and whose
// parameters are [C] vectors (BatchNorm, InstanceNorm).
#pragma once

#include "ops/op.h"

#include <span>

namespace kiln::ops {

// Shape inference after the op has checked its input count: X must be floating-point of rank
// >= 2, each input 1..params.size() (named params[i - 1] in errors) a float [C] vector, and
// "epsilon" (default 1e-5) >= 0. Y gets X's dtype and shape. `op` names the op in errors.
// C is X's dim 1, or its last dim when `channels_last` ([N, ..., C]).
Status infer_channel_norm(InferContext& ctx, const char* op, std::span<const char* const> params,
                          bool channels_last = false);

// X viewed as [N, C, S] (S = product of the dims after C), or channels-last as [N, S, C].
struct NcsGeometry {
  int64_t N = 1, C = 1, S = 1;
  bool channels_last = false;
};

// Reads the geometry of a run and checks that inputs 1..labels.size() have C elements; the
// error is "<prefix><labels[i - 1]> has shape ..., expected [C]".
Result<NcsGeometry> ncs_geometry(const ExecArgs& args, const char* prefix,
                                 std::span<const char* const> labels, bool channels_last = false);

// Element c of parameter input i (any dtype), as double.
inline double channel_param(const ExecArgs& args, int i, int64_t c) {
  return load_as_double(args.inputs[i].data, args.inputs[i].dtype, c);
}

}  // namespace kiln::ops
