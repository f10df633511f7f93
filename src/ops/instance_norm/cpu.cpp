// CPU tactics of InstanceNorm: a double-precision reference, and a threaded one that runs the
// (n, c) planes in parallel with float accumulation in independent lanes (vectorizable).
#include "backends/cpu/thread_pool.h"
#include "ops/common/channel_norm.h"
#include "ops/common/dtype_traits.h"
#include "ops/instance_norm/instance_norm.h"

#include <cmath>

namespace kiln::ops {

namespace {

constexpr const char* kParamLabels[] = {"scale", "bias"};

class InstanceNormReference final : public Kernel {
 public:
  explicit InstanceNormReference(double eps) : eps_(eps) {}
  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(NcsGeometry g, ncs_geometry(args, "InstanceNorm: ", kParamLabels));
    dispatch_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloatType<T>) {
        const T* x = args.inputs[0].as<T>();
        T* y = args.outputs[0].as<T>();
        for (int64_t p = 0; p < g.N * g.C; ++p) {
          const T* xp = x + p * g.S;
          T* yp = y + p * g.S;
          double mean = 0, var = 0;
          for (int64_t s = 0; s < g.S; ++s) mean += static_cast<float>(xp[s]);
          mean /= static_cast<double>(g.S);
          for (int64_t s = 0; s < g.S; ++s) {
            double d = static_cast<float>(xp[s]) - mean;
            var += d * d;
          }
          var /= static_cast<double>(g.S);
          double scale = channel_param(args, 1, p % g.C), bias = channel_param(args, 2, p % g.C);
          for (int64_t s = 0; s < g.S; ++s) {
            double v = (static_cast<float>(xp[s]) - mean) / std::sqrt(var + eps_) * scale + bias;
            yp[s] = T(static_cast<float>(v));
          }
        }
      }
    });
    return Status::ok();
  }

 private:
  double eps_;
};

constexpr int kLanes = 16;

template <typename T>
void normalize_plane(const T* x, T* y, int64_t S, float eps, float scale, float bias) {
  float lane[kLanes] = {};
  int64_t s = 0;
  for (; s + kLanes <= S; s += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] += static_cast<float>(x[s + l]);
  }
  float sum = 0;
  for (; s < S; ++s) sum += static_cast<float>(x[s]);
  for (float v : lane) sum += v;
  float mean = sum / static_cast<float>(S);
  float vlane[kLanes] = {};
  for (s = 0; s + kLanes <= S; s += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      float d = static_cast<float>(x[s + l]) - mean;
      vlane[l] += d * d;
    }
  }
  float var = 0;
  for (; s < S; ++s) {
    float d = static_cast<float>(x[s]) - mean;
    var += d * d;
  }
  for (float v : vlane) var += v;
  var /= static_cast<float>(S);
  // (x - mean) * a + bias, not x * a + (bias - mean * a): the latter cancels badly when the
  // variance is small and a is large.
  float a = scale / std::sqrt(var + eps);
  for (s = 0; s < S; ++s) y[s] = T((static_cast<float>(x[s]) - mean) * a + bias);
}

class InstanceNormThreaded final : public Kernel {
 public:
  explicit InstanceNormThreaded(float eps) : eps_(eps) {}
  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(NcsGeometry g, ncs_geometry(args, "InstanceNorm: ", kParamLabels));
    dispatch_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloatType<T>) {
        const T* x = args.inputs[0].as<T>();
        T* y = args.outputs[0].as<T>();
        int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(g.S, 1));
        parallel_for(args.threads, g.N * g.C, grain, [&](int64_t begin, int64_t end) {
          for (int64_t p = begin; p < end; ++p) {
            normalize_plane(x + p * g.S, y + p * g.S, g.S, eps_,
                            static_cast<float>(channel_param(args, 1, p % g.C)),
                            static_cast<float>(channel_param(args, 2, p % g.C)));
          }
        });
      }
    });
    return Status::ok();
  }

 private:
  float eps_;
};

bool supports(const KernelInfo& info) {
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (!info.has_input(i) || !is_floating(info.input_dtype(i))) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(
      new InstanceNormReference(info.attrs().get_float("epsilon", 1e-5)));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(
      new InstanceNormThreaded(static_cast<float>(info.attrs().get_float("epsilon", 1e-5))));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> instance_norm_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
