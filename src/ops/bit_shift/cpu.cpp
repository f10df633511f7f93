// CPU tactic of BitShift: the reference, one output element at a time through broadcast strides.
#include "ops/bit_shift/bit_shift.h"

#include <array>

namespace kiln::ops {

namespace {

constexpr int kMaxRank = Dims::kMaxDims;

// Strides of `in` aligned to the output dims `out` (0 on broadcast dims).
Status aligned_strides(const Dims& in, const Dims& out, std::array<int64_t, kMaxRank>* st) {
  st->fill(0);
  int64_t s = 1;
  for (int i = in.rank() - 1; i >= 0; --i) {
    const int o = i + out.rank() - in.rank();
    if (o < 0 || (in[i] != 1 && in[i] != out[o])) {
      return invalid_argument("BitShift: " + in.to_string() + " does not broadcast to " +
                              out.to_string());
    }
    if (in[i] != 1) (*st)[o] = s;
    s *= in[i];
  }
  return Status::ok();
}

class BitShiftKernel final : public Kernel {
 public:
  explicit BitShiftKernel(bool left) : left_(left) {}
  Status execute(const ExecArgs& args) const override {
    const Dims& out = args.outputs[0].shape;
    std::array<int64_t, kMaxRank> sx, sy;
    KILN_RETURN_IF_ERROR(aligned_strides(args.inputs[0].shape, out, &sx));
    KILN_RETURN_IF_ERROR(aligned_strides(args.inputs[1].shape, out, &sy));
    const uint8_t* x = args.inputs[0].as<const uint8_t>();
    const uint8_t* y = args.inputs[1].as<const uint8_t>();
    uint8_t* z = args.outputs[0].as<uint8_t>();
    const int64_t n = args.outputs[0].numel();
    for (int64_t i = 0; i < n; ++i) {
      int64_t ox = 0, oy = 0, rem = i;
      for (int d = out.rank() - 1; d >= 0; --d) {
        const int64_t c = rem % out[d];
        rem /= out[d];
        ox += c * sx[d];
        oy += c * sy[d];
      }
      const unsigned v = x[ox], s = y[oy];
      z[i] = s >= 8 ? 0 : static_cast<uint8_t>(left_ ? (v << s) & 0xffu : v >> s);
    }
    return Status::ok();
  }

 private:
  bool left_;
};

bool supports(const KernelInfo& info) {
  return info.input_dtype(0) == DataType::kUInt8 && info.input_dtype(1) == DataType::kUInt8;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(
      new BitShiftKernel(info.attrs().get_string("direction") == "LEFT"));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, DtypeSet{DataType::kUInt8}, supports,
     create_reference},
};

}  // namespace

std::span<const TacticDef> bit_shift_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
