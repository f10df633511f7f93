// CPU tactics of Gather (any data dtype; entries move as 1/2/4/8-byte words or byte rows).
//   reference: element loops over (outer, index, inner).
//   rows:      one memcpy per (outer, index) row of `inner` entries, threaded.
// Both check every index before writing anything, so a bad index never reads out of bounds.
#include "backends/cpu/thread_pool.h"
#include "ops/common/word_dispatch.h"
#include "ops/gather/gather.h"

#include <algorithm>
#include <cstring>

namespace kiln::ops {

namespace {

struct Geometry {
  int64_t outer = 1, extent = 0, inner = 1, count = 0;
};

Status plan(const ExecArgs& args, int64_t axis, Geometry* g) {
  const TensorView& data = args.inputs[0];
  const TensorView& idx = args.inputs[1];
  const TensorView& y = args.outputs[0];
  const int r = data.shape.rank();
  if (axis >= r) return invalid_argument("gather axis is out of range");
  g->outer = 1;
  for (int d = 0; d < axis; ++d) g->outer *= data.shape[d];
  g->extent = data.shape[static_cast<int>(axis)];
  g->inner = 1;
  for (int d = static_cast<int>(axis) + 1; d < r; ++d) g->inner *= data.shape[d];
  g->count = idx.numel();
  if (y.numel() != g->outer * g->count * g->inner || y.dtype != data.dtype) {
    return invalid_argument("output " + y.shape.to_string() + " does not match gathering " +
                            idx.shape.to_string() + " indices from " + data.shape.to_string());
  }
  // Check every index up front.
  for (int64_t k = 0; k < g->count; ++k) {
    const int64_t i = load_as_int(idx.data, idx.dtype, k);
    if (i < -g->extent || i >= g->extent) {
      return out_of_range("index " + std::to_string(i) + " (at position " + std::to_string(k) +
                          ") is out of range for axis " + std::to_string(axis) + " of extent " +
                          std::to_string(g->extent) + " in data " + data.shape.to_string());
    }
  }
  return Status::ok();
}

int64_t wrapped(const TensorView& idx, int64_t k, int64_t extent) {
  const int64_t i = load_as_int(idx.data, idx.dtype, k);
  return i < 0 ? i + extent : i;
}

class GatherKernel final : public Kernel {
 public:
  GatherKernel(int64_t axis, bool rows) : axis_(axis), rows_(rows) {}
  Status execute(const ExecArgs& args) const override {
    Geometry g;
    KILN_RETURN_IF_ERROR(plan(args, axis_, &g));
    const TensorView& data = args.inputs[0];
    const TensorView& idx = args.inputs[1];
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    if (!rows_) {
      dispatch_word(dtype_size(data.dtype), [&](auto tag) {
        using T = decltype(tag);
        const T* src = data.as<const T>();
        T* dst = y.as<T>();
        for (int64_t o = 0; o < g.outer; ++o) {
          for (int64_t k = 0; k < g.count; ++k) {
            const int64_t i = wrapped(idx, k, g.extent);
            for (int64_t n = 0; n < g.inner; ++n) {
              dst[(o * g.count + k) * g.inner + n] = src[(o * g.extent + i) * g.inner + n];
            }
          }
        }
      });
      return Status::ok();
    }
    const size_t row = static_cast<size_t>(g.inner) * dtype_size(data.dtype);
    const char* src = static_cast<const char*>(data.data);
    char* dst = static_cast<char*>(y.data);
    const int64_t grain =
        std::max<int64_t>(1, 16384 / static_cast<int64_t>(std::max<size_t>(row, 1)));
    parallel_for(args.threads, g.outer * g.count, grain, [&](int64_t b, int64_t e) {
      for (int64_t item = b; item < e; ++item) {
        const int64_t o = item / g.count, k = item % g.count;
        const int64_t i = wrapped(idx, k, g.extent);
        std::memcpy(dst + item * row, src + (o * g.extent + i) * row, row);
      }
    });
    return Status::ok();
  }

 private:
  int64_t axis_;
  bool rows_;
};

bool supports_any(const KernelInfo& info) {
  const DataType t = info.input_dtype(1);
  return t == DataType::kInt32 || t == DataType::kInt64;
}

int64_t axis_of(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis").ignore();
  return axis;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new GatherKernel(axis_of(info), false));
}
Result<std::unique_ptr<Kernel>> create_rows(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new GatherKernel(axis_of(info), true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
    {"rows", TacticSource::kCpuOptimized, kAllDtypes, supports_any, create_rows},
};

}  // namespace

std::span<const TacticDef> gather_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
