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

// The slot program (kernel parameter).
struct SlotCode {
  int n_code = 0;
  uint8_t kind[kFusedMaxInstructions] = {};
  uint8_t sub[kFusedMaxInstructions] = {};
  int8_t dst[kFusedMaxInstructions] = {}, x[kFusedMaxInstructions] = {},
         y[kFusedMaxInstructions] = {}, z[kFusedMaxInstructions] = {};
  float constants[kFusedMaxConstants] = {};
};

struct InputPointers {
  const void* ptr[kFusedMaxInputs] = {};
  DataType dtype[kFusedMaxInputs] = {};
  uint8_t size[kFusedMaxInputs] = {};  // element bytes
};

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

// ---- slots: per thread in shared memory, indexed by the slot number (no branches, no copies;
// every thread owns its own words, so no synchronization). Slot j's V floats of thread t lie at
// [j][h][t] in 16-byte pieces h (V >= 4), or [j][t] (V == 1): conflict-free vector accesses.

template <int V>
struct SharedSlots {
  static_assert(V == 1 || V % 4 == 0);
  float* base;
  unsigned threads, tid;

  __device__ __forceinline__ void load(int slot, float (&o)[V]) const {
    if constexpr (V == 1) {
      o[0] = base[slot * threads + tid];
    } else {
      const float4* p = reinterpret_cast<const float4*>(base) + slot * (V / 4) * threads + tid;
#pragma unroll
      for (int h = 0; h < V / 4; ++h) {
        const float4 v = p[h * threads];
        o[4 * h] = v.x;
        o[4 * h + 1] = v.y;
        o[4 * h + 2] = v.z;
        o[4 * h + 3] = v.w;
      }
    }
  }
  __device__ __forceinline__ void store(int slot, const float (&v)[V]) const {
    if constexpr (V == 1) {
      base[slot * threads + tid] = v[0];
    } else {
      float4* p = reinterpret_cast<float4*>(base) + slot * (V / 4) * threads + tid;
#pragma unroll
      for (int h = 0; h < V / 4; ++h) {
        p[h * threads] = make_float4(v[4 * h], v[4 * h + 1], v[4 * h + 2], v[4 * h + 3]);
      }
    }
  }
};

template <int V>
__device__ __forceinline__ void copy(const float (&from)[V], float (&to)[V]) {
#pragma unroll
  for (int k = 0; k < V; ++k) to[k] = from[k];
}

// Operand r of an instruction: the previous result (acc), a constant or a slot.
template <int V>
__device__ __forceinline__ void operand(const SharedSlots<V>& slots, const float (&acc)[V], int r,
                                        const SlotCode& code, float (&o)[V]) {
  if (r >= 0) {
    slots.load(r, o);
  } else if (r == kFusedPrevious) {
    copy(acc, o);
  } else {
    const float c = code.constants[-r - 1];
#pragma unroll
    for (int k = 0; k < V; ++k) o[k] = c;
  }
}
static_assert(kFusedPrevious < -kFusedMaxConstants, "kFusedPrevious must not be a constant");

// ---- input reads: phase 1 loads the item's elements of an input as raw bytes (every input's
// loads are issued before any is used), phase 2 converts them to floats.

// kSize-byte element bits of p placed at element k of raw (k * kSize < 16).
template <int kSize>
__device__ __forceinline__ void put_element(uint4& raw, int k, const char* p) {
  uint32_t* w = reinterpret_cast<uint32_t*>(&raw);
  if constexpr (kSize == 8) {
    const uint2 v = *reinterpret_cast<const uint2*>(p);
    w[2 * k] = v.x;
    w[2 * k + 1] = v.y;
  } else if constexpr (kSize == 4) {
    w[k] = *reinterpret_cast<const uint32_t*>(p);
  } else if constexpr (kSize == 2) {
    w[k / 2] |= static_cast<uint32_t>(*reinterpret_cast<const uint16_t*>(p)) << (16 * (k % 2));
  } else {
    static_assert(kSize == 1);
    w[k / 4] |= static_cast<uint32_t>(*reinterpret_cast<const uint8_t*>(p)) << (8 * (k % 4));
  }
}

// kBytes (4, 8 or 16) bytes at p, aligned to kBytes, in the low bytes of a uint4.
template <int kBytes>
__device__ __forceinline__ uint4 load_vector(const char* p) {
  uint4 r = make_uint4(0, 0, 0, 0);
  if constexpr (kBytes == 16) {
    r = *reinterpret_cast<const uint4*>(p);
  } else if constexpr (kBytes == 8) {
    const uint2 v = *reinterpret_cast<const uint2*>(p);
    r.x = v.x;
    r.y = v.y;
  } else {
    static_assert(kBytes == 4);
    r.x = *reinterpret_cast<const uint32_t*>(p);
  }
  return r;
}

// Phase 1 for elements of kSize bytes: V elements of input i for the item at e0 as raw bytes,
// element k at byte k * kSize (one element for kBroadcast). `base` is the item's offset, `off`
// each element's offset for kGather. Loads only elements below n.
template <int kSize, int V, typename Index>
__device__ __forceinline__ uint4 read_input_sized(const char* p, FusedAccess a, Index base,
                                                  const Index (&off)[V], Index e0, Index n,
                                                  bool whole) {
  // Elements that fit in raw (all V where the host reads more than one).
  constexpr int kFit = V < 16 / kSize ? V : 16 / kSize;
  uint4 raw = make_uint4(0, 0, 0, 0);
  if (a == FusedAccess::kGather) {
#pragma unroll
    for (int k = 0; k < kFit; ++k) {
      if (e0 + static_cast<Index>(k) < n) {
        put_element<kSize>(raw, k, p + static_cast<size_t>(off[k]) * kSize);
      }
    }
    return raw;
  }
  const char* q = p + static_cast<size_t>(base) * kSize;
  if (a == FusedAccess::kBroadcast) {
    put_element<kSize>(raw, 0, q);
    return raw;
  }
  if constexpr (V * kSize <= 16 && V * kSize >= 4) {
    if (a == FusedAccess::kVector && whole) return load_vector<V * kSize>(q);
  }
  // kRun, or kVector in the last partial item (or V * kSize < 4: V == 1 and a narrow type).
#pragma unroll
  for (int k = 0; k < kFit; ++k) {
    if (e0 + static_cast<Index>(k) < n) put_element<kSize>(raw, k, q + k * kSize);
  }
  return raw;
}

// kSameSize: every input's element has kSameSize bytes (0: any, dispatched per input).
template <int V, int kSameSize, typename Index>
__device__ __forceinline__ uint4 read_input(const InputPointers& in, const FusedInputPlan& plan,
                                            const FusedLayout<Index>& l, int i, Index e0, Index n,
                                            bool whole) {
  const char* p = static_cast<const char*>(in.ptr[i]);
  const FusedAccess a = plan.access[i];
  // Offsets first, outside the switch on the element size (one copy of the index math).
  Index base = 0;
  Index off[V];
  if (a == FusedAccess::kGather) {
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const Index e = e0 + static_cast<Index>(k);
      off[k] = e < n ? fused_strided_offset(l, i, e) : 0;
    }
  } else {
    base = fused_item_base(l, plan, i, e0);
  }
  if constexpr (kSameSize > 0) {
    return read_input_sized<kSameSize, V>(p, a, base, off, e0, n, whole);
  }
  switch (in.size[i]) {
    case 1:
      return read_input_sized<1, V>(p, a, base, off, e0, n, whole);
    case 2:
      return read_input_sized<2, V>(p, a, base, off, e0, n, whole);
    case 4:
      return read_input_sized<4, V>(p, a, base, off, e0, n, whole);
    default:
      return read_input_sized<8, V>(p, a, base, off, e0, n, whole);
  }
}

template <typename T>
struct Tag {
  using type = T;
};

// Calls f(Tag<device element type>) for an input dtype (bool is read as its byte).
template <typename F>
__device__ __forceinline__ void with_input_type(DataType dt, F&& f) {
  switch (dt) {
    case DataType::kFloat32:
      f(Tag<float>{});
      break;
    case DataType::kFloat16:
      f(Tag<__half>{});
      break;
    case DataType::kBFloat16:
      f(Tag<__nv_bfloat16>{});
      break;
    case DataType::kInt8:
      f(Tag<int8_t>{});
      break;
    case DataType::kUInt8:
    case DataType::kBool:
      f(Tag<uint8_t>{});
      break;
    case DataType::kInt32:
      f(Tag<int32_t>{});
      break;
    case DataType::kInt64:
      f(Tag<int64_t>{});
      break;
  }
}

template <typename In>
__device__ __forceinline__ float as_float(In v) {
  if constexpr (std::is_same_v<In, float> || std::is_same_v<In, __half> ||
                std::is_same_v<In, __nv_bfloat16>) {
    return cuda::to_float(v);
  } else {
    return static_cast<float>(v);  // integers round to nearest, as the CPU reference's cast
  }
}

// Element k (k * sizeof(In) < 16) of the In values packed in raw.
template <typename In>
__device__ __forceinline__ float raw_element(const uint4& raw, int k) {
  In v;
  memcpy(&v, reinterpret_cast<const char*>(&raw) + k * sizeof(In), sizeof(In));
  return as_float(v);
}

// Phase 2: the V floats of an input from its raw bytes (element 0 for all if `broadcast`).
// Same: every input has the dtype Same (void: any, dispatched per input).
template <int V, typename Same>
__device__ __forceinline__ void convert_input(DataType dt, bool broadcast, const uint4& raw,
                                              float (&v)[V]) {
  auto convert = [&](auto tag) {
    using In = typename decltype(tag)::type;
    constexpr int kFit = V < 16 / sizeof(In) ? V : 16 / sizeof(In);
#pragma unroll
    for (int k = 0; k < kFit; ++k) v[k] = raw_element<In>(raw, k);
  };
  if constexpr (std::is_void_v<Same>) {
    with_input_type(dt, convert);
  } else {
    convert(Tag<Same>{});
  }
  if (broadcast) {
#pragma unroll
    for (int k = 1; k < V; ++k) v[k] = v[0];
  }
}

// ---- the kernel

// V elements per item, Index uint32_t (n <= INT32_MAX) or int64_t; kSame: every input has the
// output's dtype T (no dispatch on input dtypes); kInputs: most inputs (4 keeps the raw loads of
// the common chains in fewer registers). Dynamic shared memory: the slots, V floats per slot per
// thread. The host guarantees plan.count <= kInputs and V * element size <= 16 for every input
// not read as kBroadcast.
template <typename T, typename Index, int V, bool kSame, int kInputs>
__global__ void __launch_bounds__(kThreads)
    fused_elementwise_kernel(T* out, Index n, bool out_vector, FusedLayout<Index> l,
                             FusedInputPlan plan, InputPointers in, SlotCode code) {
  extern __shared__ float4 fused_shared[];
  using Same = std::conditional_t<kSame, T, void>;
  constexpr int kSameSize = kSame ? static_cast<int>(sizeof(T)) : 0;
  const SharedSlots<V> slots{reinterpret_cast<float*>(fused_shared), blockDim.x, threadIdx.x};
  const Index items = n / V + (n % V != 0 ? 1 : 0);
  const Index step = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index item = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; item < items;
       item += step) {
    const Index e0 = item * V;
    const bool whole = n - e0 >= static_cast<Index>(V);
    uint4 raw[kInputs];
#pragma unroll
    for (int i = 0; i < kInputs; ++i) {
      if (i < plan.count) raw[i] = read_input<V, kSameSize>(in, plan, l, i, e0, n, whole);
    }
#pragma unroll
    for (int i = 0; i < kInputs; ++i) {
      if (i < plan.count) {
        float v[V];
        convert_input<V, Same>(in.dtype[i], plan.access[i] == FusedAccess::kBroadcast, raw[i], v);
        slots.store(i, v);
      }
    }
    // acc: the previous instruction's result, computed in place.
    float acc[V] = {};
    for (int k = 0; k < code.n_code; ++k) {
      const FusedKind kind = static_cast<FusedKind>(code.kind[k]);
      float b[V], c[V];
      if (kind != FusedKind::kUnary && kind != FusedKind::kRound) {
        operand<V>(slots, acc, code.y[k], code, b);
      }
      if (kind == FusedKind::kActivation || kind == FusedKind::kWhere) {
        operand<V>(slots, acc, code.z[k], code, c);
      }
      // x last: it may overwrite acc, which y and z may read.
      if (code.x[k] != kFusedPrevious) operand<V>(slots, acc, code.x[k], code, acc);
      eval_item<V>(kind, code.sub[k], acc, b, c, acc);
      if (code.dst[k] >= 0) slots.store(code.dst[k], acc);
    }
    if (out_vector && whole) {
      cuda::AlignedVector<T, V> o;
#pragma unroll
      for (int k = 0; k < V; ++k) o.val[k] = cuda::from_float<T>(acc[k]);
      *reinterpret_cast<cuda::AlignedVector<T, V>*>(out + e0) = o;
    } else {
#pragma unroll
      for (int k = 0; k < V; ++k) {
        if (e0 + static_cast<Index>(k) < n) out[e0 + k] = cuda::from_float<T>(acc[k]);
      }
    }
  }
}

// ---- host

// Whether a planned item of `vec` elements fits the kernel's raw registers for every input.
bool fits_raw(const FusedInputPlan& plan, const size_t* sizes, int vec) {
  for (int i = 0; i < plan.count; ++i) {
    const size_t bytes = plan.access[i] == FusedAccess::kBroadcast ? sizes[i] : sizes[i] * vec;
    if (bytes > 16) return false;
  }
  return true;
}

class FusedCudaKernel final : public Kernel {
 public:
  FusedCudaKernel(FusedProgram p, int sms) : p_(std::move(p)), sms_(sms) {
    const FusedSlotProgram s = allocate_fused_slots(p_);
    slots_ = s.slots;
    code_.n_code = static_cast<int>(s.code.size());
    for (size_t k = 0; k < s.code.size(); ++k) {
      code_.kind[k] = static_cast<uint8_t>(s.code[k].kind);
      code_.sub[k] = s.code[k].sub;
      code_.dst[k] = s.code[k].dst;
      code_.x[k] = s.code[k].x;
      code_.y[k] = s.code[k].y;
      code_.z[k] = s.code[k].z;
    }
    for (size_t c = 0; c < p_.constants.size(); ++c) code_.constants[c] = p_.constants[c];
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
    InputPointers in;
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
    if (!fits_raw(plan, ops.sizes, V)) return false;
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
  SlotCode code_;
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
