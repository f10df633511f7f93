// CPU tactic of GatherND: the reference. It checks every index tuple first, then copies one
// slice of data.shape[b + k:] per tuple.
#include "ops/gather_nd/gather_nd.h"

#include <cstring>

namespace kiln::ops {

namespace {

class GatherNdKernel final : public Kernel {
 public:
  explicit GatherNdKernel(int64_t batch_dims) : batch_dims_(batch_dims) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& data = args.inputs[0];
    const TensorView& idx = args.inputs[1];
    const TensorView& y = args.outputs[0];
    GatherNdGeometry g;
    KILN_RETURN_IF_ERROR(gather_nd_geometry(data.shape, idx.shape, y.shape, batch_dims_, &g));
    // Strides of the indexed dims b .. b+k-1 within one batch.
    int64_t stride[Dims::kMaxDims] = {};
    for (int64_t j = g.k - 1, s = g.slice; j >= 0; --j) {
      stride[j] = s;
      s *= data.shape[g.b + static_cast<int>(j)];
    }
    const int64_t count = g.batches * g.tuples;
    for (int64_t t = 0; t < count; ++t) {
      for (int64_t j = 0; j < g.k; ++j) {
        const int64_t v = load_as_int(idx.data, idx.dtype, t * g.k + j);
        const int64_t extent = data.shape[g.b + static_cast<int>(j)];
        if (v < -extent || v >= extent) {
          return out_of_range(
              "GatherND: index " + std::to_string(v) + " (tuple " + std::to_string(t) + ", entry " +
              std::to_string(j) + ") is out of range for data dim " + std::to_string(g.b + j) +
              " of extent " + std::to_string(extent) + " in data " + data.shape.to_string());
        }
      }
    }
    const size_t es = dtype_size(data.dtype);
    const size_t row = static_cast<size_t>(g.slice) * es;
    const char* src = static_cast<const char*>(data.data);
    char* dst = static_cast<char*>(y.data);
    for (int64_t t = 0; t < count; ++t) {
      const int64_t batch = t / g.tuples;
      int64_t off = batch * g.batch_size;
      for (int64_t j = 0; j < g.k; ++j) {
        int64_t v = load_as_int(idx.data, idx.dtype, t * g.k + j);
        if (v < 0) v += data.shape[g.b + static_cast<int>(j)];
        off += v * stride[j];
      }
      if (row > 0) std::memcpy(dst + t * row, src + off * static_cast<int64_t>(es), row);
    }
    return Status::ok();
  }

 private:
  int64_t batch_dims_;
};

bool supports(const KernelInfo& info) {
  const DataType t = info.input_dtype(1);
  return t == DataType::kInt32 || t == DataType::kInt64;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new GatherNdKernel(info.attrs().get_int("batch_dims", 0)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports, create_reference},
};

}  // namespace

std::span<const TacticDef> gather_nd_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
