// CPU tactic of ScatterND: the reference. It checks shapes and every index tuple first, copies
// data to the output, then combines one slice of updates per tuple, in row-major order.
#include "ops/scatter_elements/scatter_elements.h"
#include "ops/scatter_nd/scatter_nd.h"

#include <cstring>

namespace kiln::ops {

namespace {

class ScatterNdKernel final : public Kernel {
 public:
  explicit ScatterNdKernel(ScatterReduction red) : red_(red) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& data = args.inputs[0];
    const TensorView& idx = args.inputs[1];
    const TensorView& updates = args.inputs[2];
    const TensorView& y = args.outputs[0];
    const Dims& dd = data.shape;
    int k = 0;
    int64_t tuples = 0, slice = 0;
    KILN_RETURN_IF_ERROR(scatter_nd_geometry(dd, idx.shape, updates.shape, &k, &tuples, &slice));
    int64_t stride[Dims::kMaxDims] = {};
    for (int64_t j = k - 1, s = slice; j >= 0; --j) {
      stride[j] = s;
      s *= dd[static_cast<int>(j)];
    }
    for (int64_t t = 0; t < tuples; ++t) {
      for (int j = 0; j < k; ++j) {
        const int64_t v = load_as_int(idx.data, idx.dtype, t * k + j);
        if (v < -dd[j] || v >= dd[j]) {
          return out_of_range("ScatterND: index " + std::to_string(v) + " (tuple " +
                              std::to_string(t) + ", entry " + std::to_string(j) +
                              ") is out of range for data dim " + std::to_string(j) +
                              " of extent " + std::to_string(dd[j]) + " in data " + dd.to_string());
        }
      }
    }
    if (y.data != data.data) std::memcpy(y.data, data.data, data.nbytes());
    const bool is_bool = data.dtype == DataType::kBool;
    dispatch_dtype(data.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* up = static_cast<const T*>(updates.data);
      T* out = static_cast<T*>(y.data);
      for (int64_t t = 0; t < tuples; ++t) {
        int64_t off = 0;
        for (int j = 0; j < k; ++j) {
          int64_t v = load_as_int(idx.data, idx.dtype, t * k + j);
          if (v < 0) v += dd[j];
          off += v * stride[j];
        }
        const T* src = up + t * slice;
        T* dst = out + off;
        for (int64_t e = 0; e < slice; ++e) scatter_combine(red_, is_bool, dst + e, src[e]);
      }
    });
    return Status::ok();
  }

 private:
  ScatterReduction red_;
};

bool supports(const KernelInfo& info) {
  const DataType t = info.input_dtype(1);
  ScatterReduction r;
  return (t == DataType::kInt32 || t == DataType::kInt64) &&
         parse_scatter_reduction(info.attrs().get_string("reduction", "none"), &r);
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  ScatterReduction r = ScatterReduction::kNone;
  parse_scatter_reduction(info.attrs().get_string("reduction", "none"), &r);
  return std::unique_ptr<Kernel>(new ScatterNdKernel(r));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports, create_reference},
};

}  // namespace

std::span<const TacticDef> scatter_nd_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
