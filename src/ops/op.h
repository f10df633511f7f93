// The op interface. One op = one folder under src/ops/ with:
//   <op>.cpp  an OpDef: input/attribute validation and shape inference (infer), and
//   cpu.cpp   its CPU tactics (the first is the reference kernel, used for constant folding
//             and accuracy checks), and later cuda.cu for CUDA tactics.
// The op is listed once in src/ops/registry.cpp (no static-initializer registration).
#pragma once

#include <kiln/builder.h>
#include <kiln/status.h>
#include <kiln/types.h>

#include "core/tensor.h"
#include "ir/graph.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {
class ThreadPool;
}

namespace kiln::ops {

// What shape inference sees and fills.
class InferContext {
 public:
  InferContext(const ir::Graph& graph, const ir::Node& node) : graph_(graph), node_(node) {}
  struct Output {
    DataType dtype = DataType::kFloat32;
    ir::SymShape shape;
    std::optional<std::vector<ir::SymExpr>> shape_value;  // for host-evaluated shape tensors
  };

  const ir::Node& node() const { return node_; }
  const ir::Attrs& attrs() const { return node_.attrs; }
  int num_inputs() const { return static_cast<int>(node_.inputs.size()); }
  bool has_input(int i) const { return i < num_inputs() && node_.inputs[i] >= 0; }
  // Null when absent.
  const ir::Value* input(int i) const {
    return has_input(i) ? &graph_.value(node_.inputs[i]) : nullptr;
  }
  const ir::SymShape& input_shape(int i) const { return input(i)->shape; }
  DataType input_dtype(int i) const { return input(i)->dtype; }
  int input_rank(int i) const { return static_cast<int>(input(i)->shape.size()); }
  // Constant data of input i, or null.
  const HostTensor* constant(int i) const {
    return has_input(i) && input(i)->constant ? &*input(i)->constant : nullptr;
  }
  // Symbolic content of input i if it is a shape tensor (or a small int constant), else null.
  const std::vector<ir::SymExpr>* shape_value(int i) const;

  std::vector<Output>& outputs() { return outputs_; }
  Output& output(int i) {
    if (outputs_.size() <= static_cast<size_t>(i)) outputs_.resize(i + 1);
    return outputs_[i];
  }
  // Error naming the node: "layer 'conv1' (Conv): <message>".
  Status error(std::string message) const;
  const ir::Graph& graph() const { return graph_; }

 private:
  const ir::Graph& graph_;
  const ir::Node& node_;
  std::vector<Output> outputs_;
  // Shape values made from small int constants, per input index (stable while ctx lives).
  mutable std::map<int, std::vector<ir::SymExpr>> const_shape_values_;
};

// Concrete shapes of one node's inputs and outputs.
struct NodeShapes {
  std::vector<Dims> inputs, outputs;
};

// What a tactic needs to decide if it applies and to build its kernel.
struct KernelInfo {
  const ir::Graph* graph = nullptr;
  const ir::Node* node = nullptr;
  Backend backend = Backend::kCpu;
  // Shapes at the profile's opt (tuning) and its extremes (a tactic must serve the whole range).
  NodeShapes opt, min, max;
  // Symbol values at the profile's opt (to evaluate shape-tensor inputs while tuning).
  std::vector<int64_t> opt_symbols;
  // BuildConfig::flags (BuilderFlag bits), e.g. whether float32 GEMMs/convs may use TF32.
  uint32_t builder_flags = static_cast<uint32_t>(BuilderFlag::kTf32);
  bool allow_tf32() const {
    return (builder_flags & static_cast<uint32_t>(BuilderFlag::kTf32)) != 0;
  }

  const ir::Attrs& attrs() const { return node->attrs; }
  int num_inputs() const { return static_cast<int>(node->inputs.size()); }
  bool has_input(int i) const { return i < num_inputs() && node->inputs[i] >= 0; }
  const ir::Value& input(int i) const { return graph->value(node->inputs[i]); }
  const ir::Value& output(int i) const { return graph->value(node->outputs[i]); }
  DataType input_dtype(int i) const { return input(i).dtype; }
  DataType output_dtype(int i) const { return output(i).dtype; }
  // Constant data of input i (weights), or null.
  const HostTensor* constant(int i) const {
    return has_input(i) && input(i).constant ? &*input(i).constant : nullptr;
  }
};

// Arguments of one kernel run. Inputs/outputs are contiguous row-major buffers in the backend's
// memory (host for CPU); absent optional inputs have data == nullptr.
struct ExecArgs {
  std::span<const TensorView> inputs;
  std::span<const TensorView> outputs;
  void* workspace = nullptr;
  size_t workspace_size = 0;
  // Host copies of inputs that are shape tensors (evaluated on the host) or constants: kernels
  // that need such values (Slice bounds, Pad amounts, Resize sizes...) read them here, never
  // from device memory. Other entries have data == nullptr; the span may be empty on CPU.
  std::span<const TensorView> host_inputs;
  void* stream = nullptr;         // cudaStream_t for CUDA kernels
  ThreadPool* threads = nullptr;  // CPU kernels may parallelize over it (null = serial)
};

// One implementation of one node, built by a tactic for a node and a profile. Immutable after
// creation (it may hold packed weights); shared by every context of an engine, so execute() must
// be const and thread-safe.
class Kernel {
 public:
  virtual ~Kernel() = default;
  // Scratch bytes needed for these concrete shapes.
  virtual size_t workspace_size(const NodeShapes& shapes) const {
    (void)shapes;
    return 0;
  }
  virtual Status execute(const ExecArgs& args) const = 0;
};

// A set of DataTypes, one bit each (TacticDef::dtypes).
class DtypeSet {
 public:
  constexpr DtypeSet() = default;
  constexpr DtypeSet(std::initializer_list<DataType> types) {
    for (DataType t : types) bits_ |= bit(t);
  }
  constexpr bool contains(DataType t) const { return (bits_ & bit(t)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr DtypeSet operator|(DtypeSet o) const { return from_bits(bits_ | o.bits_); }
  constexpr DtypeSet operator-(DtypeSet o) const { return from_bits(bits_ & ~o.bits_); }
  constexpr bool operator==(const DtypeSet&) const = default;
  // The member dtypes in DataType order.
  std::vector<DataType> to_vector() const;
  // "float32, float16" ("none" when empty).
  std::string to_string() const;

 private:
  static constexpr uint16_t bit(DataType t) {
    return static_cast<uint16_t>(1u << static_cast<int>(t));
  }
  static constexpr DtypeSet from_bits(uint16_t bits) {
    DtypeSet s;
    s.bits_ = bits;
    return s;
  }
  uint16_t bits_ = 0;
};

inline constexpr DtypeSet kFloatDtypes{DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};
inline constexpr DtypeSet kIntDtypes{DataType::kInt8, DataType::kUInt8, DataType::kInt32,
                                     DataType::kInt64};
inline constexpr DtypeSet kNumericDtypes = kFloatDtypes | kIntDtypes;
inline constexpr DtypeSet kAllDtypes = kNumericDtypes | DtypeSet{DataType::kBool};

struct TacticDef {
  std::string_view name;  // stable within the op, e.g. "reference", "im2col_blas"
  TacticSource source;
  // The dtypes of the op's typed tensor (OpDef::dtype_input) for which this tactic supports some
  // valid node: docs/ops.md lists them (`kiln ops`), and tests/unit/op_dtypes_test.cpp checks
  // them against supports() on probe nodes of every dtype, so the two cannot drift apart. For
  // library tactics (cuDNN, cuBLAS, cuBLASLt) they are the dtypes kiln passes to the library,
  // which may still decline one for an algorithm on a given GPU.
  DtypeSet dtypes;
  // Whether this tactic implements the node (dtypes, attributes, shapes over [min, max]).
  bool (*supports)(const KernelInfo& info);
  Result<std::unique_ptr<Kernel>> (*create)(const KernelInfo& info);
  // Optional heuristic rank for a supported node: lower = more promising (e.g. the position of
  // a cuDNN algorithm in cuDNN's heuristic order). The tuner orders candidates by (rank, table
  // position) and times the top ones (BuildConfig::optimization_level). Null: the tactic's
  // position in its op's table. Reference kernels always come last.
  int (*heuristic_rank)(const KernelInfo& info) = nullptr;
};

struct OpDef {
  std::string_view name;  // IR op type
  // Validates inputs and attributes, fills output dtypes/shapes (and shape values).
  Status (*infer)(InferContext& ctx);
  std::span<const TacticDef> cpu_tactics;  // [0] is the reference kernel
  // Which tensor's dtype TacticDef::dtypes names: an input index, or kDtypeOfOutput for output 0
  // (ops whose inputs carry no element type, e.g. ConstantOfShape).
  int dtype_input = 0;
};
inline constexpr int kDtypeOfOutput = -1;

// The registry (src/ops/registry.cpp).
const OpDef* find_op(std::string_view name);
std::span<const OpDef* const> all_ops();
// CUDA tactics of an op (empty without CUDA).
std::span<const TacticDef> cuda_tactics(std::string_view op);

// Host view of input i: its host copy when the runtime provided one, else the input itself
// (valid on the CPU backend, where inputs are host memory).
inline const TensorView& host_input(const ExecArgs& args, size_t i) {
  return i < args.host_inputs.size() && args.host_inputs[i].data != nullptr ? args.host_inputs[i]
                                                                            : args.inputs[i];
}

// Stable tactic id: "<op>/<source>/<name>" e.g. "Conv/cpu-blas/im2col".
std::string tactic_id(std::string_view op, const TacticDef& tactic);

// Runs the reference kernel of a node on host tensors (constant folding, accuracy checks).
Status run_reference(const ir::Graph& graph, const ir::Node& node,
                     std::span<const TensorView> inputs, std::span<const TensorView> outputs);

// ---- helpers for op implementations ----

// Normalizes a possibly negative axis into [0, rank); error naming `what` if out of range.
Status normalize_axis(int64_t* axis, int64_t rank, std::string_view what);
// Numpy broadcast of two symbolic shapes.
Result<ir::SymShape> broadcast_shapes(const ir::SymShape& a, const ir::SymShape& b);
// Concrete numpy broadcast.
Dims broadcast_dims(const Dims& a, const Dims& b);

}  // namespace kiln::ops
