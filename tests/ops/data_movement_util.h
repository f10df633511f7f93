// Helpers shared by the data-movement / shape op tests: patterned tensors of every dtype, index
// math for naive expected results, running one tactic on a thread pool, and a tiny interpreter
// that runs a hand-built graph through the reference kernels.
#pragma once

#include "backends/cpu/thread_pool.h"
#include "common/op_harness.h"

#include <cstring>
#include <string>
#include <vector>

namespace kiln::testing {

inline const std::vector<DataType>& all_dtypes() {
  static const std::vector<DataType> kAll = {
      DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt8,
      DataType::kUInt8,   DataType::kInt32,   DataType::kInt64,    DataType::kBool};
  return kAll;
}

// Small integers (exact in every dtype); bool gets a 0/1 mix.
inline HostTensor pattern_tensor(DataType dt, const Dims& shape, std::mt19937& rng) {
  HostTensor t(dt, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    store_from_double(t.data(), dt, i, dt == DataType::kBool ? rng() % 2 : rng() % 100);
  }
  return t;
}

inline HostTensor ints(DataType dt, const std::vector<int64_t>& values) {
  HostTensor t(dt, Dims{static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) {
    if (dt == DataType::kInt64) {
      t.as<int64_t>()[i] = values[i];
    } else {
      t.as<int32_t>()[i] = static_cast<int32_t>(values[i]);
    }
  }
  return t;
}

inline HostTensor int64_scalar(int64_t v) {
  HostTensor t(DataType::kInt64, Dims{});
  t.as<int64_t>()[0] = v;
  return t;
}

inline std::vector<int64_t> unravel(int64_t i, const Dims& d) {
  std::vector<int64_t> idx(d.rank());
  for (int k = d.rank() - 1; k >= 0; --k) {
    idx[k] = i % d[k];
    i /= d[k];
  }
  return idx;
}

inline int64_t ravel(const std::vector<int64_t>& idx, const Dims& d) {
  int64_t i = 0;
  for (int k = 0; k < d.rank(); ++k) i = i * d[k] + idx[k];
  return i;
}

inline void copy_element(const HostTensor& src, int64_t si, const HostTensor& dst, int64_t di) {
  const size_t es = dtype_size(src.dtype());
  std::memcpy(static_cast<char*>(dst.data()) + di * es,
              static_cast<const char*>(src.data()) + si * es, es);
}

inline Dims random_dims(std::mt19937& rng, int rank, int64_t lo, int64_t hi) {
  std::vector<int64_t> d(rank);
  for (auto& v : d) v = lo + static_cast<int64_t>(rng() % (hi - lo + 1));
  return Dims(std::span<const int64_t>(d));
}

inline std::vector<std::string> tactic_ids(const std::vector<TacticRun>& runs) {
  std::vector<std::string> ids;
  for (const auto& r : runs) ids.push_back(r.tactic);
  return ids;
}

// Exact comparison (data movement never changes values).
inline ::testing::AssertionResult same(const HostTensor& got, const HostTensor& want) {
  return all_close(got, want, 0.0, 0.0);
}

// Runs one named CPU tactic of the one-node graph of `c`, with a thread pool.
inline Result<HostTensor> run_tactic(const OpCase& c, std::string_view tactic, ThreadPool* pool) {
  KILN_ASSIGN_OR_RETURN(ir::Graph g, make_graph(c));
  const ir::Node& node = g.node(0);
  const ops::OpDef* def = ops::find_op(c.op);
  ops::KernelInfo info;
  info.graph = &g;
  info.node = &node;
  std::vector<TensorView> in_views;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    info.opt.inputs.push_back(node.inputs[i] < 0 ? Dims{} : c.inputs[i].shape());
    in_views.push_back(node.inputs[i] < 0 ? TensorView{} : c.inputs[i].view());
  }
  KILN_ASSIGN_OR_RETURN(auto dims, ir::eval_shape(g.value(node.outputs[0]).shape, {}));
  const Dims out_dims{std::span<const int64_t>(dims)};
  info.opt.outputs = {out_dims};
  info.min = info.max = info.opt;
  for (const ops::TacticDef& t : def->cpu_tactics) {
    if (t.name != tactic) continue;
    if (!t.supports(info)) return unsupported("tactic does not support the case");
    KILN_ASSIGN_OR_RETURN(auto kernel, t.create(info));
    HostTensor out(g.value(node.outputs[0]).dtype, out_dims);
    std::vector<TensorView> out_views = {out.view()};
    ops::ExecArgs args;
    args.inputs = in_views;
    args.outputs = out_views;
    args.threads = pool;
    KILN_RETURN_IF_ERROR(kernel->execute(args));
    return out;
  }
  return not_found("no tactic " + std::string(tactic));
}

// Runs a hand-built graph through the reference kernels for concrete symbol values; returns the
// tensors of every value (inputs are given by id).
inline Result<std::vector<HostTensor>> interpret(
    const ir::Graph& g, const std::vector<std::pair<int, HostTensor>>& feeds,
    std::span<const int64_t> symbols) {
  std::vector<HostTensor> values(g.num_values());
  for (const auto& [id, t] : feeds) values[id] = t;
  for (int v = 0; v < g.num_values(); ++v) {
    if (g.value(v).constant) values[v] = *g.value(v).constant;
  }
  KILN_ASSIGN_OR_RETURN(auto order, g.topo_order());
  for (int n : order) {
    const ir::Node& node = g.node(n);
    std::vector<TensorView> ins, outs;
    for (int in : node.inputs) ins.push_back(in < 0 ? TensorView{} : values[in].view());
    for (int out : node.outputs) {
      KILN_ASSIGN_OR_RETURN(auto dims, ir::eval_shape(g.value(out).shape, symbols));
      values[out] = HostTensor(g.value(out).dtype, Dims(std::span<const int64_t>(dims)));
      outs.push_back(values[out].view());
    }
    KILN_RETURN_IF_ERROR(ops::run_reference(g, node, ins, outs));
  }
  return values;
}

}  // namespace kiln::testing
