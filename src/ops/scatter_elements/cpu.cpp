// CPU tactic of ScatterElements: the reference. It checks shapes and every index first, copies
// data to the output, then applies the updates in row-major order of indices.
#include "ops/scatter_elements/scatter_elements.h"

#include <array>
#include <cstring>

namespace kiln::ops {

namespace {

constexpr int kMaxRank = Dims::kMaxDims;

class ScatterElementsKernel final : public Kernel {
 public:
  ScatterElementsKernel(int64_t axis, ScatterReduction red)
      : axis_(static_cast<int>(axis)), red_(red) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& data = args.inputs[0];
    const TensorView& indices = args.inputs[1];
    const TensorView& updates = args.inputs[2];
    const TensorView& y = args.outputs[0];
    const Dims& dd = data.shape;
    const Dims& id = indices.shape;
    const int rank = dd.rank();
    KILN_RETURN_IF_ERROR(scatter_elements_check_shapes(dd, id, updates.shape, axis_));
    const int64_t n = indices.numel();
    const int64_t extent = dd[axis_];
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = load_as_int(indices.data, indices.dtype, i);
      if (v < -extent || v >= extent) {
        std::string pos = "[";
        int64_t rem = i;
        std::array<int64_t, kMaxRank> c{};
        for (int d = rank - 1; d >= 0; --d) {
          c[d] = rem % id[d];
          rem /= id[d];
        }
        for (int d = 0; d < rank; ++d) pos += (d ? "," : "") + std::to_string(c[d]);
        return out_of_range("ScatterElements: index " + std::to_string(v) + " at indices" + pos +
                            "] is out of range for axis " + std::to_string(axis_) + " of extent " +
                            std::to_string(extent) + " in data " + dd.to_string());
      }
    }
    if (y.data != data.data) std::memcpy(y.data, data.data, data.nbytes());
    if (n == 0) return Status::ok();
    const std::vector<int64_t> dstride = contiguous_strides(dd);
    const bool is_bool = data.dtype == DataType::kBool;
    dispatch_dtype(data.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* up = static_cast<const T*>(updates.data);
      T* out = static_cast<T*>(y.data);
      std::array<int64_t, kMaxRank> idx{};
      int64_t base = 0;  // output offset of idx without the axis coordinate
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = load_as_int(indices.data, indices.dtype, i);
        if (v < 0) v += extent;
        scatter_combine(red_, is_bool, out + base + v * dstride[axis_], up[i]);
        for (int d = rank - 1; d >= 0; --d) {
          if (++idx[d] < id[d]) {
            if (d != axis_) base += dstride[d];
            break;
          }
          if (d != axis_) base -= (id[d] - 1) * dstride[d];
          idx[d] = 0;
        }
      }
    });
    return Status::ok();
  }

 private:
  int axis_;
  ScatterReduction red_;
};

bool supports(const KernelInfo& info) {
  const DataType t = info.input_dtype(1);
  ScatterReduction r;
  return (t == DataType::kInt32 || t == DataType::kInt64) &&
         parse_scatter_reduction(info.attrs().get_string("reduction", "none"), &r);
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  ScatterReduction r = ScatterReduction::kNone;
  parse_scatter_reduction(info.attrs().get_string("reduction", "none"), &r);
  return std::unique_ptr<Kernel>(new ScatterElementsKernel(axis, r));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports, create_reference},
};

}  // namespace

std::span<const TacticDef> scatter_elements_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
