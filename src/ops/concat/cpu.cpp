// CPU tactics of Concat (any dtype: rows are copied as bytes).
//   reference: for each outer index, each input's contiguous chunk is copied in turn.
//   threaded:  the same copies spread over the thread pool: across (outer, input) chunks when
//              there are many, else each large chunk is split into blocks.
#include "backends/cpu/thread_pool.h"
#include "ops/concat/concat.h"

#include <algorithm>
#include <cstring>

namespace kiln::ops {

namespace {

// Concrete layout: out = [outer, sum(chunk_i)] in bytes; input i = [outer, chunk_i].
struct Layout {
  int64_t outer = 1;
  int64_t row_bytes = 0;
};

Status plan_layout(const ExecArgs& args, int64_t axis, Layout* l) {
  const TensorView& y = args.outputs[0];
  const int r = y.shape.rank();
  const size_t es = dtype_size(y.dtype);
  int64_t inner = 1;
  for (int d = static_cast<int>(axis) + 1; d < r; ++d) inner *= y.shape[d];
  l->outer = 1;
  for (int d = 0; d < axis; ++d) l->outer *= y.shape[d];
  int64_t sum_axis = 0;
  for (const TensorView& x : args.inputs) {
    bool ok = x.shape.rank() == r && x.dtype == y.dtype;
    for (int d = 0; ok && d < r; ++d) ok = d == axis || x.shape[d] == y.shape[d];
    if (!ok) {
      return invalid_argument("input " + x.shape.to_string() + " does not fit output " +
                              y.shape.to_string() + " on concat axis " + std::to_string(axis));
    }
    sum_axis += x.shape[static_cast<int>(axis)];
  }
  if (sum_axis != y.shape[static_cast<int>(axis)]) {
    return invalid_argument("inputs add up to " + std::to_string(sum_axis) +
                            " along the concat axis, the output has " +
                            std::to_string(y.shape[static_cast<int>(axis)]));
  }
  l->row_bytes = y.shape[static_cast<int>(axis)] * inner * static_cast<int64_t>(es);
  return Status::ok();
}

int64_t chunk_bytes(const TensorView& x, int64_t outer) {
  return outer == 0 ? 0 : static_cast<int64_t>(x.nbytes()) / outer;
}

class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(int64_t axis, bool threaded) : axis_(axis), threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    Layout l;
    KILN_RETURN_IF_ERROR(plan_layout(args, axis_, &l));
    char* out = static_cast<char*>(args.outputs[0].data);
    if (l.outer == 0 || l.row_bytes == 0) return Status::ok();
    if (!threaded_) {
      for (int64_t o = 0; o < l.outer; ++o) {
        int64_t off = 0;
        for (const TensorView& x : args.inputs) {
          const int64_t c = chunk_bytes(x, l.outer);
          if (c > 0)
            std::memcpy(out + o * l.row_bytes + off, static_cast<const char*>(x.data) + o * c, c);
          off += c;
        }
      }
      return Status::ok();
    }
    const int64_t n_in = static_cast<int64_t>(args.inputs.size());
    const int64_t avg_chunk = l.row_bytes / n_in;
    if (l.outer * n_in >= 64 || avg_chunk * l.outer * n_in < (int64_t{1} << 18)) {
      // Many chunks: each task copies whole chunks.
      const int64_t grain =
          std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(avg_chunk, 1));
      parallel_for(args.threads, l.outer * n_in, grain, [&](int64_t b, int64_t e) {
        for (int64_t item = b; item < e; ++item) {
          const int64_t o = item / n_in, i = item % n_in;
          int64_t off = 0;
          for (int64_t k = 0; k < i; ++k) off += chunk_bytes(args.inputs[k], l.outer);
          const TensorView& x = args.inputs[i];
          const int64_t c = chunk_bytes(x, l.outer);
          if (c > 0)
            std::memcpy(out + o * l.row_bytes + off, static_cast<const char*>(x.data) + o * c, c);
        }
      });
      return Status::ok();
    }
    // Few large chunks: split each one into blocks.
    constexpr int64_t kBlock = int64_t{1} << 16;
    for (int64_t o = 0; o < l.outer; ++o) {
      int64_t off = 0;
      for (const TensorView& x : args.inputs) {
        const int64_t c = chunk_bytes(x, l.outer);
        char* dst = out + o * l.row_bytes + off;
        const char* src = static_cast<const char*>(x.data) + o * c;
        parallel_for(args.threads, (c + kBlock - 1) / kBlock, 1, [&](int64_t b, int64_t e) {
          const int64_t lo = b * kBlock, hi = std::min(c, e * kBlock);
          std::memcpy(dst + lo, src + lo, hi - lo);
        });
        off += c;
      }
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
  bool threaded_;
};

bool supports_any(const KernelInfo& info) {
  return true;
}

int64_t axis_of(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis");
  normalize_axis(&axis, static_cast<int64_t>(info.output(0).shape.size()), "axis").ignore();
  return axis;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ConcatKernel(axis_of(info), false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ConcatKernel(axis_of(info), true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kAllDtypes, supports_any, create_threaded},
};

}  // namespace

std::span<const TacticDef> concat_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
