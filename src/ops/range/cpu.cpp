// CPU tactic of Range: the reference, y[i] = start + i * delta (integers exact, floats in
// double then rounded once). The length is the output's; start and delta are read on the host.
#include "ops/range/range.h"

namespace kiln::ops {

namespace {

class RangeKernel final : public Kernel {
 public:
  Status execute(const ExecArgs& args) const override {
    const TensorView& y = args.outputs[0];
    const TensorView& start = host_input(args, 0);
    const TensorView& delta = host_input(args, 2);
    if (start.data == nullptr || delta.data == nullptr || start.numel() != 1 ||
        delta.numel() != 1 || y.shape.rank() != 1) {
      return invalid_argument("range needs scalar start and delta on the host and a 1-D output");
    }
    const int64_t n = y.shape[0];
    if (is_floating(y.dtype)) {
      const double s = load_as_double(start.data, start.dtype, 0);
      const double d = load_as_double(delta.data, delta.dtype, 0);
      for (int64_t i = 0; i < n; ++i) {
        store_from_double(y.data, y.dtype, i, s + static_cast<double>(i) * d);
      }
      return Status::ok();
    }
    // Integers: wrap-free unsigned arithmetic, stored modulo the dtype.
    const uint64_t s = static_cast<uint64_t>(load_as_int(start.data, start.dtype, 0));
    const uint64_t d = static_cast<uint64_t>(load_as_int(delta.data, delta.dtype, 0));
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t v = s + static_cast<uint64_t>(i) * d;
      if (y.dtype == DataType::kInt64) {
        y.as<int64_t>()[i] = static_cast<int64_t>(v);
      } else if (y.dtype == DataType::kInt32) {
        y.as<int32_t>()[i] = static_cast<int32_t>(v);
      } else {
        return unsupported("range does not support dtype " + std::string(dtype_name(y.dtype)));
      }
    }
    return Status::ok();
  }
};

bool supports(const KernelInfo& info) {
  const DataType dt = info.output_dtype(0);
  return is_floating(dt) || dt == DataType::kInt32 || dt == DataType::kInt64;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  (void)info;
  return std::unique_ptr<Kernel>(new RangeKernel());
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports, create_reference},
};

}  // namespace

std::span<const TacticDef> range_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
