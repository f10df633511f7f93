// CUDA tactic of Range: "sequence", y[i] = start + i * delta with the reference's arithmetic:
// floats in double (the multiply and add rounded separately, as on the host: no fused
// multiply-add) then rounded once to the output dtype through float; integers in wrapping
// 64-bit unsigned arithmetic, stored modulo the dtype. start and delta are read on the host
// (host_input) and passed by value; the length is the output's.
#include "ops/common/cuda_for_each.cuh"
#include "ops/range/range.h"

#include <string>

namespace kiln::ops {

namespace {

template <typename T>
struct RangeFloat {
  T* y;
  double start, delta;
  __device__ void operator()(int64_t i) const {
    const double v = __dadd_rn(start, __dmul_rn(static_cast<double>(i), delta));
    y[i] = cuda::from_float<T>(static_cast<float>(v));
  }
};

template <typename T>
struct RangeInt {
  T* y;
  uint64_t start, delta;
  __device__ void operator()(int64_t i) const {
    y[i] = static_cast<T>(start + static_cast<uint64_t>(i) * delta);
  }
};

class RangeCudaKernel final : public Kernel {
 public:
  explicit RangeCudaKernel(int sms) : sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& y = args.outputs[0];
    if (args.inputs.size() < 3) return invalid_argument("range needs start, limit and delta");
    const TensorView start = host_copy(args, 0);
    const TensorView delta = host_copy(args, 2);
    if (start.data == nullptr || delta.data == nullptr || start.numel() != 1 ||
        delta.numel() != 1 || y.shape.rank() != 1) {
      return invalid_argument(
          "range needs scalar start and delta on the host (host_inputs) and a 1-D output");
    }
    const int64_t n = y.shape[0];
    switch (y.dtype) {
      case DataType::kFloat32:
        return launch_float<float>(y, start, delta, n, args.stream);
      case DataType::kFloat16:
        return launch_float<__half>(y, start, delta, n, args.stream);
      case DataType::kBFloat16:
        return launch_float<__nv_bfloat16>(y, start, delta, n, args.stream);
      case DataType::kInt32:
        return launch_int<int32_t>(y, start, delta, n, args.stream);
      case DataType::kInt64:
        return launch_int<int64_t>(y, start, delta, n, args.stream);
      default:
        return unsupported("range does not support dtype " + std::string(dtype_name(y.dtype)));
    }
  }

 private:
  template <typename T>
  Status launch_float(const TensorView& y, const TensorView& start, const TensorView& delta,
                      int64_t n, void* stream) const {
    RangeFloat<T> f{static_cast<T*>(y.data), load_as_double(start.data, start.dtype, 0),
                    load_as_double(delta.data, delta.dtype, 0)};
    return cuda::launch_for_each("range_kernel", n, sms_, stream, f);
  }
  template <typename T>
  Status launch_int(const TensorView& y, const TensorView& start, const TensorView& delta,
                    int64_t n, void* stream) const {
    RangeInt<T> f{static_cast<T*>(y.data),
                  static_cast<uint64_t>(load_as_int(start.data, start.dtype, 0)),
                  static_cast<uint64_t>(load_as_int(delta.data, delta.dtype, 0))};
    return cuda::launch_for_each("range_kernel", n, sms_, stream, f);
  }

  int sms_;
};

bool supports_sequence(const KernelInfo& info) {
  const DataType dt = info.output_dtype(0);
  return info.num_inputs() == 3 &&
         (is_floating(dt) || dt == DataType::kInt32 || dt == DataType::kInt64);
}

Result<std::unique_ptr<Kernel>> create_sequence(const KernelInfo& info) {
  (void)info;
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new RangeCudaKernel(sms));
}

const TacticDef kCudaTactics[] = {
    {"sequence", TacticSource::kKilnCuda,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports_sequence,
     create_sequence},
};

}  // namespace

std::span<const TacticDef> range_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
