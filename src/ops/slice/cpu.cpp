// CPU tactic of Slice: the reference strided copy (any dtype, moved as 1/2/4/8-byte words).
// Bounds come from the attributes or, for the input form, from the host copies of inputs 1-4
// (ops::host_input).
#include "ops/common/word_dispatch.h"
#include "ops/slice/slice.h"

#include <cstring>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

// Per-dim first index and step (in elements of that dim); output extents come from the view.
template <typename T>
void slice_copy(const T* in, T* out, const Dims& in_shape, const Dims& out_shape,
                const int64_t* first, const int64_t* step) {
  const int r = in_shape.rank();
  int64_t in_stride[kMax], stride[kMax], idx[kMax] = {};
  int64_t acc = 1;
  for (int d = r - 1; d >= 0; --d) {
    in_stride[d] = acc;
    acc *= in_shape[d];
  }
  int64_t off = 0;
  for (int d = 0; d < r; ++d) {
    // An axis with one output element never steps (and a huge step would overflow).
    stride[d] = out_shape[d] > 1 ? step[d] * in_stride[d] : 0;
    off += first[d] * in_stride[d];
  }
  const int64_t n = out_shape.volume();
  for (int64_t o = 0; o < n; ++o) {
    out[o] = in[off];
    for (int d = r - 1; d >= 0; --d) {
      off += stride[d];
      if (++idx[d] < out_shape[d]) break;
      off -= stride[d] * out_shape[d];
      idx[d] = 0;
    }
  }
}

class SliceKernel final : public Kernel {
 public:
  // attr_form: bounds from `starts`.. (attributes); else read from inputs 1-4 at execute.
  SliceKernel(bool attr_form, std::vector<int64_t> starts, std::vector<int64_t> ends,
              std::vector<int64_t> axes, std::vector<int64_t> steps)
      : attr_form_(attr_form),
        starts_(std::move(starts)),
        ends_(std::move(ends)),
        axes_(std::move(axes)),
        steps_(std::move(steps)) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int r = x.shape.rank();
    int64_t starts[kMax], ends[kMax], axes[kMax], steps[kMax];
    int64_t n = 0;
    if (attr_form_) {
      n = static_cast<int64_t>(starts_.size());
      if (n > r || ends_.size() != starts_.size() ||
          (!axes_.empty() && axes_.size() != starts_.size()) ||
          (!steps_.empty() && steps_.size() != starts_.size())) {
        return invalid_argument("slice attributes differ in length or name too many axes");
      }
      for (int64_t i = 0; i < n; ++i) {
        starts[i] = starts_[i];
        ends[i] = ends_[i];
        axes[i] = axes_.empty() ? i : axes_[i];
        steps[i] = steps_.empty() ? 1 : steps_[i];
      }
    } else {
      KILN_RETURN_IF_ERROR(read_bounds(args, r, starts, ends, axes, steps, &n));
    }
    int64_t first[kMax], step[kMax];
    int64_t extent[kMax];
    for (int d = 0; d < r; ++d) {
      first[d] = 0;
      step[d] = 1;
      extent[d] = x.shape[d];
    }
    for (int64_t i = 0; i < n; ++i) {
      int64_t axis = axes[i];
      KILN_RETURN_IF_ERROR(normalize_axis(&axis, r, "slice axis"));
      if (steps[i] == 0) return invalid_argument("slice step is 0");
      step[axis] = steps[i];
      slice_axis(x.shape[static_cast<int>(axis)], starts[i], ends[i], steps[i], &first[axis],
                 &extent[axis]);
    }
    bool ok = y.shape.rank() == r && y.dtype == x.dtype;
    for (int d = 0; ok && d < r; ++d) ok = y.shape[d] == extent[d];
    if (!ok) {
      return invalid_argument("slice of input " + x.shape.to_string() + " does not match output " +
                              y.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using T = decltype(tag);
      slice_copy(x.as<const T>(), y.as<T>(), x.shape, y.shape, first, step);
    });
    return Status::ok();
  }

 private:
  static Status read_bounds(const ExecArgs& args, int r, int64_t* starts, int64_t* ends,
                            int64_t* axes, int64_t* steps, int64_t* n) {
    if (args.inputs.size() < 3) return invalid_argument("slice needs starts and ends inputs");
    // Bounds are read on the host (host copies on device backends).
    std::vector<TensorView> in;
    for (size_t i = 0; i < args.inputs.size(); ++i) in.push_back(host_input(args, i));
    *n = in[1].numel();
    for (size_t i = 1; i < in.size() && i <= 4; ++i) {
      if (in[i].data == nullptr) {
        if (i <= 2) return invalid_argument("slice bounds are not available on the host");
        continue;
      }
      if (in[i].numel() != *n) {
        return invalid_argument("slice starts, ends, axes and steps differ in length");
      }
    }
    if (*n > r) return invalid_argument("more slice axes than the input has dims");
    const bool has_axes = in.size() > 3 && in[3].data != nullptr;
    const bool has_steps = in.size() > 4 && in[4].data != nullptr;
    for (int64_t i = 0; i < *n; ++i) {
      starts[i] = load_as_int(in[1].data, in[1].dtype, i);
      ends[i] = load_as_int(in[2].data, in[2].dtype, i);
      axes[i] = has_axes ? load_as_int(in[3].data, in[3].dtype, i) : i;
      steps[i] = has_steps ? load_as_int(in[4].data, in[4].dtype, i) : 1;
    }
    return Status::ok();
  }

  bool attr_form_;
  std::vector<int64_t> starts_, ends_, axes_, steps_;
};

bool supports_any(const KernelInfo& info) {
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  const ir::Attrs& a = info.attrs();
  const bool attr_form = info.num_inputs() == 1;
  return std::unique_ptr<Kernel>(
      new SliceKernel(attr_form, a.get_ints("starts"), a.get_ints("ends"),
                      a.has("axes") ? a.get_ints("axes") : std::vector<int64_t>{},
                      a.has("steps") ? a.get_ints("steps") : std::vector<int64_t>{}));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::span<const TacticDef> slice_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
