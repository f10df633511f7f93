// The one list of ops. Adding an op: its folder, one line here (and its importer translator).
#include "ops/activation/activation.h"
#include "ops/arg_reduce/arg_reduce.h"
#include "ops/attention/attention.h"
#include "ops/batch_norm/batch_norm.h"
#include "ops/bit_shift/bit_shift.h"
#include "ops/cast/cast.h"
#include "ops/concat/concat.h"
#include "ops/constant_of_shape/constant_of_shape.h"
#include "ops/conv/conv.h"
#include "ops/conv_transpose/conv_transpose.h"
#include "ops/cumsum/cumsum.h"
#include "ops/depth_to_space/depth_to_space.h"
#include "ops/einsum/einsum.h"
#include "ops/elementwise/elementwise.h"
#include "ops/expand/expand.h"
#include "ops/float_class/float_class.h"
#include "ops/fused_elementwise/fused_elementwise.h"
#include "ops/gather/gather.h"
#include "ops/gather_elements/gather_elements.h"
#include "ops/gather_nd/gather_nd.h"
#include "ops/group_norm/group_norm.h"
#include "ops/hardmax/hardmax.h"
#include "ops/identity/identity.h"
#include "ops/instance_norm/instance_norm.h"
#include "ops/layer_norm/layer_norm.h"
#include "ops/lp_norm/lp_norm.h"
#include "ops/lrn/lrn.h"
#include "ops/matmul/matmul.h"
#include "ops/mean_variance_norm/mean_variance_norm.h"
#include "ops/one_hot/one_hot.h"
#include "ops/op.h"
#include "ops/pad/pad.h"
#include "ops/pooling/pooling.h"
#include "ops/prelu/prelu.h"
#include "ops/range/range.h"
#include "ops/reduce/reduce.h"
#include "ops/reshape/reshape.h"
#include "ops/resize/resize.h"
#include "ops/scatter_elements/scatter_elements.h"
#include "ops/scatter_nd/scatter_nd.h"
#include "ops/select/select.h"
#include "ops/shape/shape.h"
#include "ops/shrink/shrink.h"
#include "ops/slice/slice.h"
#include "ops/softmax/softmax.h"
#include "ops/space_to_depth/space_to_depth.h"
#include "ops/split/split.h"
#include "ops/squeeze/squeeze.h"
#include "ops/tile/tile.h"
#include "ops/topk/topk.h"
#include "ops/transpose/transpose.h"
#include "ops/trilu/trilu.h"
#include "ops/unary/unary.h"
#include "ops/unsqueeze/unsqueeze.h"

#include <algorithm>

namespace kiln::ops {

namespace {
const std::vector<const OpDef*>& registry() {
  static const std::vector<const OpDef*> ops = {
      &activation_op(),
      &arg_reduce_op(),
      &attention_op(),
      &batch_norm_op(),
      &bit_shift_op(),
      &cast_op(),
      &concat_op(),
      &constant_of_shape_op(),
      &conv_op(),
      &conv_transpose_op(),
      &cumsum_op(),
      &depth_to_space_op(),
      &einsum_op(),
      &elementwise_op(),
      &expand_op(),
      &float_class_op(),
      &fused_elementwise_op(),
      &gather_elements_op(),
      &gather_nd_op(),
      &gather_op(),
      &group_norm_op(),
      &hardmax_op(),
      &identity_op(),
      &instance_norm_op(),
      &layer_norm_op(),
      &lp_norm_op(),
      &lrn_op(),
      &matmul_op(),
      &mean_variance_norm_op(),
      &one_hot_op(),
      &pad_op(),
      &pooling_op(),
      &prelu_op(),
      &range_op(),
      &reduce_op(),
      &reshape_op(),
      &resize_op(),
      &scatter_elements_op(),
      &scatter_nd_op(),
      &select_op(),
      &shape_op(),
      &shrink_op(),
      &slice_op(),
      &softmax_op(),
      &space_to_depth_op(),
      &split_op(),
      &squeeze_op(),
      &tile_op(),
      &topk_op(),
      &transpose_op(),
      &trilu_op(),
      &unary_op(),
      &unsqueeze_op(),
  };
  return ops;
}
}  // namespace

const OpDef* find_op(std::string_view name) {
  for (const OpDef* op : registry()) {
    if (op->name == name) return op;
  }
  return nullptr;
}

std::span<const OpDef* const> all_ops() {
  return registry();
}

#ifdef KILN_WITH_CUDA
namespace {
// CUDA tactics per op (the ops' cuda.cu files); ops without CUDA tactics are absent.
struct CudaTactics {
  std::string_view op;
  std::span<const TacticDef> (*tactics)();
};
constexpr CudaTactics kCudaTactics[] = {
    {"Activation", activation_cuda_tactics},
    {"Attention", attention_cuda_tactics},
    {"ElementWise", elementwise_cuda_tactics},
    {"FusedElementwise", fused_elementwise_cuda_tactics},
    {"Unary", unary_cuda_tactics},
    {"BatchNorm", batch_norm_cuda_tactics},
    {"Conv", conv_cuda_tactics},
    {"ConvTranspose", conv_transpose_cuda_tactics},
    {"Einsum", einsum_cuda_tactics},
    {"LRN", lrn_cuda_tactics},
    {"LpNormalization", lp_norm_cuda_tactics},
    {"MeanVarianceNormalization", mean_variance_norm_cuda_tactics},
    {"Hardmax", hardmax_cuda_tactics},
    {"PRelu", prelu_cuda_tactics},
    {"Shrink", shrink_cuda_tactics},
    {"FloatClass", float_class_cuda_tactics},
    {"BitShift", bit_shift_cuda_tactics},
    {"GroupNormalization", group_norm_cuda_tactics},
    {"InstanceNorm", instance_norm_cuda_tactics},
    {"LayerNorm", layer_norm_cuda_tactics},
    {"Pooling", pooling_cuda_tactics},
    {"Reduce", reduce_cuda_tactics},
    {"Softmax", softmax_cuda_tactics},
    {"TopK", topk_cuda_tactics},
    {"Cast", cast_cuda_tactics},
    {"Concat", concat_cuda_tactics},
    {"ConstantOfShape", constant_of_shape_cuda_tactics},
    {"Expand", expand_cuda_tactics},
    {"Gather", gather_cuda_tactics},
    {"Identity", identity_cuda_tactics},
    {"MatMul", matmul_cuda_tactics},
    {"Reshape", reshape_cuda_tactics},
    {"Select", select_cuda_tactics},
    {"Slice", slice_cuda_tactics},
    {"Squeeze", squeeze_cuda_tactics},
    {"Transpose", transpose_cuda_tactics},
    {"Unsqueeze", unsqueeze_cuda_tactics},
    {"ArgReduce", arg_reduce_cuda_tactics},
    {"CumSum", cumsum_cuda_tactics},
    {"DepthToSpace", depth_to_space_cuda_tactics},
    {"GatherElements", gather_elements_cuda_tactics},
    {"GatherND", gather_nd_cuda_tactics},
    {"OneHot", one_hot_cuda_tactics},
    {"Pad", pad_cuda_tactics},
    {"Range", range_cuda_tactics},
    {"Resize", resize_cuda_tactics},
    {"ScatterElements", scatter_elements_cuda_tactics},
    {"ScatterND", scatter_nd_cuda_tactics},
    {"SpaceToDepth", space_to_depth_cuda_tactics},
    {"Split", split_cuda_tactics},
    {"Tile", tile_cuda_tactics},
    {"Trilu", trilu_cuda_tactics},
};
}  // namespace
#endif

std::span<const TacticDef> cuda_tactics(std::string_view op) {
#ifdef KILN_WITH_CUDA
  for (const CudaTactics& entry : kCudaTactics) {
    if (entry.op == op) return entry.tactics();
  }
#else
  (void)op;
#endif
  return {};
}

}  // namespace kiln::ops
