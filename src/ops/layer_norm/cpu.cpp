// CPU tactics of LayerNorm: a double-precision reference, and a threaded one (rows in parallel,
// float accumulation in independent lanes so the loops vectorize). Both first expand Scale and
// Bias to float arrays over the normalized dims in the workspace.
#include "backends/cpu/thread_pool.h"
#include "ops/common/dtype_traits.h"
#include "ops/layer_norm/layer_norm.h"

#include <cmath>
#include <vector>

namespace kiln::ops {

namespace {

struct Params {
  int axis = 0;
  float epsilon = 1e-5f;
};

Params read_params(const KernelInfo& info) {
  Params p;
  int64_t axis = info.attrs().get_int("axis", -1);
  int64_t rank = static_cast<int64_t>(info.input(0).shape.size());
  p.axis = static_cast<int>(axis < 0 ? axis + rank : axis);
  p.epsilon = static_cast<float>(info.attrs().get_float("epsilon", 1e-5));
  return p;
}

int64_t norm_size(const Dims& x, int axis) {
  int64_t d = 1;
  for (int i = axis; i < x.rank(); ++i) d *= x[i];
  return d;
}

// Writes `param` broadcast over X's dims [axis, rank) into out[D]; an absent param is `fill`.
Status expand_param(const TensorView& param, const Dims& x, int axis, float fill, float* out,
                    const char* what) {
  int64_t D = norm_size(x, axis);
  if (param.data == nullptr) {
    for (int64_t j = 0; j < D; ++j) out[j] = fill;
    return Status::ok();
  }
  int nd = x.rank() - axis, pr = param.shape.rank();
  bool ok = pr <= nd;
  for (int i = 0; ok && i < pr; ++i) {
    int64_t s = param.shape[pr - 1 - i];
    ok = s == 1 || s == x[x.rank() - 1 - i];
  }
  if (!ok) {
    return invalid_argument(std::string(what) + " shape " + param.shape.to_string() +
                            " does not broadcast to the normalized dims of X " + x.to_string());
  }
  std::vector<int64_t> pstrides = contiguous_strides(param.shape);
  for (int64_t j = 0; j < D; ++j) {
    int64_t rest = j, off = 0;
    for (int i = 0; i < nd; ++i) {  // i-th dim from the right
      int64_t ext = x[x.rank() - 1 - i];
      int64_t c = rest % ext;
      rest /= ext;
      if (i < pr && param.shape[pr - 1 - i] != 1) off += c * pstrides[pr - 1 - i];
    }
    out[j] = static_cast<float>(load_as_double(param.data, param.dtype, off));
  }
  return Status::ok();
}

// ---- reference ----

// res (nullable): the Residual input, summed with x in float.
template <typename T>
void reference_rows(const T* x, const T* res, T* y, int64_t rows, int64_t D, float eps,
                    const float* s, const float* b, float* mean_out, float* inv_std_out) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * D;
    const T* rr = res ? res + r * D : nullptr;
    T* yr = y + r * D;
    auto at = [&](int64_t j) {
      return rr ? static_cast<float>(xr[j]) + static_cast<float>(rr[j]) : static_cast<float>(xr[j]);
    };
    double mean = 0, var = 0;
    for (int64_t j = 0; j < D; ++j) mean += at(j);
    mean /= static_cast<double>(D);
    for (int64_t j = 0; j < D; ++j) {
      double d = at(j) - mean;
      var += d * d;
    }
    var /= static_cast<double>(D);
    double inv_std = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < D; ++j) {
      yr[j] = T(static_cast<float>((at(j) - mean) * inv_std * s[j] + b[j]));
    }
    if (mean_out) mean_out[r] = static_cast<float>(mean);
    if (inv_std_out) inv_std_out[r] = static_cast<float>(inv_std);
  }
}

// ---- threaded ----

constexpr int kLanes = 16;
constexpr int64_t kRowBuffer = 4096;  // floats on the stack for a 16-bit row

template <typename T>
void fast_row(const T* x, T* y, int64_t D, float eps, const float* s, const float* b,
              float* mean_out, float* inv_std_out) {
  float lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= D; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] += static_cast<float>(x[j + l]);
  }
  float sum = 0;
  for (; j < D; ++j) sum += static_cast<float>(x[j]);
  for (float v : lane) sum += v;
  float mean = sum / static_cast<float>(D);
  // Second pass over (x - mean): no cancellation as in E[x^2] - mean^2.
  float vlane[kLanes] = {};
  for (j = 0; j + kLanes <= D; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      float d = static_cast<float>(x[j + l]) - mean;
      vlane[l] += d * d;
    }
  }
  float var = 0;
  for (; j < D; ++j) {
    float d = static_cast<float>(x[j]) - mean;
    var += d * d;
  }
  for (float v : vlane) var += v;
  var /= static_cast<float>(D);
  float inv_std = 1.f / std::sqrt(var + eps);
  for (j = 0; j < D; ++j) y[j] = T((static_cast<float>(x[j]) - mean) * inv_std * s[j] + b[j]);
  if (mean_out) *mean_out = mean;
  if (inv_std_out) *inv_std_out = inv_std;
}

template <typename T>
void fast_rows(const T* x, const T* res, T* y, int64_t rows, int64_t D, float eps, const float* s,
               const float* b, float* m, float* is, ThreadPool* t) {
  int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1));
  parallel_for(t, rows, grain, [&](int64_t begin, int64_t end) {
    float buf[kRowBuffer];
    std::vector<float> sum(res ? static_cast<size_t>(D) : 0);
    for (int64_t r = begin; r < end; ++r) {
      float* mr = m ? m + r : nullptr;
      float* ir = is ? is + r : nullptr;
      if (res) {
        // x + residual in float, normalized in place, converted on the way out.
        for (int64_t j = 0; j < D; ++j) {
          sum[j] = static_cast<float>(x[r * D + j]) + static_cast<float>(res[r * D + j]);
        }
        fast_row(sum.data(), sum.data(), D, eps, s, b, mr, ir);
        for (int64_t j = 0; j < D; ++j) y[r * D + j] = T(sum[j]);
      } else if (std::is_same_v<T, float> || D > kRowBuffer) {
        fast_row(x + r * D, y + r * D, D, eps, s, b, mr, ir);
      } else {
        // 16-bit rows: convert once so the three passes run vectorized in float.
        for (int64_t j = 0; j < D; ++j) buf[j] = static_cast<float>(x[r * D + j]);
        fast_row(buf, buf, D, eps, s, b, mr, ir);
        for (int64_t j = 0; j < D; ++j) y[r * D + j] = T(buf[j]);
      }
    }
  });
}

class LayerNormKernel final : public Kernel {
 public:
  LayerNormKernel(Params p, bool threaded) : p_(p), threaded_(threaded) {}
  size_t workspace_size(const NodeShapes& shapes) const override {
    return 2 * static_cast<size_t>(norm_size(shapes.inputs[0], p_.axis)) * sizeof(float);
  }
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    int64_t D = norm_size(x.shape, p_.axis);
    if (args.workspace_size < 2 * static_cast<size_t>(D) * sizeof(float)) {
      return resource_exhausted("LayerNorm: workspace too small");
    }
    float* scale = static_cast<float*>(args.workspace);
    float* bias = scale + D;
    KILN_RETURN_IF_ERROR(expand_param(args.inputs[1], x.shape, p_.axis, 1.f, scale, "Scale"));
    TensorView none;
    const TensorView& b = args.inputs.size() > 2 ? args.inputs[2] : none;
    KILN_RETURN_IF_ERROR(expand_param(b, x.shape, p_.axis, 0.f, bias, "Bias"));
    int64_t rows = 1;
    for (int i = 0; i < p_.axis; ++i) rows *= x.shape[i];
    // With D == 0 the statistics are NaN (0/0) and Y is empty.
    float* mean = args.outputs.size() > 1 ? args.outputs[1].as<float>() : nullptr;
    float* inv_std = args.outputs.size() > 2 ? args.outputs[2].as<float>() : nullptr;
    const TensorView* res =
        args.inputs.size() > 3 && args.inputs[3].data != nullptr ? &args.inputs[3] : nullptr;
    if (res != nullptr && (res->dtype != x.dtype || res->shape != x.shape)) {
      return invalid_argument("LayerNorm Residual " + res->shape.to_string() + " " +
                              std::string(dtype_name(res->dtype)) + " does not match X " +
                              x.shape.to_string() + " " + std::string(dtype_name(x.dtype)));
    }
    dispatch_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloatType<T>) {
        const T* xp = x.as<T>();
        const T* rp = res ? res->as<const T>() : nullptr;
        T* yp = args.outputs[0].as<T>();
        if (threaded_) {
          fast_rows(xp, rp, yp, rows, D, p_.epsilon, scale, bias, mean, inv_std, args.threads);
        } else {
          reference_rows(xp, rp, yp, rows, D, p_.epsilon, scale, bias, mean, inv_std);
        }
      }
    });
    return Status::ok();
  }

 private:
  Params p_;
  bool threaded_;
};

bool supports(const KernelInfo& info) {
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (info.has_input(i) && !is_floating(info.input_dtype(i))) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new LayerNormKernel(read_params(info), false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new LayerNormKernel(read_params(info), true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> layer_norm_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
