// CUDA tactic of Tile: "strided". Each axis of extent d repeated R times is walked as two output
// dims [R, d] with input strides [0, stride] (one dim where R or d is 1), which makes the tiling
// one strided copy of cuda_copy (any dtype; an untiled innermost axis moves as 16-byte words
// where sizes and addresses allow). When that takes more than Dims::kMaxDims dims (over four
// axes both tiled and wider than 1), a per-element kernel reads X at (i_k mod d_k) instead.
// The repeats input is never read: the output shape carries the repeats.
#include "ops/common/cuda_for_each.cuh"
#include "ops/common/word_dispatch.h"
#include "ops/identity/cuda_copy.h"
#include "ops/tile/tile.h"

#include <string>

namespace kiln::ops {

namespace {

template <typename W>
struct TileFn {
  const W* x;
  W* y;
  cuda::NdShape in, out;
  __device__ void operator()(int64_t o) const {
    int64_t rem = o, src = 0, stride = 1;
    for (int d = out.rank - 1; d >= 0; --d) {
      const int64_t q = cuda::div_nonneg(rem, out.dims[d]);
      const int64_t c = rem - q * out.dims[d];
      src += (c - cuda::div_nonneg(c, in.dims[d]) * in.dims[d]) * stride;
      stride *= in.dims[d];
      rem = q;
    }
    y[o] = x[src];
  }
};

class TileCudaKernel final : public Kernel {
 public:
  explicit TileCudaKernel(int sms) : sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int r = x.shape.rank();
    bool ok = y.shape.rank() == r && x.dtype == y.dtype && r > 0;
    for (int d = 0; ok && d < r; ++d) {
      ok = x.shape[d] == 0 ? y.shape[d] == 0 : y.shape[d] % x.shape[d] == 0;
    }
    if (!ok) {
      return invalid_argument("tile output " + y.shape.to_string() +
                              " is not a whole tiling of input " + x.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    const size_t es = dtype_size(x.dtype);
    cuda_copy::StridedCopy c;
    int64_t stride = 1;
    // Built innermost first into the back of the arrays, then moved to the front.
    int n = 0;
    int64_t dims[2 * Dims::kMaxDims], strides[2 * Dims::kMaxDims];
    for (int d = r - 1; d >= 0; --d) {
      const int64_t e = x.shape[d], reps = y.shape[d] / e;
      if (e > 1) {
        dims[n] = e;
        strides[n++] = stride;
      }
      if (reps > 1) {
        dims[n] = reps;
        strides[n++] = 0;
      }
      stride *= e;
    }
    if (n <= Dims::kMaxDims) {
      c.rank = n;
      for (int k = 0; k < n; ++k) {
        c.dims[k] = dims[n - 1 - k];
        c.strides[k] = strides[n - 1 - k];
      }
      return cuda_copy::strided_copy(x.data, y.data, es, c, sms_, args.stream);
    }
    return dispatch_word(es, [&](auto tag) {
      using W = decltype(tag);
      TileFn<W> f{static_cast<const W*>(x.data), static_cast<W*>(y.data), cuda::nd_shape(x.shape),
                  cuda::nd_shape(y.shape)};
      return cuda::launch_for_each("tile_kernel", y.numel(), sms_, args.stream, f);
    });
  }

 private:
  int sms_;
};

bool supports_strided(const KernelInfo& info) {
  return info.has_input(0) && info.input_dtype(0) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_strided(const KernelInfo& info) {
  (void)info;
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new TileCudaKernel(sms));
}

const TacticDef kCudaTactics[] = {
    {"strided", TacticSource::kKilnCuda, kAllDtypes, supports_strided, create_strided},
};

}  // namespace

std::span<const TacticDef> tile_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
