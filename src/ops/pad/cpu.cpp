// CPU tactics of Pad (any dtype, moved as 1/2/4/8-byte words). Pads, axes and the constant are
// read on the host (host_input) or from the pre-11 attributes.
//   reference  maps every output element to its source, one axis at a time;
//   rows       per output row (all axes but the last): a constant fill, or the mapped left
//              border, one memcpy of the kept run and the right border; rows in parallel.
#include "backends/cpu/thread_pool.h"
#include "ops/pad/pad.h"

#include <algorithm>
#include <cstring>

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

// Per axis: output position o reads the cropped input at pad_source_index(o - pad, n) + lo.
struct Plan {
  int rank = 0;
  int64_t pad[kMax] = {}, lo[kMax] = {}, n[kMax] = {};
  uint64_t fill = 0;  // the constant's bytes
};

class PadKernelBase : public Kernel {
 public:
  PadKernelBase(PadMode mode, bool attr_form, std::vector<int64_t> attr_pads, double attr_value)
      : mode_(mode),
        attr_form_(attr_form),
        attr_pads_(std::move(attr_pads)),
        attr_value_(attr_value) {}

 protected:
  Status make_plan(const ExecArgs& args, Plan* p) const {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int r = x.shape.rank();
    p->rank = r;
    int64_t begin[kMax] = {}, end[kMax] = {};
    const size_t es = dtype_size(x.dtype);
    if (attr_form_) {
      if (attr_pads_.size() != 2 * static_cast<size_t>(r)) {
        return invalid_argument("pad attribute 'pads' has " + std::to_string(attr_pads_.size()) +
                                " entries for rank " + std::to_string(r));
      }
      for (int d = 0; d < r; ++d) {
        begin[d] = attr_pads_[d];
        end[d] = attr_pads_[r + d];
      }
      store_from_double(&p->fill, x.dtype, 0, attr_value_);
    } else {
      const TensorView& pads = host_input(args, 1);
      if (pads.data == nullptr) return invalid_argument("pad amounts are not on the host");
      int64_t axes[kMax];
      int64_t na = r;
      if (args.inputs.size() > 3 && host_input(args, 3).data != nullptr) {
        const TensorView& av = host_input(args, 3);
        na = av.numel();
        if (na > r) return invalid_argument("pad has more axes than the input has dims");
        for (int64_t i = 0; i < na; ++i) axes[i] = load_as_int(av.data, av.dtype, i);
      } else {
        for (int i = 0; i < r; ++i) axes[i] = i;
      }
      if (pads.numel() != 2 * na) {
        return invalid_argument("pad amounts have " + std::to_string(pads.numel()) +
                                " entries for " + std::to_string(na) + " axes");
      }
      for (int64_t i = 0; i < na; ++i) {
        int64_t a = axes[i];
        KILN_RETURN_IF_ERROR(normalize_axis(&a, r, "pad axis"));
        begin[a] = load_as_int(pads.data, pads.dtype, i);
        end[a] = load_as_int(pads.data, pads.dtype, na + i);
      }
      if (args.inputs.size() > 2 && host_input(args, 2).data != nullptr) {
        const TensorView& cv = host_input(args, 2);
        if (cv.dtype != x.dtype || cv.numel() > 1) {
          return invalid_argument("pad constant_value must be one element of X's dtype");
        }
        if (cv.numel() == 1) std::memcpy(&p->fill, cv.data, es);
      }
    }
    if (y.shape.rank() != r || y.dtype != x.dtype) {
      return invalid_argument("pad output " + y.shape.to_string() + " does not match input " +
                              x.shape.to_string());
    }
    for (int d = 0; d < r; ++d) {
      const int64_t lo = std::max<int64_t>(-begin[d], 0);
      const int64_t n = x.shape[d] - lo - std::max<int64_t>(-end[d], 0);
      p->pad[d] = std::max<int64_t>(begin[d], 0);
      p->lo[d] = lo;
      p->n[d] = n;
      const int64_t extent = x.shape[d] + begin[d] + end[d];
      if (n < 0 || extent != y.shape[d]) {
        return invalid_argument("pads " + std::to_string(begin[d]) + ", " + std::to_string(end[d]) +
                                " of axis " + std::to_string(d) + " do not map input " +
                                x.shape.to_string() + " to output " + y.shape.to_string());
      }
      if (n == 0 && extent > 0 && mode_ != PadMode::kConstant) {
        return invalid_argument("cannot pad axis " + std::to_string(d) +
                                " in this mode: no input elements remain to extend");
      }
    }
    return Status::ok();
  }

  PadMode mode_;
  bool attr_form_;
  std::vector<int64_t> attr_pads_;
  double attr_value_;
};

template <typename T>
void pad_reference(const T* x, T* y, const Dims& xs, const Dims& ys, const Plan& p, PadMode mode) {
  const int r = p.rank;
  T fill;
  std::memcpy(&fill, &p.fill, sizeof(T));
  int64_t idx[kMax] = {};
  const int64_t total = ys.volume();
  for (int64_t o = 0; o < total; ++o) {
    int64_t src = 0;
    bool inside = true;
    for (int d = 0; d < r && inside; ++d) {
      const int64_t s = pad_source_index(mode, idx[d] - p.pad[d], p.n[d]);
      inside = s >= 0;
      src = src * xs[d] + p.lo[d] + s;
    }
    y[o] = inside ? x[src] : fill;
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < ys[d]) break;
      idx[d] = 0;
    }
  }
}

class PadReference final : public PadKernelBase {
 public:
  using PadKernelBase::PadKernelBase;
  Status execute(const ExecArgs& args) const override {
    Plan p;
    KILN_RETURN_IF_ERROR(make_plan(args, &p));
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using T = decltype(tag);
      pad_reference(x.as<const T>(), y.as<T>(), x.shape, y.shape, p, mode_);
    });
    return Status::ok();
  }
};

template <typename T>
void pad_rows(const T* x, T* y, const Dims& xs, const Dims& ys, const Plan& p, PadMode mode,
              ThreadPool* pool) {
  const int r = p.rank;
  T fill;
  std::memcpy(&fill, &p.fill, sizeof(T));
  const int64_t w = ys[r - 1], xw = xs[r - 1];
  const int64_t rows = w == 0 ? 0 : ys.volume() / w;
  const int64_t pad = p.pad[r - 1], lo = p.lo[r - 1], n = p.n[r - 1];
  const int64_t mid_end = std::min(pad + n, w);  // [pad, mid_end) copies the kept run
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(w, 1));
  parallel_for(pool, rows, grain, [&](int64_t begin, int64_t end) {
    int64_t idx[kMax] = {};
    int64_t rem = begin;
    for (int d = r - 2; d >= 0; --d) {
      idx[d] = rem % ys[d];
      rem /= ys[d];
    }
    for (int64_t row = begin; row < end; ++row) {
      T* out = y + row * w;
      int64_t src = 0;
      bool inside = true;
      for (int d = 0; d < r - 1 && inside; ++d) {
        const int64_t s = pad_source_index(mode, idx[d] - p.pad[d], p.n[d]);
        inside = s >= 0;
        src = src * xs[d] + p.lo[d] + s;
      }
      if (!inside) {
        std::fill(out, out + w, fill);
      } else {
        const T* in = xw > 0 ? x + src * xw + lo : x;  // no offset on an empty input
        for (int64_t j = 0; j < pad; ++j) {
          const int64_t s = pad_source_index(mode, j - pad, n);
          out[j] = s >= 0 ? in[s] : fill;
        }
        if (mid_end > pad) std::memcpy(out + pad, in, (mid_end - pad) * sizeof(T));
        for (int64_t j = std::max(mid_end, pad); j < w; ++j) {
          const int64_t s = pad_source_index(mode, j - pad, n);
          out[j] = s >= 0 ? in[s] : fill;
        }
      }
      for (int d = r - 2; d >= 0; --d) {
        if (++idx[d] < ys[d]) break;
        idx[d] = 0;
      }
    }
  });
}

class PadRows final : public PadKernelBase {
 public:
  using PadKernelBase::PadKernelBase;
  Status execute(const ExecArgs& args) const override {
    Plan p;
    KILN_RETURN_IF_ERROR(make_plan(args, &p));
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using T = decltype(tag);
      pad_rows(x.as<const T>(), y.as<T>(), x.shape, y.shape, p, mode_, args.threads);
    });
    return Status::ok();
  }
};

bool supports_any(const KernelInfo& info) {
  (void)info;
  return true;
}

bool supports_rows(const KernelInfo& info) {
  return !info.input(0).shape.empty();
}

template <typename K>
Result<std::unique_ptr<Kernel>> create(const KernelInfo& info) {
  PadMode mode;
  if (!parse_pad_mode(info.attrs().get_string("mode", "constant"), &mode)) {
    return invalid_argument("unknown pad mode");
  }
  const bool attr_form = info.num_inputs() == 1;
  return std::unique_ptr<Kernel>(
      new K(mode, attr_form, info.attrs().get_ints("pads"), info.attrs().get_float("value", 0.0)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, supports_any, create<PadReference>},
    {"rows", TacticSource::kCpuOptimized, supports_rows, create<PadRows>},
};

}  // namespace

std::span<const TacticDef> pad_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
