// Pieces shared by the CUDA tactics of the conv-like ops (Conv, ConvTranspose):
//   - cuDNN's legacy convolution descriptors for concrete shapes (cuDNN's forward convolution
//     x -> y with filter w; ConvTranspose describes its Y as cuDNN's x and its X as cuDNN's y and
//     runs the backward-data pass), checked against the shapes kiln computed;
//   - the epilogue kernel y = act(y + B[m] + Z) that runs after a cuDNN call.
// Descriptor calls are host-only (no allocation on the device, no synchronization): building them
// per run keeps kernels capturable and thread-safe.
#pragma once

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_raii.h"
#include "backends/cuda/kernel_utils.cuh"
#include "ops/activation/activation.cuh"
#include "ops/common/float_kernel_utils.h"

#include <cudnn_cnn.h>

#include <climits>
#include <string>
#include <vector>

namespace kiln::ops {

// ---------------------------------------------------------------- descriptors

using CudnnTensorDesc =
    cuda::UniqueCudaObject<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using CudnnFilterDesc =
    cuda::UniqueCudaObject<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using CudnnConvDesc =
    cuda::UniqueCudaObject<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;

struct CudnnConvDescs {
  CudnnTensorDesc x, y;
  CudnnFilterDesc w;
  CudnnConvDesc conv;
};

// The window of one cuDNN convolution: per spatial dim the pad (cuDNN pads both ends alike),
// stride and dilation.
struct CudnnWindow {
  std::vector<int64_t> pads, strides, dilations;
  int64_t group = 1;
  int spatial() const { return static_cast<int>(strides.size()); }
};

inline cudnnDataType_t cudnn_dtype(DataType t) {
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
// default); CUDNN_FMA_MATH keeps cuDNN to float FMAs. 16-bit types: tensor ops, float compute.
inline cudnnMathType_t cudnn_math(DataType t, bool allow_tf32) {
  if (t != DataType::kFloat32) return CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
  return allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

// Whether cuDNN's legacy API can describe the window at all: 1-3 spatial dims, pads >= 0,
// everything within int.
inline bool cudnn_window_ok(const CudnnWindow& w) {
  if (w.spatial() < 1 || w.spatial() > 3 || w.pads.size() != w.strides.size() ||
      w.dilations.size() != w.strides.size() || w.group < 1 || w.group > INT_MAX) {
    return false;
  }
  for (int d = 0; d < w.spatial(); ++d) {
    if (w.pads[d] < 0 || w.pads[d] > INT_MAX || w.strides[d] > INT_MAX ||
        w.dilations[d] > INT_MAX) {
      return false;
    }
  }
  return true;
}

// Dims as cuDNN ints (a 1-D conv gains a unit height), or false if something does not fit.
inline bool to_cudnn_dims(const Dims& d, bool add_unit_height, std::vector<int>* out) {
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

inline std::vector<int> packed_strides(const std::vector<int>& dims) {
  std::vector<int> s(dims.size());
  int64_t v = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = static_cast<int>(v);
    v *= dims[i];
  }
  return s;
}

// Descriptors of cuDNN's forward convolution xs -> ys with filter ws and window `win`, for
// concrete shapes. cuDNN's error, or unsupported() (naming `op`) if the shapes don't fit cuDNN or
// cuDNN's output shape for xs is not ys.
inline Result<CudnnConvDescs> make_cudnn_conv_descs(const char* op, const CudnnWindow& win,
                                                    DataType dt, cudnnMathType_t math,
                                                    const Dims& xs, const Dims& ws,
                                                    const Dims& ys) {
  const bool one_d = win.spatial() == 1;
  std::vector<int> xd, wd, yd;
  if (!cudnn_window_ok(win) || !to_cudnn_dims(xs, one_d, &xd) || !to_cudnn_dims(ws, one_d, &wd) ||
      !to_cudnn_dims(ys, one_d, &yd)) {
    return unsupported(std::string(op) + " cuDNN: shapes " + xs.to_string() + " / " +
                       ws.to_string() + " / " + ys.to_string() +
                       " are empty or exceed cuDNN's limits");
  }
  std::vector<int> pad, stride, dil;
  if (one_d) {
    pad.push_back(0);
    stride.push_back(1);
    dil.push_back(1);
  }
  for (int d = 0; d < win.spatial(); ++d) {
    pad.push_back(static_cast<int>(win.pads[d]));
    stride.push_back(static_cast<int>(win.strides[d]));
    dil.push_back(static_cast<int>(win.dilations[d]));
  }
  const cudnnDataType_t cdt = cudnn_dtype(dt);
  CudnnConvDescs d;
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
  KILN_CUDA_RETURN_IF_ERROR(
      cudnnSetConvolutionGroupCount(d.conv.get(), static_cast<int>(win.group)));
  KILN_CUDA_RETURN_IF_ERROR(cudnnSetConvolutionMathType(d.conv.get(), math));
  // The output cuDNN computes for xs must be ys.
  std::vector<int> out(nd);
  KILN_CUDA_RETURN_IF_ERROR(
      cudnnGetConvolutionNdForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), nd, out.data()));
  if (out != yd) {
    return unsupported(std::string(op) + " cuDNN: cuDNN's convolution of " + xs.to_string() +
                       " does not give " + ys.to_string());
  }
  return Result<CudnnConvDescs>(std::move(d));
}

// ---------------------------------------------------------------- epilogue

__device__ __forceinline__ float apply_fused_epilogue(const FusedEpilogue& ep, float v) {
  return ep.has_act ? activate_device(ep.kind, v, ep.alpha, ep.beta) : v;
}

// y[i] = ep(y[i] + b[m] + z[i]) over Y [N, M, out_size] (b and z may be null).
template <typename T>
__global__ void conv_epilogue_kernel(T* y, const T* b, const T* z, int64_t total, int64_t out_size,
                                     int64_t m_count, FusedEpilogue ep) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    float v = cuda::to_float(y[i]);
    if (b != nullptr) v += cuda::to_float(b[(i / out_size) % m_count]);
    if (z != nullptr) v += cuda::to_float(z[i]);
    y[i] = cuda::from_float<T>(apply_fused_epilogue(ep, v));
  }
}

template <typename T>
Status launch_conv_epilogue_kernel(T* y, const T* b, const T* z, int64_t total, int64_t out_size,
                                   int64_t m, const FusedEpilogue& ep, int sms,
                                   cudaStream_t stream) {
  conv_epilogue_kernel<T><<<cuda::grid_size(total, sms), cuda::kElementwiseThreads, 0, stream>>>(
      y, b, z, total, out_size, m, ep);
  return cuda::check_launch("conv_epilogue_kernel");
}

// The epilogue over Y (float32 / float16 / bfloat16, shape [N, M, spatial...]) on `stream`;
// nothing to do without bias, residual and activation.
inline Status launch_conv_epilogue(DataType dt, void* y, const Dims& y_shape, const void* b,
                                   const void* z, const FusedEpilogue& ep, int sms,
                                   cudaStream_t stream) {
  if (b == nullptr && z == nullptr && !ep.has_act) return Status::ok();
  const int64_t total = y_shape.volume();
  if (total == 0) return Status::ok();
  int64_t out_size = 1;
  for (int i = 2; i < y_shape.rank(); ++i) out_size *= y_shape[i];
  const int64_t m = y_shape[1];
  return dispatch_float_dtype("conv epilogue", dt, [&](auto tag) {
    using T = typename cuda::DeviceElement<decltype(tag)>::type;
    return launch_conv_epilogue_kernel(static_cast<T*>(y), static_cast<const T*>(b),
                                       static_cast<const T*>(z), total, out_size, m, ep, sms,
                                       stream);
  });
}

}  // namespace kiln::ops
