// CUDA tactic of Select (ONNX Where): "broadcast", y = condition ? a : b for any dtype (values move
// as 1/2/4/8-byte words). When the three inputs have the output's shape the kernel indexes them
// linearly; otherwise each output index is decomposed once over the output dims (extent-1 dims
// dropped, dims that every input steps through contiguously merged) and dotted with each
// input's broadcast strides (0 where it broadcasts).
#include "backends/cuda/kernel_utils.cuh"
#include "ops/select/select.h"

#include <string>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

struct Broadcast {
  int rank = 0;
  int64_t dims[kMax] = {};
  int64_t st[3][kMax] = {};  // condition, a, b
};

template <typename E>
__global__ void select_same_kernel(const uint8_t* __restrict__ c, const E* __restrict__ a,
                                   const E* __restrict__ b, E* __restrict__ y, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    y[i] = c[i] ? a[i] : b[i];
  }
}

template <typename E>
__global__ void select_broadcast_kernel(const uint8_t* __restrict__ c, const E* __restrict__ a,
                                        const E* __restrict__ b, E* __restrict__ y, int64_t n,
                                        Broadcast p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t rem = i, oc = 0, oa = 0, ob = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      const int64_t q = rem / p.dims[d];
      const int64_t idx = rem - q * p.dims[d];
      rem = q;
      oc += idx * p.st[0][d];
      oa += idx * p.st[1][d];
      ob += idx * p.st[2][d];
    }
    y[i] = c[oc] ? a[oa] : b[ob];
  }
}

// Input strides over the output's dims (0 where the input broadcasts); false if it does not
// broadcast to the output.
bool broadcast_strides(const Dims& in, const Dims& out, int64_t* strides) {
  if (in.rank() > out.rank()) return false;
  const int off = out.rank() - in.rank();
  int64_t acc = 1;
  for (int i = out.rank() - 1; i >= 0; --i) {
    const int j = i - off;
    if (j < 0) {
      strides[i] = 0;
      continue;
    }
    if (in[j] != out[i] && in[j] != 1) return false;
    strides[i] = in[j] == 1 ? 0 : acc;
    acc *= in[j];
  }
  return true;
}

template <typename E>
Status launch(const ExecArgs& args, const Broadcast& p, bool same, int64_t n, int sms,
              cudaStream_t stream) {
  const auto* c = static_cast<const uint8_t*>(args.inputs[0].data);
  const auto* a = static_cast<const E*>(args.inputs[1].data);
  const auto* b = static_cast<const E*>(args.inputs[2].data);
  auto* y = static_cast<E*>(args.outputs[0].data);
  const unsigned int grid = cuda::grid_size(n, sms);
  if (same) {
    select_same_kernel<E><<<grid, cuda::kElementwiseThreads, 0, stream>>>(c, a, b, y, n);
    return cuda::check_launch("select_same_kernel");
  }
  select_broadcast_kernel<E><<<grid, cuda::kElementwiseThreads, 0, stream>>>(c, a, b, y, n, p);
  return cuda::check_launch("select_broadcast_kernel");
}

class SelectCudaKernel final : public Kernel {
 public:
  explicit SelectCudaKernel(int sms) : sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const Dims& out = args.outputs[0].shape;
    Broadcast full;
    full.rank = out.rank();
    for (int d = 0; d < out.rank(); ++d) full.dims[d] = out[d];
    bool same = true;
    for (int k = 0; k < 3; ++k) {
      const Dims& in = args.inputs[k].shape;
      if (!broadcast_strides(in, out, full.st[k])) {
        return invalid_argument("Select: input " + std::to_string(k) + " shape " + in.to_string() +
                                " does not broadcast to " + out.to_string());
      }
      same = same && in.volume() == out.volume();
    }
    const DataType dt = args.outputs[0].dtype;
    if (args.inputs[0].dtype != DataType::kBool || args.inputs[1].dtype != dt ||
        args.inputs[2].dtype != dt) {
      return invalid_argument("Select: condition must be bool and A, B of the output's dtype");
    }
    const int64_t n = out.volume();
    if (n == 0) return Status::ok();
    // Drop extent-1 dims; merge dims that every input steps through contiguously.
    Broadcast p;
    for (int d = 0; d < full.rank; ++d) {
      if (full.dims[d] == 1) continue;
      bool merge = p.rank > 0;
      for (int k = 0; merge && k < 3; ++k) {
        merge = p.st[k][p.rank - 1] == full.st[k][d] * full.dims[d];
      }
      if (merge) {
        p.dims[p.rank - 1] *= full.dims[d];
        for (int k = 0; k < 3; ++k) p.st[k][p.rank - 1] = full.st[k][d];
        continue;
      }
      p.dims[p.rank] = full.dims[d];
      for (int k = 0; k < 3; ++k) p.st[k][p.rank] = full.st[k][d];
      ++p.rank;
    }
    auto stream = static_cast<cudaStream_t>(args.stream);
    switch (dtype_size(dt)) {
      case 1:
        return launch<uint8_t>(args, p, same, n, sms_, stream);
      case 2:
        return launch<uint16_t>(args, p, same, n, sms_, stream);
      case 4:
        return launch<uint32_t>(args, p, same, n, sms_, stream);
      default:
        return launch<uint64_t>(args, p, same, n, sms_, stream);
    }
  }

 private:
  int sms_;
};

bool supports_broadcast(const KernelInfo& info) {
  return info.num_inputs() == 3 && info.has_input(0) && info.has_input(1) && info.has_input(2) &&
         info.input_dtype(0) == DataType::kBool && info.input_dtype(1) == info.output_dtype(0) &&
         info.input_dtype(2) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_broadcast(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new SelectCudaKernel(sms));
}

const TacticDef kCudaTactics[] = {
    {"broadcast", TacticSource::kKilnCuda, kAllDtypes, supports_broadcast, create_broadcast},
};

}  // namespace

std::span<const TacticDef> select_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
