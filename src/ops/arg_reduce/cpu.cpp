// CPU tactic of ArgReduce: the reference scan along the axis for every (outer, inner) position.
// Floats compare as float, integers as int64 (exact).
#include "ops/arg_reduce/arg_reduce.h"

#include <cmath>
#include <type_traits>

namespace kiln::ops {

namespace {

template <typename T>
void arg_reduce(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, bool is_max,
                bool last) {
  constexpr bool kFloat = !std::is_integral_v<T>;
  using Key = std::conditional_t<kFloat, float, int64_t>;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* p = x + o * n * inner + i;
      Key best = static_cast<Key>(p[0]);
      int64_t at = 0;
      for (int64_t s = 1; s < n; ++s) {
        const Key v = static_cast<Key>(p[s * inner]);
        bool take;
        if constexpr (kFloat) {
          if (std::isnan(best)) {
            take = last && std::isnan(v);
          } else if (std::isnan(v)) {
            take = true;
          } else {
            take = is_max ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
          }
        } else {
          take = is_max ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
        }
        if (take) {
          best = v;
          at = s;
        }
      }
      y[o * inner + i] = at;
    }
  }
}

class ArgReduceKernel final : public Kernel {
 public:
  ArgReduceKernel(int axis, bool is_max, bool last) : axis_(axis), is_max_(is_max), last_(last) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (axis_ >= x.shape.rank() || y.dtype != DataType::kInt64) {
      return invalid_argument("arg-reduce input " + x.shape.to_string() +
                              " does not match the node");
    }
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis_; ++d) outer *= x.shape[d];
    for (int d = axis_ + 1; d < x.shape.rank(); ++d) inner *= x.shape[d];
    const int64_t n = x.shape[axis_];
    if (y.numel() != outer * inner) {
      return invalid_argument("arg-reduce output " + y.shape.to_string() +
                              " does not match input " + x.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    if (n == 0) {
      return invalid_argument("cannot take an arg-reduce over axis " + std::to_string(axis_) +
                              " of extent 0 (input " + x.shape.to_string() + ")");
    }
    if (x.dtype == DataType::kBool) return unsupported("arg-reduce does not support bool");
    dispatch_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      arg_reduce(x.as<const T>(), y.as<int64_t>(), outer, n, inner, is_max_, last_);
    });
    return Status::ok();
  }

 private:
  int axis_;
  bool is_max_, last_;
};

bool supports(const KernelInfo& info) {
  return info.input_dtype(0) != DataType::kBool;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  return std::unique_ptr<Kernel>(
      new ArgReduceKernel(static_cast<int>(axis), info.attrs().get_string("op") == "max",
                          info.attrs().get_int("select_last_index", 0) != 0));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kNumericDtypes, supports, create_reference},
};

}  // namespace

std::span<const TacticDef> arg_reduce_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
