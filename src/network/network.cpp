#include <kiln/network.h>

#include "network/network_state.h"
#include "ops/activation/activation.h"

#include <nlohmann/json.hpp>

#include <cstring>

namespace kiln {

using detail::NetworkState;

namespace {

std::string_view activation_attr(ActivationType t) {
  using K = ops::ActivationKind;
  static constexpr K kMap[] = {K::kRelu,     K::kLeakyRelu, K::kSigmoid, K::kTanh,
                               K::kElu,      K::kSelu,      K::kSoftplus, K::kClip,
                               K::kGeluErf,  K::kGeluTanh,  K::kSilu,    K::kHardSigmoid,
                               K::kHardSwish};
  return ops::activation_name(kMap[static_cast<int>(t)]);
}

const char* elementwise_attr(ElementWiseOp op) {
  static const char* const kNames[] = {"sum",   "sub",  "prod",    "div",        "min",
                                       "max",   "pow",  "equal",   "less",       "greater",
                                       "less_equal", "greater_equal", "and", "or", "xor"};
  return kNames[static_cast<int>(op)];
}

const char* unary_attr(UnaryOp op) {
  static const char* const kNames[] = {"exp",   "log",   "sqrt",  "rsqrt", "abs",
                                       "neg",   "reciprocal", "erf", "sin", "cos",
                                       "floor", "ceil",  "round", "not"};
  return kNames[static_cast<int>(op)];
}

const char* reduce_attr(ReduceOp op) {
  static const char* const kNames[] = {"sum", "mean", "max", "min", "prod"};
  return kNames[static_cast<int>(op)];
}

std::vector<int64_t> dims_or(const Dims& d, size_t n, int64_t fill) {
  if (d.rank() == 0) return std::vector<int64_t>(n, fill);
  return d.to_vector();
}

// Begins then ends, ONNX order.
std::vector<int64_t> onnx_pads(const Dims& begin, const Dims& end, size_t n) {
  std::vector<int64_t> b = dims_or(begin, n, 0);
  std::vector<int64_t> e = end.rank() ? end.to_vector() : b;
  b.insert(b.end(), e.begin(), e.end());
  return b;
}

}  // namespace

namespace detail {

Tensor* NetworkState::tensor_for(int value) {
  if (value < 0) return nullptr;
  if (tensor_of_value.size() <= static_cast<size_t>(value)) {
    tensor_of_value.resize(value + 1, nullptr);
  }
  if (tensor_of_value[value] == nullptr) {
    tensors.push_back(Tensor(this, value));
    tensor_of_value[value] = &tensors.back();
  }
  return tensor_of_value[value];
}

void NetworkState::fail(const Status& status) {
  logger.log(Severity::kError, status.to_string());
  if (first_error.is_ok()) first_error = status;
}

std::string NetworkState::next_layer_name(const std::string& type) {
  return "(Unnamed Layer " + std::to_string(layer_counter++) + ") [" + type + "]";
}

int NetworkState::add_node(const std::string& op, const std::string& layer_name,
                           std::vector<int> inputs, int num_outputs, ir::Attrs attrs) {
  int node = graph.add_node(op, layer_name, std::move(inputs), num_outputs, std::move(attrs));
  for (int in : graph.node(node).inputs) {
    if (in == -2) {  // a null Tensor* was passed
      fail(invalid_argument("an input tensor is null").with_context(graph.describe_node(node)));
      return node;
    }
  }
  Status s = graph.infer_node(node);
  if (!s.is_ok()) fail(s);
  return node;
}

Layer* NetworkState::add_layer(const std::string& type, std::vector<int> nodes,
                               std::vector<Tensor*> inputs, std::vector<int> output_values) {
  LayerRecord rec;
  rec.type = type;
  rec.nodes = std::move(nodes);
  rec.inputs = std::move(inputs);
  for (int v : output_values) rec.outputs.push_back(tensor_for(v));
  rec.name = rec.nodes.empty() ? graph.value(output_values[0]).name : graph.node(rec.nodes.back()).name;
  records.push_back(std::move(rec));
  layers.push_back(Layer(this, static_cast<int>(records.size()) - 1));
  return &layers.back();
}

}  // namespace detail

// ---- Tensor / Layer ----

const std::string& Tensor::name() const { return net_->graph.value(value_).name; }
void Tensor::set_name(std::string name) {
  Status s = net_->graph.rename_value(value_, std::move(name));
  if (!s.is_ok()) net_->fail(s);
}
DataType Tensor::dtype() const { return net_->graph.value(value_).dtype; }
Dims Tensor::dims() const {
  const auto& shape = net_->graph.value(value_).shape;
  std::vector<int64_t> d;
  for (const auto& e : shape) d.push_back(e.is_const() ? e.value() : -1);
  if (d.size() > Dims::kMaxDims) d.resize(Dims::kMaxDims);
  return Dims(d);
}
bool Tensor::is_input() const { return net_->graph.value(value_).is_input; }
bool Tensor::is_output() const { return net_->graph.value(value_).is_output; }

const std::string& Layer::name() const { return net_->records[node_].name; }
void Layer::set_name(std::string name) {
  auto& rec = net_->records[node_];
  rec.name = name;
  for (size_t i = 0; i < rec.nodes.size(); ++i) {
    net_->graph.node(rec.nodes[i]).name =
        i + 1 == rec.nodes.size() ? name : name + "/" + std::to_string(i);
  }
}
const std::string& Layer::type() const { return net_->records[node_].type; }
int Layer::num_inputs() const { return static_cast<int>(net_->records[node_].inputs.size()); }
Tensor* Layer::input(int i) const {
  const auto& v = net_->records[node_].inputs;
  return i >= 0 && i < static_cast<int>(v.size()) ? v[i] : nullptr;
}
int Layer::num_outputs() const { return static_cast<int>(net_->records[node_].outputs.size()); }
Tensor* Layer::output(int i) const {
  const auto& v = net_->records[node_].outputs;
  return i >= 0 && i < static_cast<int>(v.size()) ? v[i] : nullptr;
}

namespace {

bool constraint_type(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

std::string layer_what(const detail::LayerRecord& rec) {
  return "layer '" + rec.name + "' (" + rec.type + ")";
}

// Checks a constraint on a layer; logs and records the error and returns false if it is bad.
bool check_constraint(NetworkState& s, const detail::LayerRecord& rec, DataType type,
                      const char* what) {
  if (!constraint_type(type)) {
    s.fail(invalid_argument(std::string(what) + " must be float32, float16 or bfloat16, not " +
                            std::string(dtype_name(type)))
               .with_context(layer_what(rec)));
    return false;
  }
  if (rec.nodes.empty()) {
    s.fail(invalid_argument("a constant has no computation to constrain (set the " +
                            std::string(what) + " of the layers that read it)")
               .with_context(layer_what(rec)));
    return false;
  }
  return true;
}

// A floating-point tensor computed on the device (not a shape tensor).
bool float_tensor(const ir::Graph& g, int value) {
  return is_floating(g.value(value).dtype) && !g.value(value).shape_value;
}

}  // namespace

void Layer::set_precision(DataType type) {
  auto& rec = net_->records[node_];
  if (!check_constraint(*net_, rec, type, "precision")) return;
  for (int n : rec.nodes) net_->graph.node(n).precision = type;
}
DataType Layer::precision() const {
  const auto& rec = net_->records[node_];
  if (rec.nodes.empty()) return DataType::kFloat32;
  return net_->graph.node(rec.nodes.back()).precision.value_or(DataType::kFloat32);
}
bool Layer::precision_is_set() const {
  const auto& rec = net_->records[node_];
  return !rec.nodes.empty() && net_->graph.node(rec.nodes.back()).precision.has_value();
}
void Layer::reset_precision() {
  for (int n : net_->records[node_].nodes) net_->graph.node(n).precision.reset();
}

void Layer::set_output_type(int index, DataType type) {
  auto& rec = net_->records[node_];
  if (index < 0 || index >= static_cast<int>(rec.outputs.size())) {
    net_->fail(out_of_range("set_output_type: output index " + std::to_string(index) +
                            " of a layer with " + std::to_string(rec.outputs.size()) + " outputs")
                   .with_context(layer_what(rec)));
    return;
  }
  if (!check_constraint(*net_, rec, type, "output type")) return;
  const int v = net_->value_of(rec.outputs[index]);
  if (!float_tensor(net_->graph, v)) {
    net_->fail(invalid_argument("set_output_type: output " + std::to_string(index) + " '" +
                                net_->graph.value(v).name + "' is a " +
                                std::string(dtype_name(net_->graph.value(v).dtype)) +
                                (net_->graph.value(v).shape_value ? " shape tensor" : " tensor") +
                                ", not a floating-point one")
                   .with_context(layer_what(rec)));
    return;
  }
  net_->graph.value(v).output_type = type;
}
DataType Layer::output_type(int index) const {
  Tensor* t = output(index);
  if (t == nullptr) return DataType::kFloat32;
  const ir::Value& v = net_->graph.value(net_->value_of(t));
  return v.output_type.value_or(v.dtype);
}
bool Layer::output_type_is_set(int index) const {
  Tensor* t = output(index);
  return t != nullptr && net_->graph.value(net_->value_of(t)).output_type.has_value();
}
void Layer::reset_output_type(int index) {
  if (Tensor* t = output(index)) net_->graph.value(net_->value_of(t)).output_type.reset();
}

// ---- Network ----

Network::Network(Logger& logger) : state_(std::make_unique<NetworkState>(logger)) {}
Network::~Network() = default;

namespace {
int value_or_null(const NetworkState& s, Tensor* t) { return t ? s.value_of(t) : -2; }

// A layer made of one node with these inputs.
Layer* single(NetworkState& s, const std::string& type, const std::string& op,
              std::vector<Tensor*> inputs, int num_outputs, ir::Attrs attrs,
              std::vector<int> extra_inputs = {}) {
  std::vector<int> ids;
  for (Tensor* t : inputs) ids.push_back(value_or_null(s, t));
  for (int v : extra_inputs) ids.push_back(v);
  int node = s.add_node(op, s.next_layer_name(type), ids, num_outputs, std::move(attrs));
  return s.add_layer(type, {node}, std::move(inputs), s.graph.node(node).outputs);
}

// Copies user weights into a named constant of the given shape; checks the count.
int add_weights(NetworkState& s, const std::string& name, const Weights& w, Dims shape) {
  if (w.count != shape.volume() || (w.count > 0 && w.values == nullptr)) {
    s.fail(invalid_argument("weights '" + name + "' have " + std::to_string(w.count) +
                            " values, expected " + std::to_string(shape.volume()) + " for shape " +
                            shape.to_string()));
    return s.graph.add_constant(name, HostTensor(w.type, shape));
  }
  return s.graph.add_constant(name, HostTensor::from_bytes(w.type, shape, w.values));
}

int64_t static_dim(NetworkState& s, Tensor* t, int dim, const char* what) {
  if (t == nullptr) return 0;
  Dims d = t->dims();
  if (dim >= d.rank() || d[dim] < 0) {
    s.fail(invalid_argument(std::string(what) + ": tensor '" + t->name() + "' needs a static dim " +
                            std::to_string(dim) + ", has shape " + d.to_string()));
    return 0;
  }
  return d[dim];
}
}  // namespace

Tensor* Network::add_input(std::string name, DataType dtype, Dims dims) {
  auto& s = *state_;
  if (s.graph.find_value(name) >= 0) {
    s.fail(invalid_argument("input name '" + name + "' is already used"));
  }
  for (int i = 0; i < dims.rank(); ++i) {
    if (dims[i] < -1) {
      s.fail(invalid_argument("input '" + name + "' has invalid extent " +
                              std::to_string(dims[i]) + " in dim " + std::to_string(i)));
    }
  }
  return s.tensor_for(s.graph.add_input(std::move(name), dtype, dims));
}

void Network::mark_output(Tensor* tensor) {
  if (tensor == nullptr) {
    state_->fail(invalid_argument("mark_output: tensor is null"));
    return;
  }
  state_->graph.mark_output(state_->value_of(tensor));
}

void Network::unmark_output(Tensor* tensor) {
  if (tensor == nullptr) return;
  auto& outs = state_->graph.mutable_outputs();
  int v = state_->value_of(tensor);
  outs.erase(std::remove(outs.begin(), outs.end(), v), outs.end());
  state_->graph.value(v).is_output = false;
}

Layer* Network::add_convolution(Tensor* input, const ConvolutionDesc& desc, Weights kernel,
                                Weights bias) {
  auto& s = *state_;
  size_t nsp = static_cast<size_t>(desc.kernel.rank());
  std::string name = s.next_layer_name("Convolution");
  int64_t c = static_dim(s, input, 1, "convolution");
  int64_t groups = desc.groups > 0 ? desc.groups : 1;
  std::vector<int64_t> wshape = {desc.out_channels, c / groups};
  for (int64_t k : desc.kernel) wshape.push_back(k);
  int w = add_weights(s, name + ".weight", kernel, Dims(wshape));
  int b = bias.empty() ? -1 : add_weights(s, name + ".bias", bias, Dims{desc.out_channels});
  ir::Attrs a;
  a.set("strides", dims_or(desc.stride, nsp, 1));
  a.set("pads", onnx_pads(desc.padding, desc.padding_end, nsp));
  a.set("dilations", dims_or(desc.dilation, nsp, 1));
  a.set("group", desc.groups);
  int node = s.add_node("Conv", name, {value_or_null(s, input), w, b}, 1, std::move(a));
  return s.add_layer("Convolution", {node}, {input}, s.graph.node(node).outputs);
}

Layer* Network::add_activation(Tensor* input, ActivationType type, float alpha, float beta) {
  ir::Attrs a;
  a.set("type", std::string(activation_attr(type)));
  ops::ActivationKind kind;
  ops::parse_activation(activation_attr(type), &kind);
  double da, db;
  ops::activation_defaults(kind, &da, &db);
  // TensorRT semantics: parameters default to the activation's defaults when left at 0.
  a.set("alpha", alpha != 0.0f ? static_cast<double>(alpha) : da);
  a.set("beta", beta != 0.0f ? static_cast<double>(beta) : db);
  return single(*state_, "Activation", "Activation", {input}, 1, std::move(a));
}

Layer* Network::add_pooling(Tensor* input, const PoolingDesc& desc) {
  size_t nsp = static_cast<size_t>(desc.window.rank());
  ir::Attrs a;
  a.set("type", std::string(desc.type == PoolingType::kMax ? "max" : "average"));
  if (desc.global) {
    a.set("global", int64_t{1});
  } else {
    a.set("kernel", desc.window.to_vector());
    a.set("strides", desc.stride.rank() ? desc.stride.to_vector() : desc.window.to_vector());
    a.set("pads", onnx_pads(desc.padding, desc.padding_end, nsp));
  }
  a.set("count_include_pad", int64_t{desc.count_include_pad ? 1 : 0});
  return single(*state_, "Pooling", "Pooling", {input}, 1, std::move(a));
}

Layer* Network::add_elementwise(Tensor* a, Tensor* b, ElementWiseOp op) {
  ir::Attrs at;
  at.set("op", std::string(elementwise_attr(op)));
  return single(*state_, "ElementWise", "ElementWise", {a, b}, 1, std::move(at));
}

Layer* Network::add_unary(Tensor* input, UnaryOp op) {
  ir::Attrs at;
  at.set("op", std::string(unary_attr(op)));
  return single(*state_, "Unary", "Unary", {input}, 1, std::move(at));
}

Layer* Network::add_matrix_multiply(Tensor* a, MatrixOp op_a, Tensor* b, MatrixOp op_b) {
  ir::Attrs at;
  at.set("transpose_a", int64_t{op_a == MatrixOp::kTranspose ? 1 : 0});
  at.set("transpose_b", int64_t{op_b == MatrixOp::kTranspose ? 1 : 0});
  return single(*state_, "MatrixMultiply", "MatMul", {a, b}, 1, std::move(at));
}

Layer* Network::add_constant(Dims dims, Weights weights) {
  auto& s = *state_;
  std::string name = s.next_layer_name("Constant");
  int v = add_weights(s, name, weights, dims);
  return s.add_layer("Constant", {}, {}, {v});
}

Layer* Network::add_shuffle(Tensor* input, const ShuffleDesc& desc) {
  auto& s = *state_;
  std::string name = s.next_layer_name("Shuffle");
  std::vector<int> nodes;
  int cur = value_or_null(s, input);
  auto step = [&](const std::string& op, ir::Attrs a) {
    int node = s.add_node(op, name + "/" + std::to_string(nodes.size()), {cur}, 1, std::move(a));
    nodes.push_back(node);
    cur = s.graph.node(node).outputs[0];
  };
  if (!desc.first_transpose.empty()) {
    ir::Attrs a;
    a.set("perm", desc.first_transpose);
    step("Transpose", std::move(a));
  }
  if (desc.has_reshape || !desc.reshape.empty()) {
    ir::Attrs a;
    a.set("shape", desc.reshape);
    a.set("allowzero", int64_t{desc.zero_is_placeholder ? 0 : 1});
    step("Reshape", std::move(a));
  }
  if (!desc.second_transpose.empty()) {
    ir::Attrs a;
    a.set("perm", desc.second_transpose);
    step("Transpose", std::move(a));
  }
  if (nodes.empty()) step("Identity", {});
  s.graph.node(nodes.back()).name = name;
  return s.add_layer("Shuffle", nodes, {input}, {cur});
}

Layer* Network::add_reshape(Tensor* input, Tensor* shape, bool zero_is_placeholder) {
  ir::Attrs a;
  a.set("allowzero", int64_t{zero_is_placeholder ? 0 : 1});
  return single(*state_, "Shuffle", "Reshape", {input, shape}, 1, std::move(a));
}

Layer* Network::add_softmax(Tensor* input, int64_t axis) {
  ir::Attrs a;
  a.set("axis", axis);
  return single(*state_, "Softmax", "Softmax", {input}, 1, std::move(a));
}

Layer* Network::add_topk(Tensor* input, TopKOp op, int64_t k, int64_t axis) {
  ir::Attrs a;
  a.set("k", k);
  a.set("axis", axis);
  a.set("largest", int64_t{op == TopKOp::kMax ? 1 : 0});
  return single(*state_, "TopK", "TopK", {input}, 2, std::move(a));
}

Layer* Network::add_identity(Tensor* input) {
  return single(*state_, "Identity", "Identity", {input}, 1, {});
}

Layer* Network::add_concatenation(std::span<Tensor* const> inputs, int64_t axis) {
  ir::Attrs a;
  a.set("axis", axis);
  return single(*state_, "Concatenation", "Concat", {inputs.begin(), inputs.end()}, 1,
                std::move(a));
}

Layer* Network::add_slice(Tensor* input, const SliceDesc& desc) {
  ir::Attrs a;
  a.set("starts", desc.starts);
  a.set("ends", desc.ends);
  if (!desc.axes.empty()) a.set("axes", desc.axes);
  if (!desc.steps.empty()) a.set("steps", desc.steps);
  return single(*state_, "Slice", "Slice", {input}, 1, std::move(a));
}

Layer* Network::add_reduce(Tensor* input, ReduceOp op, std::vector<int64_t> axes, bool keep_dims) {
  ir::Attrs a;
  a.set("op", std::string(reduce_attr(op)));
  a.set("axes", std::move(axes));
  a.set("keepdims", int64_t{keep_dims ? 1 : 0});
  return single(*state_, "Reduce", "Reduce", {input}, 1, std::move(a));
}

Layer* Network::add_gather(Tensor* data, Tensor* indices, int64_t axis) {
  ir::Attrs a;
  a.set("axis", axis);
  return single(*state_, "Gather", "Gather", {data, indices}, 1, std::move(a));
}

Layer* Network::add_cast(Tensor* input, DataType to) {
  ir::Attrs a;
  a.set("to", std::string(dtype_name(to)));
  return single(*state_, "Cast", "Cast", {input}, 1, std::move(a));
}

Layer* Network::add_layer_norm(Tensor* input, Tensor* scale, Tensor* bias, int64_t axis,
                               float epsilon) {
  ir::Attrs a;
  a.set("axis", axis);
  a.set("epsilon", static_cast<double>(epsilon));
  std::vector<Tensor*> ins = {input, scale};
  if (bias) ins.push_back(bias);
  return single(*state_, "Normalization", "LayerNorm", ins, 1, std::move(a));
}

Layer* Network::add_batch_norm(Tensor* input, Weights scale, Weights bias, Weights mean,
                               Weights variance, float epsilon) {
  auto& s = *state_;
  std::string name = s.next_layer_name("Normalization");
  int64_t c = static_dim(s, input, 1, "batch norm");
  int ws = add_weights(s, name + ".scale", scale, Dims{c});
  int wb = add_weights(s, name + ".bias", bias, Dims{c});
  int wm = add_weights(s, name + ".mean", mean, Dims{c});
  int wv = add_weights(s, name + ".var", variance, Dims{c});
  ir::Attrs a;
  a.set("epsilon", static_cast<double>(epsilon));
  int node = s.add_node("BatchNorm", name, {value_or_null(s, input), ws, wb, wm, wv}, 1, std::move(a));
  return s.add_layer("Normalization", {node}, {input}, s.graph.node(node).outputs);
}

Layer* Network::add_instance_norm(Tensor* input, Weights scale, Weights bias, float epsilon) {
  auto& s = *state_;
  std::string name = s.next_layer_name("Normalization");
  int64_t c = static_dim(s, input, 1, "instance norm");
  int ws = add_weights(s, name + ".scale", scale, Dims{c});
  int wb = add_weights(s, name + ".bias", bias, Dims{c});
  ir::Attrs a;
  a.set("epsilon", static_cast<double>(epsilon));
  int node = s.add_node("InstanceNorm", name, {value_or_null(s, input), ws, wb}, 1, std::move(a));
  return s.add_layer("Normalization", {node}, {input}, s.graph.node(node).outputs);
}

Layer* Network::add_select(Tensor* condition, Tensor* a, Tensor* b) {
  return single(*state_, "Select", "Select", {condition, a, b}, 1, {});
}

Layer* Network::add_shape(Tensor* input) {
  return single(*state_, "Shape", "Shape", {input}, 1, {});
}

Layer* Network::add_op(std::string op_type, std::span<Tensor* const> inputs, int num_outputs,
                       std::string_view attrs_json) {
  auto& s = *state_;
  ir::Attrs a;
  auto j = nlohmann::json::parse(attrs_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    s.fail(invalid_argument("add_op(" + op_type + "): attributes are not a JSON object"));
  } else {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const auto& v = it.value();
      if (v.is_number_integer()) {
        a.set(it.key(), v.get<int64_t>());
      } else if (v.is_number()) {
        a.set(it.key(), v.get<double>());
      } else if (v.is_string()) {
        a.set(it.key(), v.get<std::string>());
      } else if (v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number_integer(); })) {
        a.set(it.key(), v.get<std::vector<int64_t>>());
      } else if (v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number(); })) {
        a.set(it.key(), v.get<std::vector<double>>());
      } else {
        s.fail(invalid_argument("add_op(" + op_type + "): attribute '" + it.key() +
                                "' has an unsupported JSON type"));
      }
    }
  }
  if (num_outputs < 1) {
    s.fail(invalid_argument("add_op(" + op_type + "): num_outputs must be >= 1"));
    num_outputs = 1;
  }
  return single(s, op_type, op_type, {inputs.begin(), inputs.end()}, num_outputs, std::move(a));
}

int Network::num_inputs() const { return static_cast<int>(state_->graph.inputs().size()); }
Tensor* Network::input(int i) const {
  const auto& v = state_->graph.inputs();
  return i >= 0 && i < static_cast<int>(v.size()) ? state_->tensor_for(v[i]) : nullptr;
}
int Network::num_outputs() const { return static_cast<int>(state_->graph.outputs().size()); }
Tensor* Network::output(int i) const {
  const auto& v = state_->graph.outputs();
  return i >= 0 && i < static_cast<int>(v.size()) ? state_->tensor_for(v[i]) : nullptr;
}
int Network::num_layers() const { return static_cast<int>(state_->layers.size()); }
Layer* Network::layer(int i) const {
  return i >= 0 && i < num_layers() ? &state_->layers[i] : nullptr;
}
Tensor* Network::find_tensor(std::string_view name) const {
  int v = state_->graph.find_value(name);
  return v < 0 ? nullptr : state_->tensor_for(v);
}
Status Network::status() const { return state_->first_error; }

}  // namespace kiln
