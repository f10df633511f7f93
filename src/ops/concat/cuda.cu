// CUDA tactic of Concat: "batched_copy", one launch per group of up to 32 inputs (any dtype). The
// output is [outer, row] bytes and input i is [outer, chunk_i]; block row y of the grid copies
// input y of the group into its column range of every output row. Bytes move as the widest word
// (16/8/4/2/1 bytes) that divides every chunk, the row and the offsets and aligns every address.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/concat/concat.h"

#include <algorithm>
#include <string>

namespace kiln::ops {

namespace {

constexpr int kGroup = 32;  // inputs per launch (kernel parameter space)

struct Group {
  const void* src[kGroup];
  int64_t chunk[kGroup];   // words per outer row of input i
  int64_t offset[kGroup];  // word offset of input i within an output row
};

template <typename W>
__global__ void concat_kernel(W* __restrict__ out, int64_t outer, int64_t row, Group g) {
  const int i = blockIdx.y;
  const W* __restrict__ src = static_cast<const W*>(g.src[i]);
  const int64_t chunk = g.chunk[i];
  const int64_t n = outer * chunk;
  W* dst = out + g.offset[i];
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t o = e / chunk;
    dst[o * row + (e - o * chunk)] = src[e];
  }
}

template <typename W>
Status launch(void* out, int64_t outer, int64_t row, const Group& g, int count, int64_t max_chunk,
              int sms, cudaStream_t stream) {
  const unsigned int blocks_x =
      std::max(1u, cuda::grid_size(outer * max_chunk, sms) / static_cast<unsigned int>(count));
  concat_kernel<W><<<dim3(blocks_x, count), cuda::kElementwiseThreads, 0, stream>>>(
      static_cast<W*>(out), outer, row, g);
  return cuda::check_launch("concat_kernel");
}

class ConcatCudaKernel final : public Kernel {
 public:
  ConcatCudaKernel(int64_t axis, int sms) : axis_(axis), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& y = args.outputs[0];
    const int r = y.shape.rank();
    const int64_t axis = axis_;
    if (axis < 0 || axis >= r) return invalid_argument("concat axis is out of range");
    const int64_t es = static_cast<int64_t>(dtype_size(y.dtype));
    int64_t inner = 1, outer = 1;
    for (int d = static_cast<int>(axis) + 1; d < r; ++d) inner *= y.shape[d];
    for (int d = 0; d < axis; ++d) outer *= y.shape[d];
    int64_t sum_axis = 0;
    for (const TensorView& x : args.inputs) {
      bool ok = x.shape.rank() == r && x.dtype == y.dtype;
      for (int d = 0; ok && d < r; ++d) ok = d == axis || x.shape[d] == y.shape[d];
      if (!ok) {
        return invalid_argument("input " + x.shape.to_string() + " does not fit output " +
                                y.shape.to_string() + " on concat axis " + std::to_string(axis));
      }
      sum_axis += x.shape[static_cast<int>(axis)];
    }
    if (sum_axis != y.shape[static_cast<int>(axis)]) {
      return invalid_argument("inputs add up to " + std::to_string(sum_axis) +
                              " along the concat axis, the output has " +
                              std::to_string(y.shape[static_cast<int>(axis)]));
    }
    const int64_t row_bytes = sum_axis * inner * es;
    if (outer == 0 || row_bytes == 0) return Status::ok();

    // The widest word dividing every size and offset and aligning every address.
    int64_t word = 16;
    auto fits = [&](int64_t v) {
      while (word > 1 && v % word != 0) word /= 2;
    };
    fits(row_bytes);
    fits(static_cast<int64_t>(reinterpret_cast<uintptr_t>(y.data) % 16));  // 0 when aligned
    for (const TensorView& x : args.inputs) {
      const int64_t chunk = x.shape[static_cast<int>(axis)] * inner * es;
      fits(chunk);
      if (chunk > 0) fits(static_cast<int64_t>(reinterpret_cast<uintptr_t>(x.data) % 16));
    }
    // Offsets are sums of chunks, so they are multiples of the word too.

    auto stream = static_cast<cudaStream_t>(args.stream);
    Group g{};
    int count = 0;
    int64_t offset = 0, max_chunk = 0;
    auto launch_group = [&]() -> Status {
      const int64_t row = row_bytes / word;
      switch (word) {
        case 16:
          return launch<uint4>(y.data, outer, row, g, count, max_chunk, sms_, stream);
        case 8:
          return launch<uint2>(y.data, outer, row, g, count, max_chunk, sms_, stream);
        case 4:
          return launch<uint32_t>(y.data, outer, row, g, count, max_chunk, sms_, stream);
        case 2:
          return launch<uint16_t>(y.data, outer, row, g, count, max_chunk, sms_, stream);
        default:
          return launch<uint8_t>(y.data, outer, row, g, count, max_chunk, sms_, stream);
      }
    };
    auto flush = [&]() -> Status {
      if (count == 0) return Status::ok();
      Status st = launch_group();
      count = 0;
      max_chunk = 0;
      return st;
    };
    for (const TensorView& x : args.inputs) {
      const int64_t chunk = x.shape[static_cast<int>(axis)] * inner * es / word;
      if (chunk > 0) {
        g.src[count] = x.data;
        g.chunk[count] = chunk;
        g.offset[count] = offset;
        max_chunk = std::max(max_chunk, chunk);
        if (++count == kGroup) KILN_RETURN_IF_ERROR(flush());
      }
      offset += chunk;
    }
    return flush();
  }

 private:
  int64_t axis_;
  int sms_;
};

bool supports_any(const KernelInfo& info) {
  if (info.num_inputs() < 1) return false;
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (!info.has_input(i) || info.input_dtype(i) != info.output_dtype(0)) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_batched_copy(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis");
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.output(0).shape.size()), "axis"));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new ConcatCudaKernel(axis, sms));
}

const TacticDef kCudaTactics[] = {
    {"batched_copy", TacticSource::kKilnCuda, kAllDtypes, supports_any, create_batched_copy},
};

}  // namespace

std::span<const TacticDef> concat_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
