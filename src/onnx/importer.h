// The ONNX importer's core: the Importer walks a ModelProto's graph and builds kiln IR through
// the network's state; a NodeContext is what one op translator sees (the ONNX node, its inputs
// as IR values, typed attribute access, helpers that add IR nodes and constants).
//
// Translators live in translators/<family>.cpp, one function per ONNX op, listed explicitly in
// translators/registry.cpp. A translator returns an error Status for anything it cannot import
// (kUnsupported for valid models kiln does not implement, kInvalidArgument for invalid ones);
// the importer records it with the node's name, op and opset, and carries on with the next node.
#pragma once

#include <kiln/onnx.h>

#include "core/tensor.h"
#include "ir/graph.h"
#include "network/network_state.h"
#include "onnx/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace kiln::onnx_import {

// Opsets of the default domain that the importer accepts. Translators implement the semantics
// of each op version from their `since` opset on (see docs/onnx.md).
inline constexpr int64_t kMinOpset = 1;
inline constexpr int64_t kMaxOpset = 21;
// The opset range kiln targets (older opsets are imported op by op, where implemented).
inline constexpr int64_t kTargetMinOpset = 13;

// Elements of a tensor of these extents, or -1 when a dim is negative or the count exceeds
// `limit` (no overflow: damaged models may carry any extents).
int64_t checked_volume(std::span<const int64_t> dims, int64_t limit);
// Largest constant the importer itself creates (EyeLike, class indices, ...), in elements.
inline constexpr int64_t kMaxImportConstant = int64_t{1} << 24;

class Importer;
using ::kiln::onnx::ParserError;
using ::kiln::onnx::ParserOptions;

class NodeContext {
 public:
  NodeContext(Importer& importer, const pb::NodeProto& node, int index, int64_t opset);

  const pb::NodeProto& node() const { return node_; }
  const std::string& op_type() const { return node_.op_type(); }
  int64_t opset() const { return opset_; }
  ir::Graph& graph() const;
  Logger& logger() const;

  // ---- inputs ----
  int num_inputs() const { return node_.input_size(); }
  // Present: listed and not an empty name (ONNX's way of skipping an optional input).
  bool has_input(int i) const { return i < node_.input_size() && !node_.input(i).empty(); }
  // IR value of input i, -1 when absent.
  int input(int i) const;
  const std::string& input_name(int i) const { return node_.input(i); }
  // References into the graph: adding nodes or constants may invalidate them.
  const ir::Value& value(int v) const;
  DataType dtype(int v) const { return value(v).dtype; }
  const ir::SymShape& shape(int v) const { return value(v).shape; }
  int rank(int v) const { return static_cast<int>(value(v).shape.size()); }
  const HostTensor* constant(int v) const;
  // Static extents of value v; error naming `what` if a dim is dynamic.
  Result<std::vector<int64_t>> static_shape(int v, std::string_view what) const;
  // Integer / float content of input i, which must be a constant (or a host shape value that is
  // static); the error names the input and says why kiln needs it at build time.
  Result<std::vector<int64_t>> const_ints(int i, std::string_view what) const;
  Result<std::vector<double>> const_floats(int i, std::string_view what) const;
  // Symbolic content of a rank <= 1 integer value: its shape value, or a small int constant's
  // entries; nullopt otherwise.
  std::optional<std::vector<ir::SymExpr>> shape_content(int v) const;
  // Error unless min <= number of inputs <= max and the first `min` are present.
  Status expect_inputs(int min, int max) const;
  // Error unless input i has one of the dtypes (kUnsupported: ONNX allows it, kiln does not).
  Status expect_dtype(int i, std::initializer_list<DataType> allowed) const;
  Status expect_float(int i) const {
    return expect_dtype(i, {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16});
  }
  int num_outputs() const { return node_.output_size(); }
  bool has_output(int i) const { return i < node_.output_size() && !node_.output(i).empty(); }

  // ---- attributes ----
  // A wrong attribute type records an error (returned by attr_status()) and gives the default.
  const pb::AttributeProto* attr(std::string_view name) const;
  bool has_attr(std::string_view name) const { return attr(name) != nullptr; }
  int64_t attr_int(std::string_view name, int64_t fallback);
  double attr_float(std::string_view name, double fallback);
  std::string attr_string(std::string_view name, std::string fallback = {});
  std::vector<int64_t> attr_ints(std::string_view name, std::vector<int64_t> fallback = {});
  std::vector<double> attr_floats(std::string_view name, std::vector<double> fallback = {});
  Result<HostTensor> attr_tensor(std::string_view name);
  const Status& attr_status() const { return attr_status_; }
  // "unsupported attribute <name>=<value>[: why]" (kUnsupported).
  Status bad_attr(std::string_view name, std::string_view value, std::string_view why = {}) const;
  // "attribute <name>=<value> is invalid: why" (kInvalidArgument).
  Status invalid_attr(std::string_view name, std::string_view value, std::string_view why) const;

  // ---- building ----
  // Adds an IR node and runs its shape inference (errors come back with the IR node named).
  Result<std::vector<int>> add(const std::string& op, std::vector<int> inputs, ir::Attrs attrs,
                               int num_outputs);
  Result<int> add1(const std::string& op, std::vector<int> inputs, ir::Attrs attrs = {});
  // A new constant value.
  int constant(HostTensor data, std::string_view hint = "const");
  int scalar(DataType dtype, double v);     // rank 0
  int ints(const std::vector<int64_t>& v);  // 1-D int64
  // Output i of the ONNX node is IR value `v` (a fresh node output is renamed to the ONNX name).
  void set_output(int i, int v);

  // Shorthands for common IR nodes.
  Result<int> elementwise(std::string_view op, int a, int b);
  Result<int> unary(std::string_view op, int x);
  Result<int> activation(std::string_view type, int x, double alpha, double beta);
  Result<int> cast(int x, DataType to);
  Result<int> reshape(int x, std::vector<int64_t> shape);  // 0 copies, -1 infers
  Result<int> reshape_to(int x, int shape_tensor);
  Result<int> unsqueeze(int x, std::vector<int64_t> axes);
  Result<int> squeeze(int x, std::vector<int64_t> axes);
  Result<int> transpose(int x, std::vector<int64_t> perm);
  Result<int> shape_of(int x, int64_t start, int64_t end);  // Shape with start/end
  Result<int> concat(std::vector<int> xs, int64_t axis);
  Result<int> reduce(std::string_view op, int x, std::vector<int64_t> axes, bool keepdims);
  // 1-element int64 tensor: product of dims [begin, end) of x (a constant when static).
  Result<int> dims_product(int x, int begin, int end);

  // Bookkeeping for the importer.
  const std::vector<int>& created_nodes() const { return nodes_; }
  const std::vector<int>& outputs() const { return outputs_; }
  const std::string& base_name() const { return base_name_; }

 private:
  Status attr_type_error(const pb::AttributeProto& a, std::string_view expected);
  // Evaluates a node whose inputs are all constants (none a floating-point initializer) and
  // whose outputs are small, turning its outputs into constants (the node is removed).
  void fold_if_constant(int node);
  static constexpr int64_t kMaxFoldElements = 4096;

  Importer& imp_;
  const pb::NodeProto& node_;
  int index_;
  int64_t opset_;
  std::string base_name_;
  std::vector<int> nodes_;    // IR nodes added by this translation
  std::vector<int> outputs_;  // IR value per ONNX output (-1 unset)
  Status attr_status_;
};

using TranslateFn = Status (*)(NodeContext& ctx);

struct Translator {
  std::string_view op_type;
  int64_t since;  // lowest opset whose version of the op the translator implements
  TranslateFn fn;
};

// translators/registry.cpp
const std::vector<Translator>& all_translators();
const Translator* find_translator(std::string_view op_type);

class Importer {
 public:
  Importer(detail::NetworkState& net, Logger& logger, const ParserOptions& options,
           std::vector<ParserError>* errors);

  // Imports a whole model; errors go to *errors (also returned as a summary Status). The
  // initializers' raw_data buffers become the constants' storage (moved out of `model`).
  void import_model(pb::ModelProto& model, const std::string& base_dir);

  ir::Graph& graph() { return net_.graph; }
  detail::NetworkState& net() { return net_; }
  Logger& logger() { return logger_; }
  const TensorReadOptions& tensor_options() const { return tensor_options_; }

  // Gives an IR value an ONNX tensor name: renames it when it is a fresh unnamed value, else
  // records an alias. Error when the name was already defined (not SSA).
  Status bind(const std::string& onnx_name, int value);
  // IR value of an ONNX tensor name, -1 if unknown.
  int lookup(const std::string& onnx_name) const;
  bool is_poisoned(const std::string& onnx_name) const { return poisoned_.count(onnx_name) > 0; }
  // A floating-point initializer of more than one element (a weight that refit may replace).
  bool is_weight(int value) const { return weights_.count(value) > 0; }
  // Records an error.
  void report(int node_index, const pb::NodeProto* node, int64_t opset, const Status& status);
  void warn(const std::string& message);

 private:
  void import_graph(pb::GraphProto& g);
  void import_node(const pb::NodeProto& node, int index);
  void import_constant_node(NodeContext& ctx);
  void mark_outputs(const pb::GraphProto& g);
  // Moves an internal (non-ONNX) value out of the way of `name`.
  void free_name(const std::string& name);

  detail::NetworkState& net_;
  Logger& logger_;
  ParserOptions options_;
  TensorReadOptions tensor_options_;
  std::vector<ParserError>* errors_;
  int64_t opset_ = 0;
  bool has_ml_ = false;
  std::unordered_map<std::string, int> values_;  // ONNX tensor name -> IR value
  std::unordered_set<int> named_;                // IR values that carry an ONNX name
  std::unordered_set<int> weights_;              // floating-point initializers
  std::unordered_set<std::string> poisoned_;     // outputs of failed nodes
  std::unordered_set<std::string> warned_;
  int rename_counter_ = 0;
};

}  // namespace kiln::onnx_import
