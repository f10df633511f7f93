// CUDA tactics of Transpose (any dtype: elements move as 1/2/4/8-byte words).
//   generic: the N-D index kernel of cuda_copy (output index -> permuted input offset), after
//            dropping extent-1 dims and merging dims that stay adjacent; a permutation that keeps
//            the innermost dim becomes contiguous row copies (widened to 16-byte words).
//   tiled:   32x32 tiles through shared memory between the input's innermost dim and the
//            output's, so both the loads and the stores are coalesced; every other dim is an
//            outer loop (a batch of 2-D transposes, e.g. swapping the last two dims, is one
//            launch). Offered when the permutation moves the innermost dim at the opt shape;
//            at other shapes where it does not, it runs the generic copy.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/identity/cuda_copy.h"
#include "ops/transpose/transpose.h"

#include <algorithm>
#include <string>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;
constexpr int kTile = 32;
constexpr int kTileRows = 8;  // threads per tile column: 32 x 8 threads move a 32 x 32 tile

Status check_shapes(const TensorView& x, const TensorView& y, const std::vector<int64_t>& perm) {
  bool ok = x.shape.rank() == static_cast<int>(perm.size()) && y.shape.rank() == x.shape.rank() &&
            x.dtype == y.dtype;
  for (int j = 0; ok && j < y.shape.rank(); ++j) {
    ok = y.shape[j] == x.shape[static_cast<int>(perm[j])];
  }
  if (!ok) {
    return invalid_argument("output " + y.shape.to_string() + " is not input " +
                            x.shape.to_string() + " transposed");
  }
  return Status::ok();
}

// The transpose as a strided copy over the output's dims, simplified.
cuda_copy::StridedCopy as_strided(const Dims& in, const std::vector<int64_t>& perm) {
  const int r = in.rank();
  int64_t in_stride[kMax];
  int64_t acc = 1;
  for (int i = r - 1; i >= 0; --i) {
    in_stride[i] = acc;
    acc *= in[i];
  }
  cuda_copy::StridedCopy c;
  c.rank = r;
  for (int j = 0; j < r; ++j) {
    c.dims[j] = in[static_cast<int>(perm[j])];
    c.strides[j] = in_stride[perm[j]];
  }
  return cuda_copy::simplify(c);
}

struct TileParams {
  int64_t da, db;   // extents: output-innermost dim (a) and input-innermost dim (b)
  int64_t sa, sob;  // input stride of a; output stride of b (a has output stride 1)
  int64_t tiles_a, tiles_b, items;
  int n_outer;
  int64_t outer_dims[kMax], outer_in[kMax], outer_out[kMax];
};

template <typename T>
__global__ void transpose_tiled_kernel(const T* __restrict__ in, T* __restrict__ out,
                                       TileParams p) {
  __shared__ T tile[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t item = blockIdx.x; item < p.items; item += gridDim.x) {
    int64_t rem = item;
    const int64_t tb = rem % p.tiles_b;
    rem /= p.tiles_b;
    const int64_t ta = rem % p.tiles_a;
    rem /= p.tiles_a;
    int64_t ib = 0, ob = 0;
    for (int k = p.n_outer - 1; k >= 0; --k) {
      const int64_t v = rem % p.outer_dims[k];
      rem /= p.outer_dims[k];
      ib += v * p.outer_in[k];
      ob += v * p.outer_out[k];
    }
    const int64_t a0 = ta * kTile, b0 = tb * kTile;
    // Load: consecutive threads read consecutive b (contiguous in the input).
    for (int j = ty; j < kTile; j += kTileRows) {
      const int64_t a = a0 + j, b = b0 + tx;
      if (a < p.da && b < p.db) tile[j][tx] = in[ib + a * p.sa + b];
    }
    __syncthreads();
    // Store: consecutive threads write consecutive a (contiguous in the output).
    for (int j = ty; j < kTile; j += kTileRows) {
      const int64_t b = b0 + j, a = a0 + tx;
      if (a < p.da && b < p.db) out[ob + b * p.sob + a] = tile[tx][j];
    }
    __syncthreads();
  }
}

// Tile parameters when the simplified copy moves the innermost dim; false otherwise.
bool tile_params(const cuda_copy::StridedCopy& c, TileParams* p) {
  const int r = c.rank;
  if (r < 2 || c.strides[r - 1] == 1) return false;
  int jb = -1;
  for (int j = 0; j < r; ++j) {
    if (c.strides[j] == 1) jb = j;
  }
  if (jb < 0) return false;
  int64_t out_stride[kMax];
  int64_t acc = 1;
  for (int j = r - 1; j >= 0; --j) {
    out_stride[j] = acc;
    acc *= c.dims[j];
  }
  p->da = c.dims[r - 1];
  p->db = c.dims[jb];
  p->sa = c.strides[r - 1];
  p->sob = out_stride[jb];
  p->n_outer = 0;
  int64_t outer = 1;
  for (int j = 0; j < r - 1; ++j) {
    if (j == jb) continue;
    p->outer_dims[p->n_outer] = c.dims[j];
    p->outer_in[p->n_outer] = c.strides[j];
    p->outer_out[p->n_outer] = out_stride[j];
    ++p->n_outer;
    outer *= c.dims[j];
  }
  p->tiles_a = (p->da + kTile - 1) / kTile;
  p->tiles_b = (p->db + kTile - 1) / kTile;
  p->items = outer * p->tiles_a * p->tiles_b;
  return true;
}

template <typename T>
Status launch_tiled(const void* in, void* out, const TileParams& p, int sms, cudaStream_t stream) {
  const int64_t blocks = std::min<int64_t>(p.items, static_cast<int64_t>(std::max(sms, 1)) * 16);
  transpose_tiled_kernel<T>
      <<<static_cast<unsigned int>(blocks), dim3(kTile, kTileRows), 0, stream>>>(
          static_cast<const T*>(in), static_cast<T*>(out), p);
  return cuda::check_launch("transpose_tiled_kernel");
}

class TransposeCudaKernel final : public Kernel {
 public:
  TransposeCudaKernel(std::vector<int64_t> perm, bool tiled, int sms)
      : perm_(std::move(perm)), tiled_(tiled), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    KILN_RETURN_IF_ERROR(check_shapes(x, y, perm_));
    if (y.numel() == 0) return Status::ok();
    const size_t es = dtype_size(x.dtype);
    const cuda_copy::StridedCopy c = as_strided(x.shape, perm_);
    TileParams p;
    if (tiled_ && tile_params(c, &p)) {
      auto stream = static_cast<cudaStream_t>(args.stream);
      switch (es) {
        case 1:
          return launch_tiled<uint8_t>(x.data, y.data, p, sms_, stream);
        case 2:
          return launch_tiled<uint16_t>(x.data, y.data, p, sms_, stream);
        case 4:
          return launch_tiled<uint32_t>(x.data, y.data, p, sms_, stream);
        default:
          return launch_tiled<uint2>(x.data, y.data, p, sms_, stream);
      }
    }
    return cuda_copy::strided_copy(x.data, y.data, es, c, sms_, args.stream);
  }

 private:
  std::vector<int64_t> perm_;
  bool tiled_;
  int sms_;
};

std::vector<int64_t> perm_of(const KernelInfo& info) {
  return transpose_perm(info.attrs(), static_cast<int64_t>(info.input(0).shape.size()));
}

bool supports_generic(const KernelInfo& info) {
  return info.num_inputs() == 1 && info.has_input(0) && info.input_dtype(0) == info.output_dtype(0);
}

// The tiled kernel applies when the permutation moves the innermost dim at the opt shape. At
// shapes where it does not (extent-1 dims can hide the move), the kernel does the generic copy.
bool supports_tiled(const KernelInfo& info) {
  if (!supports_generic(info) || info.opt.inputs.empty()) return false;
  const std::vector<int64_t> perm = perm_of(info);
  const Dims& in = info.opt.inputs[0];
  if (in.rank() != static_cast<int>(perm.size())) return false;
  TileParams p;
  return tile_params(as_strided(in, perm), &p);
}

Result<std::unique_ptr<Kernel>> create_generic(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new TransposeCudaKernel(perm_of(info), false, sms));
}
Result<std::unique_ptr<Kernel>> create_tiled(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new TransposeCudaKernel(perm_of(info), true, sms));
}

const TacticDef kCudaTactics[] = {
    {"generic", TacticSource::kKilnCuda, kAllDtypes, supports_generic, create_generic},
    {"tiled", TacticSource::kKilnCuda, kAllDtypes, supports_tiled, create_tiled},
};

}  // namespace

std::span<const TacticDef> transpose_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
