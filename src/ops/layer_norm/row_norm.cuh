// The row-normalization kernel shared by LayerNorm and InstanceNorm: X viewed as [rows, D], each
// row normalized by its own mean and (biased) variance, then an affine map supplied by the op:
//   y[r, j] = aff(r, j, (x[r, j] - mean_r), inv_std_r)
// where x may be the sum of two tensors (LayerNorm's fused residual input, `res`, null if none).
// Mean and variance are two passes over the row (sum, then sum of squared deviations: no
// cancellation as in E[x^2] - mean^2), both relative to the row's first element (so a large
// common offset keeps its precision), then a third pass writes Y; float accumulation.
// Rows of up to kWarpRowMax elements take one warp each (8 rows per block), longer rows one block.
#pragma once

#include "backends/cuda/kernel_utils.cuh"
#include "ops/reduce/block_reduce.cuh"

#include <algorithm>

namespace kiln::ops::row_norm {

constexpr int64_t kWarpRowMax = 1024;
constexpr int kRowsPerBlock = 8;

// kWarp: one warp per row; else one block per row. mean_out / inv_std_out may be null.
template <bool kWarp, typename T, typename Affine>
__global__ void row_norm_kernel(const T* x, const T* res, T* y, int64_t rows, int64_t D, float eps,
                                Affine aff, float* mean_out, float* inv_std_out) {
  __shared__ float scratch[32];
  const int lane = kWarp ? static_cast<int>(threadIdx.x & 31) : static_cast<int>(threadIdx.x);
  const int width = kWarp ? 32 : static_cast<int>(blockDim.x);
  const int64_t first = kWarp
                            ? static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + (threadIdx.x >> 5)
                            : static_cast<int64_t>(blockIdx.x);
  const int64_t step =
      kWarp ? static_cast<int64_t>(gridDim.x) * kRowsPerBlock : static_cast<int64_t>(gridDim.x);
  auto reduce = [&](float v) {
    if constexpr (kWarp) {
      return cuda::warp_all_reduce(v, cuda::SumOp{});
    } else {
      return cuda::block_all_reduce(v, cuda::SumOp{}, 0.f, scratch);
    }
  };
  for (int64_t r = first; r < rows; r += step) {  // uniform per warp (kWarp) or block
    const T* xr = x + r * D;
    const T* rr = res != nullptr ? res + r * D : nullptr;
    T* yr = y + r * D;
    auto load = [&](int64_t j) {
      return rr != nullptr ? cuda::to_float(xr[j]) + cuda::to_float(rr[j]) : cuda::to_float(xr[j]);
    };
    // Work relative to the row's first element: x - shift is exact for values near it, so a
    // large common offset costs no precision in the float sums (mean = shift + mean_s).
    const float shift = D > 0 ? load(0) : 0.f;
    float sum = 0.f;
    for (int64_t j = lane; j < D; j += width) sum += load(j) - shift;
    const float mean_s = reduce(sum) / static_cast<float>(D);
    float sq = 0.f;
    for (int64_t j = lane; j < D; j += width) {
      const float d = (load(j) - shift) - mean_s;
      sq += d * d;
    }
    const float var = reduce(sq) / static_cast<float>(D);
    const float inv_std = 1.f / sqrtf(var + eps);
    for (int64_t j = lane; j < D; j += width) {
      const float d = (load(j) - shift) - mean_s;
      yr[j] = cuda::from_float<T>(aff(r, j, d, inv_std, var));
    }
    if (lane == 0) {
      if (mean_out != nullptr) mean_out[r] = shift + mean_s;
      if (inv_std_out != nullptr) inv_std_out[r] = inv_std;
    }
  }
}

// Launches the kernel for rows of D elements of device type T (x + res when res is not null).
template <typename T, typename Affine>
Status launch(const T* x, T* y, int64_t rows, int64_t D, float eps, const Affine& aff,
              float* mean_out, float* inv_std_out, int sms, cudaStream_t s,
              const T* res = nullptr) {
  if (rows == 0) return Status::ok();
  const int64_t max_blocks = static_cast<int64_t>(sms) * 32;
  if (D <= kWarpRowMax) {
    const int64_t blocks = std::min((rows + kRowsPerBlock - 1) / kRowsPerBlock, max_blocks);
    row_norm_kernel<true, T, Affine><<<static_cast<unsigned>(blocks), 32 * kRowsPerBlock, 0, s>>>(
        x, res, y, rows, D, eps, aff, mean_out, inv_std_out);
    return cuda::check_launch("row_norm_kernel (warp per row)");
  }
  const int threads = cuda::block_threads_for(D / 4, 1024);
  const int64_t blocks = std::min(rows, max_blocks);
  row_norm_kernel<false, T, Affine><<<static_cast<unsigned>(blocks), threads, 0, s>>>(
      x, res, y, rows, D, eps, aff, mean_out, inv_std_out);
  return cuda::check_launch("row_norm_kernel (block per row)");
}

}  // namespace kiln::ops::row_norm
