// CUDA tactic of GatherElements: "elements", one thread per output element (any data dtype,
// moved as 1/2/4/8-byte words; int32 / int64 indices read on the device). The kernel cannot
// return an error, so an index outside [-s, s) yields 0 (all-zero bytes) and nothing is read out
// of bounds; the CPU reference reports such an index as an out_of_range error instead.
#include "ops/common/cuda_for_each.cuh"
#include "ops/common/word_dispatch.h"
#include "ops/gather_elements/gather_elements.h"

#include <string>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

template <typename W>
struct GatherElementsFn {
  const W* data;
  const void* indices;
  W* y;
  bool idx64;
  int axis;
  cuda::NdShape idx_shape;
  int64_t data_stride[kMax];
  int64_t extent;
  __device__ void operator()(int64_t i) const {
    int64_t v = cuda::load_index(indices, idx64, i);
    if (v < 0) v += extent;
    if (v < 0 || v >= extent) {
      y[i] = W{0};
      return;
    }
    int64_t rem = i, off = 0;
    for (int d = idx_shape.rank - 1; d >= 0; --d) {
      const int64_t q = cuda::div_nonneg(rem, idx_shape.dims[d]);
      off += (d == axis ? v : rem - q * idx_shape.dims[d]) * data_stride[d];
      rem = q;
    }
    y[i] = data[off];
  }
};

class GatherElementsCudaKernel final : public Kernel {
 public:
  GatherElementsCudaKernel(int axis, int sms) : axis_(axis), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& data = args.inputs[0];
    const TensorView& indices = args.inputs[1];
    const TensorView& y = args.outputs[0];
    const Dims& dd = data.shape;
    const Dims& id = indices.shape;
    const int rank = dd.rank();
    bool ok = id.rank() == rank && axis_ < rank && y.shape == id && y.dtype == data.dtype &&
              (indices.dtype == DataType::kInt32 || indices.dtype == DataType::kInt64);
    for (int d = 0; ok && d < rank; ++d) ok = d == axis_ || id[d] <= dd[d];
    if (!ok) {
      return invalid_argument("GatherElements: indices " + id.to_string() + " (" +
                              std::string(dtype_name(indices.dtype)) + ") and output " +
                              y.shape.to_string() + " do not fit data " + dd.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    return dispatch_word(dtype_size(data.dtype), [&](auto tag) {
      using W = decltype(tag);
      GatherElementsFn<W> f{};
      f.data = static_cast<const W*>(data.data);
      f.indices = indices.data;
      f.y = static_cast<W*>(y.data);
      f.idx64 = indices.dtype == DataType::kInt64;
      f.axis = axis_;
      f.idx_shape = cuda::nd_shape(id);
      int64_t stride = 1;
      for (int d = rank - 1; d >= 0; --d) {
        f.data_stride[d] = stride;
        stride *= dd[d];
      }
      f.extent = dd[axis_];
      return cuda::launch_for_each("gather_elements_kernel", y.numel(), sms_, args.stream, f);
    });
  }

 private:
  int axis_;
  int sms_;
};

bool supports_elements(const KernelInfo& info) {
  if (info.num_inputs() != 2 || !info.has_input(0) || !info.has_input(1)) return false;
  const DataType t = info.input_dtype(1);
  return (t == DataType::kInt32 || t == DataType::kInt64) &&
         info.input_dtype(0) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_elements(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new GatherElementsCudaKernel(static_cast<int>(axis), sms));
}

const TacticDef kCudaTactics[] = {
    {"elements", TacticSource::kKilnCuda, kAllDtypes, supports_elements, create_elements},
};

}  // namespace

std::span<const TacticDef> gather_elements_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
