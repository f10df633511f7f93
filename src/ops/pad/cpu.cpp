// CPU tactics of Pad (any dtype, moved as 1/2/4/8-byte words). Pads, axes and the constant are
// read on the host (host_input) or from the pre-11 attributes.
//   reference  maps every output element to its source, one axis at a time;
//   rows       per output row (all axes but the last): a constant fill, or the mapped left
//              border, one memcpy of the kept run and the right border; rows in parallel.
#include "backends/cpu/thread_pool.h"
#include "ops/common/word_dispatch.h"
#include "ops/pad/pad.h"

#include <algorithm>
#include <cstring>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

// The shared plan plus the constant's bytes.
struct Plan : PadPlan {
  uint64_t fill = 0;
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
    int64_t begin[kMax] = {}, end[kMax] = {};
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
      const TensorView none{};
      const TensorView& axes = args.inputs.size() > 3 ? host_input(args, 3) : none;
      KILN_RETURN_IF_ERROR(pad_amounts(host_input(args, 1), axes, r, begin, end));
      if (args.inputs.size() > 2 && host_input(args, 2).data != nullptr) {
        const TensorView& cv = host_input(args, 2);
        if (cv.dtype != x.dtype || cv.numel() > 1) {
          return invalid_argument("pad constant_value must be one element of X's dtype");
        }
        if (cv.numel() == 1) std::memcpy(&p->fill, cv.data, dtype_size(x.dtype));
      }
    }
    if (y.dtype != x.dtype) return invalid_argument("pad output dtype differs from the input");
    return pad_plan(mode_, x.shape, y.shape, begin, end, p);
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
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create<PadReference>},
    {"rows", TacticSource::kCpuOptimized, kAllDtypes, supports_rows, create<PadRows>},
};

}  // namespace

std::span<const TacticDef> pad_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
