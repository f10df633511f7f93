// CPU tactics of LRN:
//   reference  per element, the channel window summed in double
//   threaded   (n, c) planes in parallel; each sums its channel window plane by plane into a
//              float row buffer (vectorizable), then scales the plane
#include "backends/cpu/thread_pool.h"
#include "ops/lrn/lrn.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kiln::ops {

namespace {

struct Params {
  int64_t size = 1;
  double alpha = 1e-4, beta = 0.75, bias = 1.0;
};

struct Geometry {
  int64_t n = 0, c = 0, s = 1;  // X as [N, C, S]
};

Geometry geometry(const Dims& x) {
  Geometry g;
  g.n = x[0];
  g.c = x[1];
  for (int i = 2; i < x.rank(); ++i) g.s *= x[i];
  return g;
}

template <typename T>
void lrn_reference(const Params& p, const Geometry& g, const T* x, T* y) {
  const int64_t lo_off = (p.size - 1) / 2, hi_off = p.size - 1 - lo_off;
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t c = 0; c < g.c; ++c) {
      const int64_t c0 = std::max<int64_t>(0, c - lo_off), c1 = std::min(g.c - 1, c + hi_off);
      for (int64_t s = 0; s < g.s; ++s) {
        double sum = 0;
        for (int64_t i = c0; i <= c1; ++i) {
          const double v = static_cast<float>(x[(n * g.c + i) * g.s + s]);
          sum += v * v;
        }
        const double v = static_cast<float>(x[(n * g.c + c) * g.s + s]);
        const double r = v / std::pow(p.bias + p.alpha / static_cast<double>(p.size) * sum, p.beta);
        y[(n * g.c + c) * g.s + s] = static_cast<T>(static_cast<float>(r));
      }
    }
  }
}

constexpr int64_t kTile = 1024;  // spatial positions per row buffer

template <typename T>
void lrn_planes(const Params& p, const Geometry& g, const T* x, T* y, int64_t begin, int64_t end) {
  const int64_t lo_off = (p.size - 1) / 2, hi_off = p.size - 1 - lo_off;
  const float scale = static_cast<float>(p.alpha / static_cast<double>(p.size));
  const float bias = static_cast<float>(p.bias), beta = static_cast<float>(p.beta);
  float acc[kTile];
  for (int64_t plane = begin; plane < end; ++plane) {
    const int64_t n = plane / g.c, c = plane % g.c;
    const int64_t c0 = std::max<int64_t>(0, c - lo_off), c1 = std::min(g.c - 1, c + hi_off);
    for (int64_t t0 = 0; t0 < g.s; t0 += kTile) {
      const int64_t tn = std::min(kTile, g.s - t0);
      std::fill(acc, acc + tn, 0.f);
      for (int64_t i = c0; i <= c1; ++i) {
        const T* xi = x + (n * g.c + i) * g.s + t0;
        for (int64_t t = 0; t < tn; ++t) {
          const float v = static_cast<float>(xi[t]);
          acc[t] += v * v;
        }
      }
      const T* xc = x + plane * g.s + t0;
      T* yc = y + plane * g.s + t0;
      for (int64_t t = 0; t < tn; ++t) {
        yc[t] = static_cast<T>(static_cast<float>(xc[t]) / std::pow(bias + scale * acc[t], beta));
      }
    }
  }
}

class LrnKernel final : public Kernel {
 public:
  LrnKernel(Params p, bool threaded) : p_(p), threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    if (x.shape.rank() < 2) return internal_error("LRN: X must have rank >= 2");
    if (x.numel() == 0) return Status::ok();
    const Geometry g = geometry(x.shape);
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.as<const T>();
      T* yp = args.outputs[0].as<T>();
      if (threaded_) {
        const int64_t work = std::max<int64_t>(1, g.s * p_.size);
        parallel_for(args.threads, g.n * g.c, std::max<int64_t>(1, 16384 / work),
                     [&](int64_t b, int64_t e) { lrn_planes(p_, g, xp, yp, b, e); });
      } else {
        lrn_reference(p_, g, xp, yp);
      }
    };
    switch (x.dtype) {
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
        return unsupported("LRN: unsupported dtype " + std::string(dtype_name(x.dtype)));
    }
    return Status::ok();
  }

 private:
  Params p_;
  bool threaded_;
};

Params read_params(const ir::Attrs& attrs) {
  Params p;
  p.size = std::max<int64_t>(1, attrs.get_int("size", 1));
  p.alpha = attrs.get_float("alpha", 1e-4);
  p.beta = attrs.get_float("beta", 0.75);
  p.bias = attrs.get_float("bias", 1.0);
  return p;
}

bool supports(const KernelInfo& info) {
  return is_floating(info.input_dtype(0)) && info.input(0).shape.size() >= 2;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new LrnKernel(read_params(info.attrs()), false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new LrnKernel(read_params(info.attrs()), true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> lrn_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
