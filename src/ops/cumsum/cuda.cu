// CUDA tactics of CumSum (float32 / float16 / bfloat16 / int32 / int64; floats accumulate in
// double and integers in wrapping 64-bit unsigned arithmetic, as the reference does). The axis
// is read on the host (host copy of input 1).
//   lines       one thread per (outer, inner) line, summing along the axis in order: the
//               reference's arithmetic exactly; adjacent threads read adjacent elements when
//               the axis is not innermost.
//   block_scan  one block per line: tiles of 256 x 8 elements, each thread sums its 8 in order
//               and a block-wide scan of the thread sums gives the prefixes; for long lines
//               (an innermost axis). Float sums are associated differently from the reference,
//               so they can differ in the last bits of the double sum (rarely after rounding).
#include "ops/common/cuda_for_each.cuh"
#include "ops/cumsum/cumsum.h"

#include <algorithm>
#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int kScanThreads = 256;
constexpr int kScanItems = 8;

// Accumulator of an element type: double for floats, uint64 (wrapping) for integers.
template <typename T>
using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;

template <typename T>
__device__ __forceinline__ Acc<T> to_acc(T v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<uint64_t>(static_cast<int64_t>(v));
  } else {
    return static_cast<double>(cuda::to_float(v));
  }
}

template <typename T>
__device__ __forceinline__ T from_acc(Acc<T> v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(v);
  } else {
    return cuda::from_float<T>(static_cast<float>(v));
  }
}

struct Line {
  int64_t n, inner;
  bool exclusive, reverse;
  // Element offset of step s of line l (lines are (outer, inner) pairs).
  __device__ __forceinline__ int64_t at(int64_t l, int64_t s) const {
    const int64_t o = cuda::div_nonneg(l, inner), i = l - o * inner;
    return (o * n + (reverse ? n - 1 - s : s)) * inner + i;
  }
};

template <typename T>
struct LinesFn {
  const T* x;
  T* y;
  Line line;
  __device__ void operator()(int64_t l) const {
    Acc<T> acc = 0;
    for (int64_t s = 0; s < line.n; ++s) {
      const int64_t j = line.at(l, s);
      const Acc<T> v = to_acc(x[j]);
      if (line.exclusive) {
        y[j] = from_acc<T>(acc);
        acc += v;
      } else {
        acc += v;
        y[j] = from_acc<T>(acc);
      }
    }
  }
};

// Exclusive prefix of v over the block (blockDim.x a multiple of 32, every thread calls it);
// *total gets the block's sum. `warp_sums` holds 32 values in shared memory.
template <typename A>
__device__ A block_exclusive_scan(A v, A* warp_sums, A* total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warps = static_cast<int>(blockDim.x >> 5);
  A x = v;
  for (int o = 1; o < 32; o <<= 1) {
    const A up = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o) x += up;
  }
  __syncthreads();  // the previous call may still read warp_sums
  if (lane == 31) warp_sums[warp] = x;
  __syncthreads();
  if (warp == 0) {
    A s = lane < warps ? warp_sums[lane] : A{0};
    for (int o = 1; o < 32; o <<= 1) {
      const A up = __shfl_up_sync(0xffffffffu, s, o);
      if (lane >= o) s += up;
    }
    warp_sums[lane] = s;
  }
  // The exclusive prefix within the warp is the previous lane's inclusive one (x - v would
  // not give it exactly for floating point).
  A excl = __shfl_up_sync(0xffffffffu, x, 1);
  if (lane == 0) excl = A{0};
  __syncthreads();
  *total = warp_sums[warps - 1];
  return warp > 0 ? warp_sums[warp - 1] + excl : excl;
}

template <typename T>
__global__ void __launch_bounds__(kScanThreads)
    cumsum_block_scan_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t lines, Line line) {
  __shared__ Acc<T> warp_sums[32];
  constexpr int64_t kTile = static_cast<int64_t>(kScanThreads) * kScanItems;
  for (int64_t l = blockIdx.x; l < lines; l += gridDim.x) {
    Acc<T> carry = 0;
    for (int64_t tile = 0; tile < line.n; tile += kTile) {
      const int64_t first = tile + static_cast<int64_t>(threadIdx.x) * kScanItems;
      Acc<T> v[kScanItems];
      Acc<T> sum = 0;
#pragma unroll
      for (int k = 0; k < kScanItems; ++k) {
        v[k] = first + k < line.n ? to_acc(x[line.at(l, first + k)]) : Acc<T>{0};
        sum += v[k];
      }
      Acc<T> total;
      Acc<T> run = carry + block_exclusive_scan(sum, warp_sums, &total);
#pragma unroll
      for (int k = 0; k < kScanItems; ++k) {
        if (first + k >= line.n) break;
        const int64_t j = line.at(l, first + k);
        if (line.exclusive) {
          y[j] = from_acc<T>(run);
          run += v[k];
        } else {
          run += v[k];
          y[j] = from_acc<T>(run);
        }
      }
      carry += total;
    }
  }
}

class CumSumCudaKernel final : public Kernel {
 public:
  CumSumCudaKernel(bool exclusive, bool reverse, bool block_scan, int sms)
      : exclusive_(exclusive), reverse_(reverse), block_scan_(block_scan), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (!(x.shape == y.shape) || x.dtype != y.dtype) {
      return invalid_argument("cumsum output " + y.shape.to_string() + " does not match input " +
                              x.shape.to_string());
    }
    const TensorView av = host_copy(args, 1);
    if (av.data == nullptr || av.numel() != 1) {
      return invalid_argument("cumsum axis must be one value available on the host");
    }
    int64_t axis = load_as_int(av.data, av.dtype, 0);
    KILN_RETURN_IF_ERROR(normalize_axis(&axis, x.shape.rank(), "cumsum axis"));
    const bool float_type = is_floating(x.dtype);
    if (!float_type && x.dtype != DataType::kInt32 && x.dtype != DataType::kInt64) {
      return unsupported("cumsum does not support dtype " + std::string(dtype_name(x.dtype)));
    }
    if (y.numel() == 0) return Status::ok();
    int64_t inner = 1;
    for (int d = static_cast<int>(axis) + 1; d < x.shape.rank(); ++d) inner *= x.shape[d];
    const Line line{x.shape[static_cast<int>(axis)], inner, exclusive_, reverse_};
    const int64_t lines = y.numel() / line.n;
    auto stream = static_cast<cudaStream_t>(args.stream);
    return cuda::dispatch_device_dtype(x.dtype, [&](auto tag) -> Status {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) {
        return unsupported("cumsum does not support 8-bit integers");
      } else {
        const T* in = static_cast<const T*>(x.data);
        T* out = static_cast<T*>(y.data);
        if (!block_scan_) {
          return cuda::launch_for_each("cumsum_lines_kernel", lines, sms_, stream,
                                       LinesFn<T>{in, out, line});
        }
        const int64_t blocks = std::min<int64_t>(lines, int64_t{1} << 30);
        cumsum_block_scan_kernel<T>
            <<<static_cast<unsigned int>(blocks), kScanThreads, 0, stream>>>(in, out, lines, line);
        return cuda::check_launch("cumsum_block_scan_kernel");
      }
    });
  }

 private:
  bool exclusive_, reverse_, block_scan_;
  int sms_;
};

bool supports_any(const KernelInfo& info) {
  if (info.num_inputs() != 2 || !info.has_input(0)) return false;
  const DataType dt = info.input_dtype(0);
  return dt == info.output_dtype(0) &&
         (is_floating(dt) || dt == DataType::kInt32 || dt == DataType::kInt64);
}

template <bool kBlockScan>
Result<std::unique_ptr<Kernel>> create(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new CumSumCudaKernel(info.attrs().get_int("exclusive", 0) != 0,
                                                      info.attrs().get_int("reverse", 0) != 0,
                                                      kBlockScan, sms));
}

const TacticDef kCudaTactics[] = {
    {"lines", TacticSource::kKilnCuda, kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64},
     supports_any, create<false>},
    {"block_scan", TacticSource::kKilnCuda,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports_any, create<true>},
};

}  // namespace

std::span<const TacticDef> cumsum_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
