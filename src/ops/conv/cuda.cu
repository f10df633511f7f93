// CUDA tactics of Conv. Every tactic implements the fused epilogue act(conv + B + Z).
//   cudnn_<algo>  (TacticSource::kCudnn) one per forward algorithm of cuDNN's legacy API
//                 (cudnnConvolutionForward with cudnnConvolutionFwdAlgo_t), channels-first,
//                 1-3 spatial dims (1-D runs as 2-D with a unit height), symmetric pads, groups,
//                 dilations. supports() asks cuDNN for the algorithm's workspace at the profile's
//                 min, opt and max shapes and accepts the algorithm only where cuDNN answers
//                 success. Math: float32 uses CUDNN_DEFAULT_MATH (TF32 permitted on Ampere and
//                 later) when the build allows TF32 (KernelInfo::allow_tf32, BuilderFlag::kTf32,
//                 on by default), else CUDNN_FMA_MATH; tensor-op math with conversion for
//                 float16 / bfloat16 (float compute). Bias, residual Z and any activation of
//                 activation.h run afterwards in one kiln epilogue kernel over Y.
//   cudnn_nhwc_<algo>  the same for channels_last 2-D convs: NHWC tensor descriptors, filters
//                 packed to KRSC (cuDNN's NHWC filter layout) in device memory at creation
//                 (W must be a constant), epilogue over the channel-innermost Y.
//   cudnn_nhwc_fused_<algo> (implicit_gemm, implicit_precomp_gemm) and
//   cudnn_fused_implicit_precomp_gemm (channels-first, with a bias input): one
//                 cudnnConvolutionBiasActivationForward call, y = act(conv + Z + B), where the
//                 activation is ReLU or none (identity, which cuDNN runs only with
//                 IMPLICIT_PRECOMP_GEMM); float32 and float16; 2-D, group 1, no dilation.
//                 Without Z, z aliases y with alpha2 = 0; without B, a zero bias made at
//                 creation.
//   Descriptors are made on the host at the first run of each shape and kept for the next
//   runs (host-only calls, so runs stay capturable and the kernels thread-safe).
//   cudnn_graph_<k> (k = 0..3) channels-last float16 / bfloat16 2-D convs with static shapes:
//                 cuDNN's graph API, conv -> (+B) -> (+Z) -> (ReLU) as one operation graph with
//                 virtual float intermediates (the epilogue runs inside the conv kernel), the
//                 k-th engine configuration of heuristics mode A; the plan is built at creation.
//   direct        (kKilnCuda) channels-first, any number of spatial dims, any pads: one thread
//                 per output, float accumulation, epilogue fused; a 2-D kernel with clipped tap
//                 ranges and a generic N-D one. The fallback that makes every channels-first
//                 Conv runnable without cuDNN.
//   depthwise     (kKilnCuda) channels-first 2-D with one input channel per group (group == C,
//                 M a multiple of C): one thread per output, 3x3 unrolled, epilogue fused.
// The 2-D kiln kernels tile each output plane with blockIdx.x and walk the (n, m) planes with
// blockIdx.y, so a thread spends few 64-bit divisions on its indices.
// Channels-first tactics read W, B and Z from the run's device inputs (W need not be a
// constant).
#include "backends/cuda/cuda_device.h"
#include "backends/cuda/handles.h"
#include "backends/cuda/kernel_utils.cuh"
#include "ops/activation/activation.cuh"
#include "ops/conv/conv.h"

#include <cudnn_cnn.h>
#include <cudnn_graph.h>

#include <array>
#include <climits>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

namespace kiln::ops {

namespace {

constexpr int kMaxSpatial = Dims::kMaxDims - 2;

bool is_float_dtype(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

Result<ConvParams> params_of(const KernelInfo& info) {
  if (info.input(0).shape.size() < 3) return invalid_argument("X must have rank >= 3");
  return read_conv_params(info.attrs(), static_cast<int>(info.input(0).shape.size()) - 2);
}

// ---------------------------------------------------------------- epilogue

struct Epilogue {
  bool has_act = false;
  ActivationKind kind = ActivationKind::kRelu;
  float alpha = 0, beta = 0;
};

Epilogue make_epilogue(const ConvParams& p) {
  return Epilogue{p.has_activation, p.activation, p.alpha, p.beta};
}

__device__ __forceinline__ float apply_epilogue(const Epilogue& ep, float v) {
  return ep.has_act ? activate_device(ep.kind, v, ep.alpha, ep.beta) : v;
}

// Pointers of one run (b and z may be null).
struct Operands {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* b = nullptr;
  const void* z = nullptr;
  void* y = nullptr;
};

Status check_args(const ExecArgs& args, Operands* ops) {
  if (args.inputs.size() < 2 || args.outputs.size() != 1) {
    return internal_error("Conv CUDA kernel: expected >= 2 inputs and 1 output");
  }
  ops->x = args.inputs[0].data;
  ops->w = args.inputs[1].data;
  ops->y = args.outputs[0].data;
  if (args.inputs.size() > 2) ops->b = args.inputs[2].data;
  if (args.inputs.size() > 3 && args.inputs[3].data != nullptr) {
    if (!(args.inputs[3].shape == args.outputs[0].shape)) {
      return invalid_argument("Conv: residual Z " + args.inputs[3].shape.to_string() +
                              " does not match the output " + args.outputs[0].shape.to_string());
    }
    ops->z = args.inputs[3].data;
  }
  return Status::ok();
}

// y[i] = ep(y[i] + b[m] + z[i]) over Y [N, M, out_size].
template <typename T>
__global__ void conv_epilogue(T* y, const T* b, const T* z, int64_t total, int64_t out_size,
                              int64_t m_count, Epilogue ep) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    float v = cuda::to_float(y[i]);
    if (b != nullptr) v += cuda::to_float(b[(i / out_size) % m_count]);
    if (z != nullptr) v += cuda::to_float(z[i]);
    y[i] = cuda::from_float<T>(apply_epilogue(ep, v));
  }
}

// ---------------------------------------------------------------- direct kernels

// Concrete extents of one run.
struct Geometry {
  int64_t n = 0, c = 0, m = 0, cg = 0, mg = 0;
  int spatial = 0;
  int64_t in[kMaxSpatial] = {}, k[kMaxSpatial] = {}, out[kMaxSpatial] = {};
  int64_t stride[kMaxSpatial] = {}, pad[kMaxSpatial] = {}, dil[kMaxSpatial] = {};
  int64_t in_size = 1, k_size = 1, out_size = 1;
};

Geometry make_geometry(const ConvParams& p, const Dims& x, const Dims& w, const Dims& y) {
  Geometry g;
  g.spatial = p.spatial;
  g.n = x[0];
  g.c = x[1];
  g.m = w[0];
  g.cg = g.c / p.group;
  g.mg = g.m / p.group;
  for (int d = 0; d < p.spatial; ++d) {
    g.in[d] = x[2 + d];
    g.k[d] = w[2 + d];
    g.out[d] = y[2 + d];
    g.stride[d] = p.strides[d];
    g.pad[d] = p.pads[d];
    g.dil[d] = p.dilations[d];
    g.in_size *= g.in[d];
    g.k_size *= g.k[d];
    g.out_size *= g.out[d];
  }
  return g;
}

// Taps t in [0, k) with 0 <= start + t * dil < extent are [*lo, *hi).
__device__ __forceinline__ void tap_range(int64_t start, int64_t k, int64_t dil, int64_t extent,
                                          int64_t* lo, int64_t* hi) {
  // (Divisions by dil only where dil > 1: 64-bit divisions are slow.)
  int64_t l = start >= 0 ? 0 : (dil == 1 ? -start : (-start + dil - 1) / dil);
  int64_t h =
      extent - 1 - start < 0 ? 0 : (dil == 1 ? extent - 1 - start : (extent - 1 - start) / dil) + 1;
  l = min(l, k);
  *lo = l;
  *hi = max(min(h, k), l);
}

template <typename T>
__device__ __forceinline__ void store_output(const Geometry& g, const Epilogue& ep, const T* b,
                                             const T* z, T* y, int64_t q, int64_t m, float acc) {
  if (b != nullptr) acc += cuda::to_float(b[m]);
  if (z != nullptr) acc += cuda::to_float(z[q]);
  y[q] = cuda::from_float<T>(apply_epilogue(ep, acc));
}

// 2-D launches: blockIdx.x tiles an output plane (OH * OW), blockIdx.y walks the (n, m) planes,
// so a thread needs one division for its row and column and one for its plane.
inline dim3 plane_grid(int64_t out_size, int64_t planes, int threads) {
  const int64_t x = (out_size + threads - 1) / threads;
  return dim3(static_cast<unsigned>(std::min<int64_t>(x, 1 << 30)),
              static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(planes, 1), 65535)));
}

template <typename T>
__global__ void conv_direct_2d(const T* x, const T* w, const T* b, const T* z, T* y, Geometry g,
                               Epilogue ep) {
  const int64_t OW = g.out[1], H = g.in[0], W = g.in[1], KH = g.k[0], KW = g.k[1];
  const int64_t planes = g.n * g.m;
  for (int64_t sp = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; sp < g.out_size;
       sp += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t oh = sp / OW, ow = sp - oh * OW;
    const int64_t h0 = oh * g.stride[0] - g.pad[0], w0 = ow * g.stride[1] - g.pad[1];
    int64_t khlo, khhi, kwlo, kwhi;
    tap_range(h0, KH, g.dil[0], H, &khlo, &khhi);
    tap_range(w0, KW, g.dil[1], W, &kwlo, &kwhi);
    for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
      const int64_t n = plane / g.m, m = plane - n * g.m;
      const int64_t grp = m / g.mg;
      float acc = 0.f;
      for (int64_t c = 0; c < g.cg; ++c) {
        const T* xc = x + ((n * g.c + grp * g.cg + c) * H + h0) * W + w0;
        const T* wc = w + (m * g.cg + c) * KH * KW;
        for (int64_t kh = khlo; kh < khhi; ++kh) {
          const T* xr = xc + kh * g.dil[0] * W;
          const T* wr = wc + kh * KW;
          for (int64_t kw = kwlo; kw < kwhi; ++kw) {
            acc += cuda::to_float(xr[kw * g.dil[1]]) * cuda::to_float(wr[kw]);
          }
        }
      }
      store_output(g, ep, b, z, y, plane * g.out_size + sp, m, acc);
    }
  }
}

template <typename T>
__global__ void conv_direct_nd(const T* x, const T* w, const T* b, const T* z, T* y, Geometry g,
                               Epilogue ep) {
  const int64_t total = g.n * g.m * g.out_size;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int s = g.spatial;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < total;
       q += step) {
    const int64_t m = (q / g.out_size) % g.m;
    const int64_t n = q / (g.out_size * g.m);
    const int64_t grp = m / g.mg;
    int64_t start[kMaxSpatial];
    for (int64_t d = s - 1, rest = q % g.out_size; d >= 0; --d) {
      start[d] = (rest % g.out[d]) * g.stride[d] - g.pad[d];
      rest /= g.out[d];
    }
    float acc = 0.f;
    for (int64_t c = 0; c < g.cg; ++c) {
      const T* xc = x + (n * g.c + grp * g.cg + c) * g.in_size;
      const T* wc = w + (m * g.cg + c) * g.k_size;
      for (int64_t t = 0; t < g.k_size; ++t) {
        int64_t idx = 0, mul = 1, rest = t;
        bool inside = true;
        for (int d = s - 1; d >= 0; --d) {
          const int64_t kd = rest % g.k[d];
          rest /= g.k[d];
          const int64_t pos = start[d] + kd * g.dil[d];
          if (pos < 0 || pos >= g.in[d]) {
            inside = false;
            break;
          }
          idx += pos * mul;
          mul *= g.in[d];
        }
        if (inside) acc += cuda::to_float(xc[idx]) * cuda::to_float(wc[t]);
      }
    }
    store_output(g, ep, b, z, y, q, m, acc);
  }
}

// 2-D, one input channel per group; kK > 0 fixes a square kernel size (unrolled taps).
template <typename T, int kK>
__global__ void conv_depthwise_2d(const T* x, const T* w, const T* b, const T* z, T* y, Geometry g,
                                  Epilogue ep) {
  const int64_t OW = g.out[1], H = g.in[0], W = g.in[1];
  const int64_t KH = kK > 0 ? kK : g.k[0], KW = kK > 0 ? kK : g.k[1];
  const int64_t planes = g.n * g.m;
  for (int64_t sp = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; sp < g.out_size;
       sp += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t oh = sp / OW, ow = sp - oh * OW;
    const int64_t h0 = oh * g.stride[0] - g.pad[0], w0 = ow * g.stride[1] - g.pad[1];
    int64_t khlo = 0, khhi = 0, kwlo = 0, kwhi = 0;
    if constexpr (kK == 0) {  // the unrolled path checks each tap instead
      tap_range(h0, KH, g.dil[0], H, &khlo, &khhi);
      tap_range(w0, KW, g.dil[1], W, &kwlo, &kwhi);
    }
    for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
      const int64_t n = plane / g.m, m = plane - n * g.m;
      const int64_t c = m / g.mg;  // the group's one input channel
      const T* xc = x + (n * g.c + c) * H * W;
      const T* wc = w + m * KH * KW;
      float acc = 0.f;
      if constexpr (kK > 0) {
#pragma unroll
        for (int kh = 0; kh < kK; ++kh) {
          const int64_t ih = h0 + kh * g.dil[0];
          if (ih < 0 || ih >= H) continue;
#pragma unroll
          for (int kw = 0; kw < kK; ++kw) {
            const int64_t iw = w0 + kw * g.dil[1];
            if (iw < 0 || iw >= W) continue;
            acc += cuda::to_float(xc[ih * W + iw]) * cuda::to_float(wc[kh * kK + kw]);
          }
        }
      } else {
        for (int64_t kh = khlo; kh < khhi; ++kh) {
          const T* xr = xc + (h0 + kh * g.dil[0]) * W + w0;
          for (int64_t kw = kwlo; kw < kwhi; ++kw) {
            acc += cuda::to_float(xr[kw * g.dil[1]]) * cuda::to_float(wc[kh * KW + kw]);
          }
        }
      }
      store_output(g, ep, b, z, y, plane * g.out_size + sp, m, acc);
    }
  }
}

enum class DirectKind { kDirect, kDepthwise };

template <typename H>
Status launch_direct(DirectKind kind, const Geometry& g, const Operands& o, const Epilogue& ep,
                     int sms, cudaStream_t s) {
  using T = typename cuda::DeviceElement<H>::type;
  const T* x = static_cast<const T*>(o.x);
  const T* w = static_cast<const T*>(o.w);
  const T* b = static_cast<const T*>(o.b);
  const T* z = static_cast<const T*>(o.z);
  T* y = static_cast<T*>(o.y);
  const unsigned grid = cuda::grid_size(g.n * g.m * g.out_size, sms);
  constexpr int kThreads = cuda::kElementwiseThreads;
  const dim3 pgrid = plane_grid(g.out_size, g.n * g.m, kThreads);
  if (kind == DirectKind::kDepthwise) {
    if (g.k[0] == 3 && g.k[1] == 3) {
      conv_depthwise_2d<T, 3><<<pgrid, kThreads, 0, s>>>(x, w, b, z, y, g, ep);
    } else {
      conv_depthwise_2d<T, 0><<<pgrid, kThreads, 0, s>>>(x, w, b, z, y, g, ep);
    }
    return cuda::check_launch("conv_depthwise_2d");
  }
  if (g.spatial == 2) {
    conv_direct_2d<T><<<pgrid, kThreads, 0, s>>>(x, w, b, z, y, g, ep);
    return cuda::check_launch("conv_direct_2d");
  }
  conv_direct_nd<T><<<grid, kThreads, 0, s>>>(x, w, b, z, y, g, ep);
  return cuda::check_launch("conv_direct_nd");
}

class DirectCudaKernel final : public Kernel {
 public:
  DirectCudaKernel(ConvParams p, DirectKind kind, int sms)
      : p_(std::move(p)), ep_(make_epilogue(p_)), kind_(kind), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    Operands o;
    KILN_RETURN_IF_ERROR(check_args(args, &o));
    if (args.outputs[0].numel() == 0) return Status::ok();
    const Geometry g =
        make_geometry(p_, args.inputs[0].shape, args.inputs[1].shape, args.outputs[0].shape);
    auto s = static_cast<cudaStream_t>(args.stream);
    switch (args.inputs[0].dtype) {
      case DataType::kFloat32:
        return launch_direct<float>(kind_, g, o, ep_, sms_, s);
      case DataType::kFloat16:
        return launch_direct<Half>(kind_, g, o, ep_, sms_, s);
      case DataType::kBFloat16:
        return launch_direct<BFloat16>(kind_, g, o, ep_, sms_, s);
      default:
        return unsupported("Conv CUDA kernel: dtype " +
                           std::string(dtype_name(args.inputs[0].dtype)));
    }
  }

 private:
  ConvParams p_;
  Epilogue ep_;
  DirectKind kind_;
  int sms_;
};

bool supports_direct(const KernelInfo& info) {
  auto p = params_of(info);
  return is_float_dtype(info.input_dtype(0)) && p.is_ok() && !p->channels_last &&
         info.input(0).shape.size() - 2 <= static_cast<size_t>(kMaxSpatial);
}

bool supports_depthwise(const KernelInfo& info) {
  if (info.input(0).shape.size() != 4 || !is_float_dtype(info.input_dtype(0))) return false;
  auto p = params_of(info);
  if (!p.is_ok() || p->group < 2 || p->channels_last) return false;
  const ir::SymShape& w = info.input(1).shape;
  // One input channel per group (W dim 1 is C / group).
  return w.size() == 4 && w[1].is_const() && w[1].value() == 1;
}

Result<std::unique_ptr<Kernel>> create_direct_kind(const KernelInfo& info, DirectKind kind) {
  KILN_ASSIGN_OR_RETURN(ConvParams p, params_of(info));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new DirectCudaKernel(std::move(p), kind, sms));
}
Result<std::unique_ptr<Kernel>> create_direct(const KernelInfo& info) {
  return create_direct_kind(info, DirectKind::kDirect);
}
Result<std::unique_ptr<Kernel>> create_depthwise(const KernelInfo& info) {
  return create_direct_kind(info, DirectKind::kDepthwise);
}

// ---------------------------------------------------------------- cuDNN

using TensorDesc = cuda::UniqueCudaObject<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using FilterDesc = cuda::UniqueCudaObject<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    cuda::UniqueCudaObject<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;
using ActivationDesc =
    cuda::UniqueCudaObject<cudnnActivationDescriptor_t, cudnnDestroyActivationDescriptor>;

struct CudnnDescs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
};

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

// float32: TF32 tensor cores only where the build allows them (BuilderFlag::kTf32, on by
// default); CUDNN_FMA_MATH keeps cuDNN to float FMAs.
cudnnMathType_t cudnn_math(DataType t, bool allow_tf32) {
  if (t != DataType::kFloat32) return CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
  return allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

// Whether cuDNN's legacy API can describe this conv at all (independent of the algorithm).
// Channels-last is described for 2-D convs only (NHWC tensors, KRSC filters).
bool cudnn_describable(const ConvParams& p) {
  if (p.spatial < 1 || p.spatial > 3) return false;
  if (p.channels_last && p.spatial != 2) return false;
  for (int d = 0; d < p.spatial; ++d) {
    if (p.pads[d] != p.pads[p.spatial + d]) return false;  // cuDNN pads symmetrically
    if (p.pads[d] > INT_MAX || p.strides[d] > INT_MAX || p.dilations[d] > INT_MAX) return false;
  }
  return p.group <= INT_MAX;
}

// Dims as cuDNN ints (a 1-D conv gains a unit height), or false if something does not fit.
bool to_cudnn_dims(const Dims& d, bool add_unit_height, std::vector<int>* out) {
  out->clear();
  int64_t volume = 1;
  for (int i = 0; i < d.rank(); ++i) {
    if (d[i] < 1 || d[i] > INT_MAX) return false;
    volume *= d[i];
    if (i == 2 && add_unit_height) out->push_back(1);
    out->push_back(static_cast<int>(d[i]));
  }
  return volume <= INT_MAX;  // cuDNN indexes tensors with 32-bit ints
}

// A channels-last activation's dims in the channels-first order cuDNN's descriptors take.
Dims logical_nchw(const Dims& d) {
  return Dims{d[0], d[3], d[1], d[2]};
}

std::vector<int> packed_strides(const std::vector<int>& dims) {
  std::vector<int> s(dims.size());
  int64_t v = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = static_cast<int>(v);
    v *= dims[i];
  }
  return s;
}

// Descriptors for concrete shapes (as the kernel sees them: channels-last shapes when
// p.channels_last); cuDNN's error, or unsupported() if the shapes don't fit.
Result<CudnnDescs> make_descs(const ConvParams& p, DataType dt, cudnnMathType_t math,
                              const Dims& xs_in, const Dims& ws, const Dims& ys_in) {
  const bool nhwc = p.channels_last;
  if (nhwc && (xs_in.rank() != 4 || ys_in.rank() != 4)) {
    return unsupported("Conv cuDNN: channels-last needs 4-D tensors");
  }
  const Dims xs = nhwc ? logical_nchw(xs_in) : xs_in;
  const Dims ys = nhwc ? logical_nchw(ys_in) : ys_in;
  const bool one_d = p.spatial == 1;
  std::vector<int> xd, wd, yd;
  if (!to_cudnn_dims(xs, one_d, &xd) || !to_cudnn_dims(ws, one_d, &wd) ||
      !to_cudnn_dims(ys, one_d, &yd)) {
    return unsupported("Conv cuDNN: shapes " + xs_in.to_string() + " / " + ws.to_string() + " / " +
                       ys_in.to_string() + " are empty or exceed cuDNN's 32-bit limits");
  }
  std::vector<int> pad, stride, dil;
  if (one_d) {
    pad.push_back(0);
    stride.push_back(1);
    dil.push_back(1);
  }
  for (int d = 0; d < p.spatial; ++d) {
    pad.push_back(static_cast<int>(p.pads[d]));
    stride.push_back(static_cast<int>(p.strides[d]));
    dil.push_back(static_cast<int>(p.dilations[d]));
  }
  const cudnnDataType_t cdt = cudnn_dtype(dt);
  CudnnDescs d;
  cudnnTensorDescriptor_t t;
  KILN_CUDA_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&t));
  d.x.reset(t);
  KILN_CUDA_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&t));
  d.y.reset(t);
  cudnnFilterDescriptor_t f;
  KILN_CUDA_RETURN_IF_ERROR(cudnnCreateFilterDescriptor(&f));
  d.w.reset(f);
  cudnnConvolutionDescriptor_t c;
  KILN_CUDA_RETURN_IF_ERROR(cudnnCreateConvolutionDescriptor(&c));
  d.conv.reset(c);
  const int nd = static_cast<int>(xd.size());
  if (nhwc) {
    // Dims in NCHW order; the format says the memory is NHWC (filters KRSC).
    KILN_CUDA_RETURN_IF_ERROR(
        cudnnSetTensorNdDescriptorEx(d.x.get(), CUDNN_TENSOR_NHWC, cdt, nd, xd.data()));
    KILN_CUDA_RETURN_IF_ERROR(
        cudnnSetTensorNdDescriptorEx(d.y.get(), CUDNN_TENSOR_NHWC, cdt, nd, yd.data()));
  } else {
    const std::vector<int> xstr = packed_strides(xd), ystr = packed_strides(yd);
    KILN_CUDA_RETURN_IF_ERROR(
        cudnnSetTensorNdDescriptor(d.x.get(), cdt, nd, xd.data(), xstr.data()));
    KILN_CUDA_RETURN_IF_ERROR(
        cudnnSetTensorNdDescriptor(d.y.get(), cdt, nd, yd.data(), ystr.data()));
  }
  KILN_CUDA_RETURN_IF_ERROR(cudnnSetFilterNdDescriptor(
      d.w.get(), cdt, nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, nd, wd.data()));
  KILN_CUDA_RETURN_IF_ERROR(
      cudnnSetConvolutionNdDescriptor(d.conv.get(), nd - 2, pad.data(), stride.data(), dil.data(),
                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  KILN_CUDA_RETURN_IF_ERROR(cudnnSetConvolutionGroupCount(d.conv.get(), static_cast<int>(p.group)));
  KILN_CUDA_RETURN_IF_ERROR(cudnnSetConvolutionMathType(d.conv.get(), math));
  // The output cuDNN computes must be ours.
  std::vector<int> out(nd);
  KILN_CUDA_RETURN_IF_ERROR(
      cudnnGetConvolutionNdForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), nd, out.data()));
  if (out != yd) {
    return unsupported("Conv cuDNN: cuDNN's output shape differs from " + ys_in.to_string());
  }
  return Result<CudnnDescs>(std::move(d));
}

// cuDNN's workspace for `algo` at these shapes; its error when the algorithm does not apply.
Result<size_t> cudnn_workspace(cudnnHandle_t h, const ConvParams& p, DataType dt,
                               cudnnMathType_t math, cudnnConvolutionFwdAlgo_t algo, const Dims& xs,
                               const Dims& ws, const Dims& ys) {
  KILN_ASSIGN_OR_RETURN(CudnnDescs d, make_descs(p, dt, math, xs, ws, ys));
  size_t bytes = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudnnGetConvolutionForwardWorkspaceSize(
      h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), algo, &bytes));
  return bytes;
}

// The epilogue over Y: channel of element i is (i / out_size) % m (out_size = 1 for
// channels-last, where the channel is the innermost dim).
template <typename H>
Status launch_epilogue(const Operands& o, int64_t total, int64_t out_size, int64_t m,
                       const Epilogue& ep, int sms, cudaStream_t s) {
  using T = typename cuda::DeviceElement<H>::type;
  conv_epilogue<T><<<cuda::grid_size(total, sms), cuda::kElementwiseThreads, 0, s>>>(
      static_cast<T*>(o.y), static_cast<const T*>(o.b), static_cast<const T*>(o.z), total, out_size,
      m, ep);
  return cuda::check_launch("conv_epilogue");
}

Status run_epilogue(DataType dt, const Operands& o, const Dims& y, bool channels_last,
                    const Epilogue& ep, int sms, cudaStream_t stream) {
  int64_t out_size = 1;
  if (!channels_last) {
    for (int i = 2; i < y.rank(); ++i) out_size *= y[i];
  }
  const int64_t total = y.volume(), m = y[channels_last ? y.rank() - 1 : 1];
  switch (dt) {
    case DataType::kFloat32:
      return launch_epilogue<float>(o, total, out_size, m, ep, sms, stream);
    case DataType::kFloat16:
      return launch_epilogue<Half>(o, total, out_size, m, ep, sms, stream);
    default:
      return launch_epilogue<BFloat16>(o, total, out_size, m, ep, sms, stream);
  }
}

// Which cuDNN call a kernel makes.
enum class CudnnCall {
  kForward,  // cudnnConvolutionForward, then kiln's epilogue kernel for bias / Z / activation
  kFused,    // cudnnConvolutionBiasActivationForward: act(conv + Z + bias) in one call
};

// The fused call's documented configurations: float32 and float16 (bfloat16 is not one).
constexpr DtypeSet kCudnnFusedDtypes{DataType::kFloat32, DataType::kFloat16};
// The graph API tactics: half-precision I/O with float accumulation.
constexpr DtypeSet kCudnnGraphDtypes{DataType::kFloat16, DataType::kBFloat16};

// The fused call's activation: ReLU, or identity (which cuDNN runs only with
// IMPLICIT_PRECOMP_GEMM); other activations are not expressible. Offered for plain 2-D convs
// (no groups, no dilation: the configurations cuDNN documents for the call, and ResNet's).
bool fused_expressible(const ConvParams& p, cudnnConvolutionFwdAlgo_t algo) {
  if (p.spatial != 2 || p.group != 1) return false;
  for (int d = 0; d < p.spatial; ++d) {
    if (p.dilations[d] != 1) return false;
  }
  if (p.has_activation) return p.activation == ActivationKind::kRelu;
  return algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
}

// Packed channels-last filters (KRSC) and a zero bias for the fused call, made at creation.
struct NhwcWeights {
  DeviceBuffer w;
  DeviceBuffer zero_bias;  // when the node has no bias and the call is fused
  Dims w_shape;            // W's (KCRS) shape, checked at run time
};

Result<NhwcWeights> pack_nhwc_weights(const KernelInfo& info, bool need_bias) {
  const HostTensor* w = info.constant(1);
  if (w == nullptr || w->shape().rank() != 4 || w->dtype() != info.input_dtype(0)) {
    return unsupported("Conv cuDNN NHWC: W must be a 4-D constant of X's dtype");
  }
  const Dims& s = w->shape();
  const int64_t m = s[0], c = s[1], kh = s[2], kw = s[3];
  const size_t es = dtype_size(w->dtype());
  std::vector<uint8_t> packed(static_cast<size_t>(w->nbytes()));
  const auto* src = static_cast<const uint8_t*>(w->data());
  for (int64_t k = 0; k < m; ++k) {
    for (int64_t ci = 0; ci < c; ++ci) {
      for (int64_t r = 0; r < kh; ++r) {
        for (int64_t q = 0; q < kw; ++q) {
          const int64_t from = ((k * c + ci) * kh + r) * kw + q;
          const int64_t to = ((k * kh + r) * kw + q) * c + ci;
          std::memcpy(packed.data() + to * es, src + from * es, es);
        }
      }
    }
  }
  KILN_ASSIGN_OR_RETURN(Device * device, cuda_device());
  NhwcWeights out;
  out.w_shape = s;
  KILN_ASSIGN_OR_RETURN(out.w, device->allocate(packed.size()));
  KILN_RETURN_IF_ERROR(device->upload(out.w.get(), packed.data(), packed.size()));
  if (need_bias) {
    std::vector<uint8_t> zeros(static_cast<size_t>(m) * es, 0);  // 0.0 in every float dtype
    KILN_ASSIGN_OR_RETURN(out.zero_bias, device->allocate(zeros.size()));
    KILN_RETURN_IF_ERROR(device->upload(out.zero_bias.get(), zeros.data(), zeros.size()));
  }
  return Result<NhwcWeights>(std::move(out));
}

// Everything a run needs that depends only on the shapes: descriptors and the workspace size.
// Built on the host at the first run of each shape and kept for the next runs (host time
// matters where the network is launch-bound); cuDNN only reads them.
struct Prepared {
  Dims xs, ws, ys;
  CudnnDescs d;
  TensorDesc bias;       // fused call: [1, M, 1, 1]
  ActivationDesc act;    // fused call
  size_t workspace = 0;  // what the algorithm needs
};

class CudnnConvKernel final : public Kernel {
 public:
  CudnnConvKernel(ConvParams p, DataType dt, cudnnMathType_t math, cudnnConvolutionFwdAlgo_t algo,
                  CudnnCall call, size_t fallback_ws, int sms, NhwcWeights nhwc)
      : p_(std::move(p)),
        ep_(make_epilogue(p_)),
        dt_(dt),
        math_(math),
        algo_(algo),
        call_(call),
        fallback_ws_(fallback_ws),
        sms_(sms),
        nhwc_(std::move(nhwc)) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    auto lease = cuda::acquire_cudnn();
    if (!lease.is_ok()) return fallback_ws_;
    auto bytes = cudnn_workspace(lease->get(), p_, dt_, math_, algo_, shapes.inputs[0],
                                 shapes.inputs[1], shapes.outputs[0]);
    return bytes.is_ok() ? *bytes : fallback_ws_;
  }

  Status execute(const ExecArgs& args) const override {
    Operands o;
    KILN_RETURN_IF_ERROR(check_args(args, &o));
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    const Dims& xs = args.inputs[0].shape;
    const Dims& ws = args.inputs[1].shape;
    if (p_.channels_last) {
      // The filters were packed at creation.
      if (!(ws == nhwc_.w_shape)) {
        return invalid_argument("Conv cuDNN NHWC: W " + ws.to_string() +
                                " differs from the packed filters " + nhwc_.w_shape.to_string());
      }
      o.w = nhwc_.w.get();
    }
    KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cudnn());
    auto stream = static_cast<cudaStream_t>(args.stream);
    KILN_CUDA_RETURN_IF_ERROR(cudnnSetStream(lease.get(), stream));
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Prepared> prep,
                          prepared(lease.get(), xs, ws, y.shape));
    const CudnnDescs& d = prep->d;
    if (args.workspace_size < prep->workspace) {
      return resource_exhausted("Conv cuDNN: workspace of " + std::to_string(args.workspace_size) +
                                " bytes, the algorithm needs " + std::to_string(prep->workspace));
    }
    if (call_ == CudnnCall::kFused) {
      // y = act(conv(x, w) + 1 * z + bias): Z absent -> z = y with alpha2 = 0 (cuDNN allows y
      // and z to alias); bias absent -> the zero bias made at creation.
      const void* bias = o.b != nullptr ? o.b : nhwc_.zero_bias.get();
      if (bias == nullptr) return internal_error("Conv cuDNN fused: no bias buffer");
      const float alpha1 = 1.f, alpha2 = o.z != nullptr ? 1.f : 0.f;
      const void* z = o.z != nullptr ? o.z : o.y;
      KILN_CUDA_RETURN_IF_ERROR(cudnnConvolutionBiasActivationForward(
          lease.get(), &alpha1, d.x.get(), o.x, d.w.get(), o.w, d.conv.get(), algo_, args.workspace,
          args.workspace_size, &alpha2, d.y.get(), z, prep->bias.get(), bias, prep->act.get(),
          d.y.get(), o.y));
      return Status::ok();
    }
    const float alpha = 1.f, beta = 0.f;
    KILN_CUDA_RETURN_IF_ERROR(
        cudnnConvolutionForward(lease.get(), &alpha, d.x.get(), o.x, d.w.get(), o.w, d.conv.get(),
                                algo_, args.workspace, args.workspace_size, &beta, d.y.get(), o.y));
    if (o.b == nullptr && o.z == nullptr && !ep_.has_act) return Status::ok();
    return run_epilogue(dt_, o, y.shape, p_.channels_last, ep_, sms_, stream);
  }

 private:
  Result<std::shared_ptr<const Prepared>> prepared(cudnnHandle_t h, const Dims& xs, const Dims& ws,
                                                   const Dims& ys) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (last_ && last_->xs == xs && last_->ws == ws && last_->ys == ys) return last_;
    }
    auto prep = std::make_shared<Prepared>();
    prep->xs = xs;
    prep->ws = ws;
    prep->ys = ys;
    KILN_ASSIGN_OR_RETURN(prep->d, make_descs(p_, dt_, math_, xs, ws, ys));
    KILN_CUDA_RETURN_IF_ERROR(cudnnGetConvolutionForwardWorkspaceSize(
        h, prep->d.x.get(), prep->d.w.get(), prep->d.conv.get(), prep->d.y.get(), algo_,
        &prep->workspace));
    if (call_ == CudnnCall::kFused) {
      const int64_t m = p_.channels_last ? ys[ys.rank() - 1] : ys[1];
      cudnnTensorDescriptor_t t;
      KILN_CUDA_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&t));
      prep->bias.reset(t);
      // [1, M, 1, 1]: the same bytes in NCHW and NHWC.
      KILN_CUDA_RETURN_IF_ERROR(cudnnSetTensor4dDescriptor(
          prep->bias.get(), CUDNN_TENSOR_NCHW, cudnn_dtype(dt_), 1, static_cast<int>(m), 1, 1));
      cudnnActivationDescriptor_t a;
      KILN_CUDA_RETURN_IF_ERROR(cudnnCreateActivationDescriptor(&a));
      prep->act.reset(a);
      KILN_CUDA_RETURN_IF_ERROR(cudnnSetActivationDescriptor(
          prep->act.get(), ep_.has_act ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
          CUDNN_PROPAGATE_NAN, 0.0));
    }
    std::shared_ptr<const Prepared> done = std::move(prep);
    std::lock_guard<std::mutex> lock(mutex_);
    last_ = done;
    return done;
  }

  ConvParams p_;
  Epilogue ep_;
  DataType dt_;
  cudnnMathType_t math_;
  cudnnConvolutionFwdAlgo_t algo_;
  CudnnCall call_;
  size_t fallback_ws_;
  int sms_;
  NhwcWeights nhwc_;  // channels-last: packed filters (and a zero bias for the fused call)
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const Prepared> last_;  // the last shapes' descriptors
};

// Shapes of the profile to check (min, opt, max; duplicates are cheap to re-check).
std::array<const NodeShapes*, 3> profile_shapes(const KernelInfo& info) {
  return {&info.min, &info.opt, &info.max};
}

// The largest workspace over the profile's shapes, or an error if the algorithm does not apply.
Result<size_t> cudnn_profile_workspace(const KernelInfo& info, const ConvParams& p,
                                       cudnnConvolutionFwdAlgo_t algo) {
  const DataType dt = info.input_dtype(0);
  if (!is_float_dtype(dt)) return unsupported("Conv cuDNN: dtype");
  if (!cudnn_describable(p)) return unsupported("Conv cuDNN: attributes cuDNN cannot describe");
  KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cudnn());
  const cudnnMathType_t math = cudnn_math(dt, info.allow_tf32());
  size_t most = 0;
  for (const NodeShapes* s : profile_shapes(info)) {
    if (s->inputs.size() < 2 || s->outputs.empty()) return invalid_argument("Conv: no shapes");
    KILN_ASSIGN_OR_RETURN(size_t bytes, cudnn_workspace(lease.get(), p, dt, math, algo,
                                                        s->inputs[0], s->inputs[1], s->outputs[0]));
    most = std::max(most, bytes);
  }
  return most;
}

// What a cuDNN tactic implements: the layout and the call.
struct CudnnVariant {
  bool channels_last;
  CudnnCall call;
};

bool supports_cudnn_variant(const KernelInfo& info, cudnnConvolutionFwdAlgo_t algo,
                            CudnnVariant v) {
  auto p = params_of(info);
  if (!p.is_ok() || p->channels_last != v.channels_last) return false;
  if (v.channels_last) {
    const HostTensor* w = info.constant(1);
    if (w == nullptr || w->dtype() != info.input_dtype(0)) return false;  // packed at creation
  }
  if (v.call == CudnnCall::kFused) {
    if (!kCudnnFusedDtypes.contains(info.input_dtype(0))) return false;
    if (!fused_expressible(*p, algo)) return false;
    if (!v.channels_last && !info.has_input(2)) return false;  // see create_cudnn_variant
    // The bias descriptor is 4-D ([1, M, 1, 1]); cuDNN wants it of X's rank, so 3-D convs
    // (5-D tensors) are not expressible.
    if (p->spatial > 2) return false;
  }
  return cudnn_profile_workspace(info, *p, algo).is_ok();
}

Result<std::unique_ptr<Kernel>> create_cudnn_variant(const KernelInfo& info,
                                                     cudnnConvolutionFwdAlgo_t algo,
                                                     CudnnVariant v) {
  KILN_ASSIGN_OR_RETURN(ConvParams p, params_of(info));
  if (p.channels_last != v.channels_last) return unsupported("Conv cuDNN: layout");
  KILN_ASSIGN_OR_RETURN(size_t ws, cudnn_profile_workspace(info, p, algo));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  NhwcWeights nhwc;
  const bool has_bias = info.has_input(2);
  if (v.channels_last) {
    KILN_ASSIGN_OR_RETURN(nhwc, pack_nhwc_weights(info, v.call == CudnnCall::kFused && !has_bias));
  } else if (v.call == CudnnCall::kFused && !has_bias) {
    return unsupported("Conv cuDNN: the channels-first fused call is not offered");
  }
  const DataType dt = info.input_dtype(0);
  return std::unique_ptr<Kernel>(new CudnnConvKernel(
      std::move(p), dt, cudnn_math(dt, info.allow_tf32()), algo, v.call, ws, sms, std::move(nhwc)));
}

template <cudnnConvolutionFwdAlgo_t kAlgo, bool kLast, CudnnCall kCall>
bool supports_cudnn(const KernelInfo& info) {
  return supports_cudnn_variant(info, kAlgo, {kLast, kCall});
}

template <cudnnConvolutionFwdAlgo_t kAlgo, bool kLast, CudnnCall kCall>
Result<std::unique_ptr<Kernel>> create_cudnn(const KernelInfo& info) {
  return create_cudnn_variant(info, kAlgo, {kLast, kCall});
}

// ---------------------------------------------------------------- cuDNN graph API (NHWC)
//
// One operation graph per node: conv_fprop(X, W) -> [+ B] -> [+ Z] -> [ReLU] -> Y, the
// intermediates virtual float tensors, so cuDNN's engines (runtime fusion on sm80+) run the whole
// epilogue inside the convolution kernel. Tactic cudnn_graph_<k> uses the k-th engine
// configuration of heuristics mode A. The plan is built once per process for the node's static
// shapes (profiles with min == max; building a plan can compile kernels, which a run must not
// do) and shared by the kernels of equal convs. A plan depends on the device the handle is bound
// to, not on the handle, so runs execute it with whichever handle they lease (and concurrently:
// cuDNN only reads it).

using BackendDesc = cuda::UniqueCudaObject<cudnnBackendDescriptor_t, cudnnBackendDestroyDescriptor>;

Result<BackendDesc> backend_desc(cudnnBackendDescriptorType_t type) {
  cudnnBackendDescriptor_t d = nullptr;
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendCreateDescriptor(type, &d));
  return Result<BackendDesc>(BackendDesc(d));
}

Status set_attr(const BackendDesc& d, cudnnBackendAttributeName_t name,
                cudnnBackendAttributeType_t type, int64_t count, const void* values) {
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendSetAttribute(d.get(), name, type, count, values));
  return Status::ok();
}

Status set_desc(const BackendDesc& d, cudnnBackendAttributeName_t name, const BackendDesc& v) {
  cudnnBackendDescriptor_t raw = v.get();
  return set_attr(d, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw);
}

// Unique ids of the graph's real tensors (the variant pack binds pointers to them).
enum GraphUid : int64_t { kUidX = 1, kUidW = 2, kUidB = 3, kUidZ = 4, kUidY = 5, kUidVirtual = 10 };

constexpr int64_t kGraphAlignment = 16;  // bytes; runs check their pointers

// What the graph computes, from the node at its static shapes (channels-last 2-D).
struct GraphSpec {
  DataType dt = DataType::kFloat16;
  int64_t x[4] = {}, w[4] = {}, y[4] = {};  // logical NCHW / KCRS dims
  int64_t stride[2] = {}, pre[2] = {}, post[2] = {}, dil[2] = {};
  bool bias = false, z = false, relu = false;
};

// A tensor [N, C, H, W] stored channels-last (filters KRSC).
Result<BackendDesc> graph_tensor(int64_t uid, cudnnDataType_t dt, const int64_t d[4],
                                 bool is_virtual) {
  const int64_t strides[4] = {d[1] * d[2] * d[3], 1, d[3] * d[1], d[1]};
  KILN_ASSIGN_OR_RETURN(BackendDesc t, backend_desc(CUDNN_BACKEND_TENSOR_DESCRIPTOR));
  KILN_RETURN_IF_ERROR(set_attr(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt));
  KILN_RETURN_IF_ERROR(set_attr(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, d));
  KILN_RETURN_IF_ERROR(set_attr(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides));
  KILN_RETURN_IF_ERROR(set_attr(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid));
  const int64_t align = kGraphAlignment;
  KILN_RETURN_IF_ERROR(set_attr(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align));
  const bool v = is_virtual;
  KILN_RETURN_IF_ERROR(set_attr(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &v));
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendFinalize(t.get()));
  return Result<BackendDesc>(std::move(t));
}

// A pointwise op y = mode(x[, b]).
Result<BackendDesc> pointwise_op(cudnnPointwiseMode_t mode, const BackendDesc& x,
                                 const BackendDesc* b, const BackendDesc& y,
                                 std::vector<BackendDesc>& keep) {
  KILN_ASSIGN_OR_RETURN(BackendDesc pw, backend_desc(CUDNN_BACKEND_POINTWISE_DESCRIPTOR));
  KILN_RETURN_IF_ERROR(
      set_attr(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode));
  const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
  KILN_RETURN_IF_ERROR(
      set_attr(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec));
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendFinalize(pw.get()));
  KILN_ASSIGN_OR_RETURN(BackendDesc op, backend_desc(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR));
  KILN_RETURN_IF_ERROR(set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw));
  KILN_RETURN_IF_ERROR(set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x));
  if (b != nullptr) KILN_RETURN_IF_ERROR(set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, *b));
  KILN_RETURN_IF_ERROR(set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y));
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendFinalize(op.get()));
  keep.push_back(std::move(pw));
  return Result<BackendDesc>(std::move(op));
}

// The finalized operation graph of a spec; every descriptor it references stays in `keep`.
Result<BackendDesc> build_op_graph(cudnnHandle_t h, const GraphSpec& s,
                                   std::vector<BackendDesc>& keep) {
  const cudnnDataType_t io = cudnn_dtype(s.dt), acc = CUDNN_DATA_FLOAT;
  KILN_ASSIGN_OR_RETURN(BackendDesc x, graph_tensor(kUidX, io, s.x, false));
  KILN_ASSIGN_OR_RETURN(BackendDesc w, graph_tensor(kUidW, io, s.w, false));
  const bool epilogue = s.bias || s.z || s.relu;
  int64_t next_virtual = kUidVirtual;
  // The conv writes Y directly, or a virtual float tensor that the epilogue continues.
  KILN_ASSIGN_OR_RETURN(BackendDesc cur, epilogue ? graph_tensor(next_virtual++, acc, s.y, true)
                                                  : graph_tensor(kUidY, io, s.y, false));
  KILN_ASSIGN_OR_RETURN(BackendDesc conv, backend_desc(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR));
  const int64_t spatial = 2;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  KILN_RETURN_IF_ERROR(
      set_attr(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &acc));
  KILN_RETURN_IF_ERROR(
      set_attr(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode));
  KILN_RETURN_IF_ERROR(
      set_attr(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &spatial));
  KILN_RETURN_IF_ERROR(
      set_attr(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, s.dil));
  KILN_RETURN_IF_ERROR(
      set_attr(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, s.stride));
  KILN_RETURN_IF_ERROR(
      set_attr(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, s.pre));
  KILN_RETURN_IF_ERROR(
      set_attr(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, s.post));
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendFinalize(conv.get()));

  std::vector<BackendDesc> ops;
  KILN_ASSIGN_OR_RETURN(BackendDesc fprop,
                        backend_desc(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR));
  KILN_RETURN_IF_ERROR(set_desc(fprop, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, x));
  KILN_RETURN_IF_ERROR(set_desc(fprop, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, w));
  KILN_RETURN_IF_ERROR(set_desc(fprop, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, cur));
  KILN_RETURN_IF_ERROR(set_desc(fprop, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, conv));
  const float alpha = 1.f, beta = 0.f;
  KILN_RETURN_IF_ERROR(
      set_attr(fprop, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha));
  KILN_RETURN_IF_ERROR(
      set_attr(fprop, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta));
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendFinalize(fprop.get()));
  ops.push_back(std::move(fprop));

  // Epilogue steps; the last writes Y.
  int remaining = static_cast<int>(s.bias) + static_cast<int>(s.z) + static_cast<int>(s.relu);
  auto step_out = [&]() -> Result<BackendDesc> {
    --remaining;
    return remaining == 0 ? graph_tensor(kUidY, io, s.y, false)
                          : graph_tensor(next_virtual++, acc, s.y, true);
  };
  if (s.bias) {
    const int64_t bd[4] = {1, s.y[1], 1, 1};
    KILN_ASSIGN_OR_RETURN(BackendDesc b, graph_tensor(kUidB, io, bd, false));
    KILN_ASSIGN_OR_RETURN(BackendDesc out, step_out());
    KILN_ASSIGN_OR_RETURN(BackendDesc op, pointwise_op(CUDNN_POINTWISE_ADD, cur, &b, out, keep));
    ops.push_back(std::move(op));
    keep.push_back(std::move(b));
    keep.push_back(std::move(cur));
    cur = std::move(out);
  }
  if (s.z) {
    KILN_ASSIGN_OR_RETURN(BackendDesc z, graph_tensor(kUidZ, io, s.y, false));
    KILN_ASSIGN_OR_RETURN(BackendDesc out, step_out());
    KILN_ASSIGN_OR_RETURN(BackendDesc op, pointwise_op(CUDNN_POINTWISE_ADD, cur, &z, out, keep));
    ops.push_back(std::move(op));
    keep.push_back(std::move(z));
    keep.push_back(std::move(cur));
    cur = std::move(out);
  }
  if (s.relu) {
    KILN_ASSIGN_OR_RETURN(BackendDesc out, step_out());
    KILN_ASSIGN_OR_RETURN(BackendDesc op,
                          pointwise_op(CUDNN_POINTWISE_RELU_FWD, cur, nullptr, out, keep));
    ops.push_back(std::move(op));
    keep.push_back(std::move(cur));
    cur = std::move(out);
  }
  KILN_ASSIGN_OR_RETURN(BackendDesc graph, backend_desc(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR));
  std::vector<cudnnBackendDescriptor_t> raw;
  for (const BackendDesc& op : ops) raw.push_back(op.get());
  KILN_RETURN_IF_ERROR(set_attr(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                static_cast<int64_t>(raw.size()), raw.data()));
  KILN_RETURN_IF_ERROR(set_attr(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h));
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendFinalize(graph.get()));
  for (BackendDesc& d : ops) keep.push_back(std::move(d));
  keep.push_back(std::move(x));
  keep.push_back(std::move(w));
  keep.push_back(std::move(cur));
  keep.push_back(std::move(conv));
  return Result<BackendDesc>(std::move(graph));
}

// Engine configurations of heuristics mode A for the graph, best first.
Result<std::vector<BackendDesc>> heuristic_configs(const BackendDesc& graph, int64_t want,
                                                   std::vector<BackendDesc>& keep) {
  KILN_ASSIGN_OR_RETURN(BackendDesc heur, backend_desc(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR));
  KILN_RETURN_IF_ERROR(set_desc(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph));
  const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
  KILN_RETURN_IF_ERROR(set_attr(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode));
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendFinalize(heur.get()));
  int64_t count = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                     CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count,
                                                     nullptr));
  count = std::min(count, want);
  std::vector<BackendDesc> cfgs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int64_t i = 0; i < count; ++i) {
    KILN_ASSIGN_OR_RETURN(BackendDesc c, backend_desc(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
    raw.push_back(c.get());
    cfgs.push_back(std::move(c));
  }
  int64_t got = 0;
  if (count > 0) {
    KILN_CUDA_RETURN_IF_ERROR(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &got,
                                                       raw.data()));
  }
  cfgs.resize(static_cast<size_t>(std::max<int64_t>(0, std::min(got, count))));
  keep.push_back(std::move(heur));
  return Result<std::vector<BackendDesc>>(std::move(cfgs));
}

// A finalized execution plan and everything it was built from.
struct GraphPlan {
  std::vector<BackendDesc> keep;
  BackendDesc graph, plan;
  int64_t workspace = 0;
};

Result<GraphSpec> graph_spec(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvParams p, params_of(info));
  if (!p.channels_last || p.spatial != 2) return unsupported("cuDNN graph: channels-last 2-D only");
  if (p.has_activation && p.activation != ActivationKind::kRelu) {
    return unsupported("cuDNN graph: activation other than ReLU");
  }
  const DataType dt = info.input_dtype(0);
  if (!kCudnnGraphDtypes.contains(dt)) {
    return unsupported("cuDNN graph: float16 / bfloat16 only");
  }
  const HostTensor* w = info.constant(1);
  if (w == nullptr || w->dtype() != dt) return unsupported("cuDNN graph: W must be a constant");
  // Static shapes: the plan is built for one shape.
  for (size_t i = 0; i < info.opt.inputs.size(); ++i) {
    if (!(info.min.inputs[i] == info.max.inputs[i]) ||
        !(info.opt.inputs[i] == info.max.inputs[i])) {
      return unsupported("cuDNN graph: the profile's shapes vary");
    }
  }
  const Dims& x = info.opt.inputs[0];
  const Dims& ws = info.opt.inputs[1];
  const Dims& y = info.opt.outputs[0];
  if (x.rank() != 4 || y.rank() != 4 || ws.rank() != 4) return unsupported("cuDNN graph: rank");
  for (int i = 0; i < 4; ++i) {
    if (x[i] < 1 || y[i] < 1 || x.volume() > INT_MAX || y.volume() > INT_MAX) {
      return unsupported("cuDNN graph: empty or huge tensors");
    }
  }
  GraphSpec s;
  s.dt = dt;
  const int64_t xl[4] = {x[0], x[3], x[1], x[2]}, yl[4] = {y[0], y[3], y[1], y[2]};
  for (int i = 0; i < 4; ++i) {
    s.x[i] = xl[i];
    s.y[i] = yl[i];
    s.w[i] = ws[i];
  }
  for (int d = 0; d < 2; ++d) {
    s.stride[d] = p.strides[d];
    s.pre[d] = p.pads[d];
    s.post[d] = p.pads[2 + d];
    s.dil[d] = p.dilations[d];
  }
  s.bias = info.has_input(2);
  s.z = info.has_input(3);
  s.relu = p.has_activation;
  return s;
}

Result<std::shared_ptr<GraphPlan>> build_graph_plan(const GraphSpec& s, int config) {
  KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cudnn());
  cudnnHandle_t h = lease.get();
  auto gp = std::make_shared<GraphPlan>();
  KILN_ASSIGN_OR_RETURN(gp->graph, build_op_graph(h, s, gp->keep));
  KILN_ASSIGN_OR_RETURN(std::vector<BackendDesc> cfgs,
                        heuristic_configs(gp->graph, config + 1, gp->keep));
  if (static_cast<int>(cfgs.size()) <= config) {
    return unsupported("cuDNN graph: heuristics give " + std::to_string(cfgs.size()) +
                       " engine configurations");
  }
  KILN_ASSIGN_OR_RETURN(gp->plan, backend_desc(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR));
  KILN_RETURN_IF_ERROR(
      set_attr(gp->plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h));
  KILN_RETURN_IF_ERROR(set_desc(gp->plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, cfgs[config]));
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendFinalize(gp->plan.get()));
  int64_t got = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudnnBackendGetAttribute(gp->plan.get(),
                                                     CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                                     CUDNN_TYPE_INT64, 1, &got, &gp->workspace));
  for (BackendDesc& c : cfgs) gp->keep.push_back(std::move(c));
  return gp;
}

class CudnnGraphConvKernel final : public Kernel {
 public:
  CudnnGraphConvKernel(GraphSpec spec, std::shared_ptr<GraphPlan> plan, NhwcWeights weights)
      : spec_(spec), plan_(std::move(plan)), weights_(std::move(weights)) {}

  size_t workspace_size(const NodeShapes&) const override {
    return static_cast<size_t>(plan_->workspace);
  }

  Status execute(const ExecArgs& args) const override {
    Operands o;
    KILN_RETURN_IF_ERROR(check_args(args, &o));
    const Dims& x = args.inputs[0].shape;
    const Dims& y = args.outputs[0].shape;
    if (x.rank() != 4 || y.rank() != 4 || x[0] != spec_.x[0] || x[1] != spec_.x[2] ||
        x[2] != spec_.x[3] || x[3] != spec_.x[1] || y[0] != spec_.y[0] || y[1] != spec_.y[2] ||
        y[2] != spec_.y[3] || y[3] != spec_.y[1]) {
      return invalid_argument("Conv cuDNN graph: the plan was built for other shapes than " +
                              x.to_string() + " -> " + y.to_string());
    }
    if (!(args.inputs[1].shape == weights_.w_shape)) {
      return invalid_argument("Conv cuDNN graph: W " + args.inputs[1].shape.to_string() +
                              " differs from the packed filters " + weights_.w_shape.to_string());
    }
    if (static_cast<int64_t>(args.workspace_size) < plan_->workspace) {
      return resource_exhausted("Conv cuDNN graph: workspace of " +
                                std::to_string(args.workspace_size) + " bytes, the plan needs " +
                                std::to_string(plan_->workspace));
    }
    int64_t uids[5];
    void* ptrs[5];
    int n = 0;
    auto bind = [&](int64_t uid, const void* p) {
      uids[n] = uid;
      ptrs[n] = const_cast<void*>(p);
      ++n;
    };
    bind(kUidX, o.x);
    bind(kUidW, weights_.w.get());
    bind(kUidY, o.y);
    if (spec_.bias) bind(kUidB, o.b);
    if (spec_.z) bind(kUidZ, o.z);
    for (int i = 0; i < n; ++i) {
      if (ptrs[i] == nullptr || !cuda::is_aligned(ptrs[i], kGraphAlignment)) {
        return invalid_argument("Conv cuDNN graph: tensor " + std::to_string(uids[i]) +
                                " is null or not 16-byte aligned");
      }
    }
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Pack> pack,
                          pack_for(uids, ptrs, n, args.workspace));
    KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cudnn());
    KILN_CUDA_RETURN_IF_ERROR(cudnnSetStream(lease.get(), static_cast<cudaStream_t>(args.stream)));
    KILN_CUDA_RETURN_IF_ERROR(
        cudnnBackendExecute(lease.get(), plan_->plan.get(), pack->desc.get()));
    return Status::ok();
  }

 private:
  // A variant pack: the run's pointers bound to the graph's tensors. A context runs with the same
  // pointers every time, so the last pack is kept (host time matters where launch-bound).
  struct Pack {
    void* ptrs[6] = {};
    int n = 0;
    BackendDesc desc;
  };

  Result<std::shared_ptr<const Pack>> pack_for(const int64_t* uids, void* const* ptrs, int n,
                                               void* workspace) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (last_pack_ && last_pack_->n == n + 1 && last_pack_->ptrs[n] == workspace &&
          std::equal(ptrs, ptrs + n, last_pack_->ptrs)) {
        return last_pack_;
      }
    }
    auto pack = std::make_shared<Pack>();
    std::copy(ptrs, ptrs + n, pack->ptrs);
    pack->ptrs[n] = workspace;
    pack->n = n + 1;
    KILN_ASSIGN_OR_RETURN(pack->desc, backend_desc(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR));
    KILN_RETURN_IF_ERROR(
        set_attr(pack->desc, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, n, uids));
    KILN_RETURN_IF_ERROR(set_attr(pack->desc, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                  CUDNN_TYPE_VOID_PTR, n, pack->ptrs));
    void* ws = workspace;
    KILN_RETURN_IF_ERROR(
        set_attr(pack->desc, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws));
    KILN_CUDA_RETURN_IF_ERROR(cudnnBackendFinalize(pack->desc.get()));
    std::shared_ptr<const Pack> done = std::move(pack);
    std::lock_guard<std::mutex> lock(mutex_);
    last_pack_ = done;
    return done;
  }

  GraphSpec spec_;
  std::shared_ptr<GraphPlan> plan_;
  NhwcWeights weights_;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const Pack> last_pack_;
};

// Plans by (device, spec, configuration), built once per process: supports() must know that the
// k-th configuration finalizes, and building one can take long (runtime-compiled kernels), so
// create() reuses what supports() built. Failures are kept too. The cache is never destroyed
// (destroying cuDNN descriptors after the CUDA runtime is gone at exit can crash); it holds one
// entry per distinct conv of the networks built in the process.
Result<std::shared_ptr<GraphPlan>> cached_graph_plan(const GraphSpec& s, int config) {
  static std::mutex* mutex = new std::mutex;
  static auto* cache = new std::map<std::string, Result<std::shared_ptr<GraphPlan>>>;
  int device = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  std::ostringstream k;  // (not string concatenation: GCC 12's -Wrestrict false positive)
  k << device << '/' << config << '/' << dtype_name(s.dt);
  for (const int64_t* a : {s.x, s.w, s.y}) {
    for (int i = 0; i < 4; ++i) k << ',' << a[i];
  }
  for (const int64_t* a : {s.stride, s.pre, s.post, s.dil}) {
    for (int i = 0; i < 2; ++i) k << ',' << a[i];
  }
  k << (s.bias ? 'b' : '-') << (s.z ? 'z' : '-') << (s.relu ? 'r' : '-');
  const std::string key = k.str();
  {
    std::lock_guard<std::mutex> lock(*mutex);
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  Result<std::shared_ptr<GraphPlan>> built = build_graph_plan(s, config);
  std::lock_guard<std::mutex> lock(*mutex);
  return cache->emplace(key, std::move(built)).first->second;
}

// Whether the k-th configuration of the heuristics gives a plan.
template <int kConfig>
bool supports_cudnn_graph(const KernelInfo& info) {
  auto spec = graph_spec(info);
  return spec.is_ok() && cached_graph_plan(*spec, kConfig).is_ok();
}

template <int kConfig>
Result<std::unique_ptr<Kernel>> create_cudnn_graph(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(GraphSpec spec, graph_spec(info));
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<GraphPlan> plan, cached_graph_plan(spec, kConfig));
  KILN_ASSIGN_OR_RETURN(NhwcWeights w, pack_nhwc_weights(info, false));
  return std::unique_ptr<Kernel>(new CudnnGraphConvKernel(spec, std::move(plan), std::move(w)));
}

#define KILN_CUDNN_TACTIC(name, algo, last, call)                                               \
  {                                                                                             \
    name, TacticSource::kCudnn,                                                                 \
        CudnnCall::call == CudnnCall::kFused ? kCudnnFusedDtypes : kFloatDtypes,                \
        supports_cudnn<algo, last, CudnnCall::call>, create_cudnn<algo, last, CudnnCall::call>, \
        cudnn_rank<algo, last, CudnnCall::call>                                                 \
  }

// Heuristic ranks (lower = timed first; the default optimization level times the top 4):
//  - the cuDNN graph-API engine configs 0-3 first where they apply (16-bit NHWC, static shapes):
//    cuDNN's own heuristic order, the conv and its whole epilogue in one tensor-core kernel — at
//    ResNet-50 FP16 batch 1 they win every conv when timed, and the legacy algorithms ranked
//    first by cudnnGetConvolutionForwardAlgorithm_v7 are 3-4x slower;
//  - then the legacy algorithms in the v7 heuristic order, each fused call (conv + bias + Z +
//    activation in one call) before its unfused form (conv, then a kiln epilogue kernel).
constexpr int kGraphConfigs = 4;
constexpr int kUnranked = 1000;

template <int kConfig>
int cudnn_graph_rank(const KernelInfo&) {
  return kConfig;
}

// Position of `kAlgo` in cuDNN's heuristic order at the opt shapes (cudnnGetConvolutionForward
// Algorithm_v7, which ranks without running anything), mapped as above; kUnranked if cuDNN does
// not list it.
template <cudnnConvolutionFwdAlgo_t kAlgo, bool kLast>
int cudnn_v7_position(const KernelInfo& info) {
  auto p = params_of(info);
  if (!p.is_ok() || p->channels_last != kLast || info.opt.inputs.size() < 2 ||
      info.opt.outputs.empty())
    return kUnranked;
  auto lease = cuda::acquire_cudnn();
  if (!lease.is_ok()) return kUnranked;
  const DataType dt = info.input_dtype(0);
  auto d = make_descs(*p, dt, cudnn_math(dt, info.allow_tf32()), info.opt.inputs[0],
                      info.opt.inputs[1], info.opt.outputs[0]);
  if (!d.is_ok()) return kUnranked;
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int returned = 0;
  if (cudnnGetConvolutionForwardAlgorithm_v7(lease->get(), d->x.get(), d->w.get(), d->conv.get(),
                                             d->y.get(), CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                             &returned, perf) != CUDNN_STATUS_SUCCESS) {
    return kUnranked;
  }
  int rank = 0;
  for (int i = 0; i < returned; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (perf[i].algo == kAlgo) return rank;
    ++rank;
  }
  return kUnranked;
}

template <cudnnConvolutionFwdAlgo_t kAlgo, bool kLast, CudnnCall kCall>
int cudnn_rank(const KernelInfo& info) {
  const int position = cudnn_v7_position<kAlgo, kLast>(info);
  if (position == kUnranked) return kUnranked;
  return kGraphConfigs + 2 * position + (kCall == CudnnCall::kFused ? 0 : 1);
}

const TacticDef kCudaTactics[] = {
    // Channels-first (NCHW): cudnnConvolutionForward + kiln epilogue.
    KILN_CUDNN_TACTIC("cudnn_implicit_gemm", CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, false,
                      kForward),
    KILN_CUDNN_TACTIC("cudnn_implicit_precomp_gemm",
                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, false, kForward),
    KILN_CUDNN_TACTIC("cudnn_gemm", CUDNN_CONVOLUTION_FWD_ALGO_GEMM, false, kForward),
    KILN_CUDNN_TACTIC("cudnn_direct", CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, false, kForward),
    KILN_CUDNN_TACTIC("cudnn_fft", CUDNN_CONVOLUTION_FWD_ALGO_FFT, false, kForward),
    KILN_CUDNN_TACTIC("cudnn_fft_tiling", CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING, false, kForward),
    KILN_CUDNN_TACTIC("cudnn_winograd", CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, false, kForward),
    KILN_CUDNN_TACTIC("cudnn_winograd_nonfused", CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED,
                      false, kForward),
    {"direct", TacticSource::kKilnCuda, kFloatDtypes, supports_direct, create_direct},
    // Specialized for depthwise convolutions (the only ones it supports): always timed.
    {"depthwise", TacticSource::kKilnCuda, kFloatDtypes, supports_depthwise, create_depthwise,
     [](const KernelInfo&) { return 0; }},
    // Channels-first, one fused call (needs a bias input: the NCHW path keeps no buffers).
    KILN_CUDNN_TACTIC("cudnn_fused_implicit_precomp_gemm",
                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, false, kFused),
    // Channels-last (NHWC tensors, KRSC filters packed at creation).
    KILN_CUDNN_TACTIC("cudnn_nhwc_implicit_gemm", CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, true,
                      kForward),
    KILN_CUDNN_TACTIC("cudnn_nhwc_implicit_precomp_gemm",
                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, true, kForward),
    KILN_CUDNN_TACTIC("cudnn_nhwc_gemm", CUDNN_CONVOLUTION_FWD_ALGO_GEMM, true, kForward),
    KILN_CUDNN_TACTIC("cudnn_nhwc_direct", CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, true, kForward),
    KILN_CUDNN_TACTIC("cudnn_nhwc_fft", CUDNN_CONVOLUTION_FWD_ALGO_FFT, true, kForward),
    KILN_CUDNN_TACTIC("cudnn_nhwc_fft_tiling", CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING, true,
                      kForward),
    KILN_CUDNN_TACTIC("cudnn_nhwc_winograd", CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, true, kForward),
    KILN_CUDNN_TACTIC("cudnn_nhwc_winograd_nonfused", CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED,
                      true, kForward),
    // Channels-last, conv + bias + Z + ReLU (or identity) in one cuDNN call.
    KILN_CUDNN_TACTIC("cudnn_nhwc_fused_implicit_gemm", CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                      true, kFused),
    KILN_CUDNN_TACTIC("cudnn_nhwc_fused_implicit_precomp_gemm",
                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, true, kFused),
    // Channels-last 16-bit, static shapes: cuDNN's graph API, the epilogue fused in the kernel.
    {"cudnn_graph_0", TacticSource::kCudnn, kCudnnGraphDtypes, supports_cudnn_graph<0>,
     create_cudnn_graph<0>, cudnn_graph_rank<0>},
    {"cudnn_graph_1", TacticSource::kCudnn, kCudnnGraphDtypes, supports_cudnn_graph<1>,
     create_cudnn_graph<1>, cudnn_graph_rank<1>},
    {"cudnn_graph_2", TacticSource::kCudnn, kCudnnGraphDtypes, supports_cudnn_graph<2>,
     create_cudnn_graph<2>, cudnn_graph_rank<2>},
    {"cudnn_graph_3", TacticSource::kCudnn, kCudnnGraphDtypes, supports_cudnn_graph<3>,
     create_cudnn_graph<3>, cudnn_graph_rank<3>},
};

#undef KILN_CUDNN_TACTIC

}  // namespace

std::span<const TacticDef> conv_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
