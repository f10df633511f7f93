// CPU tactics of Resize. Both build per-axis tap tables (indices and weights) in the workspace.
//   reference  any rank / mode / dtype: every output element sums the product of its per-axis
//              taps in double (nearest copies the element's bytes, exact for every dtype);
//   nchw2d     rank 4 with N and C copied, nearest (any dtype) or linear (floating): one output
//              row at a time from at most two input rows, rows in parallel; float math.
//              Falls back to the generic loop when N or C is resized or a tap extrapolates
//              (tf_crop_and_resize).
// roi / scales / sizes are read on the host (host_input).
#include "backends/cpu/thread_pool.h"
#include "ops/resize/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

template <typename Fn>
void dispatch_word(size_t size, Fn&& fn) {
  switch (size) {
    case 1:
      fn(uint8_t{});
      break;
    case 2:
      fn(uint16_t{});
      break;
    case 4:
      fn(uint32_t{});
      break;
    default:
      fn(uint64_t{});
      break;
  }
}

// Rounds and saturates a computed value into an integer dtype; floats convert directly.
template <typename T>
T to_dtype(double v) {
  if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T{0};
    v = std::round(v);
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
    if (v <= lo) return std::numeric_limits<T>::min();
    if (v >= hi) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return static_cast<T>(static_cast<float>(v));
  }
}

size_t taps_bytes(const Dims& out) {
  size_t n = 0;
  for (int d = 0; d < out.rank(); ++d) n += static_cast<size_t>(out[d]);
  return n * sizeof(ResizeTaps);
}

// The plan for this run, from the host views of roi / scales / sizes.
Status plan_for(const ResizeAttrs& attrs, const ExecArgs& args, ResizePlan* plan) {
  const TensorView none{};
  const size_t n = args.inputs.size();
  auto host = [&](size_t i) -> const TensorView& { return i < n ? host_input(args, i) : none; };
  const TensorView& x = args.inputs[0];
  const TensorView& y = args.outputs[0];
  if (x.dtype != y.dtype) return invalid_argument("resize output dtype differs from the input");
  return resize_plan(attrs, x.shape, y.shape, host(1), host(2), host(3), plan);
}

// Fills per-axis tap tables (workspace) and returns the table start of each axis.
Status build_taps(const ResizeAttrs& attrs, const ResizePlan& plan, const ExecArgs& args,
                  ResizeTaps** tables) {
  const Dims& out = args.outputs[0].shape;
  if (args.workspace_size < taps_bytes(out)) return invalid_argument("resize workspace too small");
  ResizeTaps* t = static_cast<ResizeTaps*>(args.workspace);
  for (int d = 0; d < out.rank(); ++d) {
    tables[d] = t;
    for (int64_t i = 0; i < out[d]; ++i) *t++ = resize_taps(attrs, i, plan[d]);
  }
  return Status::ok();
}

template <typename T>
void resize_generic(const ResizeAttrs& attrs, const T* x, T* y, const Dims& xs, const Dims& ys,
                    ResizeTaps* const* tables, bool is_bool) {
  const int r = xs.rank();
  int64_t stride[kMax];
  int64_t acc = 1;
  for (int d = r - 1; d >= 0; --d) {
    stride[d] = acc;
    acc *= xs[d];
  }
  const bool nearest = attrs.mode == ResizeMode::kNearest;
  const int64_t total = ys.volume();
  int64_t idx[kMax] = {};
  for (int64_t o = 0; o < total; ++o) {
    const ResizeTaps* taps[kMax];
    bool outside = false;
    for (int d = 0; d < r; ++d) {
      taps[d] = &tables[d][idx[d]];
      outside = outside || taps[d]->outside;
    }
    if (outside) {
      y[o] = is_bool ? T(attrs.extrapolation != 0) : to_dtype<T>(attrs.extrapolation);
    } else if (nearest) {
      int64_t off = 0;
      for (int d = 0; d < r; ++d) off += taps[d]->idx[0] * stride[d];
      std::memcpy(&y[o], &x[off], sizeof(T));
    } else {
      // Sum over every combination of one tap per axis.
      int k[kMax] = {};
      double sum = 0;
      while (true) {
        double w = 1;
        int64_t off = 0;
        for (int d = 0; d < r; ++d) {
          w *= taps[d]->w[k[d]];
          off += taps[d]->idx[k[d]] * stride[d];
        }
        sum += w * static_cast<double>(x[off]);
        int d = r - 1;
        for (; d >= 0; --d) {
          if (++k[d] < taps[d]->n) break;
          k[d] = 0;
        }
        if (d < 0) break;
      }
      y[o] = to_dtype<T>(sum);
    }
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < ys[d]) break;
      idx[d] = 0;
    }
  }
}

// Runs the generic loop for the dtype (nearest copies bytes; the others compute in double).
Status run_generic(const ResizeAttrs& attrs, const ExecArgs& args, ResizeTaps* const* tables) {
  const TensorView& x = args.inputs[0];
  const TensorView& y = args.outputs[0];
  if (attrs.mode != ResizeMode::kNearest && x.dtype == DataType::kBool) {
    return unsupported("resize: a bool input needs mode nearest");
  }
  dispatch_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    resize_generic(attrs, x.as<const T>(), y.as<T>(), x.shape, y.shape, tables,
                   x.dtype == DataType::kBool);
  });
  return Status::ok();
}

class ResizeKernelBase : public Kernel {
 public:
  explicit ResizeKernelBase(ResizeAttrs attrs) : attrs_(std::move(attrs)) {}
  size_t workspace_size(const NodeShapes& shapes) const override {
    return shapes.outputs.empty() ? 0 : taps_bytes(shapes.outputs[0]);
  }

 protected:
  ResizeAttrs attrs_;
};

class ResizeReference final : public ResizeKernelBase {
 public:
  using ResizeKernelBase::ResizeKernelBase;
  Status execute(const ExecArgs& args) const override {
    ResizePlan plan;
    KILN_RETURN_IF_ERROR(plan_for(attrs_, args, &plan));
    if (args.outputs[0].numel() == 0) return Status::ok();
    ResizeTaps* tables[kMax];
    KILN_RETURN_IF_ERROR(build_taps(attrs_, plan, args, tables));
    return run_generic(attrs_, args, tables);
  }
};

// ---- nchw2d ----

struct Tap2 {
  int64_t i0, i1;
  float w0, w1;
};

template <typename T>
void nearest_2d(const T* x, T* y, const Dims& xs, const Dims& ys, const Tap2* th, const Tap2* tw,
                ThreadPool* pool) {
  const int64_t ih = xs[2], iw = xs[3], oh = ys[2], ow = ys[3];
  const int64_t rows = ys[0] * ys[1] * oh;
  parallel_for(pool, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(ow, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t row = begin; row < end; ++row) {
                   const int64_t plane = row / oh, yo = row % oh;
                   T* out = y + row * ow;
                   const T* in = x + (plane * ih + th[yo].i0) * iw;
                   for (int64_t j = 0; j < ow; ++j) out[j] = in[tw[j].i0];
                 }
               });
}

template <typename T>
void linear_2d(const T* x, T* y, const Dims& xs, const Dims& ys, const Tap2* th, const Tap2* tw,
               ThreadPool* pool) {
  const int64_t ih = xs[2], iw = xs[3], oh = ys[2], ow = ys[3];
  const int64_t rows = ys[0] * ys[1] * oh;
  parallel_for(pool, rows, std::max<int64_t>(1, 2048 / std::max<int64_t>(ow, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t row = begin; row < end; ++row) {
                   const int64_t plane = row / oh, yo = row % oh;
                   T* out = y + row * ow;
                   const Tap2& ty = th[yo];
                   const T* r0 = x + (plane * ih + ty.i0) * iw;
                   const T* r1 = x + (plane * ih + ty.i1) * iw;
                   for (int64_t j = 0; j < ow; ++j) {
                     const Tap2& tx = tw[j];
                     const float a = tx.w0 * static_cast<float>(r0[tx.i0]) +
                                     tx.w1 * static_cast<float>(r0[tx.i1]);
                     const float b = tx.w0 * static_cast<float>(r1[tx.i0]) +
                                     tx.w1 * static_cast<float>(r1[tx.i1]);
                     out[j] = static_cast<T>(ty.w0 * a + ty.w1 * b);
                   }
                 }
               });
}

// True if the taps of output position i copy input position i.
bool is_identity(const ResizeTaps& t, int64_t i) {
  double s = 0;
  for (int k = 0; k < t.n; ++k) {
    if (t.w[k] == 0) continue;
    if (t.idx[k] != i) return false;
    s += t.w[k];
  }
  return s == 1.0;
}

class Nchw2d final : public ResizeKernelBase {
 public:
  using ResizeKernelBase::ResizeKernelBase;
  size_t workspace_size(const NodeShapes& shapes) const override {
    if (shapes.outputs.empty()) return 0;
    const Dims& out = shapes.outputs[0];
    const size_t extra = out.rank() == 4 ? (out[2] + out[3]) * sizeof(Tap2) : 0;
    return taps_bytes(out) + extra;
  }
  Status execute(const ExecArgs& args) const override {
    ResizePlan plan;
    KILN_RETURN_IF_ERROR(plan_for(attrs_, args, &plan));
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    if (x.shape.rank() != 4) return invalid_argument("resize nchw2d needs a rank-4 input");
    ResizeTaps* tables[kMax];
    KILN_RETURN_IF_ERROR(build_taps(attrs_, plan, args, tables));
    // N and C must be plain copies, and no tap may extrapolate.
    bool plain = true;
    for (int d = 0; d < 4 && plain; ++d) {
      for (int64_t i = 0; i < y.shape[d] && plain; ++i) {
        const ResizeTaps& t = tables[d][i];
        plain = !t.outside && (d >= 2 || is_identity(t, i));
      }
    }
    if (!plain) return run_generic(attrs_, args, tables);
    // Compact H / W taps after the tables in the workspace.
    const int64_t oh = y.shape[2], ow = y.shape[3];
    Tap2* th = reinterpret_cast<Tap2*>(static_cast<char*>(args.workspace) + taps_bytes(y.shape));
    Tap2* tw = th + oh;
    if (args.workspace_size < taps_bytes(y.shape) + (oh + ow) * sizeof(Tap2)) {
      return invalid_argument("resize workspace too small");
    }
    auto to_tap2 = [](const ResizeTaps& t) {
      // Nearest and unresized axes have one tap of weight 1.
      if (t.n == 1) return Tap2{t.idx[0], t.idx[0], 1.f, 0.f};
      return Tap2{t.idx[0], t.idx[1], static_cast<float>(t.w[0]), static_cast<float>(t.w[1])};
    };
    for (int64_t i = 0; i < oh; ++i) th[i] = to_tap2(tables[2][i]);
    for (int64_t j = 0; j < ow; ++j) tw[j] = to_tap2(tables[3][j]);
    if (attrs_.mode == ResizeMode::kNearest) {
      dispatch_word(dtype_size(x.dtype), [&](auto tag) {
        using T = decltype(tag);
        nearest_2d(x.as<const T>(), y.as<T>(), x.shape, y.shape, th, tw, args.threads);
      });
      return Status::ok();
    }
    switch (x.dtype) {
      case DataType::kFloat32:
        linear_2d(x.as<const float>(), y.as<float>(), x.shape, y.shape, th, tw, args.threads);
        break;
      case DataType::kFloat16:
        linear_2d(x.as<const Half>(), y.as<Half>(), x.shape, y.shape, th, tw, args.threads);
        break;
      case DataType::kBFloat16:
        linear_2d(x.as<const BFloat16>(), y.as<BFloat16>(), x.shape, y.shape, th, tw, args.threads);
        break;
      default:
        return run_generic(attrs_, args, tables);
    }
    return Status::ok();
  }
};

bool supports_reference(const KernelInfo& info) {
  ResizeAttrs a;
  if (!parse_resize_attrs(info.attrs(), &a).is_ok()) return false;
  return a.mode == ResizeMode::kNearest || info.input_dtype(0) != DataType::kBool;
}

bool supports_nchw2d(const KernelInfo& info) {
  ResizeAttrs a;
  if (!parse_resize_attrs(info.attrs(), &a).is_ok()) return false;
  if (info.input(0).shape.size() != 4) return false;
  if (a.mode == ResizeMode::kNearest) return true;
  return a.mode == ResizeMode::kLinear && is_floating(info.input_dtype(0));
}

template <typename K>
Result<std::unique_ptr<Kernel>> create(const KernelInfo& info) {
  ResizeAttrs a;
  KILN_RETURN_IF_ERROR(parse_resize_attrs(info.attrs(), &a));
  return std::unique_ptr<Kernel>(new K(std::move(a)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_reference,
     create<ResizeReference>},
    {"nchw2d", TacticSource::kCpuOptimized, kAllDtypes, supports_nchw2d, create<Nchw2d>},
};

}  // namespace

std::span<const TacticDef> resize_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
