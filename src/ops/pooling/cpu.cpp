// CPU tactics of Pooling (max, average and lp):
//   reference    per-output loops over the window taps, any number of spatial dims, either
//                layout (channels_last)
//   threaded_2d  2-D: rows of output in parallel, clipped window ranges computed once per row and
//                column (no per-tap bounds checks); global pooling as a parallel plane reduction
#include "backends/cpu/thread_pool.h"
#include "ops/common/strided_range.h"
#include "ops/pooling/pooling.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int kMaxSpatial = Dims::kMaxDims - 2;

// Concrete window geometry of one run (global pooling becomes a window over the whole input).
struct Geometry {
  int64_t planes = 0;  // N * C
  int64_t channels = 0;
  bool channels_last = false;
  int spatial = 0;
  std::array<int64_t, kMaxSpatial> in{}, out{}, k{}, s{}, pb{}, pe{}, d{};
  int64_t in_size = 1, out_size = 1, k_size = 1;
};

Geometry make_geometry(const PoolParams& p, const Dims& x, const Dims& y) {
  Geometry g;
  g.spatial = p.spatial;
  g.channels_last = p.channels_last;
  g.channels = x[channel_dim(p.channels_last, x.rank())];
  g.planes = x[0] * g.channels;
  for (int i = 0; i < p.spatial; ++i) {
    g.in[i] = x[spatial_dim(p.channels_last, i)];
    g.out[i] = y[spatial_dim(p.channels_last, i)];
    if (p.global) {
      g.k[i] = g.in[i];
      g.s[i] = 1;
      g.d[i] = 1;
    } else {
      g.k[i] = p.kernel[i];
      g.s[i] = p.strides[i];
      g.pb[i] = p.pads[i];
      g.pe[i] = p.pads[p.spatial + i];
      g.d[i] = p.dilations[i];
    }
    g.in_size *= g.in[i];
    g.out_size *= g.out[i];
    g.k_size *= g.k[i];
  }
  return g;
}

// Accumulation type: float for float types, int for int8/uint8 (max only).
template <typename T>
using Acc = std::conditional_t<std::is_integral_v<T>, int, float>;

template <typename T>
Acc<T> lowest() {
  if constexpr (std::is_integral_v<T>) {
    return std::numeric_limits<T>::lowest();
  } else {
    return -std::numeric_limits<float>::infinity();
  }
}

template <typename Fn>
Status dispatch_pool(DataType dt, Fn&& fn) {
  switch (dt) {
    case DataType::kFloat32:
      fn(float{});
      return Status::ok();
    case DataType::kFloat16:
      fn(Half{});
      return Status::ok();
    case DataType::kBFloat16:
      fn(BFloat16{});
      return Status::ok();
    case DataType::kInt8:
      fn(int8_t{});
      return Status::ok();
    case DataType::kUInt8:
      fn(uint8_t{});
      return Status::ok();
    default:
      return unsupported("Pooling kernel: unsupported dtype " + std::string(dtype_name(dt)));
  }
}

// Lp pooling: the window sums term(x), the output is finish(sum).
struct LpNorm {
  int64_t p = 2;
  float term(float v) const {
    v = std::fabs(v);
    return p == 1 ? v : p == 2 ? v * v : std::pow(v, static_cast<float>(p));
  }
  float finish(float sum) const {
    return p == 1 ? sum : p == 2 ? std::sqrt(sum) : std::pow(sum, 1.f / static_cast<float>(p));
  }
};

Result<PoolParams> params_of(const KernelInfo& info) {
  if (info.input(0).shape.size() < 3) return invalid_argument("X must have rank >= 3");
  return read_pool_params(info.attrs(), static_cast<int>(info.input(0).shape.size()) - 2);
}

bool supported_dtype(const PoolParams& p, DataType dt) {
  if (dt == DataType::kFloat32 || dt == DataType::kFloat16 || dt == DataType::kBFloat16) {
    return true;
  }
  return p.is_max && (dt == DataType::kInt8 || dt == DataType::kUInt8);
}

// ---------------------------------------------------------------- reference

template <typename T>
void pool_reference(const PoolParams& p, const Geometry& g, const T* x, T* y) {
  const int s = g.spatial;
  std::array<int64_t, kMaxSpatial> oc{}, kc{};
  // A plane (n, c) starts at xp / yp; its spatial elements are `step` apart.
  const int64_t step = g.channels_last ? g.channels : 1;
  for (int64_t plane = 0; plane < g.planes; ++plane) {
    const int64_t n = plane / std::max<int64_t>(g.channels, 1), c = plane - n * g.channels;
    const T* xp = x + (g.channels_last ? n * g.in_size * g.channels + c : plane * g.in_size);
    T* yp = y + (g.channels_last ? n * g.out_size * g.channels + c : plane * g.out_size);
    for (int64_t oi = 0; oi < g.out_size; ++oi) {
      for (int64_t d = s - 1, r = oi; d >= 0; --d) {
        oc[d] = r % g.out[d];
        r /= g.out[d];
      }
      Acc<T> best = lowest<T>();
      float sum = 0.f;
      int64_t count = 0;
      const LpNorm lp{p.p};
      for (int64_t ki = 0; ki < g.k_size; ++ki) {
        for (int64_t d = s - 1, r = ki; d >= 0; --d) {
          kc[d] = r % g.k[d];
          r /= g.k[d];
        }
        bool inside = true, in_padded = true;
        int64_t idx = 0;
        for (int d = 0; d < s; ++d) {
          const int64_t pos = oc[d] * g.s[d] - g.pb[d] + kc[d] * g.d[d];
          if (pos < 0 || pos >= g.in[d]) inside = false;
          if (pos < -g.pb[d] || pos >= g.in[d] + g.pe[d]) in_padded = false;
          idx = idx * g.in[d] + pos;
        }
        if (p.count_include_pad ? in_padded : inside) ++count;
        if (!inside) continue;
        const Acc<T> v = static_cast<Acc<T>>(xp[idx * step]);
        if (v > best) best = v;
        sum += p.is_lp ? lp.term(static_cast<float>(v)) : static_cast<float>(v);
      }
      T* out = yp + oi * step;
      if (p.is_max) {
        *out = static_cast<T>(best);
      } else if (p.is_lp) {
        *out = static_cast<T>(lp.finish(sum));
      } else if constexpr (!std::is_integral_v<T>) {
        *out = static_cast<T>(count > 0 ? sum / static_cast<float>(count) : 0.f);
      }
    }
  }
}

class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(PoolParams p) : p_(std::move(p)) {}
  Status execute(const ExecArgs& args) const override {
    if (args.inputs.size() != 1 || args.outputs.size() != 1) {
      return internal_error("Pooling kernel: expected 1 input and 1 output");
    }
    if (args.outputs[0].numel() == 0) return Status::ok();
    Geometry g = make_geometry(p_, args.inputs[0].shape, args.outputs[0].shape);
    return dispatch_pool(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      pool_reference<T>(p_, g, args.inputs[0].as<const T>(), args.outputs[0].as<T>());
    });
  }

 private:
  PoolParams p_;
};

bool supports_reference(const KernelInfo& info) {
  auto p = params_of(info);
  return p.is_ok() && supported_dtype(*p, info.input_dtype(0)) &&
         info.input(0).shape.size() - 2 <= static_cast<size_t>(kMaxSpatial);
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(PoolParams p, params_of(info));
  return std::unique_ptr<Kernel>(new ReferenceKernel(std::move(p)));
}

// ---------------------------------------------------------------- threaded 2-D

class Threaded2dKernel final : public Kernel {
 public:
  explicit Threaded2dKernel(PoolParams p) : p_(std::move(p)) {}
  Status execute(const ExecArgs& args) const override {
    if (args.inputs.size() != 1 || args.outputs.size() != 1) {
      return internal_error("Pooling kernel: expected 1 input and 1 output");
    }
    if (args.outputs[0].numel() == 0) return Status::ok();
    Geometry g = make_geometry(p_, args.inputs[0].shape, args.outputs[0].shape);
    return dispatch_pool(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* x = args.inputs[0].as<const T>();
      T* y = args.outputs[0].as<T>();
      if (p_.global) {
        global(g, x, y, args.threads);
      } else {
        windows(g, x, y, args.threads);
      }
    });
  }

 private:
  template <typename T>
  void global(const Geometry& g, const T* x, T* y, ThreadPool* threads) const {
    const int64_t n = g.in_size;
    parallel_for(threads, g.planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)),
                 [&](int64_t p0, int64_t p1) {
                   for (int64_t plane = p0; plane < p1; ++plane) {
                     const T* xp = x + plane * n;
                     if (p_.is_max) {
                       Acc<T> best = lowest<T>();
                       for (int64_t i = 0; i < n; ++i) {
                         best = std::max(best, static_cast<Acc<T>>(xp[i]));
                       }
                       y[plane] = static_cast<T>(best);
                     } else if (p_.is_lp) {
                       const LpNorm lp{p_.p};
                       float sum = 0.f;
                       for (int64_t i = 0; i < n; ++i) sum += lp.term(static_cast<float>(xp[i]));
                       y[plane] = static_cast<T>(lp.finish(sum));
                     } else if constexpr (!std::is_integral_v<T>) {
                       float sum = 0.f;
                       for (int64_t i = 0; i < n; ++i) sum += static_cast<float>(xp[i]);
                       y[plane] = static_cast<T>(n > 0 ? sum / static_cast<float>(n) : 0.f);
                     }
                   }
                 });
  }

  template <typename T>
  void windows(const Geometry& g, const T* x, T* y, ThreadPool* threads) const {
    const int64_t ih_n = g.in[0], iw_n = g.in[1], oh_n = g.out[0], ow_n = g.out[1];
    const int64_t kh_n = g.k[0], kw_n = g.k[1], sh = g.s[0], sw = g.s[1];
    const int64_t dh = g.d[0], dw = g.d[1], ph = g.pb[0], pw = g.pb[1];
    const int64_t padded_h = ih_n + ph + g.pe[0], padded_w = iw_n + pw + g.pe[1];
    const int64_t work = std::max<int64_t>(1, g.k_size * ow_n);
    parallel_for(threads, g.planes * oh_n, std::max<int64_t>(1, 16384 / work),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t r = r0; r < r1; ++r) {
                     const int64_t plane = r / oh_n, oh = r % oh_n;
                     const T* xp = x + plane * ih_n * iw_n;
                     T* yr = y + r * ow_n;
                     const int64_t ih0 = oh * sh - ph;
                     int64_t kh_lo, kh_hi, ph_lo, ph_hi;
                     valid_range(ih0, dh, ih_n, kh_n, &kh_lo, &kh_hi);
                     valid_range(ih0 + ph, dh, padded_h, kh_n, &ph_lo, &ph_hi);
                     for (int64_t ow = 0; ow < ow_n; ++ow) {
                       const int64_t iw0 = ow * sw - pw;
                       int64_t kw_lo, kw_hi;
                       valid_range(iw0, dw, iw_n, kw_n, &kw_lo, &kw_hi);
                       if (p_.is_max) {
                         Acc<T> best = lowest<T>();
                         for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
                           const T* row = xp + (ih0 + kh * dh) * iw_n + iw0;
                           for (int64_t kw = kw_lo; kw < kw_hi; ++kw) {
                             best = std::max(best, static_cast<Acc<T>>(row[kw * dw]));
                           }
                         }
                         yr[ow] = static_cast<T>(best);
                       } else if (p_.is_lp) {
                         const LpNorm lp{p_.p};
                         float sum = 0.f;
                         for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
                           const T* row = xp + (ih0 + kh * dh) * iw_n + iw0;
                           for (int64_t kw = kw_lo; kw < kw_hi; ++kw) {
                             sum += lp.term(static_cast<float>(row[kw * dw]));
                           }
                         }
                         yr[ow] = static_cast<T>(lp.finish(sum));
                       } else if constexpr (!std::is_integral_v<T>) {
                         float sum = 0.f;
                         for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
                           const T* row = xp + (ih0 + kh * dh) * iw_n + iw0;
                           for (int64_t kw = kw_lo; kw < kw_hi; ++kw) {
                             sum += static_cast<float>(row[kw * dw]);
                           }
                         }
                         int64_t count;
                         if (p_.count_include_pad) {
                           int64_t pw_lo, pw_hi;
                           valid_range(iw0 + pw, dw, padded_w, kw_n, &pw_lo, &pw_hi);
                           count = (ph_hi - ph_lo) * (pw_hi - pw_lo);
                         } else {
                           count = (kh_hi - kh_lo) * (kw_hi - kw_lo);
                         }
                         yr[ow] = static_cast<T>(count > 0 ? sum / static_cast<float>(count) : 0.f);
                       }
                     }
                   }
                 });
  }

  PoolParams p_;
};

bool supports_threaded_2d(const KernelInfo& info) {
  auto p = params_of(info);
  return info.input(0).shape.size() == 4 && p.is_ok() && !p->channels_last &&
         supported_dtype(*p, info.input_dtype(0));
}

Result<std::unique_ptr<Kernel>> create_threaded_2d(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(PoolParams p, params_of(info));
  return std::unique_ptr<Kernel>(new Threaded2dKernel(std::move(p)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference,
     kFloatDtypes | DtypeSet{DataType::kInt8, DataType::kUInt8}, supports_reference,
     create_reference},
    {"threaded_2d", TacticSource::kCpuOptimized,
     kFloatDtypes | DtypeSet{DataType::kInt8, DataType::kUInt8}, supports_threaded_2d,
     create_threaded_2d},
};

}  // namespace

std::span<const TacticDef> pooling_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
