#include "ir/graph.h"

#include "ops/op.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace kiln::ir {

int64_t Attrs::get_int(std::string_view name, int64_t fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* v = std::get_if<int64_t>(&it->second)) return *v;
  if (auto* v = std::get_if<double>(&it->second)) {
    // A float where an int is expected (a malformed model): saturate instead of the undefined
    // out-of-range conversion; NaN becomes the lowest int64, which every attribute check rejects.
    constexpr double kTwo63 = 9223372036854775808.0;
    if (std::isnan(*v) || *v < -kTwo63) return std::numeric_limits<int64_t>::min();
    if (*v >= kTwo63) return std::numeric_limits<int64_t>::max();
    return static_cast<int64_t>(*v);
  }
  return fallback;
}

double Attrs::get_float(std::string_view name, double fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* v = std::get_if<double>(&it->second)) return *v;
  if (auto* v = std::get_if<int64_t>(&it->second)) return static_cast<double>(*v);
  return fallback;
}

std::string Attrs::get_string(std::string_view name, std::string fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* v = std::get_if<std::string>(&it->second)) return *v;
  return fallback;
}

std::vector<int64_t> Attrs::get_ints(std::string_view name, std::vector<int64_t> fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  if (auto* v = std::get_if<int64_t>(&it->second)) return {*v};
  return fallback;
}

std::vector<double> Attrs::get_floats(std::string_view name, std::vector<double> fallback) const {
  auto it = map_.find(name);
  if (it == map_.end()) return fallback;
  if (auto* v = std::get_if<std::vector<double>>(&it->second)) return *v;
  if (auto* v = std::get_if<double>(&it->second)) return {*v};
  return fallback;
}

std::string Graph::unique_name(std::string name) {
  if (name.empty()) name = "t";
  if (names_.find(name) == names_.end()) return name;
  for (int i = 1;; ++i) {
    std::string candidate = name + "_" + std::to_string(i);
    if (names_.find(candidate) == names_.end()) return candidate;
  }
}

int Graph::add_value(std::string name, DataType dtype, SymShape shape) {
  Value v;
  v.id = num_values();
  v.name = unique_name(std::move(name));
  v.dtype = dtype;
  v.shape = std::move(shape);
  names_[v.name] = v.id;
  values_.push_back(std::move(v));
  return values_.back().id;
}

int Graph::add_symbol(std::string name, int input_value, int dim) {
  for (size_t i = 0; i < symbols_.size(); ++i) {
    if (symbols_[i].name == name) return static_cast<int>(i);
  }
  symbols_.push_back({std::move(name), input_value, dim});
  return static_cast<int>(symbols_.size()) - 1;
}

int Graph::add_input(std::string name, DataType dtype, const Dims& dims) {
  return add_input(std::move(name), dtype, dims, {});
}

int Graph::add_input(std::string name, DataType dtype, const Dims& dims,
                     std::span<const std::string> dim_names) {
  int id = add_value(std::move(name), dtype, {});
  SymShape shape;
  for (int d = 0; d < dims.rank(); ++d) {
    if (dims[d] >= 0) {
      shape.emplace_back(dims[d]);
    } else {
      bool named = static_cast<size_t>(d) < dim_names.size() && !dim_names[d].empty();
      int s = add_symbol(named ? dim_names[d] : values_[id].name + "." + std::to_string(d), id, d);
      shape.push_back(SymExpr::symbol(s));
    }
  }
  Value& v = values_[id];
  v.is_input = true;
  v.shape = std::move(shape);
  inputs_.push_back(id);
  return id;
}

int Graph::add_constant(std::string name, HostTensor data) {
  SymShape shape(data.shape().begin(), data.shape().end());
  int id = add_value(std::move(name), data.dtype(), std::move(shape));
  values_[id].constant = std::move(data);
  return id;
}

int Graph::add_node(std::string op, std::string name, std::vector<int> inputs, int num_outputs,
                    Attrs attrs) {
  Node n;
  n.id = num_nodes();
  n.name = name.empty() ? op + "_" + std::to_string(n.id) : std::move(name);
  n.op = std::move(op);
  n.attrs = std::move(attrs);
  n.inputs = std::move(inputs);
  for (int i = 0; i < num_outputs; ++i) {
    int v = add_value(num_outputs == 1 ? n.name : n.name + ":" + std::to_string(i),
                      DataType::kFloat32, {});
    values_[v].producer = n.id;
    n.outputs.push_back(v);
  }
  nodes_.push_back(std::move(n));
  return nodes_.back().id;
}

void Graph::mark_output(int value) {
  if (std::find(outputs_.begin(), outputs_.end(), value) != outputs_.end()) return;
  values_[value].is_output = true;
  outputs_.push_back(value);
}

Graph Graph::restore(std::vector<Value> values, std::vector<Node> nodes, std::vector<int> inputs,
                     std::vector<int> outputs, std::vector<Symbol> symbols) {
  Graph g;
  g.values_ = std::move(values);
  g.nodes_ = std::move(nodes);
  g.inputs_ = std::move(inputs);
  g.outputs_ = std::move(outputs);
  g.symbols_ = std::move(symbols);
  for (const Value& v : g.values_) g.names_[v.name] = v.id;  // as compact(): the last one wins
  return g;
}

std::vector<std::string> Graph::symbol_names() const {
  std::vector<std::string> names;
  for (const auto& s : symbols_) names.push_back(s.name);
  return names;
}

int Graph::find_value(std::string_view name) const {
  auto it = names_.find(name);
  return it == names_.end() ? -1 : it->second;
}

Status Graph::rename_value(int id, std::string name) {
  if (values_[id].name == name) return Status::ok();
  if (name.empty()) return invalid_argument("tensor names must not be empty");
  if (names_.find(name) != names_.end()) {
    return invalid_argument("tensor name '" + name + "' is already used");
  }
  names_.erase(names_.find(values_[id].name));
  names_[name] = id;
  values_[id].name = std::move(name);
  return Status::ok();
}

Result<std::vector<int>> Graph::topo_order() const {
  // Kahn's algorithm in node-id order, so the order is deterministic.
  std::vector<int> pending(nodes_.size(), 0);
  std::vector<std::vector<int>> users(values_.size());
  for (const Node& n : nodes_) {
    if (n.removed) continue;
    for (int in : n.inputs) {
      if (in < 0) continue;
      int p = values_[in].producer;
      if (p >= 0 && !nodes_[p].removed) {
        ++pending[n.id];
        users[in].push_back(n.id);
      }
    }
  }
  std::vector<int> order;
  std::deque<int> ready;
  for (const Node& n : nodes_) {
    if (!n.removed && pending[n.id] == 0) ready.push_back(n.id);
  }
  while (!ready.empty()) {
    int id = ready.front();
    ready.pop_front();
    order.push_back(id);
    for (int out : nodes_[id].outputs) {
      for (int u : users[out]) {
        if (--pending[u] == 0) ready.push_back(u);
      }
    }
  }
  size_t live =
      std::count_if(nodes_.begin(), nodes_.end(), [](const Node& n) { return !n.removed; });
  if (order.size() != live) return invalid_argument("the network has a cycle");
  return order;
}

std::vector<int> Graph::consumers(int value) const {
  std::vector<int> out;
  for (const Node& n : nodes_) {
    if (n.removed) continue;
    if (std::find(n.inputs.begin(), n.inputs.end(), value) != n.inputs.end()) out.push_back(n.id);
  }
  return out;
}

void Graph::replace_uses(int from, int to) {
  for (Node& n : nodes_) {
    if (n.removed) continue;
    for (int& in : n.inputs) {
      if (in == from) in = to;
    }
  }
  for (int& o : outputs_) {
    if (o == from) {
      o = to;
      values_[from].is_output = false;
      values_[to].is_output = true;
    }
  }
}

std::string Graph::describe_node(int node) const {
  const Node& n = nodes_[node];
  return "layer '" + n.name + "' (" + n.op + ")";
}

Status Graph::infer_node(int node_id) {
  Node& n = nodes_[node_id];
  const ops::OpDef* def = ops::find_op(n.op);
  if (def == nullptr) {
    return unsupported("op type '" + n.op + "' is not supported")
        .with_context(describe_node(node_id));
  }
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    int in = n.inputs[i];
    if (in >= num_values()) {
      return internal_error("input " + std::to_string(i) + " refers to an unknown value")
          .with_context(describe_node(node_id));
    }
  }
  ops::InferContext ctx(*this, n);
  KILN_RETURN_IF_ERROR(def->infer(ctx));
  if (ctx.outputs().size() != n.outputs.size()) {
    return internal_error("shape inference produced " + std::to_string(ctx.outputs().size()) +
                          " outputs, the node has " + std::to_string(n.outputs.size()))
        .with_context(describe_node(node_id));
  }
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    Value& v = values_[n.outputs[i]];
    auto& o = ctx.outputs()[i];
    if (o.shape.size() > static_cast<size_t>(Dims::kMaxDims)) {
      return unsupported("output rank " + std::to_string(o.shape.size()) + " exceeds " +
                         std::to_string(Dims::kMaxDims))
          .with_context(describe_node(node_id));
    }
    v.dtype = o.dtype;
    v.shape = std::move(o.shape);
    v.shape_value = std::move(o.shape_value);
  }
  return Status::ok();
}

Status Graph::infer_shapes() {
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, topo_order());
  for (int id : order) KILN_RETURN_IF_ERROR(infer_node(id));
  return Status::ok();
}

void Graph::compact() {
  // Live values: graph inputs/outputs, and those touched by live nodes.
  std::vector<bool> live_value(values_.size(), false);
  for (int v : inputs_) live_value[v] = true;
  for (int v : outputs_) live_value[v] = true;
  for (const Node& n : nodes_) {
    if (n.removed) continue;
    for (int v : n.inputs)
      if (v >= 0) live_value[v] = true;
    for (int v : n.outputs) live_value[v] = true;
  }
  std::vector<int> value_map(values_.size(), -1), node_map(nodes_.size(), -1);
  std::vector<Value> new_values;
  for (Value& v : values_) {
    if (!live_value[v.id]) continue;
    value_map[v.id] = static_cast<int>(new_values.size());
    new_values.push_back(std::move(v));
  }
  std::vector<Node> new_nodes;
  for (Node& n : nodes_) {
    if (n.removed) continue;
    node_map[n.id] = static_cast<int>(new_nodes.size());
    new_nodes.push_back(std::move(n));
  }
  for (size_t i = 0; i < new_values.size(); ++i) {
    Value& v = new_values[i];
    v.id = static_cast<int>(i);
    if (v.producer >= 0) v.producer = node_map[v.producer];
  }
  for (size_t i = 0; i < new_nodes.size(); ++i) {
    Node& n = new_nodes[i];
    n.id = static_cast<int>(i);
    for (int& v : n.inputs)
      if (v >= 0) v = value_map[v];
    for (int& v : n.outputs) v = value_map[v];
  }
  for (int& v : inputs_) v = value_map[v];
  for (int& v : outputs_) v = value_map[v];
  for (Symbol& s : symbols_) s.input_value = s.input_value >= 0 ? value_map[s.input_value] : -1;
  values_ = std::move(new_values);
  nodes_ = std::move(new_nodes);
  names_.clear();
  for (const Value& v : values_) names_[v.name] = v.id;
}

Status Graph::validate() const {
  std::vector<int> producers(values_.size(), -1);
  for (const Node& n : nodes_) {
    if (n.removed) continue;
    for (int in : n.inputs) {
      if (in < -1 || in >= num_values()) {
        return internal_error("input refers to value " + std::to_string(in))
            .with_context(describe_node(n.id));
      }
      if (in >= 0 && values_[in].producer >= 0 && nodes_[values_[in].producer].removed) {
        return internal_error("input '" + values_[in].name + "' is produced by a removed node")
            .with_context(describe_node(n.id));
      }
    }
    for (int out : n.outputs) {
      if (out < 0 || out >= num_values())
        return internal_error("output out of range").with_context(describe_node(n.id));
      if (producers[out] >= 0) {
        return internal_error("value '" + values_[out].name + "' has two producers");
      }
      producers[out] = n.id;
    }
  }
  for (int o : outputs_) {
    const Value& v = values_[o];
    if (v.producer < 0 && !v.is_input && !v.constant) {
      return invalid_argument("output '" + v.name + "' is not produced by any layer");
    }
  }
  if (outputs_.empty()) return invalid_argument("the network has no outputs (call mark_output)");
  KILN_ASSIGN_OR_RETURN(auto order, topo_order());
  (void)order;
  return Status::ok();
}

}  // namespace kiln::ir
