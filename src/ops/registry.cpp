// The one list of ops. Adding an op: its folder, one line here (and its importer translator).
#include "ops/activation/activation.h"
#include "ops/conv/conv.h"
#include "ops/pooling/pooling.h"
#include "ops/op.h"

#include <algorithm>

namespace kiln::ops {

namespace {
const std::vector<const OpDef*>& registry() {
  static const std::vector<const OpDef*> ops = {
      &activation_op(),
      &conv_op(),
      &pooling_op(),
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

std::span<const OpDef* const> all_ops() { return registry(); }

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
