// kiln — the network-definition API: build a model layer by layer.
//
//   auto net = builder.create_network();
//   Tensor* x = net->add_input("x", DataType::kFloat32, {-1, 1, 28, 28});
//   Tensor* y = net->add_convolution(x, {.out_channels = 32, .kernel = {5, 5}, .padding = {2, 2}},
//                                    kernel_weights, bias_weights)->output(0);
//   y = net->add_activation(y, ActivationType::kRelu)->output(0);
//   net->mark_output(y);
//
// Every add_* call checks its arguments and infers the output shapes at once. A mistake does
// not throw and does not return null: the layer is still created (so chained calls stay
// valid), the error is logged, and `status()` — and any later build — reports the first error
// with the layer's name. Tensors and layers are owned by the Network; their pointers stay valid
// for its lifetime.
//
// Thread-safety: a Network is not thread-safe; build it from one thread. A finished network may
// be read (built) by several builders at once.
#pragma once

#include <kiln/logger.h>
#include <kiln/status.h>
#include <kiln/types.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

namespace detail {
struct NetworkState;
}

class Network;

// A tensor of the network (an input, a layer output or a constant).
class Tensor {
 public:
  const std::string& name() const;
  void set_name(std::string name);
  DataType dtype() const;
  // The shape, -1 where the extent is dynamic (not known before set_input_shape).
  Dims dims() const;
  bool is_input() const;
  bool is_output() const;

 private:
  friend class Network;
  friend struct detail::NetworkState;
  Tensor(detail::NetworkState* net, int value) : net_(net), value_(value) {}
  detail::NetworkState* net_;
  int value_;  // ir::Value id
};

// A layer of the network.
class Layer {
 public:
  const std::string& name() const;
  void set_name(std::string name);
  // The op type ("Conv", "Activation", ...; "Constant" for constants).
  const std::string& type() const;
  int num_inputs() const;
  Tensor* input(int index) const;
  int num_outputs() const;
  Tensor* output(int index) const;

  // Precision constraints (TensorRT's setPrecision / setOutputType). The builder applies them
  // only with BuilderFlag::kObeyPrecisionConstraints or kPreferPrecisionConstraints (see
  // <kiln/builder.h> and docs/builder.md, "Per-layer precision"). Types: kFloat32, kFloat16,
  // kBFloat16. A Constant layer has no computation to constrain: setting one is an error.
  //
  // The precision the layer computes in: its floating-point inputs are cast to it, its
  // floating-point outputs are produced in it (and cast back where other layers want them).
  void set_precision(DataType type);
  DataType precision() const;  // kFloat32 unless set
  bool precision_is_set() const;
  void reset_precision();
  // The type of floating-point output `index` as the rest of the network sees it (a Cast
  // follows the layer where its precision differs). For a network output this is also the
  // engine's I/O type.
  void set_output_type(int index, DataType type);
  DataType output_type(int index) const;  // the set type, else the output tensor's type
  bool output_type_is_set(int index) const;
  void reset_output_type(int index);

 private:
  friend class Network;
  friend struct detail::NetworkState;
  Layer(detail::NetworkState* net, int node) : net_(net), node_(node) {}
  detail::NetworkState* net_;
  int node_;  // index of the layer record in the network
};

enum class ActivationType : uint8_t {
  kRelu,
  kLeakyRelu,    // alpha = negative slope (default 0.01)
  kSigmoid,
  kTanh,
  kElu,          // alpha (default 1)
  kSelu,         // alpha, beta = gamma (defaults 1.67326, 1.0507)
  kSoftplus,
  kClip,         // alpha = min, beta = max
  kGeluErf,
  kGeluTanh,
  kSilu,
  kHardSigmoid,  // alpha (default 0.2), beta (default 0.5)
  kHardSwish,
};

enum class PoolingType : uint8_t { kMax, kAverage };

enum class ElementWiseOp : uint8_t {
  kSum, kSub, kProd, kDiv, kMin, kMax, kPow,
  kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual,  // output bool
  kAnd, kOr, kXor,                                         // bool inputs
};

enum class UnaryOp : uint8_t {
  kExp, kLog, kSqrt, kRsqrt, kAbs, kNeg, kReciprocal, kErf, kSin, kCos,
  kFloor, kCeil, kRound,  // round: half to even, as ONNX
  kNot,                   // bool
};

enum class ReduceOp : uint8_t { kSum, kMean, kMax, kMin, kProd };
enum class MatrixOp : uint8_t { kNone, kTranspose };
enum class TopKOp : uint8_t { kMax, kMin };

struct ConvolutionDesc {
  int64_t out_channels = 0;
  Dims kernel;        // spatial extents, e.g. {3, 3}
  Dims stride;        // empty: all 1
  Dims padding;       // padding at the start of each spatial dim; empty: all 0
  Dims padding_end;   // empty: same as padding
  Dims dilation;      // empty: all 1
  int64_t groups = 1;
};

struct PoolingDesc {
  PoolingType type = PoolingType::kMax;
  Dims window;        // ignored when global
  Dims stride;        // empty: same as window
  Dims padding;       // empty: all 0
  Dims padding_end;   // empty: same as padding
  bool count_include_pad = false;  // average pooling: divide by the window including padding
  bool global = false;             // pool over all spatial dims
};

// TensorRT's shuffle: transpose, then reshape, then transpose. In `reshape`, 0 copies the input
// extent and -1 is inferred. Empty permutations / reshape mean "none".
struct ShuffleDesc {
  std::vector<int64_t> first_transpose;
  std::vector<int64_t> reshape;
  bool has_reshape = false;
  std::vector<int64_t> second_transpose;
  bool zero_is_placeholder = true;
};

struct SliceDesc {
  std::vector<int64_t> starts, ends, axes, steps;  // ONNX semantics (clamped, negatives wrap)
};

class Network {
 public:
  explicit Network(Logger& logger);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // An input tensor; -1 dims are dynamic and need an optimization profile.
  Tensor* add_input(std::string name, DataType dtype, Dims dims);
  void mark_output(Tensor* tensor);
  void unmark_output(Tensor* tensor);

  Layer* add_convolution(Tensor* input, const ConvolutionDesc& desc, Weights kernel,
                         Weights bias = {});
  Layer* add_activation(Tensor* input, ActivationType type, float alpha = 0.0f,
                        float beta = 0.0f);
  Layer* add_pooling(Tensor* input, const PoolingDesc& desc);
  Layer* add_elementwise(Tensor* a, Tensor* b, ElementWiseOp op);
  Layer* add_unary(Tensor* input, UnaryOp op);
  Layer* add_matrix_multiply(Tensor* a, MatrixOp op_a, Tensor* b, MatrixOp op_b);
  Layer* add_constant(Dims dims, Weights weights);
  Layer* add_shuffle(Tensor* input, const ShuffleDesc& desc);
  // Reshape to a shape given by a 1-D int64 shape tensor (e.g. built with add_shape + gather).
  Layer* add_reshape(Tensor* input, Tensor* shape, bool zero_is_placeholder = true);
  Layer* add_softmax(Tensor* input, int64_t axis = -1);
  // Outputs: 0 = values, 1 = indices (int64).
  Layer* add_topk(Tensor* input, TopKOp op, int64_t k, int64_t axis = -1);
  Layer* add_identity(Tensor* input);
  Layer* add_concatenation(std::span<Tensor* const> inputs, int64_t axis);
  Layer* add_slice(Tensor* input, const SliceDesc& desc);
  Layer* add_reduce(Tensor* input, ReduceOp op, std::vector<int64_t> axes, bool keep_dims);
  Layer* add_gather(Tensor* data, Tensor* indices, int64_t axis);
  Layer* add_cast(Tensor* input, DataType to);
  // Layer norm over the dims from `axis` to the end; scale and bias have those dims' shape.
  Layer* add_layer_norm(Tensor* input, Tensor* scale, Tensor* bias, int64_t axis = -1,
                        float epsilon = 1e-5f);
  // Batch norm (inference) over dim 1 with per-channel statistics.
  Layer* add_batch_norm(Tensor* input, Weights scale, Weights bias, Weights mean,
                        Weights variance, float epsilon = 1e-5f);
  Layer* add_instance_norm(Tensor* input, Weights scale, Weights bias, float epsilon = 1e-5f);
  // out = condition ? a : b, with broadcasting.
  Layer* add_select(Tensor* condition, Tensor* a, Tensor* b);
  // The shape of `input` as a 1-D int64 tensor, evaluated on the host.
  Layer* add_shape(Tensor* input);
  // A generic layer: any registered op with attributes, for importers and advanced users.
  // `attrs_json` is a JSON object of attributes (see docs/ops.md).
  Layer* add_op(std::string op_type, std::span<Tensor* const> inputs, int num_outputs,
                std::string_view attrs_json = "{}");

  int num_inputs() const;
  Tensor* input(int index) const;
  int num_outputs() const;
  Tensor* output(int index) const;
  int num_layers() const;
  Layer* layer(int index) const;
  Tensor* find_tensor(std::string_view name) const;

  // Precision constraints by layer name, for imported networks (the CLI's --layer-precisions
  // and --layer-output-types): a comma-separated list of PATTERN:TYPE, where PATTERN is a glob
  // over layer names (fnmatch: '*', '?', '[...]'; as in tactic rules) and TYPE is fp32, fp16 or
  // bf16 (or float32, float16, bfloat16). Every layer a pattern matches gets set_precision(TYPE);
  // for output types, set_output_type on each floating-point output, or TYPE0+TYPE1+... per
  // output index. Where several entries match a layer the last one wins. Constant layers, and
  // layers without floating-point tensors, are skipped. Returns the number of layers set; a
  // malformed entry, an unknown type or a pattern that matches no layer is an error naming it
  // (and nothing is set).
  Result<int> set_layer_precisions(std::string_view spec);
  Result<int> set_layer_output_types(std::string_view spec);

  // The first error found while building the network (OK if none).
  Status status() const;

  // Internal: the IR behind the network (used by the builder and importers).
  detail::NetworkState& state() const { return *state_; }

 private:
  std::unique_ptr<detail::NetworkState> state_;
};

}  // namespace kiln
