// CPU tactics of Unary: the scalar reference (op chosen per element), and a threaded version with
// one specialized loop per op.
#include "backends/cpu/half_convert.h"
#include "backends/cpu/thread_pool.h"
#include "ops/unary/unary.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace kiln::ops {

namespace {

float round_half_even(float x) {
  float r = std::round(x);  // half away from zero
  if (std::fabs(x - std::trunc(x)) == 0.5f) r = 2.f * std::round(x * 0.5f);
  return r;
}

float float_op(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::kExp:
      return std::exp(x);
    case UnaryOp::kLog:
      return std::log(x);
    case UnaryOp::kSqrt:
      return std::sqrt(x);
    case UnaryOp::kRsqrt:
      return 1.f / std::sqrt(x);
    case UnaryOp::kAbs:
      return std::fabs(x);
    case UnaryOp::kNeg:
      return -x;
    case UnaryOp::kReciprocal:
      return 1.f / x;
    case UnaryOp::kErf:
      return std::erf(x);
    case UnaryOp::kSin:
      return std::sin(x);
    case UnaryOp::kCos:
      return std::cos(x);
    case UnaryOp::kTan:
      return std::tan(x);
    case UnaryOp::kFloor:
      return std::floor(x);
    case UnaryOp::kCeil:
      return std::ceil(x);
    case UnaryOp::kRound:
      return round_half_even(x);
    case UnaryOp::kSign:
      return std::isnan(x) ? x : (x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f));
    case UnaryOp::kNot:
      break;
  }
  return x;
}

// Integer ops in the unsigned type so that the minimum value wraps instead of overflowing.
template <typename T>
T int_neg(T x) {
  return static_cast<T>(0 - static_cast<uint64_t>(static_cast<int64_t>(x)));
}
template <typename T>
T int_abs(T x) {
  if constexpr (std::is_signed_v<T>)
    return x < 0 ? int_neg(x) : x;
  else
    return x;
}
template <typename T>
T int_sign(T x) {
  return static_cast<T>(x > 0 ? 1 : (x < 0 ? -1 : 0));
}

template <typename T>
T int_op(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::kAbs:
      return int_abs(x);
    case UnaryOp::kNeg:
      return int_neg(x);
    case UnaryOp::kSign:
      return int_sign(x);
    default:
      return x;
  }
}

template <typename T>
constexpr bool kFloatType =
    std::is_same_v<T, float> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

UnaryOp read_op(const ir::Attrs& attrs) {
  UnaryOp op = UnaryOp::kExp;
  parse_unary_op(attrs.get_string("op"), &op);
  return op;
}

// ---- reference ----

class ReferenceUnary final : public Kernel {
 public:
  explicit ReferenceUnary(UnaryOp op) : op_(op) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    int64_t n = x.numel();
    if (op_ == UnaryOp::kNot) {
      const uint8_t* xp = x.as<uint8_t>();
      uint8_t* yp = y.as<uint8_t>();
      for (int64_t i = 0; i < n; ++i) yp[i] = xp[i] ? 0 : 1;
      return Status::ok();
    }
    dispatch_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.as<T>();
      T* yp = y.as<T>();
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (kFloatType<T>) {
          yp[i] = static_cast<T>(float_op(op_, static_cast<float>(xp[i])));
        } else {
          yp[i] = int_op(op_, xp[i]);
        }
      }
    });
    return Status::ok();
  }

 private:
  UnaryOp op_;
};

bool supports_any(const KernelInfo& info) {
  return unary_supports_dtype(read_op(info.attrs()), info.input_dtype(0));
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ReferenceUnary(read_op(info.attrs())));
}

// ---- threaded ----

template <typename T, typename F>
void map(const ExecArgs& args, F f) {
  const T* xp = args.inputs[0].as<T>();
  T* yp = args.outputs[0].as<T>();
  parallel_for(args.threads, args.inputs[0].numel(), 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) yp[i] = static_cast<T>(f(xp[i]));
  });
}

// float16/bfloat16: bulk conversion of chunks to float and back.
template <typename T, typename F>
void map_low_precision(const ExecArgs& args, F f) {
  const T* xp = args.inputs[0].as<T>();
  T* yp = args.outputs[0].as<T>();
  parallel_for(args.threads, args.inputs[0].numel(), 1 << 14, [&](int64_t b, int64_t e) {
    constexpr int64_t kChunk = 256;
    float buf[kChunk];
    for (int64_t i0 = b; i0 < e; i0 += kChunk) {
      int64_t len = std::min(kChunk, e - i0);
      to_float(xp + i0, buf, len);
      for (int64_t i = 0; i < len; ++i) buf[i] = f(buf[i]);
      from_float(buf, yp + i0, len);
    }
  });
}

// Round half to even by the 2^23 trick: adding and subtracting 2^23 rounds a float below 2^23 to
// an integer in the current rounding mode (nearest-even, which kiln never changes); vectorizes,
// unlike the libm calls of the reference.
inline float round_half_even_fast(float x) {
  constexpr float kTwo23 = 8388608.f;
  float ax = std::fabs(x);
  if (!(ax < kTwo23)) return x;  // already integral, inf or NaN
  return std::copysign((ax + kTwo23) - kTwo23, x);
}

template <typename T>
void float_map(UnaryOp op, const ExecArgs& args) {
  auto go = [&](auto fn) {
    if constexpr (std::is_same_v<T, float>) {
      map<T>(args, fn);
    } else {
      map_low_precision<T>(args, fn);
    }
  };
  switch (op) {
    case UnaryOp::kExp:
      return go([](float v) { return std::exp(v); });
    case UnaryOp::kLog:
      return go([](float v) { return std::log(v); });
    case UnaryOp::kSqrt:
      return go([](float v) { return std::sqrt(v); });
    case UnaryOp::kRsqrt:
      return go([](float v) { return 1.f / std::sqrt(v); });
    case UnaryOp::kAbs:
      return go([](float v) { return std::fabs(v); });
    case UnaryOp::kNeg:
      return go([](float v) { return -v; });
    case UnaryOp::kReciprocal:
      return go([](float v) { return 1.f / v; });
    case UnaryOp::kErf:
      return go([](float v) { return std::erf(v); });
    case UnaryOp::kSin:
      return go([](float v) { return std::sin(v); });
    case UnaryOp::kCos:
      return go([](float v) { return std::cos(v); });
    case UnaryOp::kTan:
      return go([](float v) { return std::tan(v); });
    case UnaryOp::kFloor:
      return go([](float v) { return std::floor(v); });
    case UnaryOp::kCeil:
      return go([](float v) { return std::ceil(v); });
    case UnaryOp::kRound:
      return go([](float v) { return round_half_even_fast(v); });
    case UnaryOp::kSign:
      return go([](float v) { return float_op(UnaryOp::kSign, v); });
    case UnaryOp::kNot:
      return;
  }
}

template <typename T>
void int_map(UnaryOp op, const ExecArgs& args) {
  switch (op) {
    case UnaryOp::kAbs:
      return map<T>(args, [](T v) { return int_abs(v); });
    case UnaryOp::kNeg:
      return map<T>(args, [](T v) { return int_neg(v); });
    case UnaryOp::kSign:
      return map<T>(args, [](T v) { return int_sign(v); });
    default:
      return;
  }
}

class ThreadedUnary final : public Kernel {
 public:
  explicit ThreadedUnary(UnaryOp op) : op_(op) {}
  Status execute(const ExecArgs& args) const override {
    if (op_ == UnaryOp::kNot) {
      map<uint8_t>(args, [](uint8_t v) { return v ? 0 : 1; });
      return Status::ok();
    }
    dispatch_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kFloatType<T>) {
        float_map<T>(op_, args);
      } else {
        int_map<T>(op_, args);
      }
    });
    return Status::ok();
  }

 private:
  UnaryOp op_;
};

Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ThreadedUnary(read_op(info.attrs())));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kAllDtypes, supports_any, create_threaded},
};

}  // namespace

std::span<const TacticDef> unary_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
