// CUDA tactic of GatherND: "slices", one thread per output word (any data dtype; each gathered
// slice of data.shape[b + k:] moves as the widest 16/8/4/2/1-byte word dividing the slice and
// aligning both addresses), int32 / int64 index tuples read on the device. The kernel cannot
// return an error, so a tuple with an entry outside [-s, s) yields a slice of zeros and nothing
// is read out of bounds; the CPU reference reports such an index as an out_of_range error.
#include "ops/common/cuda_for_each.cuh"
#include "ops/gather_nd/gather_nd.h"

#include <string>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

template <typename W>
struct GatherNdFn {
  const W* data;
  const void* indices;
  W* y;
  bool idx64;
  int k;
  int64_t row;            // words per slice
  int64_t tuples;         // tuples per batch
  int64_t batch_slices;   // slices per batch of data
  int64_t extent[kMax];   // data extents of the indexed dims
  int64_t sstride[kMax];  // their strides, in slices
  __device__ void operator()(int64_t e) const {
    const int64_t t = cuda::div_nonneg(e, row);
    const int64_t n = e - t * row;
    int64_t off = cuda::div_nonneg(t, tuples) * batch_slices;
    for (int j = 0; j < k; ++j) {
      int64_t v = cuda::load_index(indices, idx64, t * k + j);
      if (v < 0) v += extent[j];
      if (v < 0 || v >= extent[j]) {
        y[e] = W{};
        return;
      }
      off += v * sstride[j];
    }
    y[e] = data[off * row + n];
  }
};

class GatherNdCudaKernel final : public Kernel {
 public:
  GatherNdCudaKernel(int64_t batch_dims, int sms) : batch_dims_(batch_dims), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& data = args.inputs[0];
    const TensorView& idx = args.inputs[1];
    const TensorView& y = args.outputs[0];
    GatherNdGeometry g;
    KILN_RETURN_IF_ERROR(gather_nd_geometry(data.shape, idx.shape, y.shape, batch_dims_, &g));
    if (y.dtype != data.dtype || (idx.dtype != DataType::kInt32 && idx.dtype != DataType::kInt64)) {
      return invalid_argument(
          "GatherND: output must have data's dtype and indices be int32 or "
          "int64");
    }
    if (y.numel() == 0) return Status::ok();
    const int64_t slice_bytes = g.slice * static_cast<int64_t>(dtype_size(data.dtype));
    const int64_t word = cuda::widest_word(slice_bytes, data.data, y.data);
    return cuda::dispatch_row_word(word, [&](auto tag) {
      using W = decltype(tag);
      GatherNdFn<W> f{};
      f.data = static_cast<const W*>(data.data);
      f.indices = idx.data;
      f.y = static_cast<W*>(y.data);
      f.idx64 = idx.dtype == DataType::kInt64;
      f.k = static_cast<int>(g.k);
      f.row = slice_bytes / word;
      f.tuples = g.tuples;
      f.batch_slices = g.batch_size / g.slice;
      int64_t s = 1;
      for (int j = f.k - 1; j >= 0; --j) {
        f.extent[j] = data.shape[g.b + j];
        f.sstride[j] = s;
        s *= f.extent[j];
      }
      return cuda::launch_for_each("gather_nd_kernel", g.batches * g.tuples * f.row, sms_,
                                   args.stream, f);
    });
  }

 private:
  int64_t batch_dims_;
  int sms_;
};

bool supports_slices(const KernelInfo& info) {
  if (info.num_inputs() != 2 || !info.has_input(0) || !info.has_input(1)) return false;
  const DataType t = info.input_dtype(1);
  return (t == DataType::kInt32 || t == DataType::kInt64) &&
         info.input_dtype(0) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_slices(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new GatherNdCudaKernel(info.attrs().get_int("batch_dims", 0), sms));
}

const TacticDef kCudaTactics[] = {
    {"slices", TacticSource::kKilnCuda, kAllDtypes, supports_slices, create_slices},
};

}  // namespace

std::span<const TacticDef> gather_nd_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
