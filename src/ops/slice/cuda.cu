// CUDA tactic of Slice: "strided", the strided-copy kernel of cuda_copy (any dtype; a slice whose
// innermost dim is contiguous moves 16-byte words where sizes and addresses allow; a contiguous
// block is one cudaMemcpyAsync). Bounds come from the attributes or, for the input form, from the
// host copies of inputs 1-4 (ops::host_input): never read from device memory.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/identity/cuda_copy.h"
#include "ops/slice/slice.h"

#include <string>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

class SliceCudaKernel final : public Kernel {
 public:
  SliceCudaKernel(bool attr_form, std::vector<int64_t> starts, std::vector<int64_t> ends,
                  std::vector<int64_t> axes, std::vector<int64_t> steps, int sms)
      : attr_form_(attr_form),
        starts_(std::move(starts)),
        ends_(std::move(ends)),
        axes_(std::move(axes)),
        steps_(std::move(steps)),
        sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int r = x.shape.rank();
    int64_t starts[kMax], ends[kMax], axes[kMax], steps[kMax];
    int64_t n = 0;
    if (attr_form_) {
      n = static_cast<int64_t>(starts_.size());
      if (n > r || ends_.size() != starts_.size() ||
          (!axes_.empty() && axes_.size() != starts_.size()) ||
          (!steps_.empty() && steps_.size() != starts_.size())) {
        return invalid_argument("slice attributes differ in length or name too many axes");
      }
      for (int64_t i = 0; i < n; ++i) {
        starts[i] = starts_[i];
        ends[i] = ends_[i];
        axes[i] = axes_.empty() ? i : axes_[i];
        steps[i] = steps_.empty() ? 1 : steps_[i];
      }
    } else {
      KILN_RETURN_IF_ERROR(read_bounds(args, r, starts, ends, axes, steps, &n));
    }
    int64_t first[kMax], step[kMax], extent[kMax];
    for (int d = 0; d < r; ++d) {
      first[d] = 0;
      step[d] = 1;
      extent[d] = x.shape[d];
    }
    bool seen[kMax] = {};
    for (int64_t i = 0; i < n; ++i) {
      int64_t axis = axes[i];
      KILN_RETURN_IF_ERROR(normalize_axis(&axis, r, "slice axis"));
      if (seen[axis]) return invalid_argument("slice axis " + std::to_string(axis) + " repeats");
      seen[axis] = true;
      if (steps[i] == 0) return invalid_argument("slice step is 0");
      step[axis] = steps[i];
      slice_axis(x.shape[static_cast<int>(axis)], starts[i], ends[i], steps[i], &first[axis],
                 &extent[axis]);
    }
    bool ok = y.shape.rank() == r && y.dtype == x.dtype;
    for (int d = 0; ok && d < r; ++d) ok = y.shape[d] == extent[d];
    if (!ok) {
      return invalid_argument("slice of input " + x.shape.to_string() + " does not match output " +
                              y.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    cuda_copy::StridedCopy c;
    c.rank = r;
    int64_t acc = 1;
    for (int d = r - 1; d >= 0; --d) {
      // An axis with one output element never steps (a huge step would overflow).
      c.dims[d] = extent[d];
      c.strides[d] = extent[d] > 1 ? step[d] * acc : 0;
      c.offset += first[d] * acc;
      acc *= x.shape[d];
    }
    return cuda_copy::strided_copy(x.data, y.data, dtype_size(x.dtype), c, sms_, args.stream);
  }

 private:
  static Status read_bounds(const ExecArgs& args, int r, int64_t* starts, int64_t* ends,
                            int64_t* axes, int64_t* steps, int64_t* n) {
    if (args.inputs.size() < 3) return invalid_argument("slice needs starts and ends inputs");
    // Host copies: device memory is never read on the host.
    std::vector<TensorView> in;
    for (size_t i = 0; i < args.inputs.size(); ++i) {
      in.push_back(i < args.host_inputs.size() ? args.host_inputs[i] : TensorView{});
    }
    *n = in[1].numel();
    for (size_t i = 1; i < in.size() && i <= 4; ++i) {
      const bool present = args.inputs[i].data != nullptr || in[i].data != nullptr;
      if (!present) {
        if (i <= 2) return invalid_argument("slice bounds are not available on the host");
        continue;
      }
      if (in[i].data == nullptr) {
        return invalid_argument("slice input " + std::to_string(i) +
                                " has no host copy (bounds must be constants or shape tensors)");
      }
      if (in[i].numel() != *n) {
        return invalid_argument("slice starts, ends, axes and steps differ in length");
      }
    }
    if (*n > r) return invalid_argument("more slice axes than the input has dims");
    const bool has_axes = in.size() > 3 && in[3].data != nullptr;
    const bool has_steps = in.size() > 4 && in[4].data != nullptr;
    for (int64_t i = 0; i < *n; ++i) {
      starts[i] = load_as_int(in[1].data, in[1].dtype, i);
      ends[i] = load_as_int(in[2].data, in[2].dtype, i);
      axes[i] = has_axes ? load_as_int(in[3].data, in[3].dtype, i) : i;
      steps[i] = has_steps ? load_as_int(in[4].data, in[4].dtype, i) : 1;
    }
    return Status::ok();
  }

  bool attr_form_;
  std::vector<int64_t> starts_, ends_, axes_, steps_;
  int sms_;
};

bool supports_strided(const KernelInfo& info) {
  return info.num_inputs() >= 1 && info.has_input(0) && info.input_dtype(0) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_strided(const KernelInfo& info) {
  const ir::Attrs& a = info.attrs();
  const bool attr_form = info.num_inputs() == 1;
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new SliceCudaKernel(attr_form, a.get_ints("starts"), a.get_ints("ends"),
                          a.has("axes") ? a.get_ints("axes") : std::vector<int64_t>{},
                          a.has("steps") ? a.get_ints("steps") : std::vector<int64_t>{}, sms));
}

const TacticDef kCudaTactics[] = {
    {"strided", TacticSource::kKilnCuda, kAllDtypes, supports_strided, create_strided},
};

}  // namespace

std::span<const TacticDef> slice_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
