// CUDA tactic of BitShift: "broadcast", a grid-stride map over the output with numpy
// broadcasting (ops/common/broadcast_map.cuh). uint8 only, like the op; a shift by 8 or more bits
// gives 0, as in the CPU reference.
#include "ops/bit_shift/bit_shift.h"
#include "ops/common/broadcast_map.cuh"

#include <string>

namespace kiln::ops {

namespace {

struct ShiftFn {
  bool left;
  __device__ __forceinline__ uint8_t operator()(uint8_t v, uint8_t s) const {
    if (s >= 8) return 0;
    return static_cast<uint8_t>(left ? (static_cast<unsigned>(v) << s) & 0xffu
                                     : static_cast<unsigned>(v) >> s);
  }
};

class BitShiftCudaKernel final : public Kernel {
 public:
  BitShiftCudaKernel(bool left, int sms) : left_(left), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& s = args.inputs[1];
    const TensorView& z = args.outputs[0];
    if (x.dtype != DataType::kUInt8 || s.dtype != DataType::kUInt8 || z.dtype != DataType::kUInt8) {
      return invalid_argument("BitShift CUDA kernel: uint8 tensors only");
    }
    BroadcastGeometry g;
    KILN_RETURN_IF_ERROR(broadcast_geometry("BitShift", x.shape, s.shape, z.shape, &g));
    return cuda::launch_broadcast_map(
        static_cast<const uint8_t*>(x.data), static_cast<const uint8_t*>(s.data),
        static_cast<uint8_t*>(z.data), z.numel(), g, ShiftFn{left_}, sms_,
        static_cast<cudaStream_t>(args.stream), "bit_shift broadcast_map_kernel");
  }

 private:
  bool left_;
  int sms_;
};

bool supports_broadcast(const KernelInfo& info) {
  const std::string dir = info.attrs().get_string("direction");
  return info.num_inputs() == 2 && info.input_dtype(0) == DataType::kUInt8 &&
         info.input_dtype(1) == DataType::kUInt8 && (dir == "LEFT" || dir == "RIGHT");
}

Result<std::unique_ptr<Kernel>> create_broadcast(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new BitShiftCudaKernel(info.attrs().get_string("direction") == "LEFT", sms));
}

const TacticDef kCudaTactics[] = {
    {"broadcast", TacticSource::kKilnCuda, DtypeSet{DataType::kUInt8}, supports_broadcast,
     create_broadcast},
};

}  // namespace

std::span<const TacticDef> bit_shift_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
