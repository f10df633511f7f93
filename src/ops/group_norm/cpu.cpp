// CPU tactics of GroupNormalization. X is viewed as [N, G, C/G, S]; a (n, g) group is one
// contiguous block of (C/G) * S elements.
//   reference  groups one by one, statistics in double
//   threaded   groups in parallel, statistics in float lanes (vectorizable), two passes
#include "backends/cpu/thread_pool.h"
#include "ops/group_norm/group_norm.h"

#include <algorithm>
#include <cmath>

namespace kiln::ops {

namespace {

struct Params {
  int64_t groups = 1;
  double eps = 1e-5;
  bool per_group = false;
};

struct Geometry {
  int64_t n = 0, c = 0, s = 1, cg = 0;  // cg = channels per group
};

Result<Geometry> geometry(const Params& p, const ExecArgs& args) {
  const Dims& x = args.inputs[0].shape;
  if (x.rank() < 2) return invalid_argument("GroupNormalization: X must have rank >= 2");
  Geometry g;
  g.n = x[0];
  g.c = x[1];
  for (int i = 2; i < x.rank(); ++i) g.s *= x[i];
  if (g.c % p.groups != 0) {
    return invalid_argument("GroupNormalization: channels " + std::to_string(g.c) +
                            " are not divisible by num_groups " + std::to_string(p.groups));
  }
  g.cg = g.c / p.groups;
  const int64_t want = p.per_group ? p.groups : g.c;
  for (int i = 1; i < 3; ++i) {
    if (args.inputs[i].numel() != want || args.inputs[i].shape.rank() != 1) {
      return invalid_argument("GroupNormalization: " + std::string(i == 1 ? "scale" : "bias") +
                              " has shape " + args.inputs[i].shape.to_string() + ", expected [" +
                              std::to_string(want) + "]");
    }
  }
  return g;
}

// Parameter i (1 = scale, 2 = bias) of channel c.
double param(const Params& p, const Geometry& g, const ExecArgs& args, int i, int64_t c) {
  return load_as_double(args.inputs[i].data, args.inputs[i].dtype, p.per_group ? c / g.cg : c);
}

template <typename T>
void group_reference(const Params& p, const Geometry& g, const ExecArgs& args, const T* x, T* y) {
  const int64_t len = g.cg * g.s;
  for (int64_t grp = 0; grp < g.n * p.groups; ++grp) {
    const T* xg = x + grp * len;
    T* yg = y + grp * len;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < len; ++i) mean += static_cast<float>(xg[i]);
    mean /= static_cast<double>(len);
    for (int64_t i = 0; i < len; ++i) {
      const double d = static_cast<float>(xg[i]) - mean;
      var += d * d;
    }
    var /= static_cast<double>(len);
    const double inv = 1.0 / std::sqrt(var + p.eps);
    for (int64_t ci = 0; ci < g.cg; ++ci) {
      const int64_t c = (grp % p.groups) * g.cg + ci;
      const double scale = param(p, g, args, 1, c), bias = param(p, g, args, 2, c);
      for (int64_t s = 0; s < g.s; ++s) {
        const double v = (static_cast<float>(xg[ci * g.s + s]) - mean) * inv * scale + bias;
        yg[ci * g.s + s] = static_cast<T>(static_cast<float>(v));
      }
    }
  }
}

constexpr int kLanes = 16;

template <typename T>
void group_threaded(const Params& p, const Geometry& g, const ExecArgs& args, const T* x, T* y,
                    int64_t begin, int64_t end) {
  const int64_t len = g.cg * g.s;
  const float eps = static_cast<float>(p.eps);
  for (int64_t grp = begin; grp < end; ++grp) {
    const T* xg = x + grp * len;
    T* yg = y + grp * len;
    float lane[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      for (int l = 0; l < kLanes; ++l) lane[l] += static_cast<float>(xg[i + l]);
    }
    float sum = 0;
    for (; i < len; ++i) sum += static_cast<float>(xg[i]);
    for (float v : lane) sum += v;
    const float mean = sum / static_cast<float>(len);
    float vlane[kLanes] = {};
    for (i = 0; i + kLanes <= len; i += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        const float d = static_cast<float>(xg[i + l]) - mean;
        vlane[l] += d * d;
      }
    }
    float var = 0;
    for (; i < len; ++i) {
      const float d = static_cast<float>(xg[i]) - mean;
      var += d * d;
    }
    for (float v : vlane) var += v;
    var /= static_cast<float>(len);
    const float inv = 1.f / std::sqrt(var + eps);
    for (int64_t ci = 0; ci < g.cg; ++ci) {
      const int64_t c = (grp % p.groups) * g.cg + ci;
      const float a = static_cast<float>(param(p, g, args, 1, c)) * inv;
      const float b = static_cast<float>(param(p, g, args, 2, c));
      const T* xc = xg + ci * g.s;
      T* yc = yg + ci * g.s;
      for (int64_t s = 0; s < g.s; ++s)
        yc[s] = static_cast<T>((static_cast<float>(xc[s]) - mean) * a + b);
    }
  }
}

class GroupNormKernel final : public Kernel {
 public:
  GroupNormKernel(Params p, bool threaded) : p_(p), threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(Geometry g, geometry(p_, args));
    if (args.inputs[0].numel() == 0) return Status::ok();
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* x = args.inputs[0].as<const T>();
      T* y = args.outputs[0].as<T>();
      if (!threaded_) {
        group_reference(p_, g, args, x, y);
        return;
      }
      const int64_t len = std::max<int64_t>(1, g.cg * g.s);
      parallel_for(args.threads, g.n * p_.groups, std::max<int64_t>(1, 16384 / len),
                   [&](int64_t b, int64_t e) { group_threaded(p_, g, args, x, y, b, e); });
    };
    switch (args.inputs[0].dtype) {
      case DataType::kFloat32:
        run(float{});
        break;
      case DataType::kFloat16:
        run(Half{});
        break;
      case DataType::kBFloat16:
        run(BFloat16{});
        break;
      default:
        return unsupported("GroupNormalization: unsupported dtype " +
                           std::string(dtype_name(args.inputs[0].dtype)));
    }
    return Status::ok();
  }

 private:
  Params p_;
  bool threaded_;
};

Params read_params(const ir::Attrs& attrs) {
  Params p;
  p.groups = std::max<int64_t>(1, attrs.get_int("num_groups", 1));
  p.eps = attrs.get_float("epsilon", 1e-5);
  p.per_group = attrs.get_int("per_group_affine", 0) != 0;
  return p;
}

bool supports(const KernelInfo& info) {
  for (int i = 0; i < 3; ++i) {
    if (!info.has_input(i) || !is_floating(info.input_dtype(i))) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new GroupNormKernel(read_params(info.attrs()), false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new GroupNormKernel(read_params(info.attrs()), true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> group_norm_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
