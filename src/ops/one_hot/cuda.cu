// CUDA tactic of OneHot: "expand", one thread per output element (any values dtype, moved as
// 1/2/4/8-byte words). Indices of every dtype the op takes are read on the device with the
// reference's semantics (floats truncated toward zero, a negative index counts from depth,
// anything outside [-depth, depth) gives an all-off row); values [off, on] are read on the
// device too. Depth is the output's extent on the new axis.
#include "ops/common/cuda_for_each.cuh"
#include "ops/common/word_dispatch.h"
#include "ops/one_hot/one_hot.h"

#include <string>

namespace kiln::ops {

namespace {

// Index `i` of the indices as the reference reads it; depth where it is out of range.
__device__ int64_t one_hot_index(const void* p, DataType dt, int64_t i, int64_t depth) {
  double f = 0;
  switch (dt) {
    case DataType::kInt8:
      return static_cast<const int8_t*>(p)[i];
    case DataType::kUInt8:
      return static_cast<const uint8_t*>(p)[i];
    case DataType::kInt32:
      return static_cast<const int32_t*>(p)[i];
    case DataType::kInt64:
      return static_cast<const int64_t*>(p)[i];
    case DataType::kFloat16:
      f = cuda::to_float(static_cast<const __half*>(p)[i]);
      break;
    case DataType::kBFloat16:
      f = cuda::to_float(static_cast<const __nv_bfloat16*>(p)[i]);
      break;
    default:
      f = static_cast<const float*>(p)[i];
      break;
  }
  const double v = trunc(f);
  return fabs(v) <= static_cast<double>(depth) ? static_cast<int64_t>(v) : depth;
}

template <typename W>
struct OneHotFn {
  const void* indices;
  const W* values;  // [off, on]
  W* y;
  DataType idx_dtype;
  int64_t depth, inner;
  __device__ void operator()(int64_t e) const {
    const int64_t oi = cuda::div_nonneg(e, inner);  // o * depth + d
    const int64_t i = e - oi * inner;
    const int64_t o = cuda::div_nonneg(oi, depth);
    const int64_t d = oi - o * depth;
    int64_t k = one_hot_index(indices, idx_dtype, o * inner + i, depth);
    if (k < 0 && k >= -depth) k += depth;
    y[e] = values[d == k ? 1 : 0];
  }
};

class OneHotCudaKernel final : public Kernel {
 public:
  OneHotCudaKernel(int axis, int sms) : axis_(axis), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& idx = args.inputs[0];
    const TensorView& values = args.inputs[2];
    const TensorView& y = args.outputs[0];
    const int r = idx.shape.rank();
    bool ok = y.shape.rank() == r + 1 && axis_ <= r && values.numel() == 2 &&
              values.dtype == y.dtype && idx.dtype != DataType::kBool;
    for (int d = 0; ok && d < r; ++d) ok = idx.shape[d] == y.shape[d < axis_ ? d : d + 1];
    if (!ok) {
      return invalid_argument("one-hot output " + y.shape.to_string() + " does not match indices " +
                              idx.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    int64_t inner = 1;
    for (int d = axis_; d < r; ++d) inner *= idx.shape[d];
    return dispatch_word(dtype_size(y.dtype), [&](auto tag) {
      using W = decltype(tag);
      OneHotFn<W> f{idx.data,
                    static_cast<const W*>(values.data),
                    static_cast<W*>(y.data),
                    idx.dtype,
                    y.shape[axis_],
                    inner};
      return cuda::launch_for_each("one_hot_kernel", y.numel(), sms_, args.stream, f);
    });
  }

 private:
  int axis_;
  int sms_;
};

bool supports_expand(const KernelInfo& info) {
  return info.num_inputs() == 3 && info.has_input(0) && info.has_input(2) &&
         info.input_dtype(0) != DataType::kBool && info.input_dtype(2) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_expand(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", -1);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()) + 1, "axis"));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new OneHotCudaKernel(static_cast<int>(axis), sms));
}

const TacticDef kCudaTactics[] = {
    {"expand", TacticSource::kKilnCuda, kAllDtypes, supports_expand, create_expand},
};

}  // namespace

std::span<const TacticDef> one_hot_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
