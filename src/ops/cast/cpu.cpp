// CPU tactics of Cast: the reference conversion loop, and the same loop over chunks in parallel.
#include "backends/cpu/thread_pool.h"
#include "ops/cast/cast.h"
#include "ops/common/dtype_traits.h"

#include <bit>
#include <cmath>
#include <limits>

namespace kiln::ops {

namespace {

// An integer rounded to float with round-to-odd (truncate, then set the last bit if anything was
// dropped). Rounding that to float16/bfloat16 (11/8 bits <= 24 - 2) then gives the correctly
// rounded result, where int -> float -> half would round twice.
float int_to_float_odd(int64_t v) {
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  float f;
  if (u < (uint64_t{1} << 24)) {
    f = static_cast<float>(u);
  } else {
    int shift = std::bit_width(u) - 24;
    uint64_t m = u >> shift;
    if (u & ((uint64_t{1} << shift) - 1)) m |= 1;
    f = std::ldexp(static_cast<float>(m), shift);
  }
  return v < 0 ? -f : f;
}

template <typename S, typename D>
D convert(S v) {
  if constexpr (kIsFloatType<D>) {
    if constexpr (kIsFloatType<S>) {
      return D(static_cast<float>(v));
    } else if constexpr (std::is_same_v<D, float>) {
      return static_cast<float>(v);  // correctly rounded
    } else {
      return D(int_to_float_odd(static_cast<int64_t>(v)));
    }
  } else if constexpr (kIsFloatType<S>) {
    double t = std::trunc(static_cast<double>(static_cast<float>(v)));
    if (std::isnan(t)) return D{0};
    const double hi_excl = std::ldexp(1.0, std::numeric_limits<D>::digits);
    const double lo = static_cast<double>(std::numeric_limits<D>::lowest());
    if (t >= hi_excl) return std::numeric_limits<D>::max();
    if (t < lo) return std::numeric_limits<D>::lowest();
    return static_cast<D>(t);
  } else {
    return static_cast<D>(v);  // integers: modular (two's complement) narrowing
  }
}

void cast_range(const TensorView& x, const TensorView& y, int64_t begin, int64_t end) {
  if (x.dtype == y.dtype) {
    size_t es = dtype_size(x.dtype);
    std::memcpy(static_cast<char*>(y.data) + begin * es,
                static_cast<const char*>(x.data) + begin * es, (end - begin) * es);
    return;
  }
  dispatch_dtype(x.dtype, [&](auto stag) {
    using S = decltype(stag);
    const S* xp = x.as<S>();
    if (y.dtype == DataType::kBool) {
      uint8_t* yp = y.as<uint8_t>();
      for (int64_t i = begin; i < end; ++i) {
        if constexpr (kIsFloatType<S>) {
          yp[i] = static_cast<float>(xp[i]) != 0.f ? 1 : 0;
        } else {
          yp[i] = xp[i] != 0 ? 1 : 0;
        }
      }
      return;
    }
    dispatch_dtype(y.dtype, [&](auto dtag) {
      using D = decltype(dtag);
      D* yp = y.as<D>();
      for (int64_t i = begin; i < end; ++i) yp[i] = convert<S, D>(xp[i]);
    });
  });
}

class CastKernel final : public Kernel {
 public:
  explicit CastKernel(bool threaded) : threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (threaded_) {
      parallel_for(args.threads, x.numel(), 1 << 15,
                   [&](int64_t b, int64_t e) { cast_range(x, y, b, e); });
    } else if (x.numel() > 0) {
      cast_range(x, y, 0, x.numel());
    }
    return Status::ok();
  }

 private:
  bool threaded_;
};

bool supports(const KernelInfo& info) {
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new CastKernel(false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new CastKernel(true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kAllDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> cast_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
