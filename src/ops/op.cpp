#include "ops/op.h"

#include <algorithm>

namespace kiln::ops {

const std::vector<ir::SymExpr>* InferContext::shape_value(int i) const {
  const ir::Value* v = input(i);
  if (v == nullptr) return nullptr;
  if (v->shape_value) return &*v->shape_value;
  // Small integer constants act as shape values too.
  if (v->constant && (v->dtype == DataType::kInt64 || v->dtype == DataType::kInt32) &&
      v->constant->shape().rank() <= 1 && v->constant->numel() <= Dims::kMaxDims * 4) {
    auto& cache = const_shape_values_[i];
    cache.clear();
    for (int64_t k = 0; k < v->constant->numel(); ++k) cache.emplace_back(v->constant->get_int(k));
    return &cache;
  }
  return nullptr;
}

Status InferContext::error(std::string message) const {
  return invalid_argument(std::move(message)).with_context(graph_.describe_node(node_.id));
}

std::vector<DataType> DtypeSet::to_vector() const {
  std::vector<DataType> out;
  for (int i = 0; i < kNumDataTypes; ++i) {
    if (contains(static_cast<DataType>(i))) out.push_back(static_cast<DataType>(i));
  }
  return out;
}

std::string DtypeSet::to_string() const {
  std::string s;
  for (DataType t : to_vector()) {
    if (!s.empty()) s += ", ";
    s += dtype_name(t);
  }
  return s.empty() ? "none" : s;
}

std::string tactic_id(std::string_view op, const TacticDef& tactic) {
  return std::string(op) + "/" + std::string(tactic_source_name(tactic.source)) + "/" +
         std::string(tactic.name);
}

Status run_reference(const ir::Graph& graph, const ir::Node& node,
                     std::span<const TensorView> inputs, std::span<const TensorView> outputs) {
  const OpDef* def = find_op(node.op);
  if (def == nullptr || def->cpu_tactics.empty()) {
    return unsupported("op '" + node.op + "' has no reference kernel");
  }
  KernelInfo info;
  info.graph = &graph;
  info.node = &node;
  for (const auto& t : inputs) info.opt.inputs.push_back(t.shape);
  for (const auto& t : outputs) info.opt.outputs.push_back(t.shape);
  info.min = info.opt;
  info.max = info.opt;
  const TacticDef& ref = def->cpu_tactics[0];
  if (!ref.supports(info)) {
    return unsupported("the reference kernel does not support this configuration")
        .with_context(graph.describe_node(node.id));
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, ref.create(info));
  size_t ws = kernel->workspace_size(info.opt);
  std::unique_ptr<void, void (*)(void*)> workspace(ws ? aligned_alloc_bytes(ws) : nullptr,
                                                   [](void* p) { std::free(p); });
  ExecArgs args;
  args.inputs = inputs;
  args.outputs = outputs;
  args.workspace = workspace.get();
  args.workspace_size = ws;
  return kernel->execute(args).with_context(graph.describe_node(node.id));
}

Status normalize_axis(int64_t* axis, int64_t rank, std::string_view what) {
  int64_t a = *axis;
  if (a < -rank || a >= std::max<int64_t>(rank, 1)) {
    return out_of_range(std::string(what) + " " + std::to_string(a) + " is out of range for rank " +
                        std::to_string(rank));
  }
  if (a < 0) a += rank;
  *axis = a;
  return Status::ok();
}

Result<ir::SymShape> broadcast_shapes(const ir::SymShape& a, const ir::SymShape& b) {
  size_t rank = std::max(a.size(), b.size());
  ir::SymShape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    ir::SymExpr da = i < rank - a.size() ? ir::SymExpr(1) : a[i - (rank - a.size())];
    ir::SymExpr db = i < rank - b.size() ? ir::SymExpr(1) : b[i - (rank - b.size())];
    if (da.is_const() && db.is_const() && da.value() != db.value() && da.value() != 1 &&
        db.value() != 1) {
      return invalid_argument("shapes " + ir::shape_to_string(a) + " and " +
                              ir::shape_to_string(b) + " cannot be broadcast (dim " +
                              std::to_string(i) + ": " + std::to_string(da.value()) + " vs " +
                              std::to_string(db.value()) + ")");
    }
    out[i] = ir::broadcast_dim(da, db);
  }
  return out;
}

Dims broadcast_dims(const Dims& a, const Dims& b) {
  int rank = std::max(a.rank(), b.rank());
  std::vector<int64_t> out(rank);
  for (int i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.rank() ? 1 : a[i - (rank - a.rank())];
    int64_t db = i < rank - b.rank() ? 1 : b[i - (rank - b.rank())];
    out[i] = da == 1 ? db : da;
  }
  return Dims(out);
}

}  // namespace kiln::ops
