// CUDA tactic of Trilu: "masked", one thread per element (any dtype, moved as 1/2/4/8-byte words):
// element (row i, col j) of each matrix is copied when col - row >= k (upper) or <= k (lower),
// else zeroed. k is read on the host (host_input 1) and clamped as in the reference, so the
// comparison cannot overflow.
#include "ops/common/cuda_for_each.cuh"
#include "ops/common/word_dispatch.h"
#include "ops/trilu/trilu.h"

#include <algorithm>
#include <string>

namespace kiln::ops {

namespace {

template <typename W>
struct TriluFn {
  const W* x;
  W* y;
  int64_t rows, cols, k;
  bool upper;
  __device__ void operator()(int64_t e) const {
    const int64_t rc = cuda::div_nonneg(e, cols);
    const int64_t j = e - rc * cols;
    const int64_t i = rc - cuda::div_nonneg(rc, rows) * rows;
    const bool keep = upper ? j - i >= k : j - i <= k;
    y[e] = keep ? x[e] : W{0};
  }
};

class TriluCudaKernel final : public Kernel {
 public:
  TriluCudaKernel(bool upper, int sms) : upper_(upper), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int r = x.shape.rank();
    if (r < 2 || !(x.shape == y.shape) || x.dtype != y.dtype) {
      return invalid_argument("trilu output " + y.shape.to_string() + " does not match input " +
                              x.shape.to_string());
    }
    int64_t k = 0;
    if (args.inputs.size() > 1 && args.inputs[1].data != nullptr) {
      const TensorView kv = host_copy(args, 1);
      if (kv.data == nullptr || kv.numel() != 1) {
        return invalid_argument("trilu k must be one value available on the host");
      }
      k = load_as_int(kv.data, kv.dtype, 0);
    }
    const int64_t rows = x.shape[r - 2], cols = x.shape[r - 1];
    if (y.numel() == 0) return Status::ok();
    const int64_t kk = std::clamp<int64_t>(k, -cols - rows - 1, cols + rows + 1);
    return dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using W = decltype(tag);
      TriluFn<W> f{static_cast<const W*>(x.data), static_cast<W*>(y.data), rows, cols, kk, upper_};
      return cuda::launch_for_each("trilu_kernel", y.numel(), sms_, args.stream, f);
    });
  }

 private:
  bool upper_;
  int sms_;
};

bool supports_masked(const KernelInfo& info) {
  return info.has_input(0) && info.input_dtype(0) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_masked(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new TriluCudaKernel(info.attrs().get_int("upper", 1) != 0, sms));
}

const TacticDef kCudaTactics[] = {
    {"masked", TacticSource::kKilnCuda, kAllDtypes, supports_masked, create_masked},
};

}  // namespace

std::span<const TacticDef> trilu_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
