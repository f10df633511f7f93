// CUDA tactic of Resize: "taps", any rank, every mode / coordinate transform / nearest mode and
// every dtype the reference takes, with the reference's arithmetic (bit-exact results):
//   1. one thread per output position of every axis computes that position's taps with the
//      reference's resize_taps (resize.h, shared with the CPU kernels; coordinates in double)
//      into per-axis tables in the workspace;
//   2. one thread per output element combines the taps of its coordinates: nearest copies the
//      element, linear / cubic sum weight * x over every combination of one tap per axis in
//      double, in the reference's order and without fused multiply-adds, then round as the
//      reference does (floats through float; integers half away from zero, saturated);
//      a tf_crop_and_resize tap outside the input writes extrapolation_value.
// roi / scales / sizes are read on the host (host copies of inputs 1-3).
#include "ops/common/cuda_for_each.cuh"
#include "ops/resize/resize.h"

#include <limits>
#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

// The per-axis parameters and where each axis' taps start in the table.
struct AxisTables {
  int rank = 0;
  ResizeAxis axis[kMax];
  int64_t out[kMax] = {}, in[kMax] = {};
  int64_t start[kMax] = {};  // first table entry of axis d
};

int64_t table_entries(const Dims& out) {
  int64_t n = 0;
  for (int d = 0; d < out.rank(); ++d) n += out[d];
  return n;
}

struct TapsFn {
  ResizeTapAttrs attrs;
  AxisTables t;
  ResizeTaps* table;
  __device__ void operator()(int64_t j) const {
    int d = 0;
    while (d + 1 < t.rank && j >= t.start[d + 1]) ++d;
    table[j] = resize_taps(attrs, j - t.start[d], t.axis[d]);
  }
};

template <typename T>
__device__ __forceinline__ double to_double(T v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<double>(v);
  } else {
    return static_cast<double>(cuda::to_float(v));
  }
}

// Integer limits as constants (device code cannot call the host's numeric_limits functions).
template <typename T>
constexpr T kLowest = std::numeric_limits<T>::min();
template <typename T>
constexpr T kHighest = std::numeric_limits<T>::max();

// The reference's conversion of a computed value (cpu.cpp to_dtype).
template <typename T>
__device__ __forceinline__ T from_double(double v) {
  if constexpr (std::is_integral_v<T>) {
    if (isnan(v)) return T{0};
    v = round(v);
    if (v <= static_cast<double>(kLowest<T>)) return kLowest<T>;
    if (v >= static_cast<double>(kHighest<T>)) return kHighest<T>;
    return static_cast<T>(v);
  } else {
    return cuda::from_float<T>(static_cast<float>(v));
  }
}

template <typename T>
struct ResizeFn {
  const T* x;
  T* y;
  const ResizeTaps* table;
  AxisTables t;
  bool nearest, is_bool;
  double extrapolation;
  __device__ void operator()(int64_t o) const {
    const ResizeTaps* taps[kMax];
    int64_t rem = o;
    bool outside = false;
    for (int d = t.rank - 1; d >= 0; --d) {
      const int64_t q = cuda::div_nonneg(rem, t.out[d]);
      taps[d] = &table[t.start[d] + (rem - q * t.out[d])];
      outside = outside || taps[d]->outside;
      rem = q;
    }
    if (outside) {
      y[o] = is_bool ? static_cast<T>(extrapolation != 0) : from_double<T>(extrapolation);
      return;
    }
    if (nearest) {
      int64_t off = 0;
      for (int d = 0; d < t.rank; ++d) off = off * t.in[d] + taps[d]->idx[0];
      y[o] = x[off];
      return;
    }
    // Every combination of one tap per axis, the last axis fastest (the reference's order).
    int k[kMax] = {};
    double sum = 0;
    while (true) {
      double w = 1;
      int64_t off = 0;
      for (int d = 0; d < t.rank; ++d) {
        w = resize_mul(w, taps[d]->w[k[d]]);
        off = off * t.in[d] + taps[d]->idx[k[d]];
      }
      sum = sum + resize_mul(w, to_double(x[off]));
      int d = t.rank - 1;
      for (; d >= 0; --d) {
        if (++k[d] < taps[d]->n) break;
        k[d] = 0;
      }
      if (d < 0) break;
    }
    y[o] = from_double<T>(sum);
  }
};

class ResizeCudaKernel final : public Kernel {
 public:
  ResizeCudaKernel(ResizeAttrs attrs, int sms) : attrs_(std::move(attrs)), sms_(sms) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    return shapes.outputs.empty()
               ? 0
               : static_cast<size_t>(table_entries(shapes.outputs[0])) * sizeof(ResizeTaps);
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (x.dtype != y.dtype) return invalid_argument("resize output dtype differs from the input");
    if (attrs_.mode != ResizeMode::kNearest && x.dtype == DataType::kBool) {
      return unsupported("resize: a bool input needs mode nearest");
    }
    ResizePlan plan;
    KILN_RETURN_IF_ERROR(resize_plan(attrs_, x.shape, y.shape, host_copy(args, 1),
                                     host_copy(args, 2), host_copy(args, 3), &plan));
    if (y.numel() == 0) return Status::ok();
    const int64_t entries = table_entries(y.shape);
    if (args.workspace == nullptr ||
        args.workspace_size < static_cast<size_t>(entries) * sizeof(ResizeTaps)) {
      return invalid_argument("resize workspace too small for output " + y.shape.to_string());
    }
    AxisTables t;
    t.rank = x.shape.rank();
    int64_t at = 0;
    for (int d = 0; d < t.rank; ++d) {
      t.axis[d] = plan[d];
      t.in[d] = x.shape[d];
      t.out[d] = y.shape[d];
      t.start[d] = at;
      at += y.shape[d];
    }
    auto* table = static_cast<ResizeTaps*>(args.workspace);
    KILN_RETURN_IF_ERROR(cuda::launch_for_each("resize_taps_kernel", entries, sms_, args.stream,
                                               TapsFn{attrs_, t, table}));
    return cuda::dispatch_device_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      ResizeFn<T> f{static_cast<const T*>(x.data),
                    static_cast<T*>(y.data),
                    table,
                    t,
                    attrs_.mode == ResizeMode::kNearest,
                    x.dtype == DataType::kBool,
                    attrs_.extrapolation};
      return cuda::launch_for_each("resize_kernel", y.numel(), sms_, args.stream, f);
    });
  }

 private:
  ResizeAttrs attrs_;
  int sms_;
};

bool supports_taps(const KernelInfo& info) {
  ResizeAttrs a;
  if (!info.has_input(0) || !parse_resize_attrs(info.attrs(), &a).is_ok()) return false;
  return info.input_dtype(0) == info.output_dtype(0) &&
         (a.mode == ResizeMode::kNearest || info.input_dtype(0) != DataType::kBool);
}

Result<std::unique_ptr<Kernel>> create_taps(const KernelInfo& info) {
  ResizeAttrs a;
  KILN_RETURN_IF_ERROR(parse_resize_attrs(info.attrs(), &a));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new ResizeCudaKernel(std::move(a), sms));
}

const TacticDef kCudaTactics[] = {
    {"taps", TacticSource::kKilnCuda, kAllDtypes, supports_taps, create_taps},
};

}  // namespace

std::span<const TacticDef> resize_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
