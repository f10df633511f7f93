// CUDA tactics of Softmax (and LogSoftmax, attribute log=1). One tactic, "online", picks its
// kernel per run from the layout [outer, n, inner] (softmax over n):
//   inner == 1, n <= 1024  one warp per row, several rows per block
//   inner == 1, n > 1024   one block per row
//   inner > 1              tiles of 32 adjacent columns x 8 threads splitting each column's n
//                          elements (partials merged in shared memory); or, for many narrow
//                          column groups, one thread per column (o, i)
// Each computes the row's max and sum of exp(z - max) in one pass (online rescaling), then writes
// exp(z - max) / sum (or z - max - log(sum)), z = scale * x + mask. Float accumulation for every
// dtype. The Mask input (float of any dtype, or bool) is taken on rows (the last axis): its offset
// per row is computed once from X's leading dims; nan_to_zero maps NaN outputs to 0.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/common/broadcast.h"
#include "ops/reduce/block_reduce.cuh"
#include "ops/softmax/softmax.h"

#include <string>

namespace kiln::ops {

namespace {

// (max, sum of exp(x - max)) of the values pushed so far. A -inf value adds nothing; NaN makes
// the sum NaN (so the row's outputs are NaN, as in the reference).
__device__ __forceinline__ float2 online_push(float2 a, float x) {
  if (x > a.x) {
    a.y = a.y * expf(a.x - x) + 1.f;
    a.x = x;
  } else if (x != -INFINITY) {
    a.y += expf(x - a.x);
  }
  return a;
}

struct OnlineMerge {
  __device__ __forceinline__ float2 operator()(float2 a, float2 b) const {
    const float m = fmaxf(a.x, b.x);
    const float s =
        (a.y == 0.f ? 0.f : a.y * expf(a.x - m)) + (b.y == 0.f ? 0.f : b.y * expf(b.x - m));
    return make_float2(m, s);
  }
};

// scale, mask and nan_to_zero of a run (kernel parameter space).
struct Transform {
  float scale = 1.f;
  bool nan_to_zero = false;
  float mask_fill = -INFINITY;  // added where a bool mask is false
  const void* mask = nullptr;   // null: none
  DataType mask_dtype = DataType::kFloat32;
  int lead_rank = 0;                        // X's dims before the last
  int64_t lead_dims[Dims::kMaxDims] = {};   // their extents
  int64_t lead_steps[Dims::kMaxDims] = {};  // the mask's stride along each (0 = broadcast)
  int64_t step = 0;                         // the mask's stride along the last dim
};

// The mask's offset for row r (its coordinates over X's leading dims).
__device__ __forceinline__ int64_t mask_row_offset(const Transform& t, int64_t r) {
  int64_t off = 0;
  for (int d = t.lead_rank - 1; d >= 0; --d) {
    off += r % t.lead_dims[d] * t.lead_steps[d];
    r /= t.lead_dims[d];
  }
  return off;
}

// z = scale * x + mask[moff + j * step] (bool: 0 or mask_fill).
__device__ __forceinline__ float transformed(const Transform& t, float x, int64_t moff, int64_t j) {
  float z = t.scale * x;
  if (t.mask != nullptr) {
    const int64_t i = moff + j * t.step;
    if (t.mask_dtype == DataType::kBool) {
      z += static_cast<const uint8_t*>(t.mask)[i] ? 0.f : t.mask_fill;
    } else {
      z += cuda::load_float(t.mask, t.mask_dtype, i);
    }
  }
  return z;
}

__device__ __forceinline__ float softmax_value(float x, float2 ms, bool log, bool nan_to_zero) {
  const float v = log ? (x - ms.x) - logf(ms.y) : expf(x - ms.x) / ms.y;
  return nan_to_zero && isnan(v) ? 0.f : v;
}

constexpr int kWarpRowsPerBlock = 8;

template <typename T>
__global__ void softmax_warp_rows(const T* x, T* y, int64_t rows, int n, bool log, Transform t) {
  const int lane = threadIdx.x & 31;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kWarpRowsPerBlock + (threadIdx.x >> 5);
  const int64_t step = static_cast<int64_t>(gridDim.x) * kWarpRowsPerBlock;
  for (int64_t r = first; r < rows; r += step) {  // uniform per warp
    const T* xr = x + r * n;
    T* yr = y + r * n;
    const int64_t moff = t.mask != nullptr ? mask_row_offset(t, r) : 0;
    float2 ms = make_float2(-INFINITY, 0.f);
    for (int j = lane; j < n; j += 32) {
      ms = online_push(ms, transformed(t, cuda::to_float(xr[j]), moff, j));
    }
    ms = cuda::warp_all_reduce(ms, OnlineMerge{});
    for (int j = lane; j < n; j += 32) {
      const float z = transformed(t, cuda::to_float(xr[j]), moff, j);
      yr[j] = cuda::from_float<T>(softmax_value(z, ms, log, t.nan_to_zero));
    }
  }
}

template <typename T>
__global__ void softmax_block_rows(const T* x, T* y, int64_t rows, int64_t n, bool log,
                                   Transform t) {
  __shared__ float2 scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform per block
    const T* xr = x + r * n;
    T* yr = y + r * n;
    const int64_t moff = t.mask != nullptr ? mask_row_offset(t, r) : 0;
    float2 ms = make_float2(-INFINITY, 0.f);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      ms = online_push(ms, transformed(t, cuda::to_float(xr[j]), moff, j));
    }
    ms = cuda::block_all_reduce(ms, OnlineMerge{}, make_float2(-INFINITY, 0.f), scratch);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const float z = transformed(t, cuda::to_float(xr[j]), moff, j);
      yr[j] = cuda::from_float<T>(softmax_value(z, ms, log, t.nan_to_zero));
    }
  }
}

template <typename T>
__global__ void softmax_columns(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log,
                                float scale, bool nan_to_zero) {
  const int64_t cols = outer * inner;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
       c += step) {
    const int64_t base = (c / inner) * n * inner + c % inner;
    float2 ms = make_float2(-INFINITY, 0.f);
    for (int64_t a = 0; a < n; ++a) {
      ms = online_push(ms, scale * cuda::to_float(x[base + a * inner]));
    }
    for (int64_t a = 0; a < n; ++a) {
      const int64_t i = base + a * inner;
      y[i] = cuda::from_float<T>(softmax_value(scale * cuda::to_float(x[i]), ms, log, nan_to_zero));
    }
  }
}

// Column tiles: 32 adjacent columns (threadIdx.x) by kColumnSplit threads (threadIdx.y) that
// share each column's n elements; their (max, sum) partials merge through shared memory.
constexpr int kColumnSplit = 8;

template <typename T>
__global__ void softmax_column_tiles(const T* x, T* y, int64_t outer, int64_t n, int64_t inner,
                                     bool log, float scale, bool nan_to_zero) {
  __shared__ float2 part[kColumnSplit][32];
  const int64_t tiles_per_outer = (inner + 31) / 32;
  const int64_t tiles = outer * tiles_per_outer;
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {  // uniform per block
    const int64_t o = t / tiles_per_outer;
    const int64_t i = (t % tiles_per_outer) * 32 + tx;
    const bool valid = i < inner;
    const int64_t base = o * n * inner + i;
    float2 ms = make_float2(-INFINITY, 0.f);
    if (valid) {
      for (int64_t a = ty; a < n; a += kColumnSplit)
        ms = online_push(ms, scale * cuda::to_float(x[base + a * inner]));
    }
    part[ty][tx] = ms;
    __syncthreads();
    float2 total = part[0][tx];
    for (int k = 1; k < kColumnSplit; ++k) total = OnlineMerge{}(total, part[k][tx]);
    if (valid) {
      for (int64_t a = ty; a < n; a += kColumnSplit) {
        const int64_t idx = base + a * inner;
        y[idx] = cuda::from_float<T>(
            softmax_value(scale * cuda::to_float(x[idx]), total, log, nan_to_zero));
      }
    }
    __syncthreads();  // part is rewritten for the next tile
  }
}

struct Geometry {
  int64_t outer = 1, n = 1, inner = 1;
};

template <typename T>
Status launch(const Geometry& g, const void* xv, void* yv, bool log, const Transform& t, int sms,
              cudaStream_t s) {
  using D = typename cuda::DeviceElement<T>::type;
  const D* x = static_cast<const D*>(xv);
  D* y = static_cast<D*>(yv);
  const int64_t max_blocks = static_cast<int64_t>(sms) * 32;
  if (g.inner == 1 && g.n <= 1024) {
    const int64_t blocks =
        std::min((g.outer + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock, max_blocks);
    softmax_warp_rows<D><<<static_cast<unsigned>(blocks), 32 * kWarpRowsPerBlock, 0, s>>>(
        x, y, g.outer, static_cast<int>(g.n), log, t);
    return cuda::check_launch("softmax_warp_rows");
  }
  if (g.inner == 1) {
    const int threads = cuda::block_threads_for(g.n / 4, 1024);
    const int64_t blocks = std::min(g.outer, max_blocks);
    softmax_block_rows<D>
        <<<static_cast<unsigned>(blocks), threads, 0, s>>>(x, y, g.outer, g.n, log, t);
    return cuda::check_launch("softmax_block_rows");
  }
  // Wide rows of columns, or too few columns to fill the GPU with one thread each: tiles.
  if (g.inner >= 32 || g.outer * g.inner < static_cast<int64_t>(sms) * 1024) {
    const int64_t tiles = g.outer * ((g.inner + 31) / 32);
    const int64_t blocks = std::min(tiles, max_blocks);
    softmax_column_tiles<D><<<static_cast<unsigned>(blocks), dim3(32, kColumnSplit), 0, s>>>(
        x, y, g.outer, g.n, g.inner, log, t.scale, t.nan_to_zero);
    return cuda::check_launch("softmax_column_tiles");
  }
  softmax_columns<D><<<cuda::grid_size(g.outer * g.inner, sms), cuda::kElementwiseThreads, 0, s>>>(
      x, y, g.outer, g.n, g.inner, log, t.scale, t.nan_to_zero);
  return cuda::check_launch("softmax_columns");
}

class SoftmaxCudaKernel final : public Kernel {
 public:
  SoftmaxCudaKernel(SoftmaxParams p, int sms) : p_(p), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (x.numel() == 0) return Status::ok();
    Geometry g;
    for (int i = 0; i < x.shape.rank(); ++i) {
      if (i < p_.axis) {
        g.outer *= x.shape[i];
      } else if (i == p_.axis) {
        g.n = x.shape[i];
      } else {
        g.inner *= x.shape[i];
      }
    }
    Transform t;
    t.scale = p_.scale;
    t.nan_to_zero = p_.nan_to_zero;
    t.mask_fill = p_.mask_fill;
    if (args.inputs.size() > 1 && args.inputs[1].data != nullptr) {
      const TensorView& m = args.inputs[1];
      int64_t strides[Dims::kMaxDims] = {};
      if (!broadcast_strides_to(m.shape, x.shape, strides)) {
        return broadcast_error("Softmax Mask", m.shape, x.shape);
      }
      if (p_.axis != x.shape.rank() - 1) {
        return unsupported("Softmax CUDA kernel: a Mask needs the last axis");
      }
      t.mask = m.data;
      t.mask_dtype = m.dtype;
      t.lead_rank = x.shape.rank() - 1;
      for (int d = 0; d < t.lead_rank; ++d) {
        t.lead_dims[d] = x.shape[d];
        t.lead_steps[d] = strides[d];
      }
      t.step = strides[x.shape.rank() - 1];
    }
    auto stream = static_cast<cudaStream_t>(args.stream);
    switch (x.dtype) {
      case DataType::kFloat32:
        return launch<float>(g, x.data, y.data, p_.log, t, sms_, stream);
      case DataType::kFloat16:
        return launch<Half>(g, x.data, y.data, p_.log, t, sms_, stream);
      case DataType::kBFloat16:
        return launch<BFloat16>(g, x.data, y.data, p_.log, t, sms_, stream);
      default:
        return unsupported("Softmax CUDA kernel: dtype " + std::string(dtype_name(x.dtype)));
    }
  }

 private:
  SoftmaxParams p_;
  int sms_;
};

bool supports_online(const KernelInfo& info) {
  if (info.num_inputs() < 1 || !is_floating(info.input_dtype(0))) return false;
  const int64_t rank = static_cast<int64_t>(info.input(0).shape.size());
  int64_t axis = info.attrs().get_int("axis", -1);
  if (!normalize_axis(&axis, rank, "axis").is_ok()) return false;
  if (info.has_input(1)) {
    // The mask is read per row: the last axis only.
    const DataType mt = info.input_dtype(1);
    if (!is_floating(mt) && mt != DataType::kBool) return false;
    if (axis != rank - 1) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_online(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", -1);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new SoftmaxCudaKernel(softmax_params(info), sms));
}

const TacticDef kCudaTactics[] = {
    {"online", TacticSource::kKilnCuda, kFloatDtypes, supports_online, create_online},
};

}  // namespace

std::span<const TacticDef> softmax_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
