#include "onnx/importer.h"

#include "ops/op.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>

namespace kiln::onnx_import {

namespace {

std::string attr_type_name(int t) {
  switch (t) {
    case pb::AttributeProto::FLOAT:
      return "FLOAT";
    case pb::AttributeProto::INT:
      return "INT";
    case pb::AttributeProto::STRING:
      return "STRING";
    case pb::AttributeProto::TENSOR:
      return "TENSOR";
    case pb::AttributeProto::GRAPH:
      return "GRAPH";
    case pb::AttributeProto::FLOATS:
      return "FLOATS";
    case pb::AttributeProto::INTS:
      return "INTS";
    case pb::AttributeProto::STRINGS:
      return "STRINGS";
    case pb::AttributeProto::TENSORS:
      return "TENSORS";
    case pb::AttributeProto::GRAPHS:
      return "GRAPHS";
    case pb::AttributeProto::SPARSE_TENSOR:
      return "SPARSE_TENSOR";
    case pb::AttributeProto::TYPE_PROTO:
      return "TYPE_PROTO";
    default:
      return "UNDEFINED";
  }
}

// The attribute's type; old models may leave it unset, then it is guessed from the fields.
int attr_kind(const pb::AttributeProto& a) {
  if (a.type() != pb::AttributeProto::UNDEFINED) return a.type();
  if (a.has_f()) return pb::AttributeProto::FLOAT;
  if (a.has_i()) return pb::AttributeProto::INT;
  if (a.has_s()) return pb::AttributeProto::STRING;
  if (a.has_t()) return pb::AttributeProto::TENSOR;
  if (a.has_g()) return pb::AttributeProto::GRAPH;
  if (a.floats_size()) return pb::AttributeProto::FLOATS;
  if (a.ints_size()) return pb::AttributeProto::INTS;
  if (a.strings_size()) return pb::AttributeProto::STRINGS;
  return pb::AttributeProto::UNDEFINED;
}

}  // namespace

int64_t checked_volume(std::span<const int64_t> dims, int64_t limit) {
  int64_t v = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    if (d == 0) return 0;
  }
  for (int64_t d : dims) {
    if (v > limit / d) return -1;
    v *= d;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// NodeContext

NodeContext::NodeContext(Importer& importer, const pb::NodeProto& node, int index, int64_t opset)
    : imp_(importer), node_(node), index_(index), opset_(opset) {
  base_name_ = node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
  outputs_.assign(static_cast<size_t>(node.output_size()), -1);
}

ir::Graph& NodeContext::graph() const {
  return imp_.graph();
}
Logger& NodeContext::logger() const {
  return imp_.logger();
}

int NodeContext::input(int i) const {
  if (!has_input(i)) return -1;
  return imp_.lookup(node_.input(i));
}

const ir::Value& NodeContext::value(int v) const {
  return imp_.graph().value(v);
}

const HostTensor* NodeContext::constant(int v) const {
  if (v < 0) return nullptr;
  const ir::Value& val = value(v);
  return val.constant ? &*val.constant : nullptr;
}

Result<std::vector<int64_t>> NodeContext::static_shape(int v, std::string_view what) const {
  std::vector<int64_t> dims;
  for (const auto& e : shape(v)) {
    if (!e.is_const()) {
      return unsupported(std::string(what) + " needs a static shape, got " +
                         ir::shape_to_string(shape(v), graph().symbol_names()));
    }
    dims.push_back(e.value());
  }
  return dims;
}

Result<std::vector<int64_t>> NodeContext::const_ints(int i, std::string_view what) const {
  int v = input(i);
  if (v < 0)
    return invalid_argument(std::string(what) + " (input " + std::to_string(i) + ") is missing");
  const ir::Value& val = value(v);
  std::vector<int64_t> out;
  if (val.constant) {
    if (is_floating(val.dtype)) {
      return invalid_argument(std::string(what) + " (input " + std::to_string(i) + " '" +
                              input_name(i) + "') must be an integer tensor, got " +
                              std::string(dtype_name(val.dtype)));
    }
    for (int64_t k = 0; k < val.constant->numel(); ++k) out.push_back(val.constant->get_int(k));
    return out;
  }
  if (val.shape_value) {
    bool all_const = std::all_of(val.shape_value->begin(), val.shape_value->end(),
                                 [](const ir::SymExpr& e) { return e.is_const(); });
    if (all_const) {
      for (const auto& e : *val.shape_value) out.push_back(e.value());
      return out;
    }
  }
  return unsupported(std::string(what) + " (input " + std::to_string(i) + " '" + input_name(i) +
                     "') must be known when the engine is built (an initializer, a Constant, or "
                     "computed from them); data-dependent values are not supported");
}

std::optional<std::vector<ir::SymExpr>> NodeContext::shape_content(int v) const {
  if (v < 0) return std::nullopt;
  const ir::Value& val = value(v);
  if (val.shape.size() > 1 || !is_integer(val.dtype)) return std::nullopt;
  if (val.shape_value) return *val.shape_value;
  if (val.constant && val.constant->numel() <= kMaxFoldElements) {
    std::vector<ir::SymExpr> out;
    for (int64_t k = 0; k < val.constant->numel(); ++k) out.emplace_back(val.constant->get_int(k));
    return out;
  }
  return std::nullopt;
}

Result<std::vector<double>> NodeContext::const_floats(int i, std::string_view what) const {
  int v = input(i);
  if (v < 0)
    return invalid_argument(std::string(what) + " (input " + std::to_string(i) + ") is missing");
  const ir::Value& val = value(v);
  if (!val.constant) {
    return unsupported(std::string(what) + " (input " + std::to_string(i) + " '" + input_name(i) +
                       "') must be a constant (an initializer or a Constant node)");
  }
  std::vector<double> out;
  for (int64_t k = 0; k < val.constant->numel(); ++k) out.push_back(val.constant->get_double(k));
  return out;
}

Status NodeContext::expect_inputs(int min, int max) const {
  int n = num_inputs();
  // Trailing empty names are absent optional inputs.
  while (n > 0 && node_.input(n - 1).empty()) --n;
  if (n < min || n > max) {
    std::string range =
        min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    return invalid_argument("expects " + range + (max == 1 ? " input" : " inputs") + ", got " +
                            std::to_string(n));
  }
  for (int i = 0; i < min; ++i) {
    if (!has_input(i)) return invalid_argument("input " + std::to_string(i) + " is required");
  }
  return Status::ok();
}

Status NodeContext::expect_dtype(int i, std::initializer_list<DataType> allowed) const {
  int v = input(i);
  if (v < 0) return Status::ok();
  DataType d = dtype(v);
  for (DataType a : allowed) {
    if (a == d) return Status::ok();
  }
  std::string list;
  for (DataType a : allowed) list += (list.empty() ? "" : ", ") + std::string(dtype_name(a));
  return unsupported("input " + std::to_string(i) + " '" + input_name(i) + "' has dtype " +
                     std::string(dtype_name(d)) + "; kiln's " + op_type() + " supports " + list);
}

const pb::AttributeProto* NodeContext::attr(std::string_view name) const {
  for (const auto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

Status NodeContext::attr_type_error(const pb::AttributeProto& a, std::string_view expected) {
  Status s = invalid_argument("attribute " + a.name() + " has type " +
                              attr_type_name(attr_kind(a)) + ", expected " + std::string(expected));
  if (attr_status_.is_ok()) attr_status_ = s;
  return s;
}

int64_t NodeContext::attr_int(std::string_view name, int64_t fallback) {
  const auto* a = attr(name);
  if (a == nullptr) return fallback;
  if (attr_kind(*a) != pb::AttributeProto::INT) {
    attr_type_error(*a, "INT").ignore();
    return fallback;
  }
  return a->i();
}

double NodeContext::attr_float(std::string_view name, double fallback) {
  const auto* a = attr(name);
  if (a == nullptr) return fallback;
  int k = attr_kind(*a);
  if (k == pb::AttributeProto::FLOAT) return a->f();
  if (k == pb::AttributeProto::INT) return static_cast<double>(a->i());
  attr_type_error(*a, "FLOAT").ignore();
  return fallback;
}

std::string NodeContext::attr_string(std::string_view name, std::string fallback) {
  const auto* a = attr(name);
  if (a == nullptr) return fallback;
  if (attr_kind(*a) != pb::AttributeProto::STRING) {
    attr_type_error(*a, "STRING").ignore();
    return fallback;
  }
  return a->s();
}

std::vector<int64_t> NodeContext::attr_ints(std::string_view name, std::vector<int64_t> fallback) {
  const auto* a = attr(name);
  if (a == nullptr) return fallback;
  int k = attr_kind(*a);
  if (k == pb::AttributeProto::UNDEFINED) return {};  // an empty list has no field set
  if (k != pb::AttributeProto::INTS) {
    attr_type_error(*a, "INTS").ignore();
    return fallback;
  }
  return {a->ints().begin(), a->ints().end()};
}

std::vector<double> NodeContext::attr_floats(std::string_view name, std::vector<double> fallback) {
  const auto* a = attr(name);
  if (a == nullptr) return fallback;
  int k = attr_kind(*a);
  if (k == pb::AttributeProto::UNDEFINED) return {};
  if (k != pb::AttributeProto::FLOATS) {
    attr_type_error(*a, "FLOATS").ignore();
    return fallback;
  }
  return {a->floats().begin(), a->floats().end()};
}

Result<HostTensor> NodeContext::attr_tensor(std::string_view name) {
  const auto* a = attr(name);
  if (a == nullptr) return invalid_argument("attribute " + std::string(name) + " is missing");
  if (attr_kind(*a) != pb::AttributeProto::TENSOR) return attr_type_error(*a, "TENSOR");
  bool converted = false;
  auto t = read_tensor(a->t(), imp_.tensor_options(), &converted);
  if (!t.is_ok()) return t.status().with_context("attribute " + std::string(name));
  if (converted) {
    imp_.warn("converted float64 attribute " + std::string(name) + " of " + base_name_ +
              " to float32");
  }
  return t;
}

Status NodeContext::bad_attr(std::string_view name, std::string_view value,
                             std::string_view why) const {
  std::string m = "unsupported attribute " + std::string(name) + "=" + std::string(value);
  if (!why.empty()) m += ": " + std::string(why);
  return unsupported(m);
}

Status NodeContext::invalid_attr(std::string_view name, std::string_view value,
                                 std::string_view why) const {
  return invalid_argument("attribute " + std::string(name) + "=" + std::string(value) +
                          " is invalid: " + std::string(why));
}

Result<std::vector<int>> NodeContext::add(const std::string& op, std::vector<int> inputs,
                                          ir::Attrs attrs, int num_outputs) {
  for (int in : inputs) {
    if (in < -1 || in >= graph().num_values()) {
      return internal_error("translator passed an invalid value id to " + op);
    }
  }
  std::string name = base_name_ + "/" + std::to_string(nodes_.size());
  int id = graph().add_node(op, name, std::move(inputs), num_outputs, std::move(attrs));
  nodes_.push_back(id);
  KILN_RETURN_IF_ERROR(graph().infer_node(id));
  fold_if_constant(id);
  return graph().node(id).outputs;
}

void NodeContext::fold_if_constant(int id) {
  // Small results of constant inputs (axes, shapes, indices, scales computed by the model)
  // become constants right away, so that later nodes see them as build-time values. Nodes that
  // read floating-point initializers are left to the builder's constant folding: those are
  // weights, which refit may replace.
  ir::Graph& g = graph();
  const ir::Node& n = g.node(id);
  // Shape tensors whose content is fully known (Shape of static dims, and what is computed
  // from them) become constants too, so float math on them (Cast, Div, Floor...) folds as well.
  bool static_values = !n.outputs.empty();
  for (int o : n.outputs) {
    const ir::Value& v = g.value(o);
    static_values = static_values && v.shape_value && ir::is_static(v.shape) &&
                    std::all_of(v.shape_value->begin(), v.shape_value->end(),
                                [](const ir::SymExpr& e) { return e.is_const(); });
  }
  if (static_values) {
    for (int o : n.outputs) {
      ir::Value& v = g.value(o);
      auto dims = ir::eval_shape(v.shape, {});
      if (!dims.is_ok()) return;
      if (checked_volume(*dims, kMaxFoldElements) != static_cast<int64_t>(v.shape_value->size())) {
        return;
      }
      HostTensor t(v.dtype, Dims{std::span<const int64_t>(*dims)});
      for (int64_t i = 0; i < t.numel(); ++i) {
        store_from_double(t.data(), v.dtype, i, static_cast<double>((*v.shape_value)[i].value()));
      }
      v.constant = std::move(t);
      v.producer = -1;
    }
    g.node(id).removed = true;
    nodes_.pop_back();
    return;
  }
  std::vector<TensorView> ins;
  for (int in : n.inputs) {
    if (in >= 0 && (!g.value(in).constant || imp_.is_weight(in))) return;
    ins.push_back(in >= 0 ? g.value(in).constant->view() : TensorView{});
  }
  std::vector<HostTensor> results;
  std::vector<TensorView> outs;
  for (int o : n.outputs) {
    const ir::Value& v = g.value(o);
    if (!ir::is_static(v.shape)) return;
    auto dims = ir::eval_shape(v.shape, {});
    if (!dims.is_ok() || checked_volume(*dims, kMaxFoldElements) < 0) return;
    Dims d{std::span<const int64_t>(*dims)};
    results.emplace_back(v.dtype, d);
    outs.push_back(results.back().view());
  }
  if (!ops::run_reference(g, n, ins, outs).is_ok()) return;
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    ir::Value& v = g.value(n.outputs[i]);
    v.constant = std::move(results[i]);
    v.producer = -1;
  }
  g.node(id).removed = true;
  nodes_.pop_back();
}

Result<int> NodeContext::add1(const std::string& op, std::vector<int> inputs, ir::Attrs attrs) {
  KILN_ASSIGN_OR_RETURN(auto outs, add(op, std::move(inputs), std::move(attrs), 1));
  return outs[0];
}

int NodeContext::constant(HostTensor data, std::string_view hint) {
  return graph().add_constant(base_name_ + "/" + std::string(hint), std::move(data));
}

int NodeContext::scalar(DataType dtype, double v) {
  HostTensor t(dtype, Dims{});
  store_from_double(t.data(), dtype, 0, v);
  return constant(std::move(t), "scalar");
}

int NodeContext::ints(const std::vector<int64_t>& v) {
  HostTensor t(DataType::kInt64, Dims{static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.as<int64_t>());
  return constant(std::move(t), "ints");
}

void NodeContext::set_output(int i, int v) {
  if (i >= 0 && i < static_cast<int>(outputs_.size())) outputs_[i] = v;
}

Result<int> NodeContext::elementwise(std::string_view op, int a, int b) {
  ir::Attrs at;
  at.set("op", std::string(op));
  return add1("ElementWise", {a, b}, std::move(at));
}

Result<int> NodeContext::unary(std::string_view op, int x) {
  ir::Attrs at;
  at.set("op", std::string(op));
  return add1("Unary", {x}, std::move(at));
}

Result<int> NodeContext::activation(std::string_view type, int x, double alpha, double beta) {
  ir::Attrs at;
  at.set("type", std::string(type));
  at.set("alpha", alpha);
  at.set("beta", beta);
  return add1("Activation", {x}, std::move(at));
}

Result<int> NodeContext::cast(int x, DataType to) {
  if (dtype(x) == to) return x;
  ir::Attrs at;
  at.set("to", std::string(dtype_name(to)));
  return add1("Cast", {x}, std::move(at));
}

Result<int> NodeContext::reshape(int x, std::vector<int64_t> shape) {
  ir::Attrs at;
  at.set("shape", std::move(shape));
  at.set("allowzero", int64_t{0});
  return add1("Reshape", {x}, std::move(at));
}

Result<int> NodeContext::reshape_to(int x, int shape_tensor) {
  ir::Attrs at;
  at.set("allowzero", int64_t{0});
  return add1("Reshape", {x, shape_tensor}, std::move(at));
}

Result<int> NodeContext::unsqueeze(int x, std::vector<int64_t> axes) {
  ir::Attrs at;
  at.set("axes", std::move(axes));
  return add1("Unsqueeze", {x}, std::move(at));
}

Result<int> NodeContext::squeeze(int x, std::vector<int64_t> axes) {
  ir::Attrs at;
  at.set("axes", std::move(axes));
  return add1("Squeeze", {x}, std::move(at));
}

Result<int> NodeContext::transpose(int x, std::vector<int64_t> perm) {
  ir::Attrs at;
  at.set("perm", std::move(perm));
  return add1("Transpose", {x}, std::move(at));
}

Result<int> NodeContext::shape_of(int x, int64_t start, int64_t end) {
  ir::Attrs at;
  at.set("start", start);
  at.set("end", end);
  return add1("Shape", {x}, std::move(at));
}

Result<int> NodeContext::concat(std::vector<int> xs, int64_t axis) {
  if (xs.size() == 1) return xs[0];
  ir::Attrs at;
  at.set("axis", axis);
  return add1("Concat", std::move(xs), std::move(at));
}

Result<int> NodeContext::reduce(std::string_view op, int x, std::vector<int64_t> axes,
                                bool keepdims) {
  ir::Attrs at;
  at.set("op", std::string(op));
  at.set("axes", std::move(axes));
  at.set("keepdims", int64_t{keepdims ? 1 : 0});
  return add1("Reduce", {x}, std::move(at));
}

Result<int> NodeContext::dims_product(int x, int begin, int end) {
  int64_t static_part = 1;
  int dynamic = -1;
  const ir::SymShape s = shape(x);  // a copy: adding nodes may move the values
  for (int d = begin; d < end; ++d) {
    if (s[d].is_const()) {
      const int64_t e = s[d].value();
      if (e < 0 || (e > 0 && static_part > std::numeric_limits<int64_t>::max() / e)) {
        return invalid_argument("the dims of " + value(x).name + " overflow");
      }
      static_part *= e;
      continue;
    }
    KILN_ASSIGN_OR_RETURN(int dim, shape_of(x, d, d + 1));
    if (dynamic < 0) {
      dynamic = dim;
    } else {
      KILN_ASSIGN_OR_RETURN(dynamic, elementwise("prod", dynamic, dim));
    }
  }
  if (dynamic < 0) return ints({static_part});
  if (static_part == 1) return dynamic;
  return elementwise("prod", dynamic, ints({static_part}));
}

// ---------------------------------------------------------------------------------------------
// Importer

Importer::Importer(detail::NetworkState& net, Logger& logger, const ParserOptions& options,
                   std::vector<ParserError>* errors)
    : net_(net), logger_(logger), options_(options), errors_(errors) {}

int Importer::lookup(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? -1 : it->second;
}

void Importer::warn(const std::string& message) {
  if (warned_.insert(message).second) logger_.log(Severity::kWarning, "onnx: " + message);
}

void Importer::report(int node_index, const pb::NodeProto* node, int64_t opset,
                      const Status& status) {
  ParserError e;
  e.code = status.code();
  e.node_index = node_index;
  if (node != nullptr) {
    e.node_name = node->name();
    e.op_type = node->op_type();
    e.opset = opset;
  }
  e.message = status.to_string();
  // The network records the first error (a later build refuses it); the message goes to the
  // parser's logger, not the network's.
  Status full(status.code(), e.to_string());
  logger_.log(Severity::kError, full.message());
  if (net_.first_error.is_ok()) net_.first_error = full;
  errors_->push_back(std::move(e));
}

void Importer::free_name(const std::string& name) {
  int other = graph().find_value(name);
  if (other < 0) return;
  std::string moved;
  do {
    moved = name + "#" + std::to_string(++rename_counter_);
  } while (graph().find_value(moved) >= 0);
  graph().rename_value(other, moved).ignore();
}

Status Importer::bind(const std::string& onnx_name, int value) {
  if (values_.count(onnx_name)) {
    return invalid_argument("tensor '" + onnx_name + "' is defined more than once");
  }
  if (named_.count(value) == 0 && graph().value(value).name != onnx_name) {
    free_name(onnx_name);
    KILN_RETURN_IF_ERROR(graph().rename_value(value, onnx_name));
  }
  named_.insert(value);
  values_[onnx_name] = value;
  return Status::ok();
}

void Importer::import_model(pb::ModelProto& model, const std::string& base_dir) {
  tensor_options_.base_dir = base_dir;
  opset_ = -1;
  for (const auto& op : model.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") {
      opset_ = op.version();
    } else if (op.domain() == "ai.onnx.ml") {
      has_ml_ = true;
    }
  }
  if (opset_ < 0) {
    bool default_nodes = false;
    for (const auto& n : model.graph().node()) {
      default_nodes |= n.domain().empty() || n.domain() == "ai.onnx";
    }
    if (model.opset_import_size() == 0 && model.ir_version() > 0 && model.ir_version() < 3) {
      opset_ = 1;  // IR versions before 3 imply opset 1
    } else if (default_nodes) {
      report(-1, nullptr, 0,
             invalid_argument("the model imports no opset of the default ONNX domain"));
      return;
    } else {
      opset_ = kMaxOpset;  // only other domains' nodes: each is reported as unsupported
    }
  }
  if (opset_ > kMaxOpset || opset_ < kMinOpset) {
    report(-1, nullptr, 0,
           unsupported("the model uses opset " + std::to_string(opset_) +
                       " of the default domain; kiln supports opsets " +
                       std::to_string(kTargetMinOpset) + " to " + std::to_string(kMaxOpset) +
                       " (and older ones op by op)"));
    return;
  }
  if (opset_ < kTargetMinOpset) {
    logger_.log(Severity::kInfo, "onnx: the model uses opset " + std::to_string(opset_) +
                                     "; ops are imported with their opset-" +
                                     std::to_string(opset_) +
                                     " semantics where kiln implements them");
  }
  if (!model.has_graph()) {
    report(-1, nullptr, 0, invalid_argument("the model has no graph"));
    return;
  }
  if (model.functions_size() > 0) {
    logger_.log(Severity::kInfo,
                "onnx: model-local functions are not inlined; nodes that call "
                "them are reported as unsupported");
  }
  import_graph(*model.mutable_graph());
}

void Importer::import_graph(pb::GraphProto& g) {
  auto model_error = [&](const Status& s) { report(-1, nullptr, opset_, s); };
  if (g.sparse_initializer_size() > 0) {
    model_error(unsupported("sparse initializers are not supported"));
  }
  std::unordered_set<std::string> initializer_names;
  for (auto& t : *g.mutable_initializer()) {
    if (t.name().empty()) {
      model_error(invalid_argument("an initializer has no name"));
      continue;
    }
    if (!initializer_names.insert(t.name()).second) {
      model_error(invalid_argument("initializer '" + t.name() + "' is defined more than once"));
      continue;
    }
    bool converted = false;
    // Takes the weights' raw_data buffers over (the parsed model is not used for them again).
    auto data = take_tensor(t, tensor_options_, &converted);
    if (!data.is_ok()) {
      model_error(data.status().with_context("initializer '" + t.name() + "'"));
      poisoned_.insert(t.name());
      continue;
    }
    if (converted) warn("converted float64 initializer '" + t.name() + "' to float32");
    free_name(t.name());
    // Floating-point initializers are weights, except scalars (the constants that exporters
    // put in initializers, e.g. for shape arithmetic in float).
    const bool weight = is_floating(data->dtype()) && data->numel() > 1;
    int v = graph().add_constant(t.name(), std::move(*data));
    if (weight) weights_.insert(v);
    named_.insert(v);
    values_[t.name()] = v;
  }
  for (const auto& in : g.input()) {
    const std::string& name = in.name();
    if (initializer_names.count(name)) continue;  // an overridable initializer: a constant
    const std::string where = "graph input '" + name + "'";
    if (name.empty()) {
      model_error(invalid_argument("a graph input has no name"));
      continue;
    }
    if (values_.count(name) || poisoned_.count(name)) {
      model_error(invalid_argument(where + " is defined more than once"));
      continue;
    }
    const auto& type = in.type();
    if (!type.has_tensor_type()) {
      std::string kind = type.has_sequence_type()        ? "a sequence"
                         : type.has_optional_type()      ? "an optional"
                         : type.has_map_type()           ? "a map"
                         : type.has_sparse_tensor_type() ? "a sparse tensor"
                                                         : "no tensor";
      model_error(unsupported(where + " has " + kind + " type; kiln supports tensors only"));
      poisoned_.insert(name);
      continue;
    }
    bool converted = false;
    auto dtype = map_dtype(type.tensor_type().elem_type(), where, &converted);
    if (!dtype.is_ok()) {
      model_error(dtype.status());
      poisoned_.insert(name);
      continue;
    }
    if (converted) warn(where + " is float64; kiln imports it as float32");
    if (!type.tensor_type().has_shape()) {
      model_error(unsupported(where + " has no shape (unknown rank); kiln needs the rank"));
      poisoned_.insert(name);
      continue;
    }
    const auto& shape = type.tensor_type().shape();
    if (shape.dim_size() > Dims::kMaxDims) {
      model_error(unsupported(where + " has rank " + std::to_string(shape.dim_size()) +
                              ", kiln supports up to " + std::to_string(Dims::kMaxDims)));
      poisoned_.insert(name);
      continue;
    }
    std::vector<int64_t> dims;
    std::vector<std::string> dim_names;
    bool ok = true;
    for (const auto& d : shape.dim()) {
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) {
          model_error(
              invalid_argument(where + " has a negative dim " + std::to_string(d.dim_value())));
          ok = false;
          break;
        }
        dims.push_back(d.dim_value());
        dim_names.emplace_back();
      } else {
        dims.push_back(-1);
        dim_names.push_back(d.has_dim_param() ? d.dim_param() : std::string());
      }
    }
    if (!ok) {
      poisoned_.insert(name);
      continue;
    }
    free_name(name);
    int v = graph().add_input(name, *dtype, Dims(std::span<const int64_t>(dims)), dim_names);
    net_.tensor_for(v);
    named_.insert(v);
    values_[name] = v;
  }

  // Nodes in a topological order (ONNX requires one; be forgiving and sort).
  const int n = g.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i) {
    for (const auto& out : g.node(i).output()) {
      if (!out.empty() && !producer.count(out)) producer[out] = i;
    }
  }
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (int i = 0; i < n; ++i) {
    for (const auto& in : g.node(i).input()) {
      if (in.empty() || values_.count(in) || poisoned_.count(in)) continue;
      auto it = producer.find(in);
      if (it != producer.end() && it->second != i) {
        ++pending[i];
        users[it->second].push_back(i);
      }
    }
  }
  std::deque<int> ready;
  std::vector<bool> done(n, false);
  for (int i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    int i = ready.front();
    ready.pop_front();
    order.push_back(i);
    done[i] = true;
    for (int u : users[i]) {
      if (--pending[u] == 0) ready.push_back(u);
    }
  }
  // Nodes on a cycle go last, in file order; their inputs are then reported as undefined.
  for (int i = 0; i < n; ++i) {
    if (!done[i]) order.push_back(i);
  }
  for (int i : order) import_node(g.node(i), i);
  mark_outputs(g);
}

void Importer::import_node(const pb::NodeProto& node, int index) {
  const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
  auto poison_outputs = [&] {
    for (const auto& out : node.output()) {
      if (!out.empty()) poisoned_.insert(out);
    }
  };
  if (!default_domain) {
    std::string m = "unsupported op " + node.op_type() + " (domain " + node.domain() + ")";
    if (node.domain() == "ai.onnx.ml") m += ": kiln does not implement the ONNX-ML operators";
    report(index, &node, 0, unsupported(m));
    poison_outputs();
    return;
  }
  const Translator* tr = find_translator(node.op_type());
  if (tr == nullptr || opset_ < tr->since) {
    std::string m = "unsupported op " + node.op_type() + " (opset " + std::to_string(opset_) + ")";
    if (tr != nullptr) {
      m += ": kiln implements " + node.op_type() + " from opset " + std::to_string(tr->since);
    }
    report(index, &node, opset_, unsupported(m));
    poison_outputs();
    return;
  }
  // Inputs: defined earlier, or skip the node quietly when an earlier failure poisoned them.
  for (int i = 0; i < node.input_size(); ++i) {
    const std::string& in = node.input(i);
    if (in.empty()) continue;
    if (poisoned_.count(in)) {
      poison_outputs();
      return;
    }
    if (!values_.count(in)) {
      report(index, &node, opset_,
             invalid_argument("input " + std::to_string(i) + " '" + in +
                              "' is not a graph input, an initializer or an output of another "
                              "node (or the graph has a cycle)"));
      poison_outputs();
      return;
    }
  }
  for (const auto& out : node.output()) {
    if (!out.empty() && (values_.count(out) || poisoned_.count(out))) {
      report(index, &node, opset_,
             invalid_argument("output '" + out + "' is already defined (ONNX graphs are SSA)"));
      poison_outputs();
      return;
    }
  }

  NodeContext ctx(*this, node, index, opset_);
  Status s = tr->fn(ctx);
  if (s.is_ok() && !ctx.attr_status().is_ok()) s = ctx.attr_status();
  if (s.is_ok()) {
    for (int i = 0; i < node.output_size(); ++i) {
      if (node.output(i).empty()) continue;
      if (ctx.outputs()[i] < 0) {
        s = unsupported("output " + std::to_string(i) + " '" + node.output(i) +
                        "' is not supported by kiln's " + node.op_type() + " import");
        break;
      }
    }
  }
  if (s.is_ok()) {
    for (int i = 0; i < node.output_size() && s.is_ok(); ++i) {
      if (!node.output(i).empty()) s = bind(node.output(i), ctx.outputs()[i]);
    }
  }
  if (!s.is_ok()) {
    report(index, &node, opset_, s);
    poison_outputs();
    return;
  }
  const auto& nodes = ctx.created_nodes();
  if (nodes.empty()) return;  // aliases and constants make no layer
  graph().node(nodes.back()).name = ctx.base_name();
  std::vector<Tensor*> inputs;
  for (int i = 0; i < node.input_size(); ++i) {
    int v = ctx.input(i);
    if (v >= 0) inputs.push_back(net_.tensor_for(v));
  }
  std::vector<int> outs;
  for (int v : ctx.outputs()) {
    if (v >= 0) outs.push_back(v);
  }
  if (outs.empty()) return;
  net_.add_layer(node.op_type(), nodes, std::move(inputs), std::move(outs));
}

void Importer::mark_outputs(const pb::GraphProto& g) {
  std::unordered_set<int> marked;
  std::unordered_set<std::string> names;
  for (const auto& out : g.output()) {
    const std::string& name = out.name();
    if (!names.insert(name).second) {
      report(-1, nullptr, opset_, invalid_argument("graph output '" + name + "' is listed twice"));
      continue;
    }
    if (poisoned_.count(name)) continue;  // its producer's error is reported already
    int v = lookup(name);
    if (v < 0) {
      report(-1, nullptr, opset_,
             invalid_argument("graph output '" + name + "' is not produced by any node"));
      continue;
    }
    const ir::Value& val = graph().value(v);
    if (val.name != name || marked.count(v)) {
      // An alias (e.g. Identity of an input) or a tensor listed twice: give the output a value
      // of its own.
      std::string node_name = name;
      int id = graph().add_node("Identity", node_name, {v}, 1);
      Status s = graph().infer_node(id);
      int copy = graph().node(id).outputs[0];
      free_name(name);
      if (s.is_ok()) s = graph().rename_value(copy, name);
      if (!s.is_ok()) {
        report(-1, nullptr, opset_, s.with_context("graph output '" + name + "'"));
        continue;
      }
      net_.add_layer("Identity", {id}, {net_.tensor_for(v)}, {copy});
      v = copy;
      values_[name] = v;
    }
    if (out.type().has_tensor_type() && out.type().tensor_type().elem_type() != 0) {
      bool converted = false;
      auto declared = map_dtype(out.type().tensor_type().elem_type(), "graph output", &converted);
      if (declared.is_ok() && *declared != graph().value(v).dtype) {
        warn("graph output '" + name + "' is declared " + std::string(dtype_name(*declared)) +
             " but computes " + std::string(dtype_name(graph().value(v).dtype)));
      }
    }
    graph().mark_output(v);
    net_.tensor_for(v);
    marked.insert(v);
  }
}

}  // namespace kiln::onnx_import
