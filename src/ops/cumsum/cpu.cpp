// CPU tactic of CumSum: the reference running sum along the axis, one (outer, inner) line at a
// time. The axis is read on the host (host_input).
#include "ops/cumsum/cumsum.h"

#include <type_traits>

namespace kiln::ops {

namespace {

template <typename T>
void cumsum(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool exclusive,
            bool reverse) {
  // Integers wrap (unsigned arithmetic, no overflow UB); floats accumulate in double.
  using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * n * inner + i;
      Acc acc = 0;
      for (int64_t s = 0; s < n; ++s) {
        const int64_t j = base + (reverse ? n - 1 - s : s) * inner;
        const Acc v = static_cast<Acc>(x[j]);
        if (exclusive) {
          y[j] = static_cast<T>(acc);
          acc += v;
        } else {
          acc += v;
          y[j] = static_cast<T>(acc);
        }
      }
    }
  }
}

class CumSumKernel final : public Kernel {
 public:
  CumSumKernel(bool exclusive, bool reverse) : exclusive_(exclusive), reverse_(reverse) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (!(x.shape == y.shape) || x.dtype != y.dtype) {
      return invalid_argument("cumsum output " + y.shape.to_string() + " does not match input " +
                              x.shape.to_string());
    }
    const TensorView& av = host_input(args, 1);
    if (av.data == nullptr || av.numel() != 1) {
      return invalid_argument("cumsum axis must be one value available on the host");
    }
    int64_t axis = load_as_int(av.data, av.dtype, 0);
    KILN_RETURN_IF_ERROR(normalize_axis(&axis, x.shape.rank(), "cumsum axis"));
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= x.shape[d];
    for (int d = static_cast<int>(axis) + 1; d < x.shape.rank(); ++d) inner *= x.shape[d];
    const int64_t n = x.shape[static_cast<int>(axis)];
    if (y.numel() == 0) return Status::ok();
    switch (x.dtype) {
      case DataType::kFloat32:
        cumsum(x.as<const float>(), y.as<float>(), outer, n, inner, exclusive_, reverse_);
        break;
      case DataType::kFloat16:
        cumsum(x.as<const Half>(), y.as<Half>(), outer, n, inner, exclusive_, reverse_);
        break;
      case DataType::kBFloat16:
        cumsum(x.as<const BFloat16>(), y.as<BFloat16>(), outer, n, inner, exclusive_, reverse_);
        break;
      case DataType::kInt32:
        cumsum(x.as<const int32_t>(), y.as<int32_t>(), outer, n, inner, exclusive_, reverse_);
        break;
      case DataType::kInt64:
        cumsum(x.as<const int64_t>(), y.as<int64_t>(), outer, n, inner, exclusive_, reverse_);
        break;
      default:
        return unsupported("cumsum does not support dtype " + std::string(dtype_name(x.dtype)));
    }
    return Status::ok();
  }

 private:
  bool exclusive_, reverse_;
};

bool supports(const KernelInfo& info) {
  const DataType dt = info.input_dtype(0);
  return is_floating(dt) || dt == DataType::kInt32 || dt == DataType::kInt64;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new CumSumKernel(info.attrs().get_int("exclusive", 0) != 0,
                                                  info.attrs().get_int("reverse", 0) != 0));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports, create_reference},
};

}  // namespace

std::span<const TacticDef> cumsum_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
