// CPU tactics of LpNormalization over lines (outer, inner) along the axis:
//   reference  one line at a time, the norm in double
//   threaded   lines in parallel, the norm in float; for inner > 1, blocks of adjacent lines
//              are processed together so the inner loop runs over contiguous memory
#include "backends/cpu/thread_pool.h"
#include "ops/lp_norm/lp_norm.h"

#include <algorithm>
#include <cmath>

namespace kiln::ops {

namespace {

struct Geometry {
  int64_t outer = 1, extent = 1, inner = 1;
};

template <typename T>
void lp_reference(const Geometry& g, int p, const T* x, T* y) {
  for (int64_t o = 0; o < g.outer; ++o) {
    for (int64_t i = 0; i < g.inner; ++i) {
      const T* xl = x + o * g.extent * g.inner + i;
      T* yl = y + o * g.extent * g.inner + i;
      double norm = 0;
      for (int64_t k = 0; k < g.extent; ++k) {
        const double v = static_cast<float>(xl[k * g.inner]);
        norm += p == 1 ? std::fabs(v) : v * v;
      }
      if (p == 2) norm = std::sqrt(norm);
      for (int64_t k = 0; k < g.extent; ++k) {
        const double v = static_cast<float>(xl[k * g.inner]);
        yl[k * g.inner] = static_cast<T>(static_cast<float>(norm != 0 ? v / norm : 0.0));
      }
    }
  }
}

constexpr int64_t kBlock = 64;  // adjacent lines per block when inner > 1

// Lines [begin, end) of `g` as blocks: item = (o, i0) covering lines i0 .. i0 + kBlock.
template <typename T>
void lp_blocks(const Geometry& g, int p, const T* x, T* y, int64_t begin, int64_t end) {
  const int64_t blocks = (g.inner + kBlock - 1) / kBlock;
  float acc[kBlock];
  for (int64_t item = begin; item < end; ++item) {
    const int64_t o = item / blocks, i0 = (item % blocks) * kBlock;
    const int64_t bn = std::min(kBlock, g.inner - i0);
    const T* xb = x + o * g.extent * g.inner + i0;
    T* yb = y + o * g.extent * g.inner + i0;
    std::fill(acc, acc + bn, 0.f);
    for (int64_t k = 0; k < g.extent; ++k) {
      const T* row = xb + k * g.inner;
      for (int64_t j = 0; j < bn; ++j) {
        const float v = static_cast<float>(row[j]);
        acc[j] += p == 1 ? std::fabs(v) : v * v;
      }
    }
    for (int64_t j = 0; j < bn; ++j) {
      const float norm = p == 1 ? acc[j] : std::sqrt(acc[j]);
      acc[j] = norm != 0.f ? 1.f / norm : 0.f;
    }
    for (int64_t k = 0; k < g.extent; ++k) {
      const T* row = xb + k * g.inner;
      T* out = yb + k * g.inner;
      for (int64_t j = 0; j < bn; ++j) out[j] = static_cast<T>(static_cast<float>(row[j]) * acc[j]);
    }
  }
}

class LpNormKernel final : public Kernel {
 public:
  LpNormKernel(int64_t axis, int p, bool threaded) : axis_(axis), p_(p), threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const Dims& d = x.shape;
    if (axis_ >= d.rank()) return internal_error("LpNormalization: axis out of range");
    Geometry g;
    for (int i = 0; i < axis_; ++i) g.outer *= d[i];
    g.extent = d[static_cast<int>(axis_)];
    for (int i = static_cast<int>(axis_) + 1; i < d.rank(); ++i) g.inner *= d[i];
    if (x.numel() == 0) return Status::ok();
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.as<const T>();
      T* yp = args.outputs[0].as<T>();
      if (!threaded_) {
        lp_reference(g, p_, xp, yp);
        return;
      }
      const int64_t blocks = (g.inner + kBlock - 1) / kBlock;
      const int64_t work = std::max<int64_t>(1, g.extent * std::min(kBlock, g.inner));
      parallel_for(args.threads, g.outer * blocks, std::max<int64_t>(1, 16384 / work),
                   [&](int64_t b, int64_t e) { lp_blocks(g, p_, xp, yp, b, e); });
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
        return unsupported("LpNormalization: unsupported dtype " +
                           std::string(dtype_name(x.dtype)));
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
  int p_;
  bool threaded_;
};

bool supports(const KernelInfo& info) {
  const int64_t p = info.attrs().get_int("p", 2);
  return is_floating(info.input_dtype(0)) && (p == 1 || p == 2);
}

Result<std::unique_ptr<Kernel>> create(const KernelInfo& info, bool threaded) {
  int64_t axis = info.attrs().get_int("axis", -1);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  return std::unique_ptr<Kernel>(
      new LpNormKernel(axis, static_cast<int>(info.attrs().get_int("p", 2)), threaded));
}
Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return create(info, false);
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return create(info, true);
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> lp_norm_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
