// CPU tactics of BatchNorm: a reference that applies the formula per element in double, and a
// threaded one that precomputes a[c] = scale / sqrt(var + eps) (in the workspace) and runs
// y = (x - mean) * a + bias over the (n, c) planes in parallel. (Folding further into
// x * a + (bias - mean * a) saves one op but cancels badly when var is small.)
#include "backends/cpu/thread_pool.h"
#include "ops/batch_norm/batch_norm.h"

#include <cmath>

namespace kiln::ops {

namespace {

template <typename T>
constexpr bool kIsFloat =
    std::is_same_v<T, float> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

struct Geometry {
  int64_t N = 1, C = 1, S = 1;  // X as [N, C, S]
};

Result<Geometry> geometry(const ExecArgs& args) {
  Geometry g;
  const Dims& x = args.inputs[0].shape;
  g.N = x[0];
  g.C = x[1];
  for (int i = 2; i < x.rank(); ++i) g.S *= x[i];
  for (int i = 1; i < 5; ++i) {
    if (args.inputs[i].numel() != g.C) {
      return invalid_argument("BatchNorm: parameter " + std::to_string(i) + " has shape " +
                              args.inputs[i].shape.to_string() + ", expected [" +
                              std::to_string(g.C) + "]");
    }
  }
  return g;
}

double param(const ExecArgs& args, int i, int64_t c) {
  return load_as_double(args.inputs[i].data, args.inputs[i].dtype, c);
}

class BatchNormReference final : public Kernel {
 public:
  explicit BatchNormReference(double eps) : eps_(eps) {}
  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(Geometry g, geometry(args));
    dispatch_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloat<T>) {
        const T* x = args.inputs[0].as<T>();
        T* y = args.outputs[0].as<T>();
        for (int64_t n = 0; n < g.N; ++n) {
          for (int64_t c = 0; c < g.C; ++c) {
            double scale = param(args, 1, c), bias = param(args, 2, c);
            double mean = param(args, 3, c), var = param(args, 4, c);
            for (int64_t s = 0; s < g.S; ++s) {
              int64_t i = (n * g.C + c) * g.S + s;
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
};

class BatchNormThreaded final : public Kernel {
 public:
  explicit BatchNormThreaded(double eps) : eps_(eps) {}
  size_t workspace_size(const NodeShapes& shapes) const override {
    return 3 * static_cast<size_t>(shapes.inputs[0][1]) * sizeof(float);
  }
  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(Geometry g, geometry(args));
    if (args.workspace_size < 3 * static_cast<size_t>(g.C) * sizeof(float)) {
      return resource_exhausted("BatchNorm: workspace too small");
    }
    float* a = static_cast<float*>(args.workspace);
    float* mean = a + g.C;
    float* bias = mean + g.C;
    for (int64_t c = 0; c < g.C; ++c) {
      a[c] = static_cast<float>(param(args, 1, c) / std::sqrt(param(args, 4, c) + eps_));
      mean[c] = static_cast<float>(param(args, 3, c));
      bias[c] = static_cast<float>(param(args, 2, c));
    }
    dispatch_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloat<T>) {
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

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new BatchNormReference(info.attrs().get_float("epsilon", 1e-5)));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new BatchNormThreaded(info.attrs().get_float("epsilon", 1e-5)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> batch_norm_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
