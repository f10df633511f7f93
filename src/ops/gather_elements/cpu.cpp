// CPU tactic of GatherElements: the reference. It checks every index before writing, then copies
// element by element (elements move as 1/2/4/8-byte words), walking the indices with an odometer.
#include "ops/common/word_dispatch.h"
#include "ops/gather_elements/gather_elements.h"

#include <array>
#include <cstring>

namespace kiln::ops {

namespace {

constexpr int kMaxRank = Dims::kMaxDims;

std::string index_string(const std::array<int64_t, kMaxRank>& idx, int rank) {
  std::string s = "[";
  for (int d = 0; d < rank; ++d) s += (d ? "," : "") + std::to_string(idx[d]);
  return s + "]";
}

class GatherElementsKernel final : public Kernel {
 public:
  explicit GatherElementsKernel(int64_t axis) : axis_(static_cast<int>(axis)) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& data = args.inputs[0];
    const TensorView& indices = args.inputs[1];
    const TensorView& y = args.outputs[0];
    const Dims& dd = data.shape;
    const Dims& id = indices.shape;
    const int rank = dd.rank();
    if (id.rank() != rank || axis_ >= rank) {
      return invalid_argument("GatherElements: indices " + id.to_string() +
                              " must have the rank of data " + dd.to_string());
    }
    for (int d = 0; d < rank; ++d) {
      if (d != axis_ && id[d] > dd[d]) {
        return invalid_argument("GatherElements: indices " + id.to_string() + " dim " +
                                std::to_string(d) + " exceeds data " + dd.to_string());
      }
    }
    const int64_t n = indices.numel();
    const int64_t extent = dd[axis_];
    // Check every index first.
    std::array<int64_t, kMaxRank> pos{};
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = load_as_int(indices.data, indices.dtype, i);
      if (v < -extent || v >= extent) {
        int64_t rem = i;
        for (int d = rank - 1; d >= 0; --d) {
          pos[d] = rem % id[d];
          rem /= id[d];
        }
        return out_of_range("GatherElements: index " + std::to_string(v) + " at indices" +
                            index_string(pos, rank) + " is out of range for axis " +
                            std::to_string(axis_) + " of extent " + std::to_string(extent) +
                            " in data " + dd.to_string());
      }
    }
    if (n == 0) return Status::ok();
    const std::vector<int64_t> dstride = contiguous_strides(dd);
    dispatch_word(dtype_size(data.dtype), [&](auto tag) {
      using W = decltype(tag);
      const W* src = static_cast<const W*>(data.data);
      W* dst = static_cast<W*>(y.data);
      std::array<int64_t, kMaxRank> idx{};
      int64_t base = 0;  // data offset of idx without the axis coordinate
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = load_as_int(indices.data, indices.dtype, i);
        if (v < 0) v += extent;
        dst[i] = src[base + v * dstride[axis_]];
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
};

bool supports(const KernelInfo& info) {
  const DataType t = info.input_dtype(1);
  return t == DataType::kInt32 || t == DataType::kInt64;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  return std::unique_ptr<Kernel>(new GatherElementsKernel(axis));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports, create_reference},
};

}  // namespace

std::span<const TacticDef> gather_elements_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
