// CPU tactics of BatchNorm: a reference that applies the formula per element in double (either
// layout), and a channels-first threaded one that precomputes a[c] = scale / sqrt(var + eps) (in
// the workspace) and runs y = (x - mean) * a + bias over the (n, c) planes in parallel. (Folding
// further into x * a + (bias - mean * a) saves one op but cancels badly when var is small.)
#include "backends/cpu/thread_pool.h"
#include "ops/batch_norm/batch_norm.h"
#include "ops/common/channel_norm.h"
#include "ops/common/dtype_traits.h"
#include "ops/common/layout.h"

#include <cmath>

namespace kiln::ops {

namespace {

constexpr const char* kParamLabels[] = {"parameter 1", "parameter 2", "parameter 3", "parameter 4"};

class BatchNormReference final : public Kernel {
 public:
  BatchNormReference(double eps, bool channels_last) : eps_(eps), channels_last_(channels_last) {}
  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(NcsGeometry g,
                          ncs_geometry(args, "BatchNorm: ", kParamLabels, channels_last_));
    dispatch_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloatType<T>) {
        const T* x = args.inputs[0].as<T>();
        T* y = args.outputs[0].as<T>();
        for (int64_t n = 0; n < g.N; ++n) {
          for (int64_t c = 0; c < g.C; ++c) {
            double scale = channel_param(args, 1, c), bias = channel_param(args, 2, c);
            double mean = channel_param(args, 3, c), var = channel_param(args, 4, c);
            for (int64_t s = 0; s < g.S; ++s) {
              const int64_t i = g.channels_last ? (n * g.S + s) * g.C + c : (n * g.C + c) * g.S + s;
              double v = (static_cast<float>(x[i]) - mean) / std::sqrt(var + eps_) * scale + bias;
              y[i] = T(static_cast<float>(v));
            }
          }
        }
      }
    });
    return Status::ok();
  }

 private:
  double eps_;
  bool channels_last_;
};

class BatchNormThreaded final : public Kernel {
 public:
  explicit BatchNormThreaded(double eps) : eps_(eps) {}
  size_t workspace_size(const NodeShapes& shapes) const override {
    return 3 * static_cast<size_t>(shapes.inputs[0][1]) * sizeof(float);
  }
  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(NcsGeometry g, ncs_geometry(args, "BatchNorm: ", kParamLabels));
    if (args.workspace_size < 3 * static_cast<size_t>(g.C) * sizeof(float)) {
      return resource_exhausted("BatchNorm: workspace too small");
    }
    float* a = static_cast<float*>(args.workspace);
    float* mean = a + g.C;
    float* bias = mean + g.C;
    for (int64_t c = 0; c < g.C; ++c) {
      a[c] = static_cast<float>(channel_param(args, 1, c) /
                                std::sqrt(channel_param(args, 4, c) + eps_));
      mean[c] = static_cast<float>(channel_param(args, 3, c));
      bias[c] = static_cast<float>(channel_param(args, 2, c));
    }
    dispatch_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloatType<T>) {
        const T* x = args.inputs[0].as<T>();
        T* y = args.outputs[0].as<T>();
        int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(g.S, 1));
        parallel_for(args.threads, g.N * g.C, grain, [&](int64_t begin, int64_t end) {
          for (int64_t p = begin; p < end; ++p) {
            float ka = a[p % g.C], km = mean[p % g.C], kb = bias[p % g.C];
            const T* xp = x + p * g.S;
            T* yp = y + p * g.S;
            for (int64_t s = 0; s < g.S; ++s) yp[s] = T((static_cast<float>(xp[s]) - km) * ka + kb);
          }
        });
      }
    });
    return Status::ok();
  }

 private:
  double eps_;
};

bool supports(const KernelInfo& info) {
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (!info.has_input(i) || !is_floating(info.input_dtype(i))) return false;
  }
  return true;
}

// The threaded kernel walks channels-first planes.
bool supports_threaded(const KernelInfo& info) {
  return supports(info) && !channels_last(info.attrs());
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(
      new BatchNormReference(info.attrs().get_float("epsilon", 1e-5), channels_last(info.attrs())));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new BatchNormThreaded(info.attrs().get_float("epsilon", 1e-5)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports_threaded, create_threaded},
};

}  // namespace

std::span<const TacticDef> batch_norm_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
