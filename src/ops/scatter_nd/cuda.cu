// CUDA tactics of ScatterND (any dtype, every reduction; int32 / int64 index tuples read on the
// device). The strategies are those of scatter_cuda.cuh:
//   ordered   one thread per position within a slice, walking every tuple in order (all updates
//             of one output element share that position): exact for every reduction; its
//             parallelism is the slice size, so it suits wide slices;
//   parallel  one thread per updated element (reduction none through a last-writer pass;
//             integer, bool and max / min reductions through atomics); not for float add / mul.
// Tuples with an entry outside [-s, s) are skipped (the CPU reference refuses the run).
#include "ops/scatter_elements/scatter_cuda.cuh"
#include "ops/scatter_nd/scatter_nd.h"

#include <string>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

// Output offset of update u (element e of the slice of tuple t), or -1 for an out-of-range
// tuple.
struct TupleDest {
  const void* indices;
  bool idx64;
  int k;
  int64_t slice;
  int64_t extent[kMax], stride[kMax];  // data dims 0..k-1 and their strides, in elements
  __device__ int64_t operator()(int64_t u) const {
    const int64_t t = cuda::div_nonneg(u, slice);
    int64_t off = u - t * slice;
    for (int j = 0; j < k; ++j) {
      int64_t v = cuda::load_index(indices, idx64, t * k + j);
      if (v < 0) v += extent[j];
      if (v < 0 || v >= extent[j]) return -1;
      off += v * stride[j];
    }
    return off;
  }
};

// Sequence s: position s of every slice, tuples in order.
struct SlicePositions {
  TupleDest dest_fn;
  int64_t length;  // tuples
  __device__ int64_t update(int64_t s, int64_t j) const { return j * dest_fn.slice + s; }
  __device__ int64_t dest(int64_t u) const { return dest_fn(u); }
};

class ScatterNdCudaKernel final : public Kernel {
 public:
  ScatterNdCudaKernel(ScatterReduction red, bool parallel, int sms)
      : red_(red), parallel_(parallel), sms_(sms) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    if (!parallel_ || shapes.outputs.empty()) return 0;
    return scatter_cuda::parallel_workspace(red_, shapes.outputs[0].volume());
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& data = args.inputs[0];
    const TensorView& idx = args.inputs[1];
    const TensorView& updates = args.inputs[2];
    const TensorView& y = args.outputs[0];
    int k = 0;
    int64_t tuples = 0, slice = 0;
    KILN_RETURN_IF_ERROR(
        scatter_nd_geometry(data.shape, idx.shape, updates.shape, &k, &tuples, &slice));
    if (!(y.shape == data.shape) || y.dtype != data.dtype || updates.dtype != data.dtype ||
        (idx.dtype != DataType::kInt32 && idx.dtype != DataType::kInt64)) {
      return invalid_argument("ScatterND: output " + y.shape.to_string() +
                              " must be data's shape and dtype, indices int32 or int64");
    }
    TupleDest dest{};
    dest.indices = idx.data;
    dest.idx64 = idx.dtype == DataType::kInt64;
    dest.k = k;
    dest.slice = slice;
    for (int64_t j = k - 1, s = slice; j >= 0; --j) {
      dest.extent[j] = data.shape[static_cast<int>(j)];
      dest.stride[j] = s;
      s *= dest.extent[j];
    }
    const scatter_cuda::Run run{&data, &updates, &y, red_, sms_, args.stream};
    if (slice == 0) return scatter_cuda::copy_data(run);
    if (parallel_) {
      return scatter_cuda::run_parallel(run, dest, tuples * slice, args.workspace,
                                        args.workspace_size);
    }
    return scatter_cuda::run_ordered(run, SlicePositions{dest, tuples}, slice);
  }

 private:
  ScatterReduction red_;
  bool parallel_;
  int sms_;
};

template <bool kParallel>
Result<std::unique_ptr<Kernel>> create(const KernelInfo& info) {
  ScatterReduction red = ScatterReduction::kNone;
  if (!parse_scatter_reduction(info.attrs().get_string("reduction", "none"), &red)) {
    return invalid_argument("unknown scatter reduction");
  }
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new ScatterNdCudaKernel(red, kParallel, sms));
}

const TacticDef kCudaTactics[] = {
    {"ordered", TacticSource::kKilnCuda, kAllDtypes, scatter_cuda::supports_ordered, create<false>},
    {"parallel", TacticSource::kKilnCuda, kAllDtypes, scatter_cuda::supports_parallel,
     create<true>},
};

}  // namespace

std::span<const TacticDef> scatter_nd_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
