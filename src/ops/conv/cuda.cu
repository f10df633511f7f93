// CUDA tactics of Conv. Every tactic implements the fused epilogue act(conv + B + Z).
//   cudnn_<algo>  (TacticSource::kCudnn) one per forward algorithm of cuDNN's legacy API
//                 (cudnnConvolutionForward with cudnnConvolutionFwdAlgo_t), 1-3 spatial dims
//                 (1-D runs as 2-D with a unit height), symmetric pads, groups, dilations. The
//                 descriptors are made per run from the concrete shapes (host-only calls, so the
//                 run stays capturable and the kernel thread-safe); supports() asks cuDNN for the
//                 algorithm's workspace at the profile's min, opt and max shapes and accepts the
//                 algorithm only where cuDNN answers success. Math: float32 uses
//                 CUDNN_DEFAULT_MATH (TF32 permitted on Ampere and later) when the build allows
//                 TF32 (KernelInfo::allow_tf32, BuilderFlag::kTf32, on by default), else
//                 CUDNN_FMA_MATH; tensor-op math with conversion for float16 / bfloat16 (float
//                 compute). Bias, residual Z and any activation of
//                 activation.h run afterwards in one kiln epilogue kernel over Y.
//   direct        (kKilnCuda) any number of spatial dims, any pads: one thread per output,
//                 float accumulation, epilogue fused; a 2-D kernel with clipped tap ranges and a
//                 generic N-D one. The fallback that makes every Conv runnable without cuDNN.
//   depthwise     (kKilnCuda) 2-D with one input channel per group (group == C, M a multiple of
//                 C): one thread per output, 3x3 unrolled, epilogue fused.
// The 2-D kiln kernels tile each output plane with blockIdx.x and walk the (n, m) planes with
// blockIdx.y, so a thread spends few 64-bit divisions on its indices.
// W, B and Z are read from the run's device inputs (W need not be a constant).
#include "backends/cuda/handles.h"
#include "backends/cuda/kernel_utils.cuh"
#include "ops/activation/activation.cuh"
#include "ops/conv/conv.h"

#include <cudnn_cnn.h>

#include <array>
#include <climits>
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
  return is_float_dtype(info.input_dtype(0)) && params_of(info).is_ok() &&
         info.input(0).shape.size() - 2 <= static_cast<size_t>(kMaxSpatial);
}

bool supports_depthwise(const KernelInfo& info) {
  if (info.input(0).shape.size() != 4 || !is_float_dtype(info.input_dtype(0))) return false;
  auto p = params_of(info);
  if (!p.is_ok() || p->group < 2) return false;
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
bool cudnn_describable(const ConvParams& p) {
  if (p.spatial < 1 || p.spatial > 3) return false;
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

std::vector<int> packed_strides(const std::vector<int>& dims) {
  std::vector<int> s(dims.size());
  int64_t v = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = static_cast<int>(v);
    v *= dims[i];
  }
  return s;
}

// Descriptors for concrete shapes; cuDNN's error, or unsupported() if the shapes don't fit.
Result<CudnnDescs> make_descs(const ConvParams& p, DataType dt, cudnnMathType_t math,
                              const Dims& xs, const Dims& ws, const Dims& ys) {
  const bool one_d = p.spatial == 1;
  std::vector<int> xd, wd, yd;
  if (!to_cudnn_dims(xs, one_d, &xd) || !to_cudnn_dims(ws, one_d, &wd) ||
      !to_cudnn_dims(ys, one_d, &yd)) {
    return unsupported("Conv cuDNN: shapes " + xs.to_string() + " / " + ws.to_string() + " / " +
                       ys.to_string() + " are empty or exceed cuDNN's 32-bit limits");
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
  const std::vector<int> xstr = packed_strides(xd), ystr = packed_strides(yd);
  KILN_CUDA_RETURN_IF_ERROR(cudnnSetTensorNdDescriptor(d.x.get(), cdt, nd, xd.data(), xstr.data()));
  KILN_CUDA_RETURN_IF_ERROR(cudnnSetTensorNdDescriptor(d.y.get(), cdt, nd, yd.data(), ystr.data()));
  KILN_CUDA_RETURN_IF_ERROR(
      cudnnSetFilterNdDescriptor(d.w.get(), cdt, CUDNN_TENSOR_NCHW, nd, wd.data()));
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
    return unsupported("Conv cuDNN: cuDNN's output shape differs from " + ys.to_string());
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

template <typename H>
Status launch_epilogue(const Operands& o, int64_t total, int64_t out_size, int64_t m,
                       const Epilogue& ep, int sms, cudaStream_t s) {
  using T = typename cuda::DeviceElement<H>::type;
  conv_epilogue<T><<<cuda::grid_size(total, sms), cuda::kElementwiseThreads, 0, s>>>(
      static_cast<T*>(o.y), static_cast<const T*>(o.b), static_cast<const T*>(o.z), total, out_size,
      m, ep);
  return cuda::check_launch("conv_epilogue");
}

class CudnnConvKernel final : public Kernel {
 public:
  CudnnConvKernel(ConvParams p, DataType dt, cudnnMathType_t math, cudnnConvolutionFwdAlgo_t algo,
                  size_t fallback_ws, int sms)
      : p_(std::move(p)),
        ep_(make_epilogue(p_)),
        dt_(dt),
        math_(math),
        algo_(algo),
        fallback_ws_(fallback_ws),
        sms_(sms) {}

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
    KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cudnn());
    auto stream = static_cast<cudaStream_t>(args.stream);
    KILN_CUDA_RETURN_IF_ERROR(cudnnSetStream(lease.get(), stream));
    KILN_ASSIGN_OR_RETURN(CudnnDescs d, make_descs(p_, dt_, math_, xs, ws, y.shape));
    size_t need = 0;
    KILN_CUDA_RETURN_IF_ERROR(cudnnGetConvolutionForwardWorkspaceSize(
        lease.get(), d.x.get(), d.w.get(), d.conv.get(), d.y.get(), algo_, &need));
    if (args.workspace_size < need) {
      return resource_exhausted("Conv cuDNN: workspace of " + std::to_string(args.workspace_size) +
                                " bytes, the algorithm needs " + std::to_string(need));
    }
    const float alpha = 1.f, beta = 0.f;
    KILN_CUDA_RETURN_IF_ERROR(
        cudnnConvolutionForward(lease.get(), &alpha, d.x.get(), o.x, d.w.get(), o.w, d.conv.get(),
                                algo_, args.workspace, args.workspace_size, &beta, d.y.get(), o.y));
    if (o.b == nullptr && o.z == nullptr && !ep_.has_act) return Status::ok();
    int64_t out_size = 1;
    for (int i = 2; i < y.shape.rank(); ++i) out_size *= y.shape[i];
    const int64_t total = y.numel(), m = y.shape[1];
    switch (dt_) {
      case DataType::kFloat32:
        return launch_epilogue<float>(o, total, out_size, m, ep_, sms_, stream);
      case DataType::kFloat16:
        return launch_epilogue<Half>(o, total, out_size, m, ep_, sms_, stream);
      default:
        return launch_epilogue<BFloat16>(o, total, out_size, m, ep_, sms_, stream);
    }
  }

 private:
  ConvParams p_;
  Epilogue ep_;
  DataType dt_;
  cudnnMathType_t math_;
  cudnnConvolutionFwdAlgo_t algo_;
  size_t fallback_ws_;
  int sms_;
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

template <cudnnConvolutionFwdAlgo_t kAlgo>
bool supports_cudnn(const KernelInfo& info) {
  auto p = params_of(info);
  return p.is_ok() && cudnn_profile_workspace(info, *p, kAlgo).is_ok();
}

template <cudnnConvolutionFwdAlgo_t kAlgo>
Result<std::unique_ptr<Kernel>> create_cudnn(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvParams p, params_of(info));
  KILN_ASSIGN_OR_RETURN(size_t ws, cudnn_profile_workspace(info, p, kAlgo));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new CudnnConvKernel(std::move(p), info.input_dtype(0),
                          cudnn_math(info.input_dtype(0), info.allow_tf32()), kAlgo, ws, sms));
}

// Position of `kAlgo` in cuDNN's heuristic order at the opt shapes (cudnnGetConvolutionForward
// Algorithm_v7, which ranks without running anything); kUnranked if cuDNN does not list it.
constexpr int kUnranked = 1000;

template <cudnnConvolutionFwdAlgo_t kAlgo>
int cudnn_rank(const KernelInfo& info) {
  auto p = params_of(info);
  if (!p.is_ok() || info.opt.inputs.size() < 2 || info.opt.outputs.empty()) return kUnranked;
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

#define KILN_CUDNN_TACTIC(name, algo) \
  { name, TacticSource::kCudnn, supports_cudnn<algo>, create_cudnn<algo>, cudnn_rank<algo> }

const TacticDef kCudaTactics[] = {
    KILN_CUDNN_TACTIC("cudnn_implicit_gemm", CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM),
    KILN_CUDNN_TACTIC("cudnn_implicit_precomp_gemm",
                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM),
    KILN_CUDNN_TACTIC("cudnn_gemm", CUDNN_CONVOLUTION_FWD_ALGO_GEMM),
    KILN_CUDNN_TACTIC("cudnn_direct", CUDNN_CONVOLUTION_FWD_ALGO_DIRECT),
    KILN_CUDNN_TACTIC("cudnn_fft", CUDNN_CONVOLUTION_FWD_ALGO_FFT),
    KILN_CUDNN_TACTIC("cudnn_fft_tiling", CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING),
    KILN_CUDNN_TACTIC("cudnn_winograd", CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD),
    KILN_CUDNN_TACTIC("cudnn_winograd_nonfused", CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED),
    {"direct", TacticSource::kKilnCuda, supports_direct, create_direct},
    // Specialized for depthwise convolutions (the only ones it supports): always timed.
    {"depthwise", TacticSource::kKilnCuda, supports_depthwise, create_depthwise,
     [](const KernelInfo&) { return 0; }},
};

#undef KILN_CUDNN_TACTIC

}  // namespace

std::span<const TacticDef> conv_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
