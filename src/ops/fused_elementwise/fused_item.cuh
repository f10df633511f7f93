// The per-item work of the FusedElementwise CUDA kernel (cuda.cu) as host/device code: the
// kernel runs it for its items, and tests/gpu/fused_elementwise_emulation_test.cpp runs it on
// the host (slots in an ordinary array, the program evaluated with the CPU formulas) against the
// CPU reference, bit for bit, for every variant, access kind and alignment, without a GPU.
// An item is V consecutive output elements: phase 1 loads each input's elements of the item
// as raw bytes (every input's loads issued before any is used), phase 2 converts them to float
// and stores them in the input's slot; then the slot program runs with the previous result in
// registers (acc); the item's outputs are stored, as one vector where aligned.
#pragma once

#include "backends/cuda/kernel_utils.cuh"
#include "ops/fused_elementwise/fused_elementwise.h"
#include "ops/fused_elementwise/fused_layout.h"

#include <cstring>
#include <type_traits>

#if defined(__CUDA_ARCH__)
#define KILN_FUSED_UNROLL _Pragma("unroll")
#else
#define KILN_FUSED_UNROLL
#endif

namespace kiln::ops {

// The slot program (kernel parameter); see make_fused_slot_code.
struct FusedSlotCode {
  int n_code = 0;
  uint8_t kind[kFusedMaxInstructions] = {};
  uint8_t sub[kFusedMaxInstructions] = {};
  int8_t dst[kFusedMaxInstructions] = {}, x[kFusedMaxInstructions] = {},
         y[kFusedMaxInstructions] = {}, z[kFusedMaxInstructions] = {};
  float constants[kFusedMaxConstants] = {};
};

struct FusedInputPointers {
  const void* ptr[kFusedMaxInputs] = {};
  DataType dtype[kFusedMaxInputs] = {};
  uint8_t size[kFusedMaxInputs] = {};  // element bytes
};

// The kernel parameter of a program and its slot allocation.
inline FusedSlotCode make_fused_slot_code(const FusedProgram& p, const FusedSlotProgram& s) {
  FusedSlotCode c;
  c.n_code = static_cast<int>(s.code.size());
  for (size_t k = 0; k < s.code.size(); ++k) {
    c.kind[k] = static_cast<uint8_t>(s.code[k].kind);
    c.sub[k] = s.code[k].sub;
    c.dst[k] = s.code[k].dst;
    c.x[k] = s.code[k].x;
    c.y[k] = s.code[k].y;
    c.z[k] = s.code[k].z;
  }
  for (size_t i = 0; i < p.constants.size(); ++i) c.constants[i] = p.constants[i];
  return c;
}

// Whether a planned item of `vec` elements fits the raw registers (16 bytes) for every input.
inline bool fused_fits_raw(const FusedInputPlan& plan, const size_t* sizes, int vec) {
  for (int i = 0; i < plan.count; ++i) {
    const size_t bytes = plan.access[i] == FusedAccess::kBroadcast ? sizes[i] : sizes[i] * vec;
    if (bytes > 16) return false;
  }
  return true;
}

// Float conversions of the element types on both sides.
KILN_HOST_DEVICE float fused_to_float(float v) {
  return v;
}
KILN_HOST_DEVICE float fused_to_float(__half v) {
  return __half2float(v);
}
KILN_HOST_DEVICE float fused_to_float(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <typename T>
KILN_HOST_DEVICE T fused_from_float(float v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(v);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(v);
  } else {
    return v;
  }
}

// ---- slots: the kernel's are per thread in shared memory, indexed by the slot number (no
// branches, no copies; every thread owns its own words, so no synchronization). Slot j's V
// floats of thread t of `threads` lie at [j][h][t] in 16-byte pieces h (V >= 4), or [j][t]
// (V == 1): conflict-free vector accesses.

template <int V>
struct FusedSlots {
  static_assert(V == 1 || V % 4 == 0);
  float* base;
  unsigned threads, tid;

  KILN_HOST_DEVICE void load(int slot, float (&o)[V]) const {
    if constexpr (V == 1) {
      o[0] = base[slot * threads + tid];
    } else {
      const float4* p = reinterpret_cast<const float4*>(base) + slot * (V / 4) * threads + tid;
      KILN_FUSED_UNROLL
      for (int h = 0; h < V / 4; ++h) {
        const float4 v = p[h * threads];
        o[4 * h] = v.x;
        o[4 * h + 1] = v.y;
        o[4 * h + 2] = v.z;
        o[4 * h + 3] = v.w;
      }
    }
  }
  KILN_HOST_DEVICE void store(int slot, const float (&v)[V]) const {
    if constexpr (V == 1) {
      base[slot * threads + tid] = v[0];
    } else {
      float4* p = reinterpret_cast<float4*>(base) + slot * (V / 4) * threads + tid;
      KILN_FUSED_UNROLL
      for (int h = 0; h < V / 4; ++h) {
        p[h * threads] = make_float4(v[4 * h], v[4 * h + 1], v[4 * h + 2], v[4 * h + 3]);
      }
    }
  }
};

template <int V>
KILN_HOST_DEVICE void copy(const float (&from)[V], float (&to)[V]) {
  KILN_FUSED_UNROLL
  for (int k = 0; k < V; ++k) to[k] = from[k];
}

// Operand r of an instruction: the previous result (acc), a constant or a slot.
template <int V>
KILN_HOST_DEVICE void operand(const FusedSlots<V>& slots, const float (&acc)[V], int r,
                              const FusedSlotCode& code, float (&o)[V]) {
  if (r >= 0) {
    slots.load(r, o);
  } else if (r == kFusedPrevious) {
    copy(acc, o);
  } else {
    const float c = code.constants[-r - 1];
    KILN_FUSED_UNROLL
    for (int k = 0; k < V; ++k) o[k] = c;
  }
}
static_assert(kFusedPrevious < -kFusedMaxConstants, "kFusedPrevious must not be a constant");

// ---- input reads: phase 1 loads the item's elements of an input as raw bytes (every input's
// loads are issued before any is used), phase 2 converts them to floats.

// kSize-byte element bits of p placed at element k of raw (k * kSize < 16).
template <int kSize>
KILN_HOST_DEVICE void put_element(uint4& raw, int k, const char* p) {
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
KILN_HOST_DEVICE uint4 load_vector(const char* p) {
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
KILN_HOST_DEVICE uint4 read_input_sized(const char* p, FusedAccess a, Index base,
                                        const Index (&off)[V], Index e0, Index n, bool whole) {
  // Elements that fit in raw (all V where the host reads more than one).
  constexpr int kFit = V < 16 / kSize ? V : 16 / kSize;
  uint4 raw = make_uint4(0, 0, 0, 0);
  if (a == FusedAccess::kGather) {
    KILN_FUSED_UNROLL
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
  KILN_FUSED_UNROLL
  for (int k = 0; k < kFit; ++k) {
    if (e0 + static_cast<Index>(k) < n) put_element<kSize>(raw, k, q + k * kSize);
  }
  return raw;
}

// kSameSize: every input's element has kSameSize bytes (0: any, dispatched per input).
template <int V, int kSameSize, typename Index>
KILN_HOST_DEVICE uint4 read_input(const FusedInputPointers& in, const FusedInputPlan& plan,
                                  const FusedLayout<Index>& l, int i, Index e0, Index n,
                                  bool whole) {
  const char* p = static_cast<const char*>(in.ptr[i]);
  const FusedAccess a = plan.access[i];
  // Offsets first, outside the switch on the element size (one copy of the index math).
  Index base = 0;
  Index off[V];
  if (a == FusedAccess::kGather) {
    KILN_FUSED_UNROLL
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
KILN_HOST_DEVICE void with_input_type(DataType dt, F&& f) {
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
KILN_HOST_DEVICE float as_float(In v) {
  if constexpr (std::is_same_v<In, float> || std::is_same_v<In, __half> ||
                std::is_same_v<In, __nv_bfloat16>) {
    return fused_to_float(v);
  } else {
    return static_cast<float>(v);  // integers round to nearest, as the CPU reference's cast
  }
}

// Element k (k * sizeof(In) < 16) of the In values packed in raw.
template <typename In>
KILN_HOST_DEVICE float raw_element(const uint4& raw, int k) {
  In v;
  memcpy(&v, reinterpret_cast<const char*>(&raw) + k * sizeof(In), sizeof(In));
  return as_float(v);
}

// Phase 2: the V floats of an input from its raw bytes (element 0 for all if `broadcast`).
// Same: every input has the dtype Same (void: any, dispatched per input).
template <int V, typename Same>
KILN_HOST_DEVICE void convert_input(DataType dt, bool broadcast, const uint4& raw, float (&v)[V]) {
  auto convert = [&](auto tag) {
    using In = typename decltype(tag)::type;
    constexpr int kFit = V < 16 / sizeof(In) ? V : 16 / sizeof(In);
    KILN_FUSED_UNROLL
    for (int k = 0; k < kFit; ++k) v[k] = raw_element<In>(raw, k);
  };
  if constexpr (std::is_void_v<Same>) {
    with_input_type(dt, convert);
  } else {
    convert(Tag<Same>{});
  }
  if (broadcast) {
    KILN_FUSED_UNROLL
    for (int k = 1; k < V; ++k) v[k] = v[0];
  }
}

// ---- one item

// Processes item `item` (elements item * V ...) of the output: T, Index, V, kSame, kInputs as
// the kernel's (cuda.cu); `slots` this thread's slot storage; eval(kind, sub, acc, b, c)
// computes acc[k] = op(acc[k], b[k], c[k]) for the instruction (b, c read only where the kind
// has them). The host guarantees plan.count <= kInputs and V * element size <= 16 for every
// input not read as kBroadcast.
template <typename T, typename Index, int V, bool kSame, int kInputs, typename Eval>
KILN_HOST_DEVICE void fused_process_item(T* out, Index n, bool out_vector,
                                         const FusedLayout<Index>& l, const FusedInputPlan& plan,
                                         const FusedInputPointers& in, const FusedSlotCode& code,
                                         const FusedSlots<V>& slots, const Eval& eval, Index item) {
  using Same = std::conditional_t<kSame, T, void>;
  constexpr int kSameSize = kSame ? static_cast<int>(sizeof(T)) : 0;
  const Index e0 = item * V;
  const bool whole = n - e0 >= static_cast<Index>(V);
  uint4 raw[kInputs];
  KILN_FUSED_UNROLL
  for (int i = 0; i < kInputs; ++i) {
    if (i < plan.count) raw[i] = read_input<V, kSameSize>(in, plan, l, i, e0, n, whole);
  }
  KILN_FUSED_UNROLL
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
    eval(kind, code.sub[k], acc, b, c);
    if (code.dst[k] >= 0) slots.store(code.dst[k], acc);
  }
  if (out_vector && whole) {
    cuda::AlignedVector<T, V> o;
    KILN_FUSED_UNROLL
    for (int k = 0; k < V; ++k) o.val[k] = fused_from_float<T>(acc[k]);
    *reinterpret_cast<cuda::AlignedVector<T, V>*>(out + e0) = o;
  } else {
    KILN_FUSED_UNROLL
    for (int k = 0; k < V; ++k) {
      if (e0 + static_cast<Index>(k) < n) out[e0 + k] = fused_from_float<T>(acc[k]);
    }
  }
}

}  // namespace kiln::ops
