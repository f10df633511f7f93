// CUDA tactics of TopK, one block per slice (the axis' n elements at stride `inner`):
//   select   k <= 64: k rounds of a block-wide arg-best over the slice, each round taking the
//            best element that ranks strictly after the previous pick (ranking is a strict total
//            order, so no state beyond the previous pick is needed); any n
//   bitonic  n <= 2048: the slice's (key, index) pairs sorted in shared memory by a bitonic
//            network, the first k written; any k
// Both rank like the reference: by value (NaN above every number), ties by lower index; results
// are always sorted (valid for sorted=0 too). Keys compare as float for float dtypes and as int64
// for integers. Indices are int64.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/reduce/block_reduce.cuh"
#include "ops/topk/topk.h"

#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int64_t kSelectMaxK = 64;
constexpr int kBitonicMaxN = 2048;

template <typename T>
using Key = std::conditional_t<std::is_integral_v<T>, int64_t, float>;

template <typename T>
__device__ __forceinline__ Key<T> key_of(T v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<int64_t>(v);
  } else {
    return cuda::to_float(v);
  }
}

template <typename K>
__device__ __forceinline__ bool is_nan(K v) {
  if constexpr (std::is_same_v<K, float>) {
    return v != v;
  } else {
    return false;
  }
}

// Whether (a, ia) ranks before (b, ib): by value (NaN above all numbers), then lower index.
template <typename K>
__device__ __forceinline__ bool better(bool largest, K a, int64_t ia, K b, int64_t ib) {
  const bool na = is_nan(a), nb = is_nan(b);
  if (na || nb) {
    if (na && nb) return ia < ib;
    return largest ? na : nb;
  }
  if (a != b) return largest ? a > b : a < b;
  return ia < ib;
}

struct Geometry {
  int64_t outer = 1, n = 1, inner = 1, k = 0;
};

// ---- select ----

template <typename T>
__global__ void topk_select(const T* x, T* vals, int64_t* inds, Geometry g, bool largest) {
  using K = Key<T>;
  __shared__ K warp_key[32];
  __shared__ int64_t warp_idx[32];
  __shared__ K pick_key;
  __shared__ int64_t pick_idx;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warps = static_cast<int>(blockDim.x >> 5);
  const int64_t slices = g.outer * g.inner;
  for (int64_t sl = blockIdx.x; sl < slices; sl += gridDim.x) {  // uniform per block
    const int64_t o = sl / g.inner, i = sl % g.inner;
    const T* xs = x + o * g.n * g.inner + i;
    K prev_key = K{};
    int64_t prev_idx = -1;  // none yet
    for (int64_t j = 0; j < g.k; ++j) {
      K best_key = K{};
      int64_t best_idx = -1;
      for (int64_t a = threadIdx.x; a < g.n; a += blockDim.x) {
        const K v = key_of(xs[a * g.inner]);
        if (prev_idx >= 0 && !better(largest, prev_key, prev_idx, v, a)) continue;
        if (best_idx < 0 || better(largest, v, a, best_key, best_idx)) {
          best_key = v;
          best_idx = a;
        }
      }
      // Warp, then block arg-best (index -1 = none).
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) {
        const K ok = cuda::shfl_xor(best_key, off);
        const int64_t oi = cuda::shfl_xor(best_idx, off);
        if (oi >= 0 && (best_idx < 0 || better(largest, ok, oi, best_key, best_idx))) {
          best_key = ok;
          best_idx = oi;
        }
      }
      if (lane == 0) {
        warp_key[warp] = best_key;
        warp_idx[warp] = best_idx;
      }
      __syncthreads();
      if (warp == 0) {
        best_key = lane < warps ? warp_key[lane] : K{};
        best_idx = lane < warps ? warp_idx[lane] : -1;
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) {
          const K ok = cuda::shfl_xor(best_key, off);
          const int64_t oi = cuda::shfl_xor(best_idx, off);
          if (oi >= 0 && (best_idx < 0 || better(largest, ok, oi, best_key, best_idx))) {
            best_key = ok;
            best_idx = oi;
          }
        }
        if (lane == 0) {
          pick_key = best_key;
          pick_idx = best_idx;
          const int64_t out = (o * g.k + j) * g.inner + i;
          vals[out] = xs[best_idx * g.inner];  // k <= n, so a pick always exists
          inds[out] = best_idx;
        }
      }
      __syncthreads();
      prev_key = pick_key;
      prev_idx = pick_idx;
      __syncthreads();  // pick_* is rewritten in the next round
    }
  }
}

// ---- bitonic ----

constexpr int kSentinel = 0x7fffffff;  // padding index: ranks after everything

template <typename T>
__global__ void topk_bitonic(const T* x, T* vals, int64_t* inds, Geometry g, int padded,
                             bool largest) {
  using K = Key<T>;
  __shared__ K keys[kBitonicMaxN];
  __shared__ int idx[kBitonicMaxN];
  const int64_t slices = g.outer * g.inner;
  auto before = [&](int a, int b) {  // slot a ranks before slot b
    if (idx[a] == kSentinel) return false;
    if (idx[b] == kSentinel) return true;
    return better(largest, keys[a], static_cast<int64_t>(idx[a]), keys[b],
                  static_cast<int64_t>(idx[b]));
  };
  for (int64_t sl = blockIdx.x; sl < slices; sl += gridDim.x) {  // uniform per block
    const int64_t o = sl / g.inner, i = sl % g.inner;
    const T* xs = x + o * g.n * g.inner + i;
    for (int a = threadIdx.x; a < padded; a += blockDim.x) {
      if (a < g.n) {
        keys[a] = key_of(xs[a * g.inner]);
        idx[a] = a;
      } else {
        keys[a] = K{};
        idx[a] = kSentinel;
      }
    }
    __syncthreads();
    for (int size = 2; size <= padded; size <<= 1) {
      for (int stride = size >> 1; stride > 0; stride >>= 1) {
        for (int t = threadIdx.x; t < padded / 2; t += blockDim.x) {
          const int a = 2 * t - (t & (stride - 1));
          const int b = a + stride;
          const bool ascending = (a & size) == 0;  // best first
          if (ascending ? before(b, a) : before(a, b)) {
            const K tk = keys[a];
            keys[a] = keys[b];
            keys[b] = tk;
            const int ti = idx[a];
            idx[a] = idx[b];
            idx[b] = ti;
          }
        }
        __syncthreads();
      }
    }
    for (int64_t j = threadIdx.x; j < g.k; j += blockDim.x) {
      const int64_t out = (o * g.k + j) * g.inner + i;
      vals[out] = xs[static_cast<int64_t>(idx[j]) * g.inner];
      inds[out] = idx[j];
    }
    __syncthreads();  // the shared arrays are reloaded for the next slice
  }
}

enum class Kind { kSelect, kBitonic };

template <typename H>
Status launch(Kind kind, const Geometry& g, const void* xv, void* vv, int64_t* inds, bool largest,
              int sms, cudaStream_t s) {
  using T = typename cuda::DeviceElement<H>::type;
  const T* x = static_cast<const T*>(xv);
  T* vals = static_cast<T*>(vv);
  const int64_t slices = g.outer * g.inner;
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>(slices, static_cast<int64_t>(sms) * 32));
  if (kind == Kind::kSelect) {
    if (g.k > kSelectMaxK) {
      return unsupported("TopK select kernel: k " + std::to_string(g.k) + " is above " +
                         std::to_string(kSelectMaxK));
    }
    const int threads = cuda::block_threads_for(g.n, 512);
    topk_select<T><<<blocks, threads, 0, s>>>(x, vals, inds, g, largest);
    return cuda::check_launch("topk_select");
  }
  if (g.n > kBitonicMaxN) {
    return unsupported("TopK bitonic kernel: axis extent " + std::to_string(g.n) + " is above " +
                       std::to_string(kBitonicMaxN));
  }
  int padded = 2;
  while (padded < g.n) padded <<= 1;
  const int threads = std::max(32, std::min(padded / 2, 1024));
  topk_bitonic<T><<<blocks, threads, 0, s>>>(x, vals, inds, g, padded, largest);
  return cuda::check_launch("topk_bitonic");
}

class TopKCudaKernel final : public Kernel {
 public:
  TopKCudaKernel(Kind kind, int axis, bool largest, int sms)
      : kind_(kind), axis_(axis), largest_(largest), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    Geometry g;
    for (int i = 0; i < x.shape.rank(); ++i) {
      if (i < axis_) {
        g.outer *= x.shape[i];
      } else if (i == axis_) {
        g.n = x.shape[i];
      } else {
        g.inner *= x.shape[i];
      }
    }
    g.k = args.outputs[0].shape[axis_];
    if (g.k < 0 || g.k > g.n) {
      return out_of_range("TopK: k " + std::to_string(g.k) + " is outside [0, " +
                          std::to_string(g.n) + "] (the extent of axis " + std::to_string(axis_) +
                          ")");
    }
    if (g.k == 0 || args.outputs[0].numel() == 0) return Status::ok();
    auto s = static_cast<cudaStream_t>(args.stream);
    void* v = args.outputs[0].data;
    int64_t* inds = args.outputs[1].as<int64_t>();
    switch (x.dtype) {
      case DataType::kFloat32:
        return launch<float>(kind_, g, x.data, v, inds, largest_, sms_, s);
      case DataType::kFloat16:
        return launch<Half>(kind_, g, x.data, v, inds, largest_, sms_, s);
      case DataType::kBFloat16:
        return launch<BFloat16>(kind_, g, x.data, v, inds, largest_, sms_, s);
      case DataType::kInt8:
        return launch<int8_t>(kind_, g, x.data, v, inds, largest_, sms_, s);
      case DataType::kUInt8:
        return launch<uint8_t>(kind_, g, x.data, v, inds, largest_, sms_, s);
      case DataType::kInt32:
        return launch<int32_t>(kind_, g, x.data, v, inds, largest_, sms_, s);
      case DataType::kInt64:
        return launch<int64_t>(kind_, g, x.data, v, inds, largest_, sms_, s);
      default:
        return unsupported("TopK CUDA kernel: dtype " + std::string(dtype_name(x.dtype)));
    }
  }

 private:
  Kind kind_;
  int axis_;
  bool largest_;
  int sms_;
};

// The axis, or -1 when the node is not one these kernels handle.
int supported_axis(const KernelInfo& info) {
  if (info.input_dtype(0) == DataType::kBool) return -1;
  if (info.has_input(1) && info.input_dtype(1) != DataType::kInt64) return -1;
  if (info.node->outputs.size() != 2) return -1;
  const int64_t rank = static_cast<int64_t>(info.input(0).shape.size());
  int64_t axis = info.attrs().get_int("axis", -1);
  if (!normalize_axis(&axis, rank, "axis").is_ok()) return -1;
  return static_cast<int>(axis);
}

// Largest value of dim `d` of input/output `which` over the profile's min, opt and max shapes.
int64_t largest_extent(const KernelInfo& info, bool output, int d) {
  int64_t e = 0;
  for (const NodeShapes* s : {&info.min, &info.opt, &info.max}) {
    const std::vector<Dims>& v = output ? s->outputs : s->inputs;
    if (v.empty() || v[0].rank() <= d) return -1;
    e = std::max(e, v[0][d]);
  }
  return e;
}

bool supports_select(const KernelInfo& info) {
  const int axis = supported_axis(info);
  if (axis < 0) return false;
  const int64_t k = largest_extent(info, true, axis);
  return k >= 0 && k <= kSelectMaxK;
}

bool supports_bitonic(const KernelInfo& info) {
  const int axis = supported_axis(info);
  if (axis < 0) return false;
  const int64_t n = largest_extent(info, false, axis);
  return n >= 0 && n <= kBitonicMaxN;
}

Result<std::unique_ptr<Kernel>> create_kind(const KernelInfo& info, Kind kind) {
  const int axis = supported_axis(info);
  if (axis < 0) return invalid_argument("TopK CUDA kernel: unsupported node");
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new TopKCudaKernel(kind, axis, info.attrs().get_int("largest", 1) != 0, sms));
}
Result<std::unique_ptr<Kernel>> create_select(const KernelInfo& info) {
  return create_kind(info, Kind::kSelect);
}
Result<std::unique_ptr<Kernel>> create_bitonic(const KernelInfo& info) {
  return create_kind(info, Kind::kBitonic);
}

const TacticDef kCudaTactics[] = {
    {"select", TacticSource::kKilnCuda, kNumericDtypes, supports_select, create_select},
    {"bitonic", TacticSource::kKilnCuda, kNumericDtypes, supports_bitonic, create_bitonic},
};

}  // namespace

std::span<const TacticDef> topk_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
