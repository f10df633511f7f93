// CPU tactic of Shape: writes the concrete dims of the input (its data is never read).
#include "ops/shape/shape.h"

namespace kiln::ops {

namespace {

class ShapeKernel final : public Kernel {
 public:
  explicit ShapeKernel(ir::Attrs attrs) : attrs_(std::move(attrs)) {}
  Status execute(const ExecArgs& args) const override {
    const Dims& dims = args.inputs[0].shape;
    int64_t start, end;
    shape_dim_range(attrs_, dims.rank(), &start, &end);
    const TensorView& y = args.outputs[0];
    if (y.dtype != DataType::kInt64 || y.numel() != end - start) {
      return invalid_argument("output " + y.shape.to_string() + " cannot hold dims [" +
                              std::to_string(start) + ", " + std::to_string(end) + ") of " +
                              dims.to_string());
    }
    int64_t* out = y.as<int64_t>();
    for (int64_t i = start; i < end; ++i) out[i - start] = dims[static_cast<int>(i)];
    return Status::ok();
  }

 private:
  ir::Attrs attrs_;
};

bool supports_any(const KernelInfo& info) {
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ShapeKernel(info.attrs()));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::span<const TacticDef> shape_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
