// CUDA tactics of Pooling (max / average / lp; global; ceil mode, dilations,
// count_include_pad):
//   window_2d  2-D windows: one thread per output, clipped tap loops over the two spatial dims
//   window_nd  any number of spatial dims (global too: a window over the whole input): one
//              thread per output decoding its window taps like the reference
//   global     global pooling: one block per (n, c) plane with a block reduction
// and for channels_last (NHWC) inputs:
//   nhwc_2d    2-D windows: one thread per output, consecutive threads on consecutive channels
//              (coalesced loads); every pooling type, ceil mode, dilations, int8 / uint8 max
//   nhwc_global global pooling over [N, S, C]: blocks of 32 channels x 8 lanes of S, the lanes
//              summed through shared memory
//   cudnn_nhwc (TacticSource::kCudnn) cudnnPoolingForward on NHWC descriptors: 2-D max or
//              average (either padding count), symmetric pads, no dilation, no ceil mode;
//              float32 / float16
// Output extents come from the output shape (ceil mode is decided by shape inference). A window
// with no tap inside the input gives the lowest value (max) or 0 (average, lp). Max also runs on
// int8 / uint8, comparing integers.
#include "backends/cuda/handles.h"
#include "backends/cuda/kernel_utils.cuh"
#include "ops/pooling/pooling.h"
#include "ops/reduce/block_reduce.cuh"

#include <cudnn_ops.h>

#include <climits>
#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int kMaxSpatial = Dims::kMaxDims - 2;

// Concrete window geometry of one run (global pooling: a window over the whole input).
struct Geometry {
  int64_t planes = 0;
  int spatial = 0;
  int64_t in[kMaxSpatial] = {}, out[kMaxSpatial] = {}, k[kMaxSpatial] = {}, s[kMaxSpatial] = {},
          pb[kMaxSpatial] = {}, pe[kMaxSpatial] = {}, d[kMaxSpatial] = {};
  int64_t in_size = 1, out_size = 1, k_size = 1;
  bool is_max = true, count_include_pad = false;
  bool is_lp = false;  // lp pooling: sum of |x|^p, then ^(1/p)
  int p = 2;
};

// Lp pooling's per-tap term and final value (as the CPU kernels: p = 1 and 2 exact).
__device__ __forceinline__ float lp_term(const Geometry& g, float v) {
  v = fabsf(v);
  return g.p == 1 ? v : g.p == 2 ? v * v : powf(v, static_cast<float>(g.p));
}
__device__ __forceinline__ float lp_finish(const Geometry& g, float sum) {
  return g.p == 1 ? sum : g.p == 2 ? sqrtf(sum) : powf(sum, 1.f / static_cast<float>(g.p));
}

Geometry make_geometry(const PoolParams& p, const Dims& x, const Dims& y) {
  Geometry g;
  g.spatial = p.spatial;
  g.planes = x[0] * x[channel_dim(p.channels_last, x.rank())];
  g.is_max = p.is_max;
  g.count_include_pad = p.count_include_pad;
  g.is_lp = p.is_lp;
  g.p = static_cast<int>(p.p);
  for (int i = 0; i < p.spatial; ++i) {
    g.in[i] = x[spatial_dim(p.channels_last, i)];
    g.out[i] = y[spatial_dim(p.channels_last, i)];
    if (p.global) {
      g.k[i] = g.in[i];
      g.s[i] = 1;
      g.d[i] = 1;
    } else {
      g.k[i] = p.kernel[i];
      g.s[i] = p.strides[i];
      g.pb[i] = p.pads[i];
      g.pe[i] = p.pads[p.spatial + i];
      g.d[i] = p.dilations[i];
    }
    g.in_size *= g.in[i];
    g.out_size *= g.out[i];
    g.k_size *= g.k[i];
  }
  return g;
}

// Accumulation: float for float types, int for int8 / uint8 (max only).
template <typename T>
using Acc = std::conditional_t<std::is_integral_v<T>, int, float>;

template <typename T>
__device__ __forceinline__ Acc<T> load(T v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<int>(v);
  } else {
    return cuda::to_float(v);
  }
}

template <typename T>
__device__ __forceinline__ Acc<T> lowest() {
  if constexpr (std::is_same_v<T, int8_t>) {
    return -128;
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    return 0;
  } else {
    return -INFINITY;
  }
}

template <typename T>
__device__ __forceinline__ T finish(const Geometry& g, Acc<T> best, float sum, int64_t count) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(best);  // max only
  } else {
    if (g.is_max) return cuda::from_float<T>(best);
    if (g.is_lp) return cuda::from_float<T>(lp_finish(g, sum));
    return cuda::from_float<T>(count > 0 ? sum / static_cast<float>(count) : 0.f);
  }
}

// Taps of one spatial dim starting at `start`: those inside the input are [*lo, *hi); `count`
// taps count for the average (inside the input, or inside the padded input).
__device__ __forceinline__ void tap_range(int64_t start, int64_t k, int64_t dil, int64_t extent,
                                          int64_t pb, int64_t pe, bool include_pad, int64_t* lo,
                                          int64_t* hi, int64_t* count) {
  // pos = start + t * dil; inside the input: 0 <= pos < extent.
  // (Divisions by dil only where dil > 1: 64-bit divisions are slow.)
  int64_t l = start >= 0 ? 0 : (dil == 1 ? -start : (-start + dil - 1) / dil);
  int64_t h =
      extent - 1 - start < 0 ? 0 : (dil == 1 ? extent - 1 - start : (extent - 1 - start) / dil) + 1;
  l = min(l, k);
  h = max(min(h, k), l);
  *lo = l;
  *hi = h;
  if (!include_pad) {
    *count = h - l;
    return;
  }
  int64_t lp = start >= -pb ? 0 : (dil == 1 ? -pb - start : (-pb - start + dil - 1) / dil);
  int64_t hp = extent + pe - 1 - start < 0
                   ? 0
                   : (dil == 1 ? extent + pe - 1 - start : (extent + pe - 1 - start) / dil) + 1;
  lp = min(lp, k);
  hp = max(min(hp, k), lp);
  *count = hp - lp;
}

// blockIdx.x tiles an output plane, blockIdx.y walks the (n, c) planes.
template <typename T>
__global__ void pool_window_2d(const T* x, T* y, Geometry g) {
  const int64_t OW = g.out[1], H = g.in[0], W = g.in[1];
  for (int64_t sp = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; sp < g.out_size;
       sp += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t oh = sp / OW, ow = sp - oh * OW;
    const int64_t h0 = oh * g.s[0] - g.pb[0], w0 = ow * g.s[1] - g.pb[1];
    int64_t hlo, hhi, hcount, wlo, whi, wcount;
    tap_range(h0, g.k[0], g.d[0], H, g.pb[0], g.pe[0], g.count_include_pad, &hlo, &hhi, &hcount);
    tap_range(w0, g.k[1], g.d[1], W, g.pb[1], g.pe[1], g.count_include_pad, &wlo, &whi, &wcount);
    for (int64_t plane = blockIdx.y; plane < g.planes; plane += gridDim.y) {
      const T* xp = x + plane * H * W;
      Acc<T> best = lowest<T>();
      float sum = 0.f;
      for (int64_t kh = hlo; kh < hhi; ++kh) {
        const T* row = xp + (h0 + kh * g.d[0]) * W + w0;
        for (int64_t kw = wlo; kw < whi; ++kw) {
          const Acc<T> v = load(row[kw * g.d[1]]);
          if (g.is_max) {
            if (v > best) best = v;
          } else {
            sum += g.is_lp ? lp_term(g, static_cast<float>(v)) : static_cast<float>(v);
          }
        }
      }
      y[plane * g.out_size + sp] = finish<T>(g, best, sum, hcount * wcount);
    }
  }
}

template <typename T>
__global__ void pool_window_nd(const T* x, T* y, Geometry g) {
  const int64_t total = g.planes * g.out_size;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int s = g.spatial;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < total;
       q += step) {
    const int64_t plane = q / g.out_size;
    int64_t start[kMaxSpatial];
    int64_t count = 1;
    int64_t rest = q % g.out_size;
    for (int d = s - 1; d >= 0; --d) {
      const int64_t o = rest % g.out[d];
      rest /= g.out[d];
      start[d] = o * g.s[d] - g.pb[d];
      int64_t lo, hi, c;
      tap_range(start[d], g.k[d], g.d[d], g.in[d], g.pb[d], g.pe[d], g.count_include_pad, &lo, &hi,
                &c);
      count *= c;
    }
    const T* xp = x + plane * g.in_size;
    Acc<T> best = lowest<T>();
    float sum = 0.f;
    for (int64_t t = 0; t < g.k_size; ++t) {
      int64_t idx = 0;
      bool inside = true;
      int64_t rt = t, mul = 1;
      for (int d = s - 1; d >= 0; --d) {
        const int64_t kd = rt % g.k[d];
        rt /= g.k[d];
        const int64_t pos = start[d] + kd * g.d[d];
        if (pos < 0 || pos >= g.in[d]) {
          inside = false;
          break;
        }
        idx += pos * mul;
        mul *= g.in[d];
      }
      if (!inside) continue;
      const Acc<T> v = load(xp[idx]);
      if (g.is_max) {
        if (v > best) best = v;
      } else {
        sum += g.is_lp ? lp_term(g, static_cast<float>(v)) : static_cast<float>(v);
      }
    }
    y[q] = finish<T>(g, best, sum, count);
  }
}

template <typename T>
struct MaxAcc {
  __device__ __forceinline__ Acc<T> operator()(Acc<T> a, Acc<T> b) const { return a > b ? a : b; }
};

// One block per plane: max or mean over the plane's in_size elements.
template <typename T>
__global__ void pool_global(const T* x, T* y, int64_t planes, int64_t n, Geometry g) {
  const bool is_max = g.is_max;
  __shared__ Acc<T> scratch_max[32];
  __shared__ float scratch_sum[32];
  for (int64_t p = blockIdx.x; p < planes; p += gridDim.x) {  // uniform per block
    const T* xp = x + p * n;
    Acc<T> best = lowest<T>();
    float sum = 0.f;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const Acc<T> v = load(xp[j]);
      if (v > best) best = v;
      sum += g.is_lp ? lp_term(g, static_cast<float>(v)) : static_cast<float>(v);
    }
    if (is_max) {
      best = cuda::block_all_reduce(best, MaxAcc<T>{}, lowest<T>(), scratch_max);
    } else {
      sum = cuda::block_all_reduce(sum, cuda::SumOp{}, 0.f, scratch_sum);
    }
    if (threadIdx.x == 0) {
      if constexpr (std::is_integral_v<T>) {
        y[p] = static_cast<T>(best);
      } else {
        y[p] = cuda::from_float<T>(is_max    ? best
                                   : g.is_lp ? lp_finish(g, sum)
                                             : (n > 0 ? sum / static_cast<float>(n) : 0.f));
      }
    }
  }
}

// Channels-last 2-D windows: output q = ((n * OH + oh) * OW + ow) * C + c.
template <typename T>
__global__ void pool_nhwc_2d(const T* x, T* y, Geometry g, int64_t n_batch, int64_t C) {
  const int64_t OH = g.out[0], OW = g.out[1], H = g.in[0], W = g.in[1];
  const int64_t total = n_batch * OH * OW * C;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < total;
       q += step) {
    const int64_t c = q % C;
    int64_t r = q / C;
    const int64_t ow = r % OW;
    r /= OW;
    const int64_t oh = r % OH;
    const int64_t n = r / OH;
    const int64_t h0 = oh * g.s[0] - g.pb[0], w0 = ow * g.s[1] - g.pb[1];
    int64_t hlo, hhi, hcount, wlo, whi, wcount;
    tap_range(h0, g.k[0], g.d[0], H, g.pb[0], g.pe[0], g.count_include_pad, &hlo, &hhi, &hcount);
    tap_range(w0, g.k[1], g.d[1], W, g.pb[1], g.pe[1], g.count_include_pad, &wlo, &whi, &wcount);
    const T* xn = x + n * H * W * C + c;
    Acc<T> best = lowest<T>();
    float sum = 0.f;
    for (int64_t kh = hlo; kh < hhi; ++kh) {
      const T* row = xn + ((h0 + kh * g.d[0]) * W + w0) * C;
      for (int64_t kw = wlo; kw < whi; ++kw) {
        const Acc<T> v = load(row[kw * g.d[1] * C]);
        if (g.is_max) {
          if (v > best) best = v;
        } else {
          sum += g.is_lp ? lp_term(g, static_cast<float>(v)) : static_cast<float>(v);
        }
      }
    }
    y[q] = finish<T>(g, best, sum, hcount * wcount);
  }
}

constexpr int kNhwcChannels = 32;  // channels per block of pool_nhwc_global
constexpr int kNhwcLanes = 8;      // lanes over the spatial positions

// Channels-last global pooling over X [N, S, C]: blockIdx.x picks 32 channels, blockIdx.y walks
// the batch; lane ty of a block accumulates positions ty, ty + 8, ...
template <typename T>
__global__ void pool_nhwc_global(const T* x, T* y, Geometry g, int64_t n_batch, int64_t C) {
  __shared__ Acc<T> best_s[kNhwcLanes][kNhwcChannels];
  __shared__ float sum_s[kNhwcLanes][kNhwcChannels];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kNhwcChannels + tx;
  const int64_t S = g.in_size;
  for (int64_t n = blockIdx.y; n < n_batch; n += gridDim.y) {  // uniform per block
    Acc<T> best = lowest<T>();
    float sum = 0.f;
    if (c < C) {
      const T* xn = x + n * S * C + c;
      for (int64_t s = ty; s < S; s += kNhwcLanes) {
        const Acc<T> v = load(xn[s * C]);
        if (v > best) best = v;
        sum += g.is_lp ? lp_term(g, static_cast<float>(v)) : static_cast<float>(v);
      }
    }
    best_s[ty][tx] = best;
    sum_s[ty][tx] = sum;
    __syncthreads();
    if (ty == 0 && c < C) {
      for (int l = 1; l < kNhwcLanes; ++l) {
        if (best_s[l][tx] > best) best = best_s[l][tx];
        sum += sum_s[l][tx];
      }
      if constexpr (std::is_integral_v<T>) {
        y[n * C + c] = static_cast<T>(best);
      } else {
        y[n * C + c] = cuda::from_float<T>(g.is_max  ? best
                                           : g.is_lp ? lp_finish(g, sum)
                                                     : (S > 0 ? sum / static_cast<float>(S) : 0.f));
      }
    }
    __syncthreads();  // the shared arrays are reused by the next n
  }
}

enum class Kind { kWindow2d, kWindowNd, kGlobal, kNhwc2d, kNhwcGlobal };

template <typename H>
Status launch(Kind kind, const Geometry& g, const void* xv, void* yv, int64_t n_batch, int64_t C,
              int sms, cudaStream_t s) {
  using T = typename cuda::DeviceElement<H>::type;
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  const int64_t total = g.planes * g.out_size;
  switch (kind) {
    case Kind::kWindow2d: {
      constexpr int kThreads = cuda::kElementwiseThreads;
      const dim3 grid(
          static_cast<unsigned>(std::min<int64_t>((g.out_size + kThreads - 1) / kThreads, 1 << 30)),
          static_cast<unsigned>(std::min<int64_t>(g.planes, 65535)));
      pool_window_2d<T><<<grid, kThreads, 0, s>>>(x, y, g);
      return cuda::check_launch("pool_window_2d");
    }
    case Kind::kWindowNd:
      pool_window_nd<T><<<cuda::grid_size(total, sms), cuda::kElementwiseThreads, 0, s>>>(x, y, g);
      return cuda::check_launch("pool_window_nd");
    case Kind::kGlobal: {
      const int threads = cuda::block_threads_for(g.in_size / 4, 512);
      const int64_t blocks = std::min<int64_t>(g.planes, static_cast<int64_t>(sms) * 32);
      pool_global<T>
          <<<static_cast<unsigned>(blocks), threads, 0, s>>>(x, y, g.planes, g.in_size, g);
      return cuda::check_launch("pool_global");
    }
    case Kind::kNhwc2d:
      pool_nhwc_2d<T>
          <<<cuda::grid_size(total, sms), cuda::kElementwiseThreads, 0, s>>>(x, y, g, n_batch, C);
      return cuda::check_launch("pool_nhwc_2d");
    case Kind::kNhwcGlobal: {
      const dim3 block(kNhwcChannels, kNhwcLanes);
      const dim3 grid(static_cast<unsigned>((C + kNhwcChannels - 1) / kNhwcChannels),
                      static_cast<unsigned>(std::min<int64_t>(n_batch, 65535)));
      pool_nhwc_global<T><<<grid, block, 0, s>>>(x, y, g, n_batch, C);
      return cuda::check_launch("pool_nhwc_global");
    }
  }
  return internal_error("Pooling CUDA kernel: unknown kind");
}

class PoolingCudaKernel final : public Kernel {
 public:
  PoolingCudaKernel(PoolParams p, Kind kind, int sms) : p_(std::move(p)), kind_(kind), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    const Geometry g = make_geometry(p_, x.shape, y.shape);
    const int64_t nb = x.shape[0], C = x.shape[channel_dim(p_.channels_last, x.shape.rank())];
    if (p_.channels_last && C > static_cast<int64_t>(INT_MAX) * kNhwcChannels) {
      return unsupported("Pooling CUDA kernel: too many channels");
    }
    auto s = static_cast<cudaStream_t>(args.stream);
    switch (x.dtype) {
      case DataType::kFloat32:
        return launch<float>(kind_, g, x.data, y.data, nb, C, sms_, s);
      case DataType::kFloat16:
        return launch<Half>(kind_, g, x.data, y.data, nb, C, sms_, s);
      case DataType::kBFloat16:
        return launch<BFloat16>(kind_, g, x.data, y.data, nb, C, sms_, s);
      case DataType::kInt8:
        if (p_.is_max) return launch<int8_t>(kind_, g, x.data, y.data, nb, C, sms_, s);
        break;
      case DataType::kUInt8:
        if (p_.is_max) return launch<uint8_t>(kind_, g, x.data, y.data, nb, C, sms_, s);
        break;
      default:
        break;
    }
    return unsupported("Pooling CUDA kernel: dtype " + std::string(dtype_name(x.dtype)) +
                       (p_.is_max ? "" : " for average / lp pooling"));
  }

 private:
  PoolParams p_;
  Kind kind_;
  int sms_;
};

Result<PoolParams> params_of(const KernelInfo& info) {
  if (info.input(0).shape.size() < 3) return invalid_argument("X must have rank >= 3");
  return read_pool_params(info.attrs(), static_cast<int>(info.input(0).shape.size()) - 2);
}

bool supported_common(const KernelInfo& info, PoolParams* out) {
  if (info.num_inputs() != 1) return false;
  auto p = params_of(info);
  if (!p.is_ok() || p->spatial > kMaxSpatial) return false;
  const DataType dt = info.input_dtype(0);
  const bool float_type = is_floating(dt);
  const bool byte_type = dt == DataType::kInt8 || dt == DataType::kUInt8;
  if (!float_type && !(p->is_max && byte_type)) return false;
  *out = std::move(*p);
  return true;
}

bool supports_window_2d(const KernelInfo& info) {
  PoolParams p;
  return supported_common(info, &p) && !p.channels_last && !p.global && p.spatial == 2;
}
bool supports_window_nd(const KernelInfo& info) {
  PoolParams p;
  return supported_common(info, &p) && !p.channels_last;
}
bool supports_global(const KernelInfo& info) {
  PoolParams p;
  return supported_common(info, &p) && !p.channels_last && p.global;
}
bool supports_nhwc_2d(const KernelInfo& info) {
  PoolParams p;
  return supported_common(info, &p) && p.channels_last && !p.global && p.spatial == 2;
}
bool supports_nhwc_global(const KernelInfo& info) {
  PoolParams p;
  return supported_common(info, &p) && p.channels_last && p.global;
}

Result<std::unique_ptr<Kernel>> create_kind(const KernelInfo& info, Kind kind) {
  KILN_ASSIGN_OR_RETURN(PoolParams p, params_of(info));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new PoolingCudaKernel(std::move(p), kind, sms));
}
Result<std::unique_ptr<Kernel>> create_window_2d(const KernelInfo& info) {
  return create_kind(info, Kind::kWindow2d);
}
Result<std::unique_ptr<Kernel>> create_window_nd(const KernelInfo& info) {
  return create_kind(info, Kind::kWindowNd);
}
Result<std::unique_ptr<Kernel>> create_global(const KernelInfo& info) {
  return create_kind(info, Kind::kGlobal);
}
Result<std::unique_ptr<Kernel>> create_nhwc_2d(const KernelInfo& info) {
  return create_kind(info, Kind::kNhwc2d);
}
Result<std::unique_ptr<Kernel>> create_nhwc_global(const KernelInfo& info) {
  return create_kind(info, Kind::kNhwcGlobal);
}

// ---------------------------------------------------------------- cuDNN (channels-last)

using TensorDesc = cuda::UniqueCudaObject<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using PoolDesc = cuda::UniqueCudaObject<cudnnPoolingDescriptor_t, cudnnDestroyPoolingDescriptor>;

cudnnDataType_t cudnn_dtype(DataType t) {
  switch (t) {
    case DataType::kFloat16:
      return CUDNN_DATA_HALF;
    case DataType::kBFloat16:
      return CUDNN_DATA_BFLOAT16;
    default:
      return CUDNN_DATA_FLOAT;
  }
}

// What cuDNN's pooling computes exactly as the op does: 2-D max or average windows with
// symmetric pads, no dilation, no ceil mode (output extents agree), float32 / float16.
bool cudnn_pooling_ok(const PoolParams& p, DataType dt) {
  if (!p.channels_last || p.spatial != 2 || p.is_lp || p.ceil_mode) return false;
  if (dt != DataType::kFloat32 && dt != DataType::kFloat16) return false;
  if (p.global) return true;
  for (int d = 0; d < 2; ++d) {
    if (p.dilations[d] != 1 || p.pads[d] != p.pads[2 + d] || p.kernel[d] > INT_MAX ||
        p.strides[d] > INT_MAX || p.pads[d] > INT_MAX) {
      return false;
    }
  }
  return true;
}

struct CudnnPoolDescs {
  TensorDesc x, y;
  PoolDesc pool;
};

// Descriptors for channels-last X [N, H, W, C] and Y; unsupported() when cuDNN's output extents
// differ from ours or the extents exceed its 32-bit ints.
Result<CudnnPoolDescs> make_pool_descs(const PoolParams& p, DataType dt, const Dims& x,
                                       const Dims& y) {
  for (int i = 0; i < 4; ++i) {
    if (x[i] < 1 || x[i] > INT_MAX || y[i] < 1 || y[i] > INT_MAX) {
      return unsupported("Pooling cuDNN: extents " + x.to_string() + " / " + y.to_string());
    }
  }
  if (x.volume() > INT_MAX) return unsupported("Pooling cuDNN: X exceeds 2^31 elements");
  const int n = static_cast<int>(x[0]), h = static_cast<int>(x[1]), w = static_cast<int>(x[2]),
            c = static_cast<int>(x[3]);
  int win[2], pad[2] = {0, 0}, stride[2] = {1, 1};
  for (int d = 0; d < 2; ++d) {
    win[d] = p.global ? static_cast<int>(x[1 + d]) : static_cast<int>(p.kernel[d]);
    if (!p.global) {
      pad[d] = static_cast<int>(p.pads[d]);
      stride[d] = static_cast<int>(p.strides[d]);
    }
  }
  const cudnnPoolingMode_t mode = p.is_max ? CUDNN_POOLING_MAX
                                  : p.count_include_pad
                                      ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                      : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
  CudnnPoolDescs d;
  cudnnTensorDescriptor_t t;
  KILN_CUDA_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&t));
  d.x.reset(t);
  KILN_CUDA_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&t));
  d.y.reset(t);
  cudnnPoolingDescriptor_t pd;
  KILN_CUDA_RETURN_IF_ERROR(cudnnCreatePoolingDescriptor(&pd));
  d.pool.reset(pd);
  const cudnnDataType_t cdt = cudnn_dtype(dt);
  KILN_CUDA_RETURN_IF_ERROR(
      cudnnSetTensor4dDescriptor(d.x.get(), CUDNN_TENSOR_NHWC, cdt, n, c, h, w));
  KILN_CUDA_RETURN_IF_ERROR(cudnnSetTensor4dDescriptor(
      d.y.get(), CUDNN_TENSOR_NHWC, cdt, static_cast<int>(y[0]), static_cast<int>(y[3]),
      static_cast<int>(y[1]), static_cast<int>(y[2])));
  KILN_CUDA_RETURN_IF_ERROR(cudnnSetPooling2dDescriptor(d.pool.get(), mode, CUDNN_NOT_PROPAGATE_NAN,
                                                        win[0], win[1], pad[0], pad[1], stride[0],
                                                        stride[1]));
  int out[4];
  KILN_CUDA_RETURN_IF_ERROR(cudnnGetPooling2dForwardOutputDim(d.pool.get(), d.x.get(), &out[0],
                                                              &out[1], &out[2], &out[3]));
  if (out[0] != y[0] || out[1] != y[3] || out[2] != y[1] || out[3] != y[2]) {
    return unsupported("Pooling cuDNN: cuDNN's output extents differ from " + y.to_string());
  }
  return Result<CudnnPoolDescs>(std::move(d));
}

class CudnnPoolingKernel final : public Kernel {
 public:
  CudnnPoolingKernel(PoolParams p, DataType dt) : p_(std::move(p)), dt_(dt) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    KILN_ASSIGN_OR_RETURN(CudnnPoolDescs d, make_pool_descs(p_, dt_, x.shape, y.shape));
    KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cudnn());
    KILN_CUDA_RETURN_IF_ERROR(cudnnSetStream(lease.get(), static_cast<cudaStream_t>(args.stream)));
    const float alpha = 1.f, beta = 0.f;
    KILN_CUDA_RETURN_IF_ERROR(cudnnPoolingForward(lease.get(), d.pool.get(), &alpha, d.x.get(),
                                                  x.data, &beta, d.y.get(), y.data));
    return Status::ok();
  }

 private:
  PoolParams p_;
  DataType dt_;
};

bool supports_cudnn_nhwc(const KernelInfo& info) {
  PoolParams p;
  if (!supported_common(info, &p) || !cudnn_pooling_ok(p, info.input_dtype(0))) return false;
  for (const NodeShapes* s : {&info.min, &info.opt, &info.max}) {
    if (s->inputs.empty() || s->outputs.empty()) return false;
    if (s->outputs[0].volume() == 0) continue;  // nothing runs
    if (!make_pool_descs(p, info.input_dtype(0), s->inputs[0], s->outputs[0]).is_ok()) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_cudnn_nhwc(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(PoolParams p, params_of(info));
  return std::unique_ptr<Kernel>(new CudnnPoolingKernel(std::move(p), info.input_dtype(0)));
}

const TacticDef kCudaTactics[] = {
    {"window_2d", TacticSource::kKilnCuda,
     kFloatDtypes | DtypeSet{DataType::kInt8, DataType::kUInt8}, supports_window_2d,
     create_window_2d},
    {"window_nd", TacticSource::kKilnCuda,
     kFloatDtypes | DtypeSet{DataType::kInt8, DataType::kUInt8}, supports_window_nd,
     create_window_nd},
    {"global", TacticSource::kKilnCuda, kFloatDtypes | DtypeSet{DataType::kInt8, DataType::kUInt8},
     supports_global, create_global},
    {"nhwc_2d", TacticSource::kKilnCuda, kFloatDtypes | DtypeSet{DataType::kInt8, DataType::kUInt8},
     supports_nhwc_2d, create_nhwc_2d},
    {"nhwc_global", TacticSource::kKilnCuda,
     kFloatDtypes | DtypeSet{DataType::kInt8, DataType::kUInt8}, supports_nhwc_global,
     create_nhwc_global},
    {"cudnn_nhwc", TacticSource::kCudnn, DtypeSet{DataType::kFloat32, DataType::kFloat16},
     supports_cudnn_nhwc, create_cudnn_nhwc},
};

}  // namespace

std::span<const TacticDef> pooling_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
