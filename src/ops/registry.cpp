// The one list of ops. Adding an op: its folder, one line here (and its importer translator).
#include "ops/activation/activation.h"
#include "ops/arg_reduce/arg_reduce.h"
#include "ops/batch_norm/batch_norm.h"
#include "ops/cast/cast.h"
#include "ops/concat/concat.h"
#include "ops/constant_of_shape/constant_of_shape.h"
#include "ops/conv/conv.h"
#include "ops/cumsum/cumsum.h"
#include "ops/depth_to_space/depth_to_space.h"
#include "ops/elementwise/elementwise.h"
#include "ops/expand/expand.h"
#include "ops/gather/gather.h"
#include "ops/identity/identity.h"
#include "ops/instance_norm/instance_norm.h"
#include "ops/layer_norm/layer_norm.h"
#include "ops/matmul/matmul.h"
#include "ops/one_hot/one_hot.h"
#include "ops/pad/pad.h"
#include "ops/pooling/pooling.h"
#include "ops/range/range.h"
#include "ops/reduce/reduce.h"
#include "ops/reshape/reshape.h"
#include "ops/resize/resize.h"
#include "ops/select/select.h"
#include "ops/shape/shape.h"
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
#include "ops/op.h"

#include <algorithm>

namespace kiln::ops {

namespace {
const std::vector<const OpDef*>& registry() {
  static const std::vector<const OpDef*> ops = {
      &activation_op(),
      &arg_reduce_op(),
      &batch_norm_op(),
      &cast_op(),
      &concat_op(),
      &constant_of_shape_op(),
      &conv_op(),
      &cumsum_op(),
      &depth_to_space_op(),
      &elementwise_op(),
      &expand_op(),
      &gather_op(),
      &identity_op(),
      &instance_norm_op(),
      &layer_norm_op(),
      &matmul_op(),
      &one_hot_op(),
      &pad_op(),
      &pooling_op(),
      &range_op(),
      &reduce_op(),
      &reshape_op(),
      &resize_op(),
      &select_op(),
      &shape_op(),
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

std::span<const TacticDef> cuda_tactics(std::string_view op) {
  (void)op;
  return {};
}

}  // namespace kiln::ops
