// CUDA tactic of Gather: "rows", one thread per output word (any data dtype; each gathered row of
// `inner` entries moves as the widest 16/8/4/2/1-byte word dividing the row and aligning both
// addresses), indices int32/int64 read on the device. The kernel cannot return an error, so an
// index outside [-extent, extent) yields a row of zeros (never an out-of-bounds read); the CPU
// tactics report such an index as an error instead (see gather.h).
#include "backends/cuda/kernel_utils.cuh"
#include "ops/gather/gather.h"

#include <string>

namespace kiln::ops {

namespace {

template <typename W, typename I>
__global__ void gather_kernel(const W* __restrict__ data, const I* __restrict__ indices,
                              W* __restrict__ out, int64_t total, int64_t row, int64_t count,
                              int64_t extent) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const int64_t t = e / row;
    const int64_t n = e - t * row;
    const int64_t o = t / count;
    const int64_t k = t - o * count;
    int64_t i = static_cast<int64_t>(indices[k]);
    if (i < 0) i += extent;
    out[e] = (i >= 0 && i < extent) ? data[(o * extent + i) * row + n] : W{};
  }
}

template <typename W>
Status launch(const TensorView& data, const TensorView& idx, const TensorView& y, int64_t total,
              int64_t row, int64_t count, int64_t extent, int sms, cudaStream_t stream) {
  const unsigned int grid = cuda::grid_size(total, sms);
  if (idx.dtype == DataType::kInt32) {
    gather_kernel<W, int32_t><<<grid, cuda::kElementwiseThreads, 0, stream>>>(
        static_cast<const W*>(data.data), static_cast<const int32_t*>(idx.data),
        static_cast<W*>(y.data), total, row, count, extent);
  } else {
    gather_kernel<W, int64_t><<<grid, cuda::kElementwiseThreads, 0, stream>>>(
        static_cast<const W*>(data.data), static_cast<const int64_t*>(idx.data),
        static_cast<W*>(y.data), total, row, count, extent);
  }
  return cuda::check_launch("gather_kernel");
}

class GatherCudaKernel final : public Kernel {
 public:
  GatherCudaKernel(int64_t axis, int sms) : axis_(axis), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& data = args.inputs[0];
    const TensorView& idx = args.inputs[1];
    const TensorView& y = args.outputs[0];
    const int r = data.shape.rank();
    if (axis_ >= r) return invalid_argument("gather axis is out of range");
    if (idx.dtype != DataType::kInt32 && idx.dtype != DataType::kInt64) {
      return invalid_argument("gather indices must be int32 or int64, got " +
                              std::string(dtype_name(idx.dtype)));
    }
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis_; ++d) outer *= data.shape[d];
    const int64_t extent = data.shape[static_cast<int>(axis_)];
    for (int d = static_cast<int>(axis_) + 1; d < r; ++d) inner *= data.shape[d];
    const int64_t count = idx.numel();
    if (y.numel() != outer * count * inner || y.dtype != data.dtype) {
      return invalid_argument("output " + y.shape.to_string() + " does not match gathering " +
                              idx.shape.to_string() + " indices from " + data.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    const int64_t row_bytes = inner * static_cast<int64_t>(dtype_size(data.dtype));
    int64_t word = 16;
    while (word > 1 && (row_bytes % word != 0 || !cuda::is_aligned(data.data, word) ||
                        !cuda::is_aligned(y.data, word))) {
      word /= 2;
    }
    const int64_t row = row_bytes / word;
    const int64_t total = outer * count * row;
    auto stream = static_cast<cudaStream_t>(args.stream);
    switch (word) {
      case 16:
        return launch<uint4>(data, idx, y, total, row, count, extent, sms_, stream);
      case 8:
        return launch<uint2>(data, idx, y, total, row, count, extent, sms_, stream);
      case 4:
        return launch<uint32_t>(data, idx, y, total, row, count, extent, sms_, stream);
      case 2:
        return launch<uint16_t>(data, idx, y, total, row, count, extent, sms_, stream);
      default:
        return launch<uint8_t>(data, idx, y, total, row, count, extent, sms_, stream);
    }
  }

 private:
  int64_t axis_;
  int sms_;
};

bool supports_rows(const KernelInfo& info) {
  if (info.num_inputs() != 2 || !info.has_input(0) || !info.has_input(1)) return false;
  const DataType t = info.input_dtype(1);
  return (t == DataType::kInt32 || t == DataType::kInt64) &&
         info.input_dtype(0) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_rows(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new GatherCudaKernel(axis, sms));
}

const TacticDef kCudaTactics[] = {
    {"rows", TacticSource::kKilnCuda, kAllDtypes, supports_rows, create_rows},
};

}  // namespace

std::span<const TacticDef> gather_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
