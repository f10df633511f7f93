// CPU tactics of MeanVarianceNormalization. X splits into groups (the kept dims) of R elements
// (the reduced dims); the workspace holds the element offsets of one group and the base offset
// of every group, so any set of axes is a plain double loop.
//   reference  groups one after the other
//   threaded   groups in parallel
// Both accumulate in double.
#include "backends/cpu/thread_pool.h"
#include "ops/mean_variance_norm/mean_variance_norm.h"

#include <algorithm>
#include <cmath>

namespace kiln::ops {

namespace {

constexpr double kEpsilon = 1e-9;

struct Split {
  int64_t groups = 1, reduced = 1;
};

Split split_of(const std::vector<bool>& mask, const Dims& x) {
  Split s;
  for (int i = 0; i < x.rank(); ++i) (mask[i] ? s.reduced : s.groups) *= x[i];
  return s;
}

// Fills offsets of every combination of the dims selected by `pick` (row-major order).
void fill_offsets(const std::vector<bool>& mask, bool pick, const Dims& x, int64_t* out) {
  const std::vector<int64_t> strides = contiguous_strides(x);
  std::vector<int64_t> dims, st;
  for (int i = 0; i < x.rank(); ++i) {
    if (mask[i] == pick) {
      dims.push_back(x[i]);
      st.push_back(strides[i]);
    }
  }
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<int64_t> idx(dims.size(), 0);
  int64_t off = 0;
  for (int64_t k = 0; k < count; ++k) {
    out[k] = off;
    for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
      if (++idx[d] < dims[d]) {
        off += st[d];
        break;
      }
      off -= (dims[d] - 1) * st[d];
      idx[d] = 0;
    }
  }
}

template <typename T>
void normalize_groups(const T* x, T* y, const int64_t* red_off, const int64_t* group_off,
                      int64_t reduced, int64_t begin, int64_t end) {
  for (int64_t gi = begin; gi < end; ++gi) {
    const T* xg = x + group_off[gi];
    T* yg = y + group_off[gi];
    double sum = 0;
    for (int64_t r = 0; r < reduced; ++r) sum += static_cast<float>(xg[red_off[r]]);
    const double mean = sum / static_cast<double>(reduced);
    double var = 0;
    for (int64_t r = 0; r < reduced; ++r) {
      const double d = static_cast<float>(xg[red_off[r]]) - mean;
      var += d * d;
    }
    const double inv = 1.0 / (std::sqrt(var / static_cast<double>(reduced)) + kEpsilon);
    for (int64_t r = 0; r < reduced; ++r) {
      const double v = (static_cast<float>(xg[red_off[r]]) - mean) * inv;
      yg[red_off[r]] = static_cast<T>(static_cast<float>(v));
    }
  }
}

class MvnKernel final : public Kernel {
 public:
  MvnKernel(std::vector<bool> mask, bool threaded) : mask_(std::move(mask)), threaded_(threaded) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    const Split s = split_of(mask_, shapes.inputs[0]);
    return static_cast<size_t>(s.groups + s.reduced) * sizeof(int64_t);
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    if (static_cast<size_t>(x.shape.rank()) != mask_.size()) {
      return internal_error("MeanVarianceNormalization: X's rank changed");
    }
    if (x.numel() == 0) return Status::ok();
    const Split s = split_of(mask_, x.shape);
    const size_t need = static_cast<size_t>(s.groups + s.reduced) * sizeof(int64_t);
    if (args.workspace == nullptr || args.workspace_size < need) {
      return resource_exhausted("MeanVarianceNormalization: workspace of " +
                                std::to_string(args.workspace_size) + " bytes, needs " +
                                std::to_string(need));
    }
    int64_t* red_off = static_cast<int64_t*>(args.workspace);
    int64_t* group_off = red_off + s.reduced;
    fill_offsets(mask_, true, x.shape, red_off);
    fill_offsets(mask_, false, x.shape, group_off);
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.as<const T>();
      T* yp = args.outputs[0].as<T>();
      if (threaded_) {
        parallel_for(args.threads, s.groups, std::max<int64_t>(1, 8192 / s.reduced),
                     [&](int64_t b, int64_t e) {
                       normalize_groups(xp, yp, red_off, group_off, s.reduced, b, e);
                     });
      } else {
        normalize_groups(xp, yp, red_off, group_off, s.reduced, 0, s.groups);
      }
    };
    switch (x.dtype) {
      case DataType::kFloat32:
        run(float{});
        break;
      case DataType::kFloat16:
        run(Half{});
        break;
      case DataType::kBFloat16:
        run(BFloat16{});
        break;
      default:
        return unsupported("MeanVarianceNormalization: unsupported dtype " +
                           std::string(dtype_name(x.dtype)));
    }
    return Status::ok();
  }

 private:
  std::vector<bool> mask_;
  bool threaded_;
};

bool supports(const KernelInfo& info) {
  return is_floating(info.input_dtype(0)) &&
         mvn_axes_mask(info.attrs(), static_cast<int64_t>(info.input(0).shape.size())).is_ok();
}

Result<std::unique_ptr<Kernel>> create(const KernelInfo& info, bool threaded) {
  KILN_ASSIGN_OR_RETURN(
      std::vector<bool> mask,
      mvn_axes_mask(info.attrs(), static_cast<int64_t>(info.input(0).shape.size())));
  return std::unique_ptr<Kernel>(new MvnKernel(std::move(mask), threaded));
}
Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return create(info, false);
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return create(info, true);
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> mean_variance_norm_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
