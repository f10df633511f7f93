// The graph IR shared by the network API, the ONNX importer, the passes, the builder, the plan
// and the runtime: values (named tensors with dtype and symbolic shape; constants carry their
// data), nodes (op type, attributes, inputs, outputs) and the symbols that dynamic dims bind.
#pragma once

#include <kiln/status.h>
#include <kiln/types.h>

#include "core/tensor.h"
#include "ir/sym.h"

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace kiln::ir {

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>,
                               std::vector<double>>;

// Node attributes, ordered by name (so serialization is deterministic).
class Attrs {
 public:
  void set(const std::string& name, AttrValue v) { map_[name] = std::move(v); }
  bool has(std::string_view name) const { return map_.find(name) != map_.end(); }
  void erase(std::string_view name) {
    auto it = map_.find(name);
    if (it != map_.end()) map_.erase(it);
  }
  int64_t get_int(std::string_view name, int64_t fallback = 0) const;
  double get_float(std::string_view name, double fallback = 0.0) const;
  std::string get_string(std::string_view name, std::string fallback = {}) const;
  std::vector<int64_t> get_ints(std::string_view name, std::vector<int64_t> fallback = {}) const;
  std::vector<double> get_floats(std::string_view name, std::vector<double> fallback = {}) const;
  const std::map<std::string, AttrValue, std::less<>>& map() const { return map_; }
  bool operator==(const Attrs& o) const { return map_ == o.map_; }

 private:
  std::map<std::string, AttrValue, std::less<>> map_;
};

// A dynamic dim that the runtime binds from an input's shape.
struct Symbol {
  std::string name;  // "x.0" or a named dim ("batch") shared by several inputs
  int input_value = -1;
  int dim = -1;
};

struct Value {
  int id = -1;
  std::string name;
  DataType dtype = DataType::kFloat32;
  SymShape shape;
  int producer = -1;  // node id, -1 for inputs and constants
  bool is_input = false;
  bool is_output = false;
  // Constant data (weights); the value has no producer.
  std::optional<HostTensor> constant;
  // Content of a small int64 shape tensor known symbolically (evaluated on the host).
  std::optional<std::vector<SymExpr>> shape_value;
  // Per-layer type constraint on this layer output (Layer::set_output_type; the precision pass).
  std::optional<DataType> output_type;
};

struct Node {
  int id = -1;
  std::string name;
  std::string op;
  Attrs attrs;
  std::vector<int> inputs;  // -1 for an absent optional input
  std::vector<int> outputs;
  std::vector<std::string> fused;  // names of the layers fused into this one (inspector)
  bool removed = false;
  // Per-layer compute precision constraint (Layer::set_precision; the precision pass).
  std::optional<DataType> precision;
};

class Graph {
 public:
  // New value; the name is made unique if taken.
  int add_value(std::string name, DataType dtype, SymShape shape);
  int add_input(std::string name, DataType dtype, const Dims& dims);
  // As above, with a name per dim (ONNX dim_param): dynamic dims with the same non-empty name
  // share one symbol, so the runtime requires them to agree; an empty name (or a missing entry)
  // gives the dim its own symbol "<input>.<dim>".
  int add_input(std::string name, DataType dtype, const Dims& dims,
                std::span<const std::string> dim_names);
  int add_constant(std::string name, HostTensor data);
  // New node with `num_outputs` fresh output values (shapes filled by shape inference).
  int add_node(std::string op, std::string name, std::vector<int> inputs, int num_outputs,
               Attrs attrs = {});
  void mark_output(int value);

  Value& value(int id) { return values_[id]; }
  const Value& value(int id) const { return values_[id]; }
  Node& node(int id) { return nodes_[id]; }
  const Node& node(int id) const { return nodes_[id]; }
  int num_values() const { return static_cast<int>(values_.size()); }
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }
  std::vector<int>& mutable_outputs() { return outputs_; }
  const std::vector<Symbol>& symbols() const { return symbols_; }
  std::vector<std::string> symbol_names() const;
  int find_value(std::string_view name) const;  // -1 if none
  // Renames a value; error if another value has the name.
  Status rename_value(int id, std::string name);
  bool is_constant(int value) const { return value >= 0 && values_[value].constant.has_value(); }

  // Live nodes in topological order (inputs before users). Error if there is a cycle.
  Result<std::vector<int>> topo_order() const;
  // Live nodes consuming `value`.
  std::vector<int> consumers(int value) const;
  // Replaces every use of `from` (node inputs, graph outputs) by `to`.
  void replace_uses(int from, int to);
  // Re-runs shape inference of every live node (after a pass changed the graph).
  Status infer_shapes();
  // Runs shape inference of one node, filling its outputs' dtype/shape/shape_value.
  Status infer_node(int node);
  // Removes dead nodes/values and renumbers ids densely, keeping order. Names stay.
  void compact();
  // Structural checks: ids in range, one producer per value, no cycles, outputs reachable.
  Status validate() const;
  // "layer 'conv1' (Conv)" — for error contexts.
  std::string describe_node(int node) const;

  // Rebuilds a graph from its parts exactly as given: ids are positions, names are kept as they
  // are (not made unique). For the plan reader, which validates the parts before calling this.
  static Graph restore(std::vector<Value> values, std::vector<Node> nodes, std::vector<int> inputs,
                       std::vector<int> outputs, std::vector<Symbol> symbols);

  // Symbols: one per dynamic input dim (dims sharing a name share a symbol).
  int add_symbol(std::string name, int input_value, int dim);
  std::vector<Symbol>& mutable_symbols() { return symbols_; }

 private:
  std::string unique_name(std::string name);
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<int> inputs_, outputs_;
  std::vector<Symbol> symbols_;
  std::map<std::string, int, std::less<>> names_;
};

}  // namespace kiln::ir
