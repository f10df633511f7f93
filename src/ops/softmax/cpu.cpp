// CPU tactics of Softmax: a double-precision reference (max-subtract, one slice at a time) and a
// threaded one that runs rows (or blocks of columns when the axis is not innermost) in parallel,
// with a branch-free exp so the inner loops vectorize. Scale, Mask and nan_to_zero: the reference
// takes them on any axis; the threaded tactic when the axis is the last one (rows).
#include "backends/cpu/thread_pool.h"
#include "ops/common/broadcast.h"
#include "ops/softmax/softmax.h"

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

namespace kiln::ops {

namespace {

struct Geometry {
  int64_t outer = 1, n = 1, inner = 1;  // X viewed as [outer, n, inner], softmax over n
};

Geometry geometry(const Dims& shape, int axis) {
  Geometry g;
  for (int i = 0; i < shape.rank(); ++i) {
    if (i < axis)
      g.outer *= shape[i];
    else if (i == axis)
      g.n = shape[i];
    else
      g.inner *= shape[i];
  }
  return g;
}

bool supports_float(const KernelInfo& info) {
  return is_floating(info.input_dtype(0));
}

// The additive mask value of a Mask element: a float as is; bool true is 0, false `fill`.
inline double mask_value(const TensorView& m, int64_t off, float fill) {
  if (m.dtype == DataType::kBool) return m.as<const uint8_t>()[off] ? 0.0 : fill;
  return load_as_double(m.data, m.dtype, off);
}

// Element strides of the mask broadcast to X, or an error.
Status mask_strides(const ExecArgs& args, int64_t* strides) {
  const TensorView& x = args.inputs[0];
  const TensorView& m = args.inputs[1];
  if (!broadcast_strides_to(m.shape, x.shape, strides)) {
    return broadcast_error("Softmax Mask", m.shape, x.shape);
  }
  return Status::ok();
}

bool has_mask(const ExecArgs& args) {
  return args.inputs.size() > 1 && args.inputs[1].data != nullptr;
}

// ---- reference ----

class SoftmaxReference final : public Kernel {
 public:
  explicit SoftmaxReference(SoftmaxParams p) : p_(p) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    Geometry g = geometry(x.shape, p_.axis);
    const bool masked = has_mask(args);
    int64_t ms[Dims::kMaxDims] = {};
    if (masked) KILN_RETURN_IF_ERROR(mask_strides(args, ms));
    const std::vector<int64_t> xs = contiguous_strides(x.shape);
    // Mask offset of X's element e (its coordinates dotted with the mask's strides).
    auto mask_at = [&](int64_t e) {
      int64_t off = 0;
      for (int d = 0; d < x.shape.rank(); ++d) off += (e / xs[d]) % x.shape[d] * ms[d];
      return mask_value(args.inputs[1], off, p_.mask_fill);
    };
    dispatch_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, Half> ||
                    std::is_same_v<T, BFloat16>) {
        const T* xp = x.as<T>();
        T* yp = y.as<T>();
        std::vector<double> z(static_cast<size_t>(g.n));
        for (int64_t o = 0; o < g.outer; ++o) {
          for (int64_t i = 0; i < g.inner; ++i) {
            auto at = [&](int64_t a) { return (o * g.n + a) * g.inner + i; };
            double m = -INFINITY;
            for (int64_t a = 0; a < g.n; ++a) {
              z[a] = static_cast<double>(p_.scale) * static_cast<double>(xp[at(a)]);
              if (masked) z[a] += mask_at(at(a));
              m = std::max(m, z[a]);
            }
            double sum = 0;
            for (int64_t a = 0; a < g.n; ++a) sum += std::exp(z[a] - m);
            for (int64_t a = 0; a < g.n; ++a) {
              double d = z[a] - m;
              double v = p_.log ? d - std::log(sum) : std::exp(d) / sum;
              if (p_.nan_to_zero && std::isnan(v)) v = 0;
              yp[at(a)] = T(static_cast<float>(v));
            }
          }
        }
      }
    });
    return Status::ok();
  }

 private:
  SoftmaxParams p_;
};

// ---- threaded ----

// c ? a : b through bit masks: GCC (with the default -ftrapping-math) will not vectorize a loop
// where a float ?: feeds arithmetic, but it does vectorize this.
inline float select(bool c, float a, float b) {
  uint32_t m = 0u - static_cast<uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & m) | (std::bit_cast<uint32_t>(b) & ~m));
}

// exp(x) in float without branches or calls (Cephes polynomial, ~2 ulp), so loops over it
// vectorize. Below -87.3 it returns 0, NaN stays NaN.
inline float fast_exp(float x) {
  constexpr float kLo = -87.3365447f, kHi = 88.0f;
  float xc = select(x > kLo, x, kLo);  // also maps NaN to kLo (kept finite for the int conversion)
  xc = select(xc < kHi, xc, kHi);
  float n = (xc * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round to nearest
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  float scale = std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
  float v = select(x < kLo, 0.f, p * scale);
  return select(x != x, x, v);
}

constexpr int kLanes = 16;
constexpr int64_t kColBlock = 64;
constexpr int64_t kRowBuffer = 4096;  // floats on the stack for a 16-bit row
constexpr int64_t kGrainElems = 1 << 14;

template <typename T>
float row_max(const T* x, int64_t n) {
  float lane[kLanes];
  for (float& l : lane) l = -INFINITY;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      float v = static_cast<float>(x[i + j]);
      lane[j] = select(v > lane[j], v, lane[j]);
    }
  }
  float m = -INFINITY;
  for (; i < n; ++i) m = std::max(m, static_cast<float>(x[i]));
  for (float l : lane) m = std::max(m, l);
  return m;
}

template <typename T>
float row_sum_exp(const T* x, int64_t n, float m) {
  float lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lane[j] += fast_exp(static_cast<float>(x[i + j]) - m);
  }
  float s = 0;
  for (; i < n; ++i) s += fast_exp(static_cast<float>(x[i]) - m);
  for (float l : lane) s += l;
  return s;
}

inline float row_sum(const float* y, int64_t n) {
  float lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lane[j] += y[i + j];
  }
  float s = 0;
  for (; i < n; ++i) s += y[i];
  for (float l : lane) s += l;
  return s;
}

template <typename T>
void softmax_row(const T* x, T* y, int64_t n, bool log) {
  float m = row_max(x, n);
  if (log) {
    float ls = std::log(row_sum_exp(x, n, m));
    for (int64_t i = 0; i < n; ++i) y[i] = T((static_cast<float>(x[i]) - m) - ls);
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    // Store the exps once, then scale: one exp per element.
    for (int64_t i = 0; i < n; ++i) y[i] = fast_exp(x[i] - m);
    float inv = 1.f / row_sum(y, n);
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  } else {
    float inv = 1.f / row_sum_exp(x, n, m);
    for (int64_t i = 0; i < n; ++i) y[i] = T(fast_exp(static_cast<float>(x[i]) - m) * inv);
  }
}

// Softmax over n for `cnt` adjacent columns (stride `inner` between the n rows).
template <typename T>
void softmax_columns(const T* x, T* y, int64_t n, int64_t inner, int64_t cnt, bool log) {
  float m[kColBlock], s[kColBlock];
  for (int64_t j = 0; j < cnt; ++j) {
    m[j] = -INFINITY;
    s[j] = 0.f;
  }
  for (int64_t a = 0; a < n; ++a) {
    const T* row = x + a * inner;
    for (int64_t j = 0; j < cnt; ++j) {
      float v = static_cast<float>(row[j]);
      m[j] = select(v > m[j], v, m[j]);
    }
  }
  for (int64_t a = 0; a < n; ++a) {
    const T* row = x + a * inner;
    for (int64_t j = 0; j < cnt; ++j) s[j] += fast_exp(static_cast<float>(row[j]) - m[j]);
  }
  for (int64_t j = 0; j < cnt; ++j) s[j] = log ? std::log(s[j]) : 1.f / s[j];
  for (int64_t a = 0; a < n; ++a) {
    const T* row = x + a * inner;
    T* out = y + a * inner;
    if (log) {
      for (int64_t j = 0; j < cnt; ++j) out[j] = T((static_cast<float>(row[j]) - m[j]) - s[j]);
    } else {
      for (int64_t j = 0; j < cnt; ++j) {
        out[j] = T(fast_exp(static_cast<float>(row[j]) - m[j]) * s[j]);
      }
    }
  }
}

// Mask values of one row (offset `off`, step `step`) added to the scaled row, any mask dtype
// (bool: 0 or `fill`).
template <typename M>
void add_mask_row(const M* m, int64_t off, int64_t step, float* z, int64_t n, float fill) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<M, uint8_t>) {
      z[i] += m[off + i * step] ? 0.f : fill;
    } else {
      z[i] += static_cast<float>(m[off + i * step]);
    }
  }
}

class SoftmaxThreaded final : public Kernel {
 public:
  explicit SoftmaxThreaded(SoftmaxParams p) : p_(p) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    Geometry g = geometry(x.shape, p_.axis);
    if (x.numel() == 0) return Status::ok();
    const bool masked = has_mask(args);
    int64_t ms[Dims::kMaxDims] = {};
    if (masked) KILN_RETURN_IF_ERROR(mask_strides(args, ms));
    dispatch_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, Half> ||
                    std::is_same_v<T, BFloat16>) {
        if (masked || p_.scale != 1.f || p_.nan_to_zero) {
          run_transformed<T>(x, y, masked ? &args.inputs[1] : nullptr, ms, g, args.threads);
        } else {
          run<T>(x.as<T>(), y.as<T>(), g, args.threads);
        }
      }
    });
    return Status::ok();
  }

 private:
  // Rows (the axis is the last one) with scale, mask and nan_to_zero: z = scale * x + mask in a
  // float buffer, the vectorized float row, then the conversion back.
  template <typename T>
  void run_transformed(const TensorView& x, const TensorView& y, const TensorView* mask,
                       const int64_t* ms, const Geometry& g, ThreadPool* threads) const {
    const T* xp = x.as<const T>();
    T* yp = y.as<T>();
    const int rank = x.shape.rank();
    int64_t grain = std::max<int64_t>(1, kGrainElems / g.n);
    parallel_for(threads, g.outer, grain, [&](int64_t b, int64_t e) {
      std::vector<float> buf(static_cast<size_t>(g.n));
      for (int64_t r = b; r < e; ++r) {
        const T* xr = xp + r * g.n;
        for (int64_t i = 0; i < g.n; ++i) buf[i] = p_.scale * static_cast<float>(xr[i]);
        if (mask != nullptr) {
          // Mask offset of the row: its coordinates over X's leading dims.
          int64_t off = 0, rest = r;
          for (int d = rank - 2; d >= 0; --d) {
            off += rest % x.shape[d] * ms[d];
            rest /= x.shape[d];
          }
          const int64_t step = ms[rank - 1];
          switch (mask->dtype) {
            case DataType::kFloat32:
              add_mask_row(mask->as<const float>(), off, step, buf.data(), g.n, p_.mask_fill);
              break;
            case DataType::kFloat16:
              add_mask_row(mask->as<const Half>(), off, step, buf.data(), g.n, p_.mask_fill);
              break;
            case DataType::kBFloat16:
              add_mask_row(mask->as<const BFloat16>(), off, step, buf.data(), g.n, p_.mask_fill);
              break;
            default:
              add_mask_row(mask->as<const uint8_t>(), off, step, buf.data(), g.n, p_.mask_fill);
              break;
          }
        }
        softmax_row(buf.data(), buf.data(), g.n, p_.log);
        T* yr = yp + r * g.n;
        for (int64_t i = 0; i < g.n; ++i) {
          float v = buf[i];
          if (p_.nan_to_zero && std::isnan(v)) v = 0.f;
          yr[i] = T(v);
        }
      }
    });
  }

  template <typename T>
  void run(const T* x, T* y, const Geometry& g, ThreadPool* threads) const {
    bool log = p_.log;
    if (g.inner == 1) {
      int64_t grain = std::max<int64_t>(1, kGrainElems / g.n);
      parallel_for(threads, g.outer, grain, [&](int64_t b, int64_t e) {
        float buf[kRowBuffer];
        for (int64_t r = b; r < e; ++r) {
          const T* xr = x + r * g.n;
          T* yr = y + r * g.n;
          if (std::is_same_v<T, float> || g.n > kRowBuffer) {
            softmax_row(xr, yr, g.n, log);
          } else {
            // 16-bit rows: convert once, run the vectorized float row, convert back.
            for (int64_t i = 0; i < g.n; ++i) buf[i] = static_cast<float>(xr[i]);
            softmax_row(buf, buf, g.n, log);
            for (int64_t i = 0; i < g.n; ++i) yr[i] = T(buf[i]);
          }
        }
      });
      return;
    }
    // 16-bit inputs: blocks of columns small enough to convert once into a float buffer.
    bool buffered = !std::is_same_v<T, float> && g.n <= kRowBuffer;
    int64_t col_block = buffered ? std::min(kColBlock, kRowBuffer / g.n) : kColBlock;
    int64_t blocks = (g.inner + col_block - 1) / col_block;
    int64_t grain = std::max<int64_t>(1, kGrainElems / (g.n * std::min(g.inner, col_block)));
    parallel_for(threads, g.outer * blocks, grain, [&](int64_t b, int64_t e) {
      float buf[kRowBuffer];
      for (int64_t w = b; w < e; ++w) {
        int64_t o = w / blocks, i0 = (w % blocks) * col_block;
        int64_t off = o * g.n * g.inner + i0, cnt = std::min(col_block, g.inner - i0);
        if (!buffered) {
          softmax_columns(x + off, y + off, g.n, g.inner, cnt, log);
          continue;
        }
        for (int64_t a = 0; a < g.n; ++a) {
          for (int64_t j = 0; j < cnt; ++j)
            buf[a * cnt + j] = static_cast<float>(x[off + a * g.inner + j]);
        }
        softmax_columns(buf, buf, g.n, cnt, cnt, log);
        for (int64_t a = 0; a < g.n; ++a) {
          for (int64_t j = 0; j < cnt; ++j) y[off + a * g.inner + j] = T(buf[a * cnt + j]);
        }
      }
    });
  }

  SoftmaxParams p_;
};

// The threaded tactic takes scale, mask and nan_to_zero on rows (the last axis) only.
bool supports_threaded(const KernelInfo& info) {
  if (!supports_float(info)) return false;
  const SoftmaxParams p = softmax_params(info);
  const bool plain = !p.has_mask && p.scale == 1.f && !p.nan_to_zero;
  return plain || p.axis == static_cast<int>(info.input(0).shape.size()) - 1;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new SoftmaxReference(softmax_params(info)));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new SoftmaxThreaded(softmax_params(info)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports_float, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports_threaded, create_threaded},
};

}  // namespace

std::span<const TacticDef> softmax_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
