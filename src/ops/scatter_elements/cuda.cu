// CUDA tactics of ScatterElements (any dtype, every reduction; int32 / int64 indices read on the
// device). The strategies are those of scatter_cuda.cuh:
//   ordered   one thread per line along the axis (the updates that can reach one output element
//             all lie on one line), in order: exact for every reduction;
//   parallel  one thread per update (reduction none through a last-writer pass; integer, bool
//             and max / min reductions through atomics); not for float add / mul.
// Updates whose index is outside [-s, s) are skipped (the CPU reference refuses the run).
#include "ops/scatter_elements/scatter_cuda.cuh"

#include <string>
#include <utility>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

// Output offset of update u, or -1 for an out-of-range index.
struct ElementDest {
  const void* indices;
  bool idx64;
  int axis;
  cuda::NdShape idx_shape;
  int64_t out_stride[kMax];
  int64_t out_extent;  // data's extent on the axis
  __device__ int64_t operator()(int64_t u) const {
    const int64_t extent = out_extent;
    int64_t v = cuda::load_index(indices, idx64, u);
    if (v < 0) v += extent;
    if (v < 0 || v >= extent) return -1;
    int64_t rem = u, off = 0;
    for (int d = idx_shape.rank - 1; d >= 0; --d) {
      const int64_t q = cuda::div_nonneg(rem, idx_shape.dims[d]);
      off += (d == axis ? v : rem - q * idx_shape.dims[d]) * out_stride[d];
      rem = q;
    }
    return off;
  }
};

// The lines along the axis: sequence s is a position of the other dims of indices.
struct AxisLines {
  ElementDest dest_fn;
  int64_t length;       // indices' extent on the axis
  int64_t axis_stride;  // its stride in indices
  cuda::NdShape rest;   // the other dims of indices
  int64_t rest_stride[kMax];
  __device__ int64_t update(int64_t s, int64_t j) const {
    int64_t base = 0;
    for (int d = rest.rank - 1; d >= 0; --d) {
      const int64_t q = cuda::div_nonneg(s, rest.dims[d]);
      base += (s - q * rest.dims[d]) * rest_stride[d];
      s = q;
    }
    return base + j * axis_stride;
  }
  __device__ int64_t dest(int64_t u) const { return dest_fn(u); }
};

class ScatterElementsCudaKernel final : public Kernel {
 public:
  ScatterElementsCudaKernel(int axis, ScatterReduction red, bool parallel, int sms)
      : axis_(axis), red_(red), parallel_(parallel), sms_(sms) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    if (!parallel_ || shapes.outputs.empty()) return 0;
    return scatter_cuda::parallel_workspace(red_, shapes.outputs[0].volume());
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& data = args.inputs[0];
    const TensorView& indices = args.inputs[1];
    const TensorView& updates = args.inputs[2];
    const TensorView& y = args.outputs[0];
    KILN_RETURN_IF_ERROR(
        scatter_elements_check_shapes(data.shape, indices.shape, updates.shape, axis_));
    if (!(y.shape == data.shape) || y.dtype != data.dtype || updates.dtype != data.dtype ||
        (indices.dtype != DataType::kInt32 && indices.dtype != DataType::kInt64)) {
      return invalid_argument("ScatterElements: output " + y.shape.to_string() +
                              " must be data's shape and dtype, indices int32 or int64");
    }
    const Dims& id = indices.shape;
    const int rank = id.rank();
    ElementDest dest{};
    dest.indices = indices.data;
    dest.idx64 = indices.dtype == DataType::kInt64;
    dest.axis = axis_;
    dest.idx_shape = cuda::nd_shape(id);
    int64_t stride = 1;
    for (int d = rank - 1; d >= 0; --d) {
      dest.out_stride[d] = stride;
      stride *= data.shape[d];
    }
    dest.out_extent = data.shape[axis_];
    const scatter_cuda::Run run{&data, &updates, &y, red_, sms_, args.stream};
    if (parallel_) {
      return scatter_cuda::run_parallel(run, dest, indices.numel(), args.workspace,
                                        args.workspace_size);
    }
    AxisLines lines{};
    lines.dest_fn = dest;
    lines.length = id[axis_];
    int64_t istride = 1;
    for (int d = rank - 1; d >= 0; --d) {
      if (d == axis_) {
        lines.axis_stride = istride;
      } else {
        lines.rest.dims[lines.rest.rank] = id[d];
        lines.rest_stride[lines.rest.rank++] = istride;
      }
      istride *= id[d];
    }
    // rest was filled innermost first: reverse into row-major order.
    for (int a = 0, b = lines.rest.rank - 1; a < b; ++a, --b) {
      std::swap(lines.rest.dims[a], lines.rest.dims[b]);
      std::swap(lines.rest_stride[a], lines.rest_stride[b]);
    }
    const int64_t sequences = lines.length == 0 ? 0 : indices.numel() / lines.length;
    return scatter_cuda::run_ordered(run, lines, sequences);
  }

 private:
  int axis_;
  ScatterReduction red_;
  bool parallel_;
  int sms_;
};

template <bool kParallel>
Result<std::unique_ptr<Kernel>> create(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  ScatterReduction red = ScatterReduction::kNone;
  if (!parse_scatter_reduction(info.attrs().get_string("reduction", "none"), &red)) {
    return invalid_argument("unknown scatter reduction");
  }
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new ScatterElementsCudaKernel(static_cast<int>(axis), red, kParallel, sms));
}

const TacticDef kCudaTactics[] = {
    {"ordered", TacticSource::kKilnCuda, kAllDtypes, scatter_cuda::supports_ordered, create<false>},
    {"parallel", TacticSource::kKilnCuda, kAllDtypes, scatter_cuda::supports_parallel,
     create<true>},
};

}  // namespace

std::span<const TacticDef> scatter_elements_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
