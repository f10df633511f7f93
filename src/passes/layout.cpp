// Layout assignment: channels-first (NCHW, the network's layout) or channels-last (NHWC) for the
// 4-D activations of the CUDA backend, where NHWC lets cuDNN run FP16/BF16 convolutions on
// tensor cores without internal transposes. docs/cuda-backend.md ("Layouts") explains it.
//
// Every node gets a role:
//   compute   Conv, Pooling, BatchNorm: run in either layout ("channels_last" attribute); their
//   cost in
//             each layout is asked from the cost model (the autotuner: the best tactic's time)
//   agnostic  Activation, Unary, Cast, Identity, ElementWise, Select, Concat, Reduce (keepdims):
//             elementwise or axis-remappable; the same cost in both layouts
//   exit      Reshape of a tensor whose spatial dims are 1 (the flatten after global pooling),
//             Reduce without keepdims whose remaining dims keep their order: they read either
//             layout and write the same data
//   fixed     everything else, graph inputs and outputs: channels-first
// and the assignment minimizes
//   sum over nodes of cost(node, layout) + sum over tensors of the reformats (Transpose nodes)
//   their producer and consumers' layouts need
// exactly, as a minimum s-t cut (the pairwise terms are "pay w if layouts differ", which a cut
// expresses; a tensor with several consumers pays its reformat once, through an auxiliary node).
// Then the graph is rewritten: NHWC nodes get their attributes, each NHWC tensor a twin value
// "<name>.nhwc" with the permuted shape, and Transpose nodes go where layouts meet.
#include "ops/common/layout.h"
#include "ops/reduce/reduce.h"
#include "passes/pass.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <queue>
#include <set>
#include <string>

namespace kiln::passes {

namespace {

constexpr int kRank = 4;  // the pass converts [N, C, H, W] tensors only
constexpr double kInfinite = 1e30;
// Tie-break: a node that gains nothing stays channels-first.
constexpr double kPreferFirst = 1e-9;

enum class Role { kFixed, kCompute, kAgnostic, kExit };

struct NodeRole {
  Role role = Role::kFixed;
  std::vector<int> data_slots;  // input slots whose tensor follows the node's layout
};

bool has_slot(const NodeRole& r, int slot) {
  return std::find(r.data_slots.begin(), r.data_slots.end(), slot) != r.data_slots.end();
}

bool is_4d_data(const ir::Graph& g, int v) {
  if (v < 0) return false;
  const ir::Value& val = g.value(v);
  return val.shape.size() == kRank && !val.constant && !val.shape_value;
}

bool outputs_are_4d(const ir::Graph& g, const ir::Node& n) {
  for (int o : n.outputs) {
    const ir::Value& v = g.value(o);
    if (v.shape.size() != kRank || v.shape_value) return false;
  }
  return !n.outputs.empty();
}

// The permutation of a channels-first shape into channels-last and back.
const std::vector<int64_t>& perm_to_last() {
  static const std::vector<int64_t> p = ops::to_channels_last_perm(kRank);
  return p;
}
const std::vector<int64_t>& perm_to_first() {
  static const std::vector<int64_t> p = ops::to_channels_first_perm(kRank);
  return p;
}

ir::SymShape permute(const ir::SymShape& s, const std::vector<int64_t>& perm) {
  ir::SymShape out;
  for (int64_t p : perm) out.push_back(s[p]);
  return out;
}

// Where channels-first axis `a` of a 4-D tensor lives in channels-last.
int64_t axis_to_last(int64_t a) {
  const auto& p = perm_to_last();
  return std::find(p.begin(), p.end(), a) - p.begin();
}

// Reduce: which dims it reduces, or an error when they cannot be known when building.
Result<std::vector<bool>> reduced_dims(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() > 1 && n.inputs[1] >= 0) {
    const ir::Value& a = g.value(n.inputs[1]);
    if (!a.constant && !a.shape_value) return unsupported("axes computed at run time");
  }
  return ops::reduce_axes(g, n);
}

// Whether a Reduce without keepdims writes the same data in both layouts: the dims it keeps
// are in the same order in NCHW and NHWC.
bool reduce_keeps_order(const std::vector<bool>& reduced) {
  std::vector<int64_t> first, last;
  for (int64_t a = 0; a < kRank; ++a) {
    if (!reduced[a]) first.push_back(a);
    if (!reduced[perm_to_last()[a]]) last.push_back(perm_to_last()[a]);
  }
  return first == last;
}

// Reshape of [N, C, 1, 1] (static unit spatial dims): the data is the same in both layouts, so
// it may read the NHWC tensor as long as its target shape does not copy input dims (0 entries
// without allowzero) other than the batch.
bool is_flatten_exit(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.empty() || n.inputs.size() > 2 || !is_4d_data(g, n.inputs[0])) return false;
  const ir::SymShape& x = g.value(n.inputs[0]).shape;
  for (int d = 2; d < kRank; ++d) {
    if (!x[d].is_const() || x[d].value() != 1) return false;
  }
  if (n.attrs.get_int("allowzero", 0) != 0) return true;
  // The target: input 1 (a shape value or constant) or the "shape" attribute.
  std::vector<ir::SymExpr> entries;
  if (n.inputs.size() == 2 && n.inputs[1] >= 0) {
    const ir::Value& target = g.value(n.inputs[1]);
    if (target.shape_value) {
      entries = *target.shape_value;
    } else if (target.constant) {
      for (int64_t i = 0; i < target.constant->numel(); ++i) {
        entries.emplace_back(target.constant->get_int(i));
      }
    } else {
      return false;
    }
  } else if (n.attrs.has("shape")) {
    for (int64_t v : n.attrs.get_ints("shape")) entries.emplace_back(v);
  } else {
    return false;
  }
  for (size_t i = 1; i < entries.size(); ++i) {
    if (!entries[i].is_const() || entries[i].value() == 0) return false;
  }
  return true;
}

NodeRole classify(const ir::Graph& g, const ir::Node& n) {
  NodeRole r;
  for (int o : n.outputs) {
    if (g.value(o).shape_value) return r;  // host shape arithmetic
  }
  const std::string& op = n.op;
  if (op == "Conv") {
    if (n.inputs.size() < 2 || !is_4d_data(g, n.inputs[0]) || !g.is_constant(n.inputs[1])) {
      return r;
    }
    if (ops::channels_last(n.attrs)) return r;  // already assigned
    r.data_slots = {0};
    if (n.inputs.size() > 3 && n.inputs[3] >= 0) {
      if (!is_4d_data(g, n.inputs[3])) return r;
      r.data_slots.push_back(3);
    }
    r.role = Role::kCompute;
    return r;
  }
  if (op == "Pooling" || op == "BatchNorm") {
    if (n.inputs.empty() || !is_4d_data(g, n.inputs[0]) || ops::channels_last(n.attrs)) {
      return r;
    }
    if (op == "Pooling" && n.inputs.size() != 1) return r;
    r.data_slots = {0};  // BatchNorm's [C] parameters are the same in both layouts
    r.role = Role::kCompute;
    return r;
  }
  if (op == "Activation" || op == "Unary" || op == "Cast" || op == "Identity") {
    if (n.inputs.size() != 1 || !is_4d_data(g, n.inputs[0]) || !outputs_are_4d(g, n)) return r;
    r.data_slots = {0};
    r.role = Role::kAgnostic;
    return r;
  }
  if (op == "ElementWise" || op == "Select" || op == "Concat") {
    if (!outputs_are_4d(g, n) || n.inputs.empty()) return r;
    bool any_data = false;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int v = n.inputs[i];
      if (v < 0) return r;
      const ir::Value& val = g.value(v);
      if (val.constant) {
        // Constants are permuted on the host; Concat needs their full rank.
        if (val.shape.size() > kRank || (op == "Concat" && val.shape.size() != kRank)) return r;
      } else if (!is_4d_data(g, v)) {
        return r;
      } else {
        any_data = true;
      }
      r.data_slots.push_back(static_cast<int>(i));
    }
    if (!any_data) r.data_slots.clear();
    r.role = any_data ? Role::kAgnostic : Role::kFixed;
    return r;
  }
  if (op == "Reduce") {
    if (n.inputs.empty() || !is_4d_data(g, n.inputs[0])) return r;
    auto reduced = reduced_dims(g, n);
    if (!reduced.is_ok() || reduced->size() != kRank) return r;
    r.data_slots = {0};
    if (n.attrs.get_int("keepdims", 1) != 0) {
      r.role = outputs_are_4d(g, n) ? Role::kAgnostic : Role::kFixed;
    } else {
      r.role = reduce_keeps_order(*reduced) ? Role::kExit : Role::kFixed;
    }
    if (r.role == Role::kFixed) r.data_slots.clear();
    return r;
  }
  if (op == "Reshape" && is_flatten_exit(g, n)) {
    r.data_slots = {0};
    r.role = Role::kExit;
    return r;
  }
  return r;
}

// A constant operand of an NHWC elementwise node: left-padded with unit dims to rank 4 (numpy
// broadcasting aligns trailing dims), then transposed to channels-last on the host.
HostTensor permute_constant(const HostTensor& c) {
  std::vector<int64_t> in(kRank, 1);
  const int r = c.shape().rank();
  for (int i = 0; i < r; ++i) in[kRank - r + i] = c.shape()[i];
  std::vector<int64_t> out(kRank);
  for (int i = 0; i < kRank; ++i) out[i] = in[perm_to_last()[i]];
  HostTensor t(c.dtype(), Dims(std::span<const int64_t>(out)));
  const size_t es = dtype_size(c.dtype());
  int64_t in_stride[kRank];
  int64_t acc = 1;
  for (int i = kRank - 1; i >= 0; --i) {
    in_stride[i] = acc;
    acc *= in[i];
  }
  const auto* src = static_cast<const uint8_t*>(c.data());
  auto* dst = static_cast<uint8_t*>(t.data());
  int64_t idx[kRank] = {0, 0, 0, 0};
  for (int64_t o = 0; o < t.numel(); ++o) {
    int64_t off = 0;
    for (int i = 0; i < kRank; ++i) off += idx[i] * in_stride[perm_to_last()[i]];
    std::memcpy(dst + o * es, src + off * es, es);
    for (int i = kRank - 1; i >= 0; --i) {
      if (++idx[i] < out[i]) break;
      idx[i] = 0;
    }
  }
  return t;
}

// ---------------------------------------------------------------- minimum cut

class MinCut {
 public:
  int add_node() {
    adj_.emplace_back();
    return static_cast<int>(adj_.size()) - 1;
  }
  void add_edge(int u, int v, double cap) {
    if (!(cap > 0)) return;
    adj_[u].push_back(static_cast<int>(edges_.size()));
    edges_.push_back({v, std::min(cap, kInfinite)});
    adj_[v].push_back(static_cast<int>(edges_.size()));
    edges_.push_back({u, 0.0});
  }
  // Dinic's maximum flow from s to t; returns the flow (= the minimum cut's capacity).
  double max_flow(int s, int t) {
    double flow = 0;
    for (;;) {
      level_.assign(adj_.size(), -1);
      std::queue<int> q;
      level_[s] = 0;
      q.push(s);
      while (!q.empty()) {
        const int u = q.front();
        q.pop();
        for (int e : adj_[u]) {
          if (edges_[e].cap > kResidual && level_[edges_[e].to] < 0) {
            level_[edges_[e].to] = level_[u] + 1;
            q.push(edges_[e].to);
          }
        }
      }
      if (level_[t] < 0) return flow;
      next_.assign(adj_.size(), 0);
      for (;;) {
        const double f = push(s, t, kInfinite);
        if (!(f > kResidual)) break;
        flow += f;
      }
    }
  }
  // Nodes on the source side of the minimum cut (reachable in the residual graph).
  std::vector<bool> source_side(int s) const {
    std::vector<bool> seen(adj_.size(), false);
    std::vector<int> stack = {s};
    seen[s] = true;
    while (!stack.empty()) {
      const int u = stack.back();
      stack.pop_back();
      for (int e : adj_[u]) {
        if (edges_[e].cap > kResidual && !seen[edges_[e].to]) {
          seen[edges_[e].to] = true;
          stack.push_back(edges_[e].to);
        }
      }
    }
    return seen;
  }

 private:
  static constexpr double kResidual = 1e-15;
  struct Edge {
    int to;
    double cap;
  };
  double push(int u, int t, double limit) {
    if (u == t) return limit;
    for (size_t& i = next_[u]; i < adj_[u].size(); ++i) {
      Edge& e = edges_[adj_[u][i]];
      if (e.cap > kResidual && level_[e.to] == level_[u] + 1) {
        const double f = push(e.to, t, std::min(limit, e.cap));
        if (f > kResidual) {
          e.cap -= f;
          edges_[adj_[u][i] ^ 1].cap += f;
          return f;
        }
      }
    }
    return 0;
  }
  std::vector<std::vector<int>> adj_;
  std::vector<Edge> edges_;
  std::vector<int> level_;
  std::vector<size_t> next_;
};

// ---------------------------------------------------------------- cost queries

// A copy of the network's symbols for a scratch graph (shapes refer to them by id).
void copy_symbols(const ir::Graph& from, ir::Graph& to) {
  to.mutable_symbols() = from.symbols();
  for (ir::Symbol& s : to.mutable_symbols()) s.input_value = -1;
}

// Time of compute node n in one layout, from a one-node graph with its inputs.
Result<double> node_cost(const ir::Graph& g, const ir::Node& n, const NodeRole& role, bool last,
                         LayoutCostModel& costs) {
  ir::Graph t;
  copy_symbols(g, t);
  std::vector<int> ins;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const int v = n.inputs[i];
    if (v < 0) {
      ins.push_back(-1);
      continue;
    }
    const ir::Value& val = g.value(v);
    if (val.constant) {
      ins.push_back(t.add_constant(val.name, *val.constant));
      continue;
    }
    const bool permuted = last && has_slot(role, static_cast<int>(i));
    ins.push_back(t.add_value(val.name, val.dtype,
                              permuted ? permute(val.shape, perm_to_last()) : val.shape));
  }
  ir::Attrs attrs = n.attrs;
  if (last) attrs.set("channels_last", int64_t{1});
  const int id = t.add_node(n.op, n.name, ins, static_cast<int>(n.outputs.size()), attrs);
  KILN_RETURN_IF_ERROR(t.infer_node(id));
  return costs.node_time(t, id);
}

// Time of reformatting value v: to channels-last (from its NCHW shape) or back.
Result<double> reformat_cost(const ir::Graph& g, int v, bool to_last, LayoutCostModel& costs) {
  const ir::Value& val = g.value(v);
  ir::Graph t;
  copy_symbols(g, t);
  const int in =
      t.add_value(val.name, val.dtype, to_last ? val.shape : permute(val.shape, perm_to_last()));
  ir::Attrs a;
  a.set("perm", to_last ? perm_to_last() : perm_to_first());
  const int id =
      t.add_node("Transpose", val.name + (to_last ? ".to_nhwc" : ".to_nchw"), {in}, 1, a);
  KILN_RETURN_IF_ERROR(t.infer_node(id));
  return costs.node_time(t, id);
}

double or_infinite(const Result<double>& r) {
  return r.is_ok() && std::isfinite(*r) && *r >= 0 ? *r : kInfinite;
}

void log(const PassOptions& o, Severity s, const std::string& m) {
  if (o.logger) o.logger->log(s, m);
}

}  // namespace

Result<LayoutStats> assign_layouts(ir::Graph& g, LayoutCostModel& costs,
                                   const PassOptions& options) {
  LayoutStats stats;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  std::vector<NodeRole> roles(g.num_nodes());
  bool any_compute = false;
  for (int id : order) {
    roles[id] = classify(g, g.node(id));
    any_compute |= roles[id].role == Role::kCompute;
  }
  if (!any_compute) return stats;

  // Unary costs: [0] channels-first, [1] channels-last.
  MinCut cut;
  const int source = cut.add_node(), sink = cut.add_node();
  std::vector<int> var(g.num_nodes(), -1);
  for (int id : order) {
    const NodeRole& r = roles[id];
    if (r.role == Role::kFixed) continue;
    double cost[2] = {0, 0};
    if (r.role == Role::kCompute) {
      const ir::Node& n = g.node(id);
      cost[0] = or_infinite(node_cost(g, n, r, false, costs));
      cost[1] = or_infinite(node_cost(g, n, r, true, costs));
      log(options, Severity::kVerbose,
          "layout: " + g.describe_node(id) + " NCHW " + std::to_string(cost[0]) + " NHWC " +
              std::to_string(cost[1]));
      if (cost[0] >= kInfinite && cost[1] >= kInfinite) {
        roles[id].role = Role::kFixed;  // the build reports the missing tactic
        roles[id].data_slots.clear();
        continue;
      }
    }
    var[id] = cut.add_node();
    cut.add_edge(var[id], sink, cost[0]);                   // paid when channels-first
    cut.add_edge(source, var[id], cost[1] + kPreferFirst);  // paid when channels-last
  }

  // Reformat terms, one per tensor whose producer or consumers may be channels-last.
  std::map<int, std::pair<double, double>> reformat;  // value -> (to NHWC, to NCHW) cost
  auto reformat_of = [&](int v) -> std::pair<double, double> {
    auto it = reformat.find(v);
    if (it == reformat.end()) {
      it = reformat
               .emplace(v, std::make_pair(or_infinite(reformat_cost(g, v, true, costs)),
                                          or_infinite(reformat_cost(g, v, false, costs))))
               .first;
    }
    return it->second;
  };
  std::vector<bool> is_output(g.num_values(), false);
  for (int v : g.outputs()) is_output[v] = true;
  for (int v = 0; v < g.num_values(); ++v) {
    if (!is_4d_data(g, v)) continue;
    const int p = g.value(v).producer;
    if (p >= 0 && g.node(p).removed) continue;
    const int pvar = p >= 0 && (roles[p].role == Role::kCompute || roles[p].role == Role::kAgnostic)
                         ? var[p]
                         : -1;
    std::set<int> uses;  // consumer variables
    bool fixed_use = is_output[v];
    for (int c : g.consumers(v)) {
      const ir::Node& cn = g.node(c);
      if (cn.op == "Shape") continue;  // reads only the shape (rewritten below)
      for (size_t i = 0; i < cn.inputs.size(); ++i) {
        if (cn.inputs[i] != v) continue;
        if (var[c] >= 0 && has_slot(roles[c], static_cast<int>(i))) {
          uses.insert(var[c]);
        } else {
          fixed_use = true;
        }
      }
    }
    if (pvar < 0 && uses.empty()) continue;
    const auto [to_last, to_first] = reformat_of(v);
    if (!uses.empty()) {  // producer channels-first, some consumer channels-last
      const int z = cut.add_node();
      cut.add_edge(pvar >= 0 ? pvar : source, z, to_last);
      for (int u : uses) cut.add_edge(z, u, kInfinite);
    }
    if (pvar >= 0) {  // producer channels-last, some consumer channels-first
      if (fixed_use) {
        cut.add_edge(source, pvar, to_first);
      } else if (!uses.empty()) {
        const int z = cut.add_node();
        for (int u : uses) cut.add_edge(u, z, kInfinite);
        cut.add_edge(z, pvar, to_first);
      }
    }
  }

  const double total = cut.max_flow(source, sink);
  const std::vector<bool> first_side = cut.source_side(source);
  std::vector<bool> last(g.num_nodes(), false);
  int compute_last = 0;
  for (int id : order) {
    if (var[id] < 0) continue;
    last[id] = !first_side[var[id]];
    compute_last += last[id] && roles[id].role == Role::kCompute;
  }
  if (compute_last == 0) {
    log(options, Severity::kVerbose, "layout: every layer stays NCHW");
    return stats;
  }
  stats.cost = total;

  // ---- rewrite
  auto is_last = [&](int node) {
    return node >= 0 && last[node] && roles[node].role != Role::kExit &&
           roles[node].role != Role::kFixed;
  };
  std::map<int, int> twin;      // channels-first value -> its channels-last twin
  std::set<int> produced_last;  // values whose producer now writes the twin
  std::map<int, int> permuted_constant;
  // Outputs of channels-last producers.
  for (int id : order) {
    if (!is_last(id)) continue;
    ++stats.nhwc_nodes;
    for (size_t o = 0; o < g.node(id).outputs.size(); ++o) {
      const int v = g.node(id).outputs[o];
      const std::string name = g.value(v).name + ".nhwc";
      const int t = g.add_value(name, g.value(v).dtype, permute(g.value(v).shape, perm_to_last()));
      g.node(id).outputs[o] = t;
      g.value(t).producer = id;
      g.value(v).producer = -1;
      twin[v] = t;
      produced_last.insert(v);
    }
  }
  // A Transpose node from `from` into `into` (a new "<from>.nhwc" value when -1).
  auto transpose = [&](int from, const std::vector<int64_t>& perm, const std::string& name,
                       int into) -> Result<int> {
    if (into < 0) {
      into = g.add_value(g.value(from).name + ".nhwc", g.value(from).dtype,
                         permute(g.value(from).shape, perm));
    }
    ir::Attrs a;
    a.set("perm", perm);
    const int n = g.add_node("Transpose", name, {from}, 0, a);
    g.node(n).outputs.push_back(into);
    g.value(into).producer = n;
    KILN_RETURN_IF_ERROR(g.infer_node(n));
    ++stats.reformats;
    return into;
  };
  std::set<int> first_restored;  // channels-last values that got a Transpose back
  auto restore_first = [&](int v) -> Status {
    if (!produced_last.count(v) || first_restored.count(v)) return Status::ok();
    first_restored.insert(v);
    return transpose(twin[v], perm_to_first(), g.value(v).name + ".to_nchw", v).status();
  };
  std::vector<std::pair<int, int>> shape_uses;  // (Shape node, value)
  for (int id : order) {
    const bool node_last = last[id] && roles[id].role != Role::kFixed;
    for (size_t i = 0; i < g.node(id).inputs.size(); ++i) {
      const int v = g.node(id).inputs[i];
      if (v < 0) continue;
      if (node_last && has_slot(roles[id], static_cast<int>(i))) {
        if (g.value(v).constant) {
          auto it = permuted_constant.find(v);
          if (it == permuted_constant.end()) {
            const int c =
                g.add_constant(g.value(v).name + ".nhwc", permute_constant(*g.value(v).constant));
            it = permuted_constant.emplace(v, c).first;
          }
          g.node(id).inputs[i] = it->second;
          continue;
        }
        auto it = twin.find(v);
        if (it == twin.end()) {
          KILN_ASSIGN_OR_RETURN(int t,
                                transpose(v, perm_to_last(), g.value(v).name + ".to_nhwc", -1));
          it = twin.emplace(v, t).first;
        }
        g.node(id).inputs[i] = it->second;
        continue;
      }
      if (!produced_last.count(v)) continue;
      if (g.node(id).op == "Shape") {
        shape_uses.emplace_back(id, v);
        continue;
      }
      KILN_RETURN_IF_ERROR(restore_first(v));
    }
  }
  for (int v : g.outputs()) KILN_RETURN_IF_ERROR(restore_first(v));
  // Shape of a channels-last tensor: the twin's shape, gathered back into NCHW order (host
  // arithmetic, so no Transpose runs just to read a shape).
  for (const auto& [id, v] : shape_uses) {
    if (first_restored.count(v)) continue;  // the NCHW tensor exists anyway
    int64_t start = 0, end = 0;
    const ir::Attrs& sa = g.node(id).attrs;
    start = sa.get_int("start", 0);
    end = sa.has("end") ? sa.get_int("end", kRank) : kRank;
    if (start < 0) start += kRank;
    if (end < 0) end += kRank;
    start = std::clamp<int64_t>(start, 0, kRank);
    end = std::clamp<int64_t>(end, start, kRank);
    if (end == start) {
      KILN_RETURN_IF_ERROR(restore_first(v));
      continue;
    }
    HostTensor idx(DataType::kInt64, Dims{end - start});
    for (int64_t k = start; k < end; ++k) {
      idx.as<int64_t>()[k - start] = axis_to_last(k);
    }
    const int out = g.node(id).outputs[0];
    const int full = g.add_value(g.value(out).name + ".nhwc", DataType::kInt64, {kRank});
    ir::Node& sn = g.node(id);
    sn.inputs[0] = twin[v];
    sn.attrs.erase("start");
    sn.attrs.erase("end");
    sn.outputs[0] = full;
    g.value(full).producer = id;
    KILN_RETURN_IF_ERROR(g.infer_node(id));
    const int c = g.add_constant(g.value(out).name + ".nhwc_dims", std::move(idx));
    ir::Attrs ga;
    ga.set("axis", int64_t{0});
    const int gather = g.add_node("Gather", g.value(out).name + ".nchw_order", {full, c}, 0, ga);
    g.node(gather).outputs.push_back(out);
    g.value(out).producer = gather;
    KILN_RETURN_IF_ERROR(g.infer_node(gather));
  }
  // Attributes of the channels-last nodes.
  for (int id : order) {
    if (!last[id] || roles[id].role == Role::kFixed) continue;
    ir::Node& n = g.node(id);
    if (n.op == "Conv" || n.op == "Pooling" || n.op == "BatchNorm") {
      n.attrs.set("channels_last", int64_t{1});
    } else if (n.op == "Concat") {
      int64_t axis = n.attrs.get_int("axis");
      if (axis < 0) axis += kRank;
      n.attrs.set("axis", axis_to_last(axis));
    } else if (n.op == "Reduce") {
      // reduced_dims succeeded in classify; the axes become an attribute in NHWC order.
      auto reduced = ops::reduce_axes(g, n);
      if (!reduced.is_ok()) return reduced.status().with_context(g.describe_node(id));
      const bool all = std::all_of(reduced->begin(), reduced->end(), [](bool b) { return b; });
      std::vector<int64_t> axes;
      for (int64_t a = 0; a < kRank; ++a) {
        if ((*reduced)[perm_to_last()[a]]) axes.push_back(a);
      }
      n.inputs.resize(1);
      if (all) {
        n.attrs.set("axes", std::vector<int64_t>{0, 1, 2, 3});
      } else if (axes.empty()) {
        n.attrs.set("axes", std::vector<int64_t>{});
        n.attrs.set("noop_with_empty_axes", int64_t{1});
      } else {
        n.attrs.set("axes", axes);
      }
    }
  }
  remove_dead_code(g);
  g.compact();
  KILN_RETURN_IF_ERROR(g.infer_shapes());
  log(options, Severity::kInfo,
      "layout: " + std::to_string(stats.nhwc_nodes) + " layers run NHWC, " +
          std::to_string(stats.reformats) + " reformat layers");
  return stats;
}

}  // namespace kiln::passes
