// CUDA tactics of ConvTranspose. Every tactic implements the fused epilogue act(y + B).
//   cudnn_bwd_data_<algo>  (TacticSource::kCudnn) one per cuDNN backward-data algorithm
//                 (cudnnConvolutionBackwardData with cudnnConvolutionBwdDataAlgo_t). A transposed
//                 convolution X -> Y with weights W [C, M/group, K...] is the backward-data pass
//                 (the gradient of the input) of the convolution Y -> X with the same W, pads
//                 pad_begin at both ends, strides, dilations and groups: cuDNN describes Y as
//                 that convolution's input and X as its output. The extent ONNX adds at the end
//                 (output_padding, or a larger pad_end / output_shape) is what that convolution's
//                 floor division drops, so cuDNN accepts a shape exactly when its forward output
//                 for Y is X; supports() checks this (and asks for the algorithm's workspace) at
//                 the profile's min, opt and max shapes. 1-3 spatial dims (1-D as 2-D with a unit
//                 height). Math as the Conv tactics (TF32 for float32 only when the build allows
//                 it). Bias and activation run afterwards in kiln's epilogue kernel.
//   direct        (kKilnCuda) the fallback for everything cuDNN rejects (negative pad_begin,
//                 pad_end < pad_begin, any number of spatial dims): one thread per output
//                 element gathers its taps, tap t of input pixel i reaching output
//                 o = i * stride - pad_begin + t * dilation; float accumulation, epilogue fused. A
//                 2-D kernel walks the taps per output pixel once (channels innermost) and tiles
//                 each output plane with blockIdx.x and the (n, m) planes with blockIdx.y; an N-D
//                 kernel serves the rest.
// W and B are read from the run's device inputs (W need not be a constant).
#include "backends/cuda/handles.h"
#include "ops/common/cudnn_conv.cuh"
#include "ops/conv_transpose/conv_transpose.h"

#include <array>
#include <string>

namespace kiln::ops {

namespace {

constexpr int kMaxSpatial = Dims::kMaxDims - 2;

Result<ConvTransposeParams> params_of(const KernelInfo& info) {
  if (info.input(0).shape.size() < 3) return invalid_argument("X must have rank >= 3");
  return read_conv_transpose_params(info.attrs(), static_cast<int>(info.input(0).shape.size()) - 2);
}

// Pointers of one run (b may be null).
struct Operands {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* b = nullptr;
  void* y = nullptr;
};

// Concrete extents of one run.
struct Geometry {
  int64_t n = 0, c = 0, m = 0, cg = 0, mg = 0;
  int spatial = 0;
  int64_t in[kMaxSpatial] = {}, k[kMaxSpatial] = {}, out[kMaxSpatial] = {};
  int64_t stride[kMaxSpatial] = {}, pad[kMaxSpatial] = {}, dil[kMaxSpatial] = {};
  int64_t in_size = 1, k_size = 1, out_size = 1;
};

Status make_geometry(const ConvTransposeParams& p, const ExecArgs& args, Geometry* g, Operands* o) {
  if (args.inputs.size() < 2 || args.outputs.size() != 1) {
    return internal_error("ConvTranspose CUDA kernel: expected >= 2 inputs and 1 output");
  }
  const Dims& x = args.inputs[0].shape;
  const Dims& w = args.inputs[1].shape;
  const Dims& y = args.outputs[0].shape;
  if (x.rank() != p.spatial + 2 || w.rank() != x.rank() || y.rank() != x.rank() ||
      p.spatial > kMaxSpatial) {
    return invalid_argument("ConvTranspose: X " + x.to_string() + ", W " + w.to_string() +
                            " and Y " + y.to_string() + " ranks do not match");
  }
  g->spatial = p.spatial;
  g->n = x[0];
  g->c = x[1];
  g->cg = g->c / p.group;
  g->mg = w[1];
  g->m = g->mg * p.group;
  if (w[0] != g->c || y[1] != g->m || y[0] != g->n || g->c % p.group != 0) {
    return invalid_argument("ConvTranspose: X " + x.to_string() + " and W " + w.to_string() +
                            " do not give Y " + y.to_string());
  }
  for (int d = 0; d < p.spatial; ++d) {
    g->in[d] = x[2 + d];
    g->k[d] = w[2 + d];
    g->out[d] = y[2 + d];
    g->stride[d] = p.strides[d];
    g->dil[d] = p.dilations[d];
    g->pad[d] = p.pad_begin(d, g->in[d], g->k[d], g->out[d]);
    g->in_size *= g->in[d];
    g->k_size *= g->k[d];
    g->out_size *= g->out[d];
  }
  o->x = args.inputs[0].data;
  o->w = args.inputs[1].data;
  o->b = args.inputs.size() > 2 ? args.inputs[2].data : nullptr;
  o->y = args.outputs[0].data;
  return Status::ok();
}

// ---------------------------------------------------------------- direct kernels

template <typename T>
__device__ __forceinline__ void store_output(const FusedEpilogue& ep, const T* b, T* y, int64_t q,
                                             int64_t m, float acc) {
  if (b != nullptr) acc += cuda::to_float(b[m]);
  y[q] = cuda::from_float<T>(apply_fused_epilogue(ep, acc));
}

// Input index of output position o through tap t: (o + pad - t * dil) / stride when that divides
// exactly and lands inside [0, in); else -1.
__device__ __forceinline__ int64_t source_index(int64_t o, int64_t t, int64_t pad, int64_t dil,
                                                int64_t stride, int64_t in) {
  const int64_t u = o + pad - t * dil;
  if (u < 0) return -1;
  int64_t i = u;
  if (stride != 1) {  // 64-bit divisions only where needed
    i = u / stride;
    if (i * stride != u) return -1;
  }
  return i < in ? i : -1;
}

template <typename T>
__global__ void convt_direct_2d(const T* x, const T* w, const T* b, T* y, Geometry g,
                                FusedEpilogue ep) {
  const int64_t OW = g.out[1], IH = g.in[0], IW = g.in[1], KH = g.k[0], KW = g.k[1];
  const int64_t planes = g.n * g.m;
  for (int64_t sp = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; sp < g.out_size;
       sp += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t oh = sp / OW, ow = sp - oh * OW;
    for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
      const int64_t n = plane / g.m, m = plane - n * g.m;
      const int64_t grp = m / g.mg, ml = m - grp * g.mg;
      const T* xn = x + (n * g.c + grp * g.cg) * IH * IW;
      const T* wm = w + (grp * g.cg * g.mg + ml) * KH * KW;  // W[grp * cg, ml]
      float acc = 0.f;
      for (int64_t kh = 0; kh < KH; ++kh) {
        const int64_t ih = source_index(oh, kh, g.pad[0], g.dil[0], g.stride[0], IH);
        if (ih < 0) continue;
        for (int64_t kw = 0; kw < KW; ++kw) {
          const int64_t iw = source_index(ow, kw, g.pad[1], g.dil[1], g.stride[1], IW);
          if (iw < 0) continue;
          const T* xp = xn + ih * IW + iw;
          const T* wp = wm + kh * KW + kw;
          for (int64_t c = 0; c < g.cg; ++c) {
            acc += cuda::to_float(xp[c * IH * IW]) * cuda::to_float(wp[c * g.mg * KH * KW]);
          }
        }
      }
      store_output(ep, b, y, plane * g.out_size + sp, m, acc);
    }
  }
}

template <typename T>
__global__ void convt_direct_nd(const T* x, const T* w, const T* b, T* y, Geometry g,
                                FusedEpilogue ep) {
  const int64_t total = g.n * g.m * g.out_size;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int s = g.spatial;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < total;
       q += step) {
    const int64_t m = (q / g.out_size) % g.m;
    const int64_t n = q / (g.out_size * g.m);
    const int64_t grp = m / g.mg, ml = m - grp * g.mg;
    int64_t o[kMaxSpatial];
    for (int64_t d = s - 1, rest = q % g.out_size; d >= 0; --d) {
      o[d] = rest % g.out[d];
      rest /= g.out[d];
    }
    const T* xn = x + (n * g.c + grp * g.cg) * g.in_size;
    const T* wm = w + (grp * g.cg * g.mg + ml) * g.k_size;
    float acc = 0.f;
    for (int64_t t = 0; t < g.k_size; ++t) {
      int64_t idx = 0, mul = 1, rest = t;
      bool inside = true;
      for (int d = s - 1; d >= 0; --d) {
        const int64_t kd = rest % g.k[d];
        rest /= g.k[d];
        const int64_t i = source_index(o[d], kd, g.pad[d], g.dil[d], g.stride[d], g.in[d]);
        if (i < 0) {
          inside = false;
          break;
        }
        idx += i * mul;
        mul *= g.in[d];
      }
      if (!inside) continue;
      for (int64_t c = 0; c < g.cg; ++c) {
        acc +=
            cuda::to_float(xn[c * g.in_size + idx]) * cuda::to_float(wm[c * g.mg * g.k_size + t]);
      }
    }
    store_output(ep, b, y, q, m, acc);
  }
}

// 2-D launches: blockIdx.x tiles an output plane, blockIdx.y walks the (n, m) planes.
inline dim3 plane_grid(int64_t out_size, int64_t planes, int threads) {
  const int64_t x = (out_size + threads - 1) / threads;
  return dim3(static_cast<unsigned>(std::min<int64_t>(x, 1 << 30)),
              static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(planes, 1), 65535)));
}

template <typename T>
Status launch_direct(const Geometry& g, const Operands& o, const FusedEpilogue& ep, int sms,
                     cudaStream_t s) {
  constexpr int kThreads = cuda::kElementwiseThreads;
  const T* x = static_cast<const T*>(o.x);
  const T* w = static_cast<const T*>(o.w);
  const T* b = static_cast<const T*>(o.b);
  T* y = static_cast<T*>(o.y);
  if (g.spatial == 2) {
    convt_direct_2d<T>
        <<<plane_grid(g.out_size, g.n * g.m, kThreads), kThreads, 0, s>>>(x, w, b, y, g, ep);
    return cuda::check_launch("convt_direct_2d");
  }
  convt_direct_nd<T>
      <<<cuda::grid_size(g.n * g.m * g.out_size, sms), kThreads, 0, s>>>(x, w, b, y, g, ep);
  return cuda::check_launch("convt_direct_nd");
}

class DirectCudaKernel final : public Kernel {
 public:
  DirectCudaKernel(ConvTransposeParams p, int sms)
      : p_(std::move(p)), ep_(make_fused_epilogue(p_)), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    Geometry g;
    Operands o;
    KILN_RETURN_IF_ERROR(make_geometry(p_, args, &g, &o));
    if (args.outputs[0].numel() == 0) return Status::ok();
    return dispatch_float_dtype("ConvTranspose CUDA kernel", args.inputs[0].dtype, [&](auto tag) {
      using T = typename cuda::DeviceElement<decltype(tag)>::type;
      return launch_direct<T>(g, o, ep_, sms_, static_cast<cudaStream_t>(args.stream));
    });
  }

 private:
  ConvTransposeParams p_;
  FusedEpilogue ep_;
  int sms_;
};

bool supports_direct(const KernelInfo& info) {
  return is_floating(info.input_dtype(0)) && params_of(info).is_ok() &&
         info.input(0).shape.size() - 2 <= static_cast<size_t>(kMaxSpatial);
}

Result<std::unique_ptr<Kernel>> create_direct(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvTransposeParams p, params_of(info));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new DirectCudaKernel(std::move(p), sms));
}

// ---------------------------------------------------------------- cuDNN backward data

// The window of the convolution Y -> X whose backward-data pass is this transposed convolution,
// at concrete shapes (pad_begin depends on them in the output_shape / auto_pad modes).
CudnnWindow window_at(const ConvTransposeParams& p, const Dims& x, const Dims& w, const Dims& y) {
  CudnnWindow win;
  win.group = p.group;
  win.strides = p.strides;
  win.dilations = p.dilations;
  for (int d = 0; d < p.spatial; ++d)
    win.pads.push_back(p.pad_begin(d, x[2 + d], w[2 + d], y[2 + d]));
  return win;
}

// Descriptors for concrete shapes: cuDNN's x is our Y, its y our X.
Result<CudnnConvDescs> make_descs(const ConvTransposeParams& p, DataType dt, cudnnMathType_t math,
                                  const Dims& xs, const Dims& ws, const Dims& ys) {
  return make_cudnn_conv_descs("ConvTranspose", window_at(p, xs, ws, ys), dt, math, ys, ws, xs);
}

// cuDNN's workspace for `algo` at these shapes; its error when the algorithm does not apply.
Result<size_t> cudnn_workspace(cudnnHandle_t h, const ConvTransposeParams& p, DataType dt,
                               cudnnMathType_t math, cudnnConvolutionBwdDataAlgo_t algo,
                               const Dims& xs, const Dims& ws, const Dims& ys) {
  KILN_ASSIGN_OR_RETURN(CudnnConvDescs d, make_descs(p, dt, math, xs, ws, ys));
  size_t bytes = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudnnGetConvolutionBackwardDataWorkspaceSize(
      h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(), algo, &bytes));
  return bytes;
}

class CudnnConvTransposeKernel final : public Kernel {
 public:
  CudnnConvTransposeKernel(ConvTransposeParams p, DataType dt, cudnnMathType_t math,
                           cudnnConvolutionBwdDataAlgo_t algo, size_t fallback_ws, int sms)
      : p_(std::move(p)),
        ep_(make_fused_epilogue(p_)),
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
    Geometry g;
    Operands o;
    KILN_RETURN_IF_ERROR(make_geometry(p_, args, &g, &o));
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    if (args.inputs[0].numel() == 0 || args.inputs[1].numel() == 0) {
      return unsupported("ConvTranspose cuDNN: empty X or W");  // supports() rules these out
    }
    KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cudnn());
    auto stream = static_cast<cudaStream_t>(args.stream);
    KILN_CUDA_RETURN_IF_ERROR(cudnnSetStream(lease.get(), stream));
    KILN_ASSIGN_OR_RETURN(CudnnConvDescs d, make_descs(p_, dt_, math_, args.inputs[0].shape,
                                                       args.inputs[1].shape, y.shape));
    size_t need = 0;
    KILN_CUDA_RETURN_IF_ERROR(cudnnGetConvolutionBackwardDataWorkspaceSize(
        lease.get(), d.w.get(), d.y.get(), d.conv.get(), d.x.get(), algo_, &need));
    if (args.workspace_size < need) {
      return resource_exhausted("ConvTranspose cuDNN: workspace of " +
                                std::to_string(args.workspace_size) +
                                " bytes, the algorithm needs " + std::to_string(need));
    }
    const float alpha = 1.f, beta = 0.f;
    KILN_CUDA_RETURN_IF_ERROR(cudnnConvolutionBackwardData(
        lease.get(), &alpha, d.w.get(), o.w, d.y.get(), o.x, d.conv.get(), algo_, args.workspace,
        args.workspace_size, &beta, d.x.get(), o.y));
    return launch_conv_epilogue(dt_, o.y, y.shape, o.b, nullptr, ep_, sms_, stream);
  }

 private:
  ConvTransposeParams p_;
  FusedEpilogue ep_;
  DataType dt_;
  cudnnMathType_t math_;
  cudnnConvolutionBwdDataAlgo_t algo_;
  size_t fallback_ws_;
  int sms_;
};

// The largest workspace over the profile's shapes, or an error if the algorithm does not apply
// at one of them.
Result<size_t> cudnn_profile_workspace(const KernelInfo& info, const ConvTransposeParams& p,
                                       cudnnConvolutionBwdDataAlgo_t algo) {
  const DataType dt = info.input_dtype(0);
  if (!is_floating(dt)) return unsupported("ConvTranspose cuDNN: dtype");
  // cuDNN's legacy API: 1-3 spatial dims (checked before any cuDNN handle is created).
  if (p.spatial < 1 || p.spatial > 3) return unsupported("ConvTranspose cuDNN: spatial dims");
  KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cudnn());
  const cudnnMathType_t math = cudnn_math(dt, info.allow_tf32());
  size_t most = 0;
  for (const NodeShapes* s : {&info.min, &info.opt, &info.max}) {
    if (s->inputs.size() < 2 || s->outputs.empty()) {
      return invalid_argument("ConvTranspose: no shapes");
    }
    KILN_ASSIGN_OR_RETURN(size_t bytes, cudnn_workspace(lease.get(), p, dt, math, algo,
                                                        s->inputs[0], s->inputs[1], s->outputs[0]));
    most = std::max(most, bytes);
  }
  return most;
}

template <cudnnConvolutionBwdDataAlgo_t kAlgo>
bool supports_cudnn(const KernelInfo& info) {
  auto p = params_of(info);
  return p.is_ok() && cudnn_profile_workspace(info, *p, kAlgo).is_ok();
}

template <cudnnConvolutionBwdDataAlgo_t kAlgo>
Result<std::unique_ptr<Kernel>> create_cudnn(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvTransposeParams p, params_of(info));
  KILN_ASSIGN_OR_RETURN(size_t ws, cudnn_profile_workspace(info, p, kAlgo));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  const DataType dt = info.input_dtype(0);
  return std::unique_ptr<Kernel>(new CudnnConvTransposeKernel(
      std::move(p), dt, cudnn_math(dt, info.allow_tf32()), kAlgo, ws, sms));
}

#define KILN_CUDNN_TACTIC(name, algo) \
  { name, TacticSource::kCudnn, kFloatDtypes, supports_cudnn<algo>, create_cudnn<algo> }

const TacticDef kCudaTactics[] = {
    KILN_CUDNN_TACTIC("cudnn_bwd_data_algo_0", CUDNN_CONVOLUTION_BWD_DATA_ALGO_0),
    KILN_CUDNN_TACTIC("cudnn_bwd_data_algo_1", CUDNN_CONVOLUTION_BWD_DATA_ALGO_1),
    KILN_CUDNN_TACTIC("cudnn_bwd_data_fft", CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT),
    KILN_CUDNN_TACTIC("cudnn_bwd_data_fft_tiling", CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING),
    KILN_CUDNN_TACTIC("cudnn_bwd_data_winograd", CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD),
    KILN_CUDNN_TACTIC("cudnn_bwd_data_winograd_nonfused",
                      CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED),
    {"direct", TacticSource::kKilnCuda, kFloatDtypes, supports_direct, create_direct},
};

#undef KILN_CUDNN_TACTIC

}  // namespace

std::span<const TacticDef> conv_transpose_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
