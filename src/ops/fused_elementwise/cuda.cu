// CUDA tactic of FusedElementwise: "interpreter", a grid-stride kernel that evaluates the
// program in float for items of V consecutive output elements per thread.
//   Inputs   read as fused_layout.h plans them: full inputs (and strided ones contiguous along
//            the innermost dim) in one aligned vector access per item, single elements and
//            inner-broadcast inputs once per item, the rest element by element; strided offsets
//            from the collapsed geometry of the strided inputs only, with 32-bit fast divisors.
//            Every input's loads are issued (as raw bytes) before any is converted to float.
//   Program  values in few slots (allocate_fused_slots) in shared memory, each thread its own
//            (a slot read or write is one or two conflict-free 16-byte accesses at an address
//            computed from the slot number: no local memory, no branch per slot); the previous
//            result stays in registers and is updated in place; each instruction's operation is
//            dispatched once per item, not per element. Blocks of 256 threads, fewer where the
//            slots need more than 48 KiB.
//   Output   one aligned vector store per whole item.
// Variants (launch() picks the first that applies; 32-bit indices below 2^31 elements):
//   16-byte items (8 float16 / bfloat16, 4 float32) for up to 4 inputs of the output's dtype
//   (no per-input dtype dispatch): the common chains (embeddings sums, bias adds, residuals);
//   items of 4 for inputs of any dtype up to 4 bytes (wider ones as single elements);
//   one element per thread: int64 inputs read per element, and outputs of 2^31 elements or
//   more (64-bit indices).
// Same formulas as the CPU reference (accurate device math, min/max propagate NaN, one rounding
// to the output dtype). Capturable: launches only.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/activation/activation.cuh"
#include "ops/common/broadcast.h"
#include "ops/elementwise/elementwise.h"
#include "ops/fused_elementwise/fused_elementwise.h"
#include "ops/fused_elementwise/fused_item.cuh"
#include "ops/fused_elementwise/fused_layout.h"
#include "ops/unary/unary.h"

#include <math_constants.h>

#include <climits>
#include <cstring>
#include <string>

namespace kiln::ops {

namespace {

constexpr int kThreads = cuda::kElementwiseThreads;
// Shared memory for the slots of one block: at most the default limit (no opt-in attribute).
constexpr size_t kSlotBytesPerBlock = 48 * 1024;

// ---- element formulas (the CPU reference's)

__device__ __forceinline__ float unary_op(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::kExp:
      return expf(x);
    case UnaryOp::kLog:
      return logf(x);
    case UnaryOp::kSqrt:
      return sqrtf(x);
    case UnaryOp::kRsqrt:
      return 1.f / sqrtf(x);
    case UnaryOp::kAbs:
      return fabsf(x);
    case UnaryOp::kNeg:
      return -x;
    case UnaryOp::kReciprocal:
      return 1.f / x;
    case UnaryOp::kErf:
      return erff(x);
    case UnaryOp::kSin:
      return sinf(x);
    case UnaryOp::kCos:
      return cosf(x);
    case UnaryOp::kTan:
      return tanf(x);
    case UnaryOp::kFloor:
      return floorf(x);
    case UnaryOp::kCeil:
      return ceilf(x);
    case UnaryOp::kRound:
      return rintf(x);
    case UnaryOp::kSign:
      return isnan(x) ? x : (x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f));
    case UnaryOp::kNot:
      break;
  }
  return x;
}

__device__ __forceinline__ float binary_op(ElementWiseOp op, float a, float b) {
  switch (op) {
    case ElementWiseOp::kSum:
      return a + b;
    case ElementWiseOp::kSub:
      return a - b;
    case ElementWiseOp::kProd:
      return a * b;
    case ElementWiseOp::kDiv:
      return a / b;
    case ElementWiseOp::kMin:
      return (isnan(a) || isnan(b)) ? CUDART_NAN_F : (b < a ? b : a);
    case ElementWiseOp::kMax:
      return (isnan(a) || isnan(b)) ? CUDART_NAN_F : (a < b ? b : a);
    case ElementWiseOp::kPow:
      return powf(a, b);
    default:
      return a;
  }
}

// r[k] = instruction(a[k], b[k], c[k]) for the V elements of an item: the operation is chosen
// once (a uniform branch: every thread runs the same program), then applied V times with
// constant indices. Each case names its operation as a constant, so the formula's own switch
// folds away.
template <int V>
__device__ __forceinline__ void eval_item(FusedKind kind, uint8_t sub, const float (&a)[V],
                                          const float (&b)[V], const float (&c)[V], float (&r)[V]) {
#define KILN_FUSED_MAP(expr)                      \
  _Pragma("unroll") for (int k = 0; k < V; ++k) { \
    const float x = a[k];                         \
    r[k] = (expr);                                \
  }                                               \
  break
  switch (kind) {
    case FusedKind::kBinary:
      switch (static_cast<ElementWiseOp>(sub)) {
#define KILN_FUSED_BINARY(op) \
  case ElementWiseOp::op:     \
    KILN_FUSED_MAP(binary_op(ElementWiseOp::op, x, b[k]))
        KILN_FUSED_BINARY(kSum);
        KILN_FUSED_BINARY(kSub);
        KILN_FUSED_BINARY(kProd);
        KILN_FUSED_BINARY(kDiv);
        KILN_FUSED_BINARY(kMin);
        KILN_FUSED_BINARY(kMax);
        KILN_FUSED_BINARY(kPow);
#undef KILN_FUSED_BINARY
        default:
          KILN_FUSED_MAP(x);
      }
      break;
    case FusedKind::kUnary:
      switch (static_cast<UnaryOp>(sub)) {
#define KILN_FUSED_UNARY(op) \
  case UnaryOp::op:          \
    KILN_FUSED_MAP(unary_op(UnaryOp::op, x))
        KILN_FUSED_UNARY(kExp);
        KILN_FUSED_UNARY(kLog);
        KILN_FUSED_UNARY(kSqrt);
        KILN_FUSED_UNARY(kRsqrt);
        KILN_FUSED_UNARY(kAbs);
        KILN_FUSED_UNARY(kNeg);
        KILN_FUSED_UNARY(kReciprocal);
        KILN_FUSED_UNARY(kErf);
        KILN_FUSED_UNARY(kSin);
        KILN_FUSED_UNARY(kCos);
        KILN_FUSED_UNARY(kTan);
        KILN_FUSED_UNARY(kFloor);
        KILN_FUSED_UNARY(kCeil);
        KILN_FUSED_UNARY(kRound);
        KILN_FUSED_UNARY(kSign);
#undef KILN_FUSED_UNARY
        default:
          KILN_FUSED_MAP(x);
      }
      break;
    case FusedKind::kActivation:
      switch (static_cast<ActivationKind>(sub)) {
#define KILN_FUSED_ACT(op) \
  case ActivationKind::op: \
    KILN_FUSED_MAP(activate_device(ActivationKind::op, x, b[k], c[k]))
        KILN_FUSED_ACT(kRelu);
        KILN_FUSED_ACT(kLeakyRelu);
        KILN_FUSED_ACT(kSigmoid);
        KILN_FUSED_ACT(kTanh);
        KILN_FUSED_ACT(kElu);
        KILN_FUSED_ACT(kSelu);
        KILN_FUSED_ACT(kSoftplus);
        KILN_FUSED_ACT(kClip);
        KILN_FUSED_ACT(kGeluErf);
        KILN_FUSED_ACT(kGeluTanh);
        KILN_FUSED_ACT(kSilu);
        KILN_FUSED_ACT(kHardSigmoid);
        KILN_FUSED_ACT(kHardSwish);
        KILN_FUSED_ACT(kThresholdedRelu);
        KILN_FUSED_ACT(kCelu);
        KILN_FUSED_ACT(kMish);
        KILN_FUSED_ACT(kSoftsign);
#undef KILN_FUSED_ACT
        default:
          KILN_FUSED_MAP(x);
      }
      break;
    case FusedKind::kWhere:
      KILN_FUSED_MAP(x != 0.f ? b[k] : c[k]);
    case FusedKind::kRound:
      if (sub == static_cast<uint8_t>(DataType::kFloat16)) {
        KILN_FUSED_MAP(__half2float(__float2half_rn(x)));
      }
      KILN_FUSED_MAP(__bfloat162float(__float2bfloat16_rn(x)));
  }
#undef KILN_FUSED_MAP
}

// The instruction evaluation of fused_process_item on the device.
struct DeviceEval {
  template <int V>
  __host__ __device__ void operator()(FusedKind kind, uint8_t sub, float (&acc)[V],
                                      const float (&b)[V], const float (&c)[V]) const {
#if defined(__CUDA_ARCH__)
    eval_item<V>(kind, sub, acc, b, c, acc);
#endif
  }
};

// ---- the kernel

// V elements per item, Index uint32_t (n <= INT32_MAX) or int64_t; kSame: every input has the
// output's dtype T (no dispatch on input dtypes); kInputs: most inputs (4 keeps the raw loads of
// the common chains in fewer registers). Dynamic shared memory: the slots, V floats per slot per
// thread. See fused_process_item for what the host guarantees.
template <typename T, typename Index, int V, bool kSame, int kInputs>
__global__ void __launch_bounds__(kThreads)
    fused_elementwise_kernel(T* out, Index n, bool out_vector, FusedLayout<Index> l,
                             FusedInputPlan plan, FusedInputPointers in, FusedSlotCode code) {
  extern __shared__ float4 fused_shared[];
  const FusedSlots<V> slots{reinterpret_cast<float*>(fused_shared), blockDim.x, threadIdx.x};
  const Index items = n / V + (n % V != 0 ? 1 : 0);
  const Index step = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index item = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; item < items;
       item += step) {
    fused_process_item<T, Index, V, kSame, kInputs>(out, n, out_vector, l, plan, in, code, slots,
                                                    DeviceEval{}, item);
  }
}

// ---- host

class FusedCudaKernel final : public Kernel {
 public:
  FusedCudaKernel(FusedProgram p, int sms) : p_(std::move(p)), sms_(sms) {
    const FusedSlotProgram s = allocate_fused_slots(p_);
    slots_ = s.slots;
    code_ = make_fused_slot_code(p_, s);
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& y = args.outputs[0];
    const int n_in = static_cast<int>(args.inputs.size());
    if (n_in != p_.num_inputs) {
      return invalid_argument("FusedElementwise: " + std::to_string(n_in) +
                              " inputs, the program has " + std::to_string(p_.num_inputs));
    }
    Operands ops;
    for (int i = 0; i < n_in; ++i) {
      const TensorView& t = args.inputs[i];
      int64_t st[Dims::kMaxDims] = {};
      if (!broadcast_strides_to(t.shape, y.shape, st)) {
        return broadcast_error("FusedElementwise input " + std::to_string(i), t.shape, y.shape);
      }
      ops.in.ptr[i] = t.data;
      ops.in.dtype[i] = t.dtype;
      ops.sizes[i] = dtype_size(t.dtype);
      ops.in.size[i] = static_cast<uint8_t>(ops.sizes[i]);
      ops.shapes[i] = t.shape;
      ops.addr[i] = reinterpret_cast<uintptr_t>(t.data);
    }
    if (y.numel() == 0) return Status::ok();
    switch (y.dtype) {
      case DataType::kFloat32:
        return launch<float>(y, ops, static_cast<cudaStream_t>(args.stream));
      case DataType::kFloat16:
        return launch<__half>(y, ops, static_cast<cudaStream_t>(args.stream));
      case DataType::kBFloat16:
        return launch<__nv_bfloat16>(y, ops, static_cast<cudaStream_t>(args.stream));
      default:
        return unsupported("FusedElementwise CUDA kernel: output dtype " +
                           std::string(dtype_name(y.dtype)));
    }
  }

 private:
  struct Operands {
    FusedInputPointers in;
    Dims shapes[kFusedMaxInputs];
    size_t sizes[kFusedMaxInputs] = {};
    uintptr_t addr[kFusedMaxInputs] = {};
  };

  // Plans for items of V elements and launches the kernel variant; false (nothing launched)
  // where an input's item does not fit the raw registers.
  template <typename T, typename Index, int V, bool kSame, int kInputs>
  Result<bool> try_launch(const TensorView& y, const Operands& ops, cudaStream_t stream) const {
    FusedLayout<Index> l;
    FusedInputPlan plan;
    if (!plan_fused_layout(ops.shapes, ops.sizes, ops.addr, p_.num_inputs, y.shape, V, &l, &plan)) {
      return invalid_argument("FusedElementwise: inputs do not broadcast to " +
                              y.shape.to_string());
    }
    if (!fused_fits_raw(plan, ops.sizes, V)) return false;
    // Blocks of 256 threads, fewer where the slots would need more than 48 KiB (32 threads hold
    // the 40 slots of the largest program in 40 KiB at V = 8).
    const size_t slot_bytes = static_cast<size_t>(slots_) * V * sizeof(float);
    unsigned threads = kThreads;
    while (threads > 32 && slot_bytes * threads > kSlotBytesPerBlock) threads /= 2;
    const int64_t n = y.numel();
    const int64_t items = (n + V - 1) / V;
    const int64_t cap = static_cast<int64_t>(std::max(sms_, 1)) * (2048 / threads);
    const auto blocks = static_cast<unsigned>(std::min((items + threads - 1) / threads, cap));
    const bool out_vector = cuda::is_aligned(y.data, sizeof(T) * V);
    fused_elementwise_kernel<T, Index, V, kSame, kInputs>
        <<<blocks, threads, slot_bytes * threads, stream>>>(y.as<T>(), static_cast<Index>(n),
                                                            out_vector, l, plan, ops.in, code_);
    KILN_RETURN_IF_ERROR(cuda::check_launch("fused_elementwise_kernel"));
    return true;
  }

  // Variants, the first that applies (32-bit indices below 2^31 elements): up to 4 inputs, all
  // of the output's dtype: 16-byte items; inputs of any dtype up to 4 bytes (wider ones as
  // single elements): items of 4; else one element per thread (int64 inputs read per element,
  // and 64-bit indices from 2^31 elements).
  template <typename T>
  Status launch(const TensorView& y, const Operands& ops, cudaStream_t stream) const {
    constexpr int kVec = cuda::kVectorWidth<T>;
    const int n_in = p_.num_inputs;
    if (y.numel() <= INT32_MAX) {
      bool same = true;
      for (int i = 0; i < n_in; ++i) same = same && ops.in.dtype[i] == y.dtype;
      if (same && n_in <= 4) {
        KILN_ASSIGN_OR_RETURN(bool done, (try_launch<T, uint32_t, kVec, true, 4>(y, ops, stream)));
        if (done) return Status::ok();
      }
      KILN_ASSIGN_OR_RETURN(bool done,
                            (try_launch<T, uint32_t, 4, false, kFusedMaxInputs>(y, ops, stream)));
      if (done) return Status::ok();
      return try_launch<T, uint32_t, 1, false, kFusedMaxInputs>(y, ops, stream).status();
    }
    return try_launch<T, int64_t, 1, false, kFusedMaxInputs>(y, ops, stream).status();
  }

  FusedProgram p_;
  FusedSlotCode code_;
  int slots_ = 0;
  int sms_;
};

bool supports_interpreter(const KernelInfo& info) {
  return parse_fused_program(info.attrs(), info.num_inputs()).is_ok() &&
         info.num_inputs() <= kFusedMaxInputs;
}

Result<std::unique_ptr<Kernel>> create_interpreter(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(FusedProgram p, parse_fused_program(info.attrs(), info.num_inputs()));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new FusedCudaKernel(std::move(p), sms));
}

const TacticDef kCudaTactics[] = {
    {"interpreter", TacticSource::kKilnCuda, kAllDtypes, supports_interpreter, create_interpreter},
};

}  // namespace

std::span<const TacticDef> fused_elementwise_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
