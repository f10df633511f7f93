// CUDA tactic of FusedElementwise: "interpreter", a grid-stride kernel that evaluates the
// program per output element in float registers (the program and the inputs' broadcast strides
// travel in the kernel parameters). Inputs that cover the output are read at the element's own
// index, single elements once, others through the collapsed broadcast geometry. Same formulas as
// the CPU reference (accurate device math, min/max propagate NaN). Capturable.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/activation/activation.cuh"
#include "ops/common/broadcast.h"
#include "ops/elementwise/elementwise.h"
#include "ops/fused_elementwise/fused_elementwise.h"
#include "ops/unary/unary.h"

#include <math_constants.h>

#include <string>

namespace kiln::ops {

namespace {

constexpr int kMaxDims = Dims::kMaxDims;

// How an input is addressed.
enum : uint8_t { kFull = 0, kScalar = 1, kStrided = 2 };

struct Program {
  int n_inputs = 0, n_code = 0;
  uint8_t kind[kFusedMaxInstructions] = {};
  uint8_t sub[kFusedMaxInstructions] = {};
  int16_t x[kFusedMaxInstructions] = {}, y[kFusedMaxInstructions] = {},
          z[kFusedMaxInstructions] = {};
  float constants[kFusedMaxConstants] = {};
};

struct Inputs {
  const void* ptr[kFusedMaxInputs] = {};
  DataType dtype[kFusedMaxInputs] = {};
  uint8_t mode[kFusedMaxInputs] = {};
  int64_t strides[kFusedMaxInputs][kMaxDims] = {};
};

struct Geometry {
  int rank = 0;
  int64_t dims[kMaxDims] = {};
};

__device__ __forceinline__ float load_any(const void* p, DataType dt, int64_t i) {
  switch (dt) {
    case DataType::kFloat32:
      return static_cast<const float*>(p)[i];
    case DataType::kFloat16:
      return __half2float(static_cast<const __half*>(p)[i]);
    case DataType::kBFloat16:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case DataType::kInt8:
      return static_cast<float>(static_cast<const int8_t*>(p)[i]);
    case DataType::kUInt8:
    case DataType::kBool:
      return static_cast<float>(static_cast<const uint8_t*>(p)[i]);
    case DataType::kInt32:
      return static_cast<float>(static_cast<const int32_t*>(p)[i]);
    case DataType::kInt64:
      return static_cast<float>(static_cast<const int64_t*>(p)[i]);
  }
  return 0.f;
}

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

template <typename T>
__global__ void fused_elementwise_kernel(T* __restrict__ out, int64_t n, Program prog, Inputs in,
                                         Geometry g) {
  float regs[kFusedMaxInputs + kFusedMaxInstructions];
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    int64_t coord[kMaxDims];
    int64_t rest = e;
    for (int d = g.rank - 1; d >= 0; --d) {
      coord[d] = rest % g.dims[d];
      rest /= g.dims[d];
    }
    for (int i = 0; i < prog.n_inputs; ++i) {
      int64_t off = 0;
      if (in.mode[i] == kFull) {
        off = e;
      } else if (in.mode[i] == kStrided) {
        for (int d = 0; d < g.rank; ++d) off += coord[d] * in.strides[i][d];
      }
      regs[i] = load_any(in.ptr[i], in.dtype[i], off);
    }
    auto operand = [&](int16_t r) { return r >= 0 ? regs[r] : prog.constants[-r - 1]; };
    for (int k = 0; k < prog.n_code; ++k) {
      const float a = operand(prog.x[k]);
      float v = a;
      switch (static_cast<FusedKind>(prog.kind[k])) {
        case FusedKind::kBinary:
          v = binary_op(static_cast<ElementWiseOp>(prog.sub[k]), a, operand(prog.y[k]));
          break;
        case FusedKind::kUnary:
          v = unary_op(static_cast<UnaryOp>(prog.sub[k]), a);
          break;
        case FusedKind::kActivation:
          v = activate_device(static_cast<ActivationKind>(prog.sub[k]), a, operand(prog.y[k]),
                              operand(prog.z[k]));
          break;
        case FusedKind::kWhere:
          v = a != 0.f ? operand(prog.y[k]) : operand(prog.z[k]);
          break;
        case FusedKind::kRound:
          v = prog.sub[k] == static_cast<uint8_t>(DataType::kFloat16)
                  ? __half2float(__float2half_rn(a))
                  : __bfloat162float(__float2bfloat16_rn(a));
          break;
      }
      regs[prog.n_inputs + k] = v;
    }
    out[e] = cuda::from_float<T>(regs[prog.n_inputs + prog.n_code - 1]);
  }
}

// Output dims without size-1 dims, neighbours with the same broadcast pattern for every input
// merged (fewer index divisions per element).
void collapse(const std::vector<Dims>& ins, const Dims& y, Geometry* g, Inputs* in) {
  const int r = y.rank();
  const int n = static_cast<int>(ins.size());
  std::vector<std::vector<int64_t>> full(n, std::vector<int64_t>(kMaxDims, 0));
  for (int i = 0; i < n; ++i) broadcast_strides_to(ins[i], y, full[i].data());
  bool pattern_prev[kFusedMaxInputs] = {};
  g->rank = 0;
  for (int d = 0; d < r; ++d) {
    if (y[d] == 1) continue;
    bool same = g->rank > 0;
    for (int i = 0; i < n && same; ++i) same = pattern_prev[i] == (full[i][d] != 0);
    if (same) {
      // Merge with the previous collapsed dim: strides of the inner (this) dim stay.
      g->dims[g->rank - 1] *= y[d];
      for (int i = 0; i < n; ++i) {
        if (full[i][d] != 0) in->strides[i][g->rank - 1] = full[i][d];
      }
    } else {
      g->dims[g->rank] = y[d];
      for (int i = 0; i < n; ++i) {
        pattern_prev[i] = full[i][d] != 0;
        in->strides[i][g->rank] = full[i][d];
      }
      ++g->rank;
    }
  }
  if (g->rank == 0) {
    g->rank = 1;
    g->dims[0] = 1;
  }
}

class FusedCudaKernel final : public Kernel {
 public:
  FusedCudaKernel(FusedProgram p, int sms) : p_(std::move(p)), sms_(sms) {
    prog_.n_inputs = p_.num_inputs;
    prog_.n_code = static_cast<int>(p_.code.size());
    for (size_t k = 0; k < p_.code.size(); ++k) {
      prog_.kind[k] = static_cast<uint8_t>(p_.code[k].kind);
      prog_.sub[k] = p_.code[k].sub;
      prog_.x[k] = p_.code[k].x;
      prog_.y[k] = p_.code[k].y;
      prog_.z[k] = p_.code[k].z;
    }
    for (size_t c = 0; c < p_.constants.size(); ++c) prog_.constants[c] = p_.constants[c];
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& y = args.outputs[0];
    const int n_in = static_cast<int>(args.inputs.size());
    if (n_in != p_.num_inputs) {
      return invalid_argument("FusedElementwise: " + std::to_string(n_in) +
                              " inputs, the program has " + std::to_string(p_.num_inputs));
    }
    Inputs in;
    std::vector<Dims> shapes;
    for (int i = 0; i < n_in; ++i) {
      const TensorView& t = args.inputs[i];
      int64_t st[kMaxDims] = {};
      if (!broadcast_strides_to(t.shape, y.shape, st)) {
        return broadcast_error("FusedElementwise input " + std::to_string(i), t.shape, y.shape);
      }
      in.ptr[i] = t.data;
      in.dtype[i] = t.dtype;
      in.mode[i] = t.numel() == y.numel() ? kFull : t.numel() == 1 ? kScalar : kStrided;
      shapes.push_back(t.shape);
    }
    const int64_t n = y.numel();
    if (n == 0) return Status::ok();
    Geometry g;
    collapse(shapes, y.shape, &g, &in);
    auto stream = static_cast<cudaStream_t>(args.stream);
    const unsigned grid = cuda::grid_size(n, sms_);
    switch (y.dtype) {
      case DataType::kFloat32:
        fused_elementwise_kernel<float>
            <<<grid, cuda::kElementwiseThreads, 0, stream>>>(y.as<float>(), n, prog_, in, g);
        break;
      case DataType::kFloat16:
        fused_elementwise_kernel<__half>
            <<<grid, cuda::kElementwiseThreads, 0, stream>>>(y.as<__half>(), n, prog_, in, g);
        break;
      case DataType::kBFloat16:
        fused_elementwise_kernel<__nv_bfloat16><<<grid, cuda::kElementwiseThreads, 0, stream>>>(
            y.as<__nv_bfloat16>(), n, prog_, in, g);
        break;
      default:
        return unsupported("FusedElementwise CUDA kernel: output dtype " +
                           std::string(dtype_name(y.dtype)));
    }
    return cuda::check_launch("fused_elementwise_kernel");
  }

 private:
  FusedProgram p_;
  Program prog_;
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
