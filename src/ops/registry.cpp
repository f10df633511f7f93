// The one list of ops. Adding an op: its folder, one line here (and its importer translator).
#include "ops/activation/activation.h"
#include "ops/batch_norm/batch_norm.h"
#include "ops/cast/cast.h"
#include "ops/concat/concat.h"
#include "ops/constant_of_shape/constant_of_shape.h"
#include "ops/conv/conv.h"
#include "ops/elementwise/elementwise.h"
#include "ops/expand/expand.h"
#include "ops/gather/gather.h"
#include "ops/identity/identity.h"
#include "ops/instance_norm/instance_norm.h"
#include "ops/layer_norm/layer_norm.h"
#include "ops/matmul/matmul.h"
#include "ops/pooling/pooling.h"
#include "ops/reduce/reduce.h"
#include "ops/reshape/reshape.h"
#include "ops/select/select.h"
#include "ops/shape/shape.h"
#include "ops/slice/slice.h"
#include "ops/softmax/softmax.h"
#include "ops/squeeze/squeeze.h"
#include "ops/topk/topk.h"
#include "ops/transpose/transpose.h"
#include "ops/unary/unary.h"
#include "ops/unsqueeze/unsqueeze.h"
#include "ops/op.h"

#include <algorithm>

namespace kiln::ops {

namespace {
const std::vector<const OpDef*>& registry() {
  static const std::vector<const OpDef*> ops = {
      &activation_op(),
      &batch_norm_op(),
      &cast_op(),
      &concat_op(),
      &constant_of_shape_op(),
      &conv_op(),
      &elementwise_op(),
      &expand_op(),
      &gather_op(),
      &identity_op(),
      &instance_norm_op(),
      &layer_norm_op(),
      &matmul_op(),
      &pooling_op(),
      &reduce_op(),
      &reshape_op(),
      &select_op(),
      &shape_op(),
      &slice_op(),
      &softmax_op(),
      &squeeze_op(),
      &topk_op(),
      &transpose_op(),
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
