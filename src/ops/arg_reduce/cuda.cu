// CUDA tactics of ArgReduce (ArgMax / ArgMin) for every dtype the reference takes. The
// reference's scan keeps the greatest element under one strict order: NaN above every number
// (floats compare as float, integers as int64), equal keys ranked by index (the first wins, or
// the last with select_last_index). Any split of the scan that combines partial winners with that
// order gives the reference's index exactly, so both tactics are exact:
//   lines  one thread per output scanning its line in order (adjacent threads read adjacent
//          elements when the axis is not innermost);
//   block  one block per output (32 to 256 threads by the axis extent): each thread scans a
//          strided share, then a warp-shuffle / shared-memory reduction of (key, index) pairs;
//          for long lines.
#include "ops/arg_reduce/arg_reduce.h"
#include "ops/common/cuda_for_each.cuh"

#include <algorithm>
#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

template <typename T>
using Key = std::conditional_t<std::is_integral_v<T>, int64_t, float>;

template <typename T>
__device__ __forceinline__ Key<T> key_of(T v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<int64_t>(v);
  } else {
    return cuda::to_float(v);
  }
}

struct Order {
  bool is_max, last;
  // Whether candidate (k, i) ranks above (kb, ib); an index < 0 marks no candidate.
  template <typename K>
  __device__ __forceinline__ bool above(K k, int64_t i, K kb, int64_t ib) const {
    if (ib < 0) return i >= 0;
    if (i < 0) return false;
    if constexpr (std::is_floating_point_v<K>) {
      const bool n = isnan(k), nb = isnan(kb);
      if (n || nb) return n && nb ? (last ? i > ib : i < ib) : n;
    }
    if (k == kb) return last ? i > ib : i < ib;
    return is_max ? kb < k : k < kb;
  }
};

struct Lines {
  int64_t n, inner;
  __device__ __forceinline__ int64_t at(int64_t l, int64_t s) const {
    const int64_t o = cuda::div_nonneg(l, inner), i = l - o * inner;
    return (o * n + s) * inner + i;
  }
};

template <typename T>
struct ArgLinesFn {
  const T* x;
  int64_t* y;
  Lines lines;
  Order order;
  __device__ void operator()(int64_t l) const {
    Key<T> best = key_of(x[lines.at(l, 0)]);
    int64_t at = 0;
    for (int64_t s = 1; s < lines.n; ++s) {
      const Key<T> v = key_of(x[lines.at(l, s)]);
      if (order.above(v, s, best, at)) {
        best = v;
        at = s;
      }
    }
    y[l] = at;
  }
};

template <typename T>
__global__ void __launch_bounds__(256)
    arg_reduce_block_kernel(const T* __restrict__ x, int64_t* __restrict__ y, int64_t outputs,
                            Lines lines, Order order) {
  using K = Key<T>;
  __shared__ K keys[32];
  __shared__ int64_t idxs[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warps = static_cast<int>(blockDim.x >> 5);
  for (int64_t l = blockIdx.x; l < outputs; l += gridDim.x) {
    K best = K{};
    int64_t at = -1;
    for (int64_t s = threadIdx.x; s < lines.n; s += blockDim.x) {
      const K v = key_of(x[lines.at(l, s)]);
      if (order.above(v, s, best, at)) {
        best = v;
        at = s;
      }
    }
    for (int o = 16; o > 0; o >>= 1) {
      const K k = __shfl_xor_sync(0xffffffffu, best, o);
      const int64_t i = __shfl_xor_sync(0xffffffffu, at, o);
      if (order.above(k, i, best, at)) {
        best = k;
        at = i;
      }
    }
    __syncthreads();  // the previous output's reads of keys / idxs are done
    if (lane == 0) {
      keys[warp] = best;
      idxs[warp] = at;
    }
    __syncthreads();
    if (warp == 0) {
      best = lane < warps ? keys[lane] : K{};
      at = lane < warps ? idxs[lane] : -1;
      for (int o = 16; o > 0; o >>= 1) {
        const K k = __shfl_xor_sync(0xffffffffu, best, o);
        const int64_t i = __shfl_xor_sync(0xffffffffu, at, o);
        if (order.above(k, i, best, at)) {
          best = k;
          at = i;
        }
      }
      if (lane == 0) y[l] = at;
    }
  }
}

class ArgReduceCudaKernel final : public Kernel {
 public:
  ArgReduceCudaKernel(int axis, Order order, bool block, int sms)
      : axis_(axis), order_(order), block_(block), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (axis_ >= x.shape.rank() || y.dtype != DataType::kInt64 || x.dtype == DataType::kBool) {
      return invalid_argument("arg-reduce input " + x.shape.to_string() + " (" +
                              std::string(dtype_name(x.dtype)) + ") does not match the node");
    }
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis_; ++d) outer *= x.shape[d];
    for (int d = axis_ + 1; d < x.shape.rank(); ++d) inner *= x.shape[d];
    const int64_t n = x.shape[axis_];
    if (y.numel() != outer * inner) {
      return invalid_argument("arg-reduce output " + y.shape.to_string() +
                              " does not match input " + x.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    if (n == 0) {
      return invalid_argument("cannot take an arg-reduce over axis " + std::to_string(axis_) +
                              " of extent 0 (input " + x.shape.to_string() + ")");
    }
    const Lines lines{n, inner};
    auto stream = static_cast<cudaStream_t>(args.stream);
    int64_t* out = static_cast<int64_t*>(y.data);
    return cuda::dispatch_device_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* in = static_cast<const T*>(x.data);
      if (!block_) {
        return cuda::launch_for_each("arg_reduce_lines_kernel", y.numel(), sms_, stream,
                                     ArgLinesFn<T>{in, out, lines, order_});
      }
      int threads = 32;
      while (threads < 256 && threads < n) threads *= 2;
      const int64_t blocks =
          std::min<int64_t>(y.numel(), static_cast<int64_t>(std::max(sms_, 1)) * 32);
      arg_reduce_block_kernel<T><<<static_cast<unsigned int>(blocks), threads, 0, stream>>>(
          in, out, y.numel(), lines, order_);
      return cuda::check_launch("arg_reduce_block_kernel");
    });
  }

 private:
  int axis_;
  Order order_;
  bool block_;
  int sms_;
};

bool supports_any(const KernelInfo& info) {
  return info.num_inputs() == 1 && info.has_input(0) && info.input_dtype(0) != DataType::kBool &&
         info.output_dtype(0) == DataType::kInt64;
}

template <bool kBlock>
Result<std::unique_ptr<Kernel>> create(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  const Order order{info.attrs().get_string("op") == "max",
                    info.attrs().get_int("select_last_index", 0) != 0};
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new ArgReduceCudaKernel(static_cast<int>(axis), order, kBlock, sms));
}

const TacticDef kCudaTactics[] = {
    {"lines", TacticSource::kKilnCuda, kNumericDtypes, supports_any, create<false>},
    {"block", TacticSource::kKilnCuda, kNumericDtypes, supports_any, create<true>},
};

}  // namespace

std::span<const TacticDef> arg_reduce_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
