// CPU tactics of FusedElementwise: the reference interprets the program one output element at a
// time; "threaded" runs blocks of elements in parallel. Both compute in float32 (as the CUDA
// kernel does) and walk each input with its broadcast strides.
#include "backends/cpu/thread_pool.h"
#include "ops/common/broadcast.h"
#include "ops/fused_elementwise/fused_elementwise.h"

#include <vector>

namespace kiln::ops {

namespace {

float load_float_any(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DataType::kFloat32:
      return t.as<const float>()[i];
    case DataType::kFloat16:
      return static_cast<float>(t.as<const Half>()[i]);
    case DataType::kBFloat16:
      return static_cast<float>(t.as<const BFloat16>()[i]);
    case DataType::kInt8:
      return static_cast<float>(t.as<const int8_t>()[i]);
    case DataType::kUInt8:
    case DataType::kBool:
      return static_cast<float>(t.as<const uint8_t>()[i]);
    case DataType::kInt32:
      return static_cast<float>(t.as<const int32_t>()[i]);
    case DataType::kInt64:
      return static_cast<float>(t.as<const int64_t>()[i]);
  }
  return 0.f;
}

class FusedKernel final : public Kernel {
 public:
  FusedKernel(FusedProgram p, bool threaded) : p_(std::move(p)), threaded_(threaded) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& y = args.outputs[0];
    const int n_in = static_cast<int>(args.inputs.size());
    if (n_in != p_.num_inputs) {
      return invalid_argument("FusedElementwise: " + std::to_string(n_in) +
                              " inputs, the program has " + std::to_string(p_.num_inputs));
    }
    std::vector<int64_t> strides(static_cast<size_t>(n_in) * Dims::kMaxDims, 0);
    for (int i = 0; i < n_in; ++i) {
      if (!broadcast_strides_to(args.inputs[i].shape, y.shape, &strides[i * Dims::kMaxDims])) {
        return broadcast_error("FusedElementwise input " + std::to_string(i), args.inputs[i].shape,
                               y.shape);
      }
    }
    const int64_t n = y.numel();
    if (n == 0) return Status::ok();
    const std::vector<int64_t> ys = contiguous_strides(y.shape);
    const int rank = y.shape.rank();
    auto run = [&](int64_t begin, int64_t end) {
      std::vector<float> regs(static_cast<size_t>(n_in) + p_.code.size());
      auto operand = [&](int16_t r) {
        return r >= 0 ? regs[static_cast<size_t>(r)] : p_.constants[static_cast<size_t>(-r - 1)];
      };
      for (int64_t e = begin; e < end; ++e) {
        for (int i = 0; i < n_in; ++i) {
          int64_t off = 0;
          const int64_t* st = &strides[i * Dims::kMaxDims];
          for (int d = 0; d < rank; ++d) off += (e / ys[d]) % y.shape[d] * st[d];
          regs[i] = load_float_any(args.inputs[i], off);
        }
        for (size_t k = 0; k < p_.code.size(); ++k) {
          const FusedInstruction& ins = p_.code[k];
          const float x = operand(ins.x);
          const float b =
              ins.kind == FusedKind::kUnary || ins.kind == FusedKind::kRound ? 0.f : operand(ins.y);
          const float c = ins.kind == FusedKind::kActivation || ins.kind == FusedKind::kWhere
                              ? operand(ins.z)
                              : 0.f;
          regs[n_in + k] = fused_eval(ins, x, b, c);
        }
        store_from_double(y.data, y.dtype, e, regs.back());
      }
    };
    if (threaded_) {
      parallel_for(args.threads, n, 1 << 13, run);
    } else {
      run(0, n);
    }
    return Status::ok();
  }

 private:
  FusedProgram p_;
  bool threaded_;
};

bool supports(const KernelInfo& info) {
  return parse_fused_program(info.attrs(), info.num_inputs()).is_ok();
}

Result<std::unique_ptr<Kernel>> create(const KernelInfo& info, bool threaded) {
  KILN_ASSIGN_OR_RETURN(FusedProgram p, parse_fused_program(info.attrs(), info.num_inputs()));
  return std::unique_ptr<Kernel>(new FusedKernel(std::move(p), threaded));
}
Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return create(info, false);
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return create(info, true);
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kAllDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> fused_elementwise_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
