// CUDA tactic of Pad: "gather", one thread per output element (any dtype, moved as 1/2/4/8-byte
// words, every mode): each axis maps the output coordinate to its source with the reference's
// pad_source_index (pad.h, shared with the CPU kernels); a coordinate outside the input in mode
// constant writes the constant. Pads and axes are read on the host (host copies of inputs 1 and
// 3, or the pre-11 attributes); the constant_value input is read on the device (it may be
// computed by the graph), the attribute "value" is passed by value.
#include "ops/common/cuda_for_each.cuh"
#include "ops/common/word_dispatch.h"
#include "ops/pad/pad.h"

#include <cstring>
#include <string>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

template <typename W>
struct PadFn {
  const W* x;
  W* y;
  const W* fill_ptr;  // the constant_value input, or null: use fill
  W fill;
  PadMode mode;
  PadPlan plan;
  int64_t xdims[kMax], ydims[kMax];
  __device__ void operator()(int64_t o) const {
    int64_t coord[kMax];
    int64_t rem = o;
    for (int d = plan.rank - 1; d >= 0; --d) {
      const int64_t q = cuda::div_nonneg(rem, ydims[d]);
      coord[d] = rem - q * ydims[d];
      rem = q;
    }
    int64_t src = 0;
    for (int d = 0; d < plan.rank; ++d) {
      const int64_t s = pad_source_index(mode, coord[d] - plan.pad[d], plan.n[d]);
      if (s < 0) {
        y[o] = fill_ptr != nullptr ? *fill_ptr : fill;
        return;
      }
      src = src * xdims[d] + plan.lo[d] + s;
    }
    y[o] = x[src];
  }
};

class PadCudaKernel final : public Kernel {
 public:
  PadCudaKernel(PadMode mode, bool attr_form, std::vector<int64_t> attr_pads, double attr_value,
                int sms)
      : mode_(mode),
        attr_form_(attr_form),
        attr_pads_(std::move(attr_pads)),
        attr_value_(attr_value),
        sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int r = x.shape.rank();
    int64_t begin[kMax] = {}, end[kMax] = {};
    uint64_t fill_bits = 0;
    const void* fill_ptr = nullptr;
    if (attr_form_) {
      if (attr_pads_.size() != 2 * static_cast<size_t>(r)) {
        return invalid_argument("pad attribute 'pads' has " + std::to_string(attr_pads_.size()) +
                                " entries for rank " + std::to_string(r));
      }
      for (int d = 0; d < r; ++d) {
        begin[d] = attr_pads_[d];
        end[d] = attr_pads_[r + d];
      }
      store_from_double(&fill_bits, x.dtype, 0, attr_value_);
    } else {
      if (args.inputs.size() > 3 && args.inputs[3].data != nullptr &&
          host_copy(args, 3).data == nullptr) {
        return invalid_argument("pad axes are not on the host");
      }
      KILN_RETURN_IF_ERROR(pad_amounts(host_copy(args, 1), host_copy(args, 3), r, begin, end));
      if (args.inputs.size() > 2 && args.inputs[2].data != nullptr) {
        const TensorView& cv = args.inputs[2];
        if (cv.dtype != x.dtype || cv.numel() > 1) {
          return invalid_argument("pad constant_value must be one element of X's dtype");
        }
        if (cv.numel() == 1) fill_ptr = cv.data;
      }
    }
    if (y.dtype != x.dtype) return invalid_argument("pad output dtype differs from the input");
    PadPlan plan;
    KILN_RETURN_IF_ERROR(pad_plan(mode_, x.shape, y.shape, begin, end, &plan));
    if (y.numel() == 0) return Status::ok();
    return dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using W = decltype(tag);
      PadFn<W> f{};
      f.x = static_cast<const W*>(x.data);
      f.y = static_cast<W*>(y.data);
      f.fill_ptr = static_cast<const W*>(fill_ptr);
      std::memcpy(&f.fill, &fill_bits, sizeof(W));
      f.mode = mode_;
      f.plan = plan;
      for (int d = 0; d < r; ++d) {
        f.xdims[d] = x.shape[d];
        f.ydims[d] = y.shape[d];
      }
      return cuda::launch_for_each("pad_kernel", y.numel(), sms_, args.stream, f);
    });
  }

 private:
  PadMode mode_;
  bool attr_form_;
  std::vector<int64_t> attr_pads_;
  double attr_value_;
  int sms_;
};

bool supports_gather(const KernelInfo& info) {
  PadMode mode;
  return info.has_input(0) && info.input_dtype(0) == info.output_dtype(0) &&
         parse_pad_mode(info.attrs().get_string("mode", "constant"), &mode);
}

Result<std::unique_ptr<Kernel>> create_gather(const KernelInfo& info) {
  PadMode mode;
  if (!parse_pad_mode(info.attrs().get_string("mode", "constant"), &mode)) {
    return invalid_argument("unknown pad mode");
  }
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new PadCudaKernel(mode, info.num_inputs() == 1,
                                                   info.attrs().get_ints("pads"),
                                                   info.attrs().get_float("value", 0.0), sms));
}

const TacticDef kCudaTactics[] = {
    {"gather", TacticSource::kKilnCuda, kAllDtypes, supports_gather, create_gather},
};

}  // namespace

std::span<const TacticDef> pad_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
