// CUDA tactic of LayerNorm, "rows": a small kernel first expands Scale and Bias (any float dtype,
// numpy-broadcast to the normalized dims) into float arrays of D = prod(dims[axis:]) in the
// workspace; then the shared row kernel (row_norm.cuh) normalizes each of the rows (a warp per
// row up to 1024 elements, else a block) and writes the optional Mean / InvStdDev outputs.
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
    if (args.workspace_size < 2 * static_cast<size_t>(D) * sizeof(float)) {
      return resource_exhausted("LayerNorm CUDA kernel: workspace too small");
    }
    auto s = static_cast<cudaStream_t>(args.stream);
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
                                aff, mean, inv_std, sms_, s);
      case DataType::kFloat16:
        return row_norm::launch(x.as<const __half>(), args.outputs[0].as<__half>(), rows, D, eps_,
                                aff, mean, inv_std, sms_, s);
      case DataType::kBFloat16:
        return row_norm::launch(x.as<const __nv_bfloat16>(), args.outputs[0].as<__nv_bfloat16>(),
                                rows, D, eps_, aff, mean, inv_std, sms_, s);
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
    {"rows", TacticSource::kKilnCuda, supports_rows, create_rows},
};

}  // namespace

std::span<const TacticDef> layer_norm_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
