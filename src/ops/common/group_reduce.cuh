// "Reduce a group, then rewrite it" kernels for the CUDA tactics of LpNormalization,
// MeanVarianceNormalization and Hardmax. X is split into groups: the dims of a mask are reduced
// (the R elements of a group), the others index the groups. For every group the kernel
//   1. reduces op.pass1(x, r, first) over the group's elements with op.combine,
//   2. if Op::kTwoPass, reduces op.pass2(x, first, s1) the same way,
//   3. writes y = op.out(x, r, first, s1, s2) for every element,
// where first is the group's element 0 (MVN works relative to it: no precision lost to a large
// common offset) and r the element's index in the group. Accumulators are the op's Acc type
// (float sums, or an (value, index) pair); the combine must be associative and commutative.
//
// Mapping, chosen per run from the layout:
//   thread per group  when the last dim of X is not reduced (neighbouring threads take
//                     neighbouring groups: coalesced) and there are enough groups or few elements
//   warp per group    8 groups per block of 256 threads, lanes stride the elements (R <= 1024)
//   block per group   longer groups
// Dims of size 1 are dropped and neighbouring dims of the same kind merged (GroupLayout,
// ops/common/index_layout.h), so the usual layouts address their elements with one
// multiplication. Launch only: capturable.
#pragma once

#include "backends/cuda/kernel_utils.cuh"
#include "ops/common/float_kernel_utils.h"
#include "ops/common/index_layout.h"
#include "ops/op.h"
#include "ops/reduce/block_reduce.cuh"

#include <algorithm>
#include <string>
#include <vector>

namespace kiln::cuda {

enum class GroupMode { kThread, kWarp, kBlock };

constexpr int kGroupThreads = 256;
constexpr int kWarpsPerBlock = kGroupThreads / 32;

// Op: Acc, kTwoPass, identity(), combine(a, b), pass1(x, r, first), pass2(x, first, s1) (if
// kTwoPass), out(x, r, first, s1, s2). x and first are floats; r the element index (int64).
template <GroupMode kMode, typename T, typename Op>
__global__ void __launch_bounds__(1024) group_kernel(const T* x, T* y, ops::GroupLayout l, Op op) {
  using Acc = typename Op::Acc;
  __shared__ alignas(16) unsigned char raw[32 * sizeof(Acc)];
  Acc* scratch = reinterpret_cast<Acc*>(raw);
  int lane, width;
  int64_t first_group, step;
  if constexpr (kMode == GroupMode::kThread) {
    lane = 0;
    width = 1;
    first_group = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  } else if constexpr (kMode == GroupMode::kWarp) {
    lane = static_cast<int>(threadIdx.x & 31);
    width = 32;
    first_group = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
    step = static_cast<int64_t>(gridDim.x) * (blockDim.x >> 5);
  } else {
    lane = static_cast<int>(threadIdx.x);
    width = static_cast<int>(blockDim.x);
    first_group = blockIdx.x;
    step = gridDim.x;
  }
  (void)scratch;  // used by kBlock only
  const auto combine = [&](const Acc& a, const Acc& b) { return op.combine(a, b); };
  (void)combine;  // used by kWarp and kBlock
  const auto reduce = [&](Acc v) {
    if constexpr (kMode == GroupMode::kWarp) {
      return warp_all_reduce(v, combine);
    } else if constexpr (kMode == GroupMode::kBlock) {
      return block_all_reduce(v, combine, op.identity(), scratch);
    } else {
      return v;
    }
  };
  const int64_t R = l.reduced;
  // Uniform per warp (kWarp) or per block (kBlock), as the reductions need.
  for (int64_t g = first_group; g < l.groups; g += step) {
    const T* xg = x + ops::strided_offset(l.kept_dims, l.kept_strides, l.kept_rank, g);
    T* yg = y + ops::strided_offset(l.kept_dims, l.kept_strides, l.kept_rank, g);
    const float first = to_float(xg[0]);
    Acc s1 = op.identity();
    for (int64_t r = lane; r < R; r += width) {
      const float v = to_float(xg[ops::strided_offset(l.red_dims, l.red_strides, l.red_rank, r)]);
      s1 = op.combine(s1, op.pass1(v, r, first));
    }
    s1 = reduce(s1);
    Acc s2 = op.identity();
    if constexpr (Op::kTwoPass) {
      for (int64_t r = lane; r < R; r += width) {
        const float v = to_float(xg[ops::strided_offset(l.red_dims, l.red_strides, l.red_rank, r)]);
        s2 = op.combine(s2, op.pass2(v, first, s1));
      }
      s2 = reduce(s2);
    }
    for (int64_t r = lane; r < R; r += width) {
      const int64_t off = ops::strided_offset(l.red_dims, l.red_strides, l.red_rank, r);
      yg[off] = from_float<T>(op.out(to_float(xg[off]), r, first, s1, s2));
    }
  }
}

// Runs the op over every group of X -> Y (device element type T; nothing when X is empty).
template <typename T, typename Op>
Status launch_group_op(const T* x, T* y, const ops::GroupLayout& l, const Op& op, int sms,
                       cudaStream_t stream, const char* name) {
  if (l.groups == 0 || l.reduced == 0) return Status::ok();
  const int64_t max_blocks = static_cast<int64_t>(std::max(sms, 1)) * 32;
  if (!l.last_dim_reduced && (l.groups >= 2048 || l.reduced <= 32)) {
    group_kernel<GroupMode::kThread, T, Op>
        <<<grid_size(l.groups, sms), kGroupThreads, 0, stream>>>(x, y, l, op);
  } else if (l.reduced <= 1024) {
    const int64_t blocks = std::min((l.groups + kWarpsPerBlock - 1) / kWarpsPerBlock, max_blocks);
    group_kernel<GroupMode::kWarp, T, Op>
        <<<static_cast<unsigned>(blocks), kGroupThreads, 0, stream>>>(x, y, l, op);
  } else {
    const int threads = block_threads_for(l.reduced / 4, 1024);
    const int64_t blocks = std::min(l.groups, max_blocks);
    group_kernel<GroupMode::kBlock, T, Op>
        <<<static_cast<unsigned>(blocks), threads, 0, stream>>>(x, y, l, op);
  }
  return check_launch(name);
}

}  // namespace kiln::cuda

namespace kiln::ops {

// The mask of a single reduced axis (in [0, rank)).
inline std::vector<bool> axis_mask(int rank, int64_t axis) {
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  if (axis >= 0 && axis < rank) mask[static_cast<size_t>(axis)] = true;
  return mask;
}

// A kernel's run: checks that Y matches X (float32 / float16 / bfloat16) and `mask` has X's rank,
// lays X out with the mask's dims reduced and runs make_op(layout) over it on args.stream.
// `what` names the kernel in errors.
template <typename MakeOp>
Status run_group_op(const char* what, const ExecArgs& args, const std::vector<bool>& mask,
                    const MakeOp& make_op, int sms) {
  const TensorView& x = args.inputs[0];
  const TensorView& y = args.outputs[0];
  if (static_cast<size_t>(x.shape.rank()) != mask.size() || !(y.shape == x.shape) ||
      y.dtype != x.dtype) {
    return invalid_argument(std::string(what) + ": X " + x.shape.to_string() + " and Y " +
                            y.shape.to_string() + " do not match the reduced dims");
  }
  const GroupLayout layout = group_layout(x.shape, mask);
  const auto op = make_op(layout);
  auto stream = static_cast<cudaStream_t>(args.stream);
  return dispatch_float_dtype(what, x.dtype, [&](auto tag) {
    using D = typename cuda::DeviceElement<decltype(tag)>::type;
    return cuda::launch_group_op(static_cast<const D*>(x.data), static_cast<D*>(y.data), layout, op,
                                 sms, stream, what);
  });
}

}  // namespace kiln::ops
