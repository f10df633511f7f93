// CUDA tactic of LayerNorm, "rows". Two paths, chosen per run:
//   registers  when Scale (and Bias) hold exactly D = prod(dims[axis:]) elements in X's dtype or
//              float32, D is a multiple of the 16-byte vector width, D <= 32768 (16-bit) / 16384
//              (float32) and every buffer is aligned: each row is loaded once with 16-byte loads
//              into registers (a warp per row up to 1024 (512) elements, else a block), mean and
//              variance are two passes over the registers, Y is stored with 16-byte stores. One
//              kernel, one read of X (and Residual) and one write of Y: the BERT case.
//   general    a small kernel first expands Scale and Bias (any float dtype, numpy-broadcast to
//              the normalized dims) into float arrays of D in the workspace; then the shared row
//              kernel (row_norm.cuh) normalizes each row (a warp per row up to 1024 elements,
//              else a block).
// Both add the optional Residual input to X in float first and write the optional Mean /
// InvStdDev outputs.
#include "ops/layer_norm/layer_norm.h"
#include "ops/layer_norm/row_norm.cuh"

#include <string>

namespace kiln::ops {

namespace {

constexpr int kMaxDims = Dims::kMaxDims;

// Element offsets of a broadcast parameter over the normalized dims (right-aligned).
struct ParamMap {
  const void* data = nullptr;  // null: absent, use `fill`
  DataType dtype = DataType::kFloat32;
  int nd = 0;                     // normalized dims
  int64_t ext[kMaxDims] = {};     // extents of the normalized dims, innermost first
  int64_t stride[kMaxDims] = {};  // parameter stride per normalized dim (0 = broadcast)
  float fill = 0.f;
};

__global__ void expand_params(ParamMap scale, ParamMap bias, int64_t D, float* out_scale,
                              float* out_bias) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < D; j += step) {
    for (int p = 0; p < 2; ++p) {
      const ParamMap& m = p == 0 ? scale : bias;
      float v = m.fill;
      if (m.data != nullptr) {
        int64_t off = 0, rest = j;
        for (int i = 0; i < m.nd; ++i) {
          off += (rest % m.ext[i]) * m.stride[i];
          rest /= m.ext[i];
        }
        v = cuda::load_float(m.data, m.dtype, off);
      }
      (p == 0 ? out_scale : out_bias)[j] = v;
    }
  }
}

Result<ParamMap> param_map(const TensorView* param, const Dims& x, int axis, float fill,
                           const char* what) {
  ParamMap m;
  m.fill = fill;
  m.nd = x.rank() - axis;
  for (int i = 0; i < m.nd; ++i) m.ext[i] = x[x.rank() - 1 - i];
  if (param == nullptr || param->data == nullptr) return m;
  const Dims& ps = param->shape;
  const int pr = ps.rank();
  bool ok = pr <= m.nd;
  for (int i = 0; ok && i < pr; ++i) {
    const int64_t s = ps[pr - 1 - i];
    ok = s == 1 || s == m.ext[i];
  }
  if (!ok) {
    return invalid_argument(std::string(what) + " shape " + ps.to_string() +
                            " does not broadcast to the normalized dims of X " + x.to_string());
  }
  int64_t stride = 1;
  for (int i = 0; i < pr; ++i) {
    const int64_t s = ps[pr - 1 - i];
    m.stride[i] = s == 1 ? 0 : stride;
    stride *= s;
  }
  m.data = param->data;
  m.dtype = param->dtype;
  return m;
}

struct LayerAffine {
  const float* scale;
  const float* bias;
  __device__ __forceinline__ float operator()(int64_t, int64_t j, float d, float inv_std,
                                              float) const {
    return d * inv_std * scale[j] + bias[j];
  }
};

// ---- registers path ----

constexpr int kVecRowsPerBlock = 4;  // warps (rows) per block of the warp-per-row kernel
constexpr int kMaxVecsPerThread = 4;

// One row per warp (kWarp) or per block; each thread holds kVecs vectors of kV elements of the
// row: vector v of thread t covers elements [(v * width + t) * kV, +kV).
template <bool kWarp, int kVecs, typename T, typename P>
__global__ void ln_registers_kernel(const T* __restrict__ x, const T* __restrict__ res,
                                    T* __restrict__ y, const P* __restrict__ scale,
                                    const P* __restrict__ bias, int64_t rows, int D, float eps,
                                    float* mean_out, float* inv_std_out) {
  constexpr int kV = cuda::kVectorWidth<T>;
  using TV = cuda::AlignedVector<T, kV>;
  using PV = cuda::AlignedVector<P, kV>;
  __shared__ float scratch[32];
  const int lane = kWarp ? static_cast<int>(threadIdx.x & 31) : static_cast<int>(threadIdx.x);
  const int width = kWarp ? 32 : static_cast<int>(blockDim.x);
  const int64_t first =
      kWarp ? static_cast<int64_t>(blockIdx.x) * kVecRowsPerBlock + (threadIdx.x >> 5)
            : static_cast<int64_t>(blockIdx.x);
  const int64_t step =
      kWarp ? static_cast<int64_t>(gridDim.x) * kVecRowsPerBlock : static_cast<int64_t>(gridDim.x);
  const int nvec = D / kV;
  auto reduce = [&](float v) {
    if constexpr (kWarp) {
      return cuda::warp_all_reduce(v, cuda::SumOp{});
    } else {
      return cuda::block_all_reduce(v, cuda::SumOp{}, 0.f, scratch);
    }
  };
  for (int64_t r = first; r < rows; r += step) {  // uniform per warp (kWarp) or block
    const TV* xr = reinterpret_cast<const TV*>(x + r * D);
    const TV* rr = res != nullptr ? reinterpret_cast<const TV*>(res + r * D) : nullptr;
    float v[kVecs][kV];
    float sum = 0.f;
    const float shift =
        cuda::to_float(x[r * D]) + (res != nullptr ? cuda::to_float(res[r * D]) : 0.f);
#pragma unroll
    for (int i = 0; i < kVecs; ++i) {
      const int vi = i * width + lane;
      if (vi < nvec) {
        const TV a = xr[vi];
#pragma unroll
        for (int k = 0; k < kV; ++k) v[i][k] = cuda::to_float(a.val[k]);
        if (rr != nullptr) {
          const TV b = rr[vi];
#pragma unroll
          for (int k = 0; k < kV; ++k) v[i][k] += cuda::to_float(b.val[k]);
        }
        // Shifted by the row's first element (exact for values close to it): mean and variance
        // of rows with a large offset and a small spread keep their precision.
#pragma unroll
        for (int k = 0; k < kV; ++k) v[i][k] -= shift;
#pragma unroll
        for (int k = 0; k < kV; ++k) sum += v[i][k];
      }
    }
    const float mean = reduce(sum) / static_cast<float>(D);
    float sq = 0.f;
#pragma unroll
    for (int i = 0; i < kVecs; ++i) {
      if (i * width + lane < nvec) {
#pragma unroll
        for (int k = 0; k < kV; ++k) {
          const float d = v[i][k] - mean;
          sq += d * d;
        }
      }
    }
    const float var = reduce(sq) / static_cast<float>(D);
    const float inv_std = 1.f / sqrtf(var + eps);
    TV* yr = reinterpret_cast<TV*>(y + r * D);
#pragma unroll
    for (int i = 0; i < kVecs; ++i) {
      const int vi = i * width + lane;
      if (vi < nvec) {
        const PV s = reinterpret_cast<const PV*>(scale)[vi];
        PV b{};
        if (bias != nullptr) b = reinterpret_cast<const PV*>(bias)[vi];
        TV o;
#pragma unroll
        for (int k = 0; k < kV; ++k) {
          const float bk = bias != nullptr ? cuda::to_float(b.val[k]) : 0.f;
          o.val[k] =
              cuda::from_float<T>((v[i][k] - mean) * inv_std * cuda::to_float(s.val[k]) + bk);
        }
        yr[vi] = o;
      }
    }
    if (lane == 0) {
      if (mean_out != nullptr) mean_out[r] = shift + mean;
      if (inv_std_out != nullptr) inv_std_out[r] = inv_std;
    }
  }
}

template <bool kWarp, int kVecs, typename T, typename P>
Status launch_registers_n(const T* x, const T* res, T* y, const P* scale, const P* bias,
                          int64_t rows, int D, float eps, float* mean, float* inv_std, int threads,
                          int sms, cudaStream_t s) {
  const int64_t max_blocks = static_cast<int64_t>(sms) * 32;
  const int64_t blocks =
      kWarp ? std::min((rows + kVecRowsPerBlock - 1) / kVecRowsPerBlock, max_blocks)
            : std::min(rows, max_blocks);
  ln_registers_kernel<kWarp, kVecs, T, P><<<static_cast<unsigned>(blocks), threads, 0, s>>>(
      x, res, y, scale, bias, rows, D, eps, mean, inv_std);
  return cuda::check_launch(kWarp ? "ln_registers_kernel (warp per row)"
                                  : "ln_registers_kernel (block per row)");
}

// Picks the instantiation: vectors per thread for a warp per row, else a block of
// ceil(nvec / kVecs) threads (a multiple of 32, <= 1024).
template <typename T, typename P>
Status launch_registers(const T* x, const T* res, T* y, const P* scale, const P* bias, int64_t rows,
                        int D, float eps, float* mean, float* inv_std, int sms, cudaStream_t s) {
  const int nvec = D / cuda::kVectorWidth<T>;
  const int warp_threads = 32 * kVecRowsPerBlock;
  if (nvec <= 32) {
    return launch_registers_n<true, 1>(x, res, y, scale, bias, rows, D, eps, mean, inv_std,
                                       warp_threads, sms, s);
  }
  if (nvec <= 64) {
    return launch_registers_n<true, 2>(x, res, y, scale, bias, rows, D, eps, mean, inv_std,
                                       warp_threads, sms, s);
  }
  if (nvec <= 96) {
    return launch_registers_n<true, 3>(x, res, y, scale, bias, rows, D, eps, mean, inv_std,
                                       warp_threads, sms, s);
  }
  if (nvec <= 128) {
    return launch_registers_n<true, 4>(x, res, y, scale, bias, rows, D, eps, mean, inv_std,
                                       warp_threads, sms, s);
  }
  auto threads_for = [&](int vecs) {
    const int t = (nvec + vecs - 1) / vecs;
    return (t + 31) / 32 * 32;
  };
  if (threads_for(2) <= 1024) {
    return launch_registers_n<false, 2>(x, res, y, scale, bias, rows, D, eps, mean, inv_std,
                                        threads_for(2), sms, s);
  }
  return launch_registers_n<false, kMaxVecsPerThread>(
      x, res, y, scale, bias, rows, D, eps, mean, inv_std, threads_for(kMaxVecsPerThread), sms, s);
}

// Whether a run can take the registers path: parameters of exactly D elements (any leading 1s)
// in X's dtype or float32 (Bias in Scale's dtype), D a multiple of the vector width within the
// per-row capacity, and every buffer aligned for its vectors.
bool registers_path(const ExecArgs& args, int64_t D) {
  const TensorView& x = args.inputs[0];
  const TensorView& sc = args.inputs[1];
  const TensorView* b =
      args.inputs.size() > 2 && args.inputs[2].data != nullptr ? &args.inputs[2] : nullptr;
  const TensorView* r =
      args.inputs.size() > 3 && args.inputs[3].data != nullptr ? &args.inputs[3] : nullptr;
  const int v = static_cast<int>(16 / dtype_size(x.dtype));
  // At most 2 vectors per thread of a 1024-thread block: with kMaxVecsPerThread vectors a
  // 1024-thread block needs more registers than an SM has (seen on the H100 at D = 32768 in
  // float16: cudaErrorLaunchOutOfResources); longer rows take the general path.
  if (D <= 0 || D % v != 0 || D / v > 1024 * 2) return false;
  if (sc.numel() != D || (b != nullptr && b->numel() != D)) return false;
  if (sc.dtype != x.dtype && sc.dtype != DataType::kFloat32) return false;
  if (b != nullptr && b->dtype != sc.dtype) return false;
  const size_t param_align = static_cast<size_t>(v) * dtype_size(sc.dtype);
  if (!cuda::is_aligned(x.data, 16) || !cuda::is_aligned(args.outputs[0].data, 16) ||
      !cuda::is_aligned(sc.data, param_align) ||
      (b != nullptr && !cuda::is_aligned(b->data, param_align)) ||
      (r != nullptr && !cuda::is_aligned(r->data, 16))) {
    return false;
  }
  return true;
}

template <typename T>
Status run_registers(const ExecArgs& args, int64_t rows, int64_t D, float eps, float* mean,
                     float* inv_std, int sms, cudaStream_t s) {
  using Dv = typename cuda::DeviceElement<T>::type;
  const TensorView& sc = args.inputs[1];
  const void* bias = args.inputs.size() > 2 ? args.inputs[2].data : nullptr;
  const Dv* res = args.inputs.size() > 3 ? static_cast<const Dv*>(args.inputs[3].data) : nullptr;
  const Dv* x = static_cast<const Dv*>(args.inputs[0].data);
  Dv* y = static_cast<Dv*>(args.outputs[0].data);
  const int d = static_cast<int>(D);
  if (sc.dtype == DataType::kFloat32) {
    return launch_registers(x, res, y, static_cast<const float*>(sc.data),
                            static_cast<const float*>(bias), rows, d, eps, mean, inv_std, sms, s);
  }
  return launch_registers(x, res, y, static_cast<const Dv*>(sc.data), static_cast<const Dv*>(bias),
                          rows, d, eps, mean, inv_std, sms, s);
}

int64_t norm_size(const Dims& x, int axis) {
  int64_t d = 1;
  for (int i = axis; i < x.rank(); ++i) d *= x[i];
  return d;
}

class LayerNormCudaKernel final : public Kernel {
 public:
  LayerNormCudaKernel(int axis, float eps, int sms) : axis_(axis), eps_(eps), sms_(sms) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    return 2 * static_cast<size_t>(norm_size(shapes.inputs[0], axis_)) * sizeof(float);
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const int64_t D = norm_size(x.shape, axis_);
    int64_t rows = 1;
    for (int i = 0; i < axis_; ++i) rows *= x.shape[i];
    float* mean = args.outputs.size() > 1 ? args.outputs[1].as<float>() : nullptr;
    float* inv_std = args.outputs.size() > 2 ? args.outputs[2].as<float>() : nullptr;
    if (rows == 0 || (D == 0 && mean == nullptr && inv_std == nullptr)) return Status::ok();
    const TensorView* res =
        args.inputs.size() > 3 && args.inputs[3].data != nullptr ? &args.inputs[3] : nullptr;
    if (res != nullptr && (res->dtype != x.dtype || res->shape != x.shape)) {
      return invalid_argument("LayerNorm Residual " + res->shape.to_string() +
                              " does not match X " + x.shape.to_string());
    }
    auto s = static_cast<cudaStream_t>(args.stream);
    if (registers_path(args, D)) {
      switch (x.dtype) {
        case DataType::kFloat32:
          return run_registers<float>(args, rows, D, eps_, mean, inv_std, sms_, s);
        case DataType::kFloat16:
          return run_registers<Half>(args, rows, D, eps_, mean, inv_std, sms_, s);
        case DataType::kBFloat16:
          return run_registers<BFloat16>(args, rows, D, eps_, mean, inv_std, sms_, s);
        default:
          break;
      }
    }
    if (args.workspace_size < 2 * static_cast<size_t>(D) * sizeof(float)) {
      return resource_exhausted("LayerNorm CUDA kernel: workspace too small");
    }
    float* scale = static_cast<float*>(args.workspace);
    float* bias = scale + D;
    if (D > 0) {
      KILN_ASSIGN_OR_RETURN(ParamMap sm, param_map(&args.inputs[1], x.shape, axis_, 1.f, "Scale"));
      const TensorView* b = args.inputs.size() > 2 ? &args.inputs[2] : nullptr;
      KILN_ASSIGN_OR_RETURN(ParamMap bm, param_map(b, x.shape, axis_, 0.f, "Bias"));
      expand_params<<<cuda::grid_size(D, sms_), cuda::kElementwiseThreads, 0, s>>>(sm, bm, D, scale,
                                                                                   bias);
      KILN_RETURN_IF_ERROR(cuda::check_launch("layer_norm expand_params"));
    }
    const LayerAffine aff{scale, bias};
    switch (x.dtype) {
      case DataType::kFloat32:
        return row_norm::launch(x.as<const float>(), args.outputs[0].as<float>(), rows, D, eps_,
                                aff, mean, inv_std, sms_, s,
                                res ? res->as<const float>() : nullptr);
      case DataType::kFloat16:
        return row_norm::launch(x.as<const __half>(), args.outputs[0].as<__half>(), rows, D, eps_,
                                aff, mean, inv_std, sms_, s,
                                res ? res->as<const __half>() : nullptr);
      case DataType::kBFloat16:
        return row_norm::launch(x.as<const __nv_bfloat16>(), args.outputs[0].as<__nv_bfloat16>(),
                                rows, D, eps_, aff, mean, inv_std, sms_, s,
                                res ? res->as<const __nv_bfloat16>() : nullptr);
      default:
        return unsupported("LayerNorm CUDA kernel: dtype " + std::string(dtype_name(x.dtype)));
    }
  }

 private:
  int axis_;
  float eps_;
  int sms_;
};

bool supports_rows(const KernelInfo& info) {
  if (info.num_inputs() < 2 || !info.has_input(1)) return false;
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (info.has_input(i) && !is_floating(info.input_dtype(i))) return false;
  }
  int64_t axis = info.attrs().get_int("axis", -1);
  return normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis").is_ok();
}

Result<std::unique_ptr<Kernel>> create_rows(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", -1);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new LayerNormCudaKernel(
      static_cast<int>(axis), static_cast<float>(info.attrs().get_float("epsilon", 1e-5)), sms));
}

const TacticDef kCudaTactics[] = {
    {"rows", TacticSource::kKilnCuda, kFloatDtypes, supports_rows, create_rows},
};

}  // namespace

std::span<const TacticDef> layer_norm_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
