// FusedElementwise: a short program of elementwise operations evaluated per output element in
// one kernel, the node the elementwise fusion pass makes of a chain (or small DAG) of
// ElementWise / Unary / Activation / Cast / Select nodes.
//
// Inputs:  1 to kMaxInputs tensors, each broadcast (numpy, right-aligned) to the output shape;
//          float32 / float16 / bfloat16, bool (read as 0 / 1), int8, uint8, int32, int64 (read
//          as float, as Cast to float32 does).
// Output:  0 Y, dtype attribute "dtype" (float32 / float16 / bfloat16); shape: the inputs'
//          broadcast shape, left-padded with 1s to attribute "rank" (default 0) dims (scalar
//          constants folded into the program still count for the output rank).
// Attributes:
//   "program"    ints, 5 per instruction: kind, sub-op, operands x, y, z. Instruction k writes
//                register n_inputs + k; registers 0..n_inputs-1 are the inputs. An operand
//                r >= 0 is a register (written before the instruction), r < 0 the constant
//                constants[-r - 1]; unused operands are 0. Kinds:
//                  0 binary      sub = ElementWiseOp (sum, sub, prod, div, min, max, pow), x op y
//                  1 unary       sub = UnaryOp (every op but not), x
//                  2 activation  sub = ActivationKind, x; y, z: alpha, beta (operands)
//                  3 where       x != 0 ? y : z
//                  4 round       sub = DataType float16 / bfloat16: x rounded to that type (a
//                                Cast inside the chain), as float again
//                The last instruction's register is the output.
//   "constants"  floats (the program's immediate values).
//   "dtype"      string, the output dtype.
//   "rank"       int, the minimum output rank (see above).
// Values are computed in float32 with the same formulas as the unfused ops (min/max propagate
// NaN, pow is powf, ...), then rounded once to the output dtype.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& fused_elementwise_op();
std::span<const TacticDef> fused_elementwise_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> fused_elementwise_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA only)

constexpr int kFusedMaxInputs = 8;
constexpr int kFusedMaxInstructions = 32;
constexpr int kFusedMaxConstants = 32;

enum class FusedKind : uint8_t { kBinary = 0, kUnary = 1, kActivation = 2, kWhere = 3, kRound = 4 };

struct FusedInstruction {
  FusedKind kind = FusedKind::kBinary;
  uint8_t sub = 0;
  int16_t x = 0, y = 0, z = 0;
};

// A validated program.
struct FusedProgram {
  int num_inputs = 0;
  int rank = 0;
  DataType dtype = DataType::kFloat32;
  std::vector<FusedInstruction> code;
  std::vector<float> constants;
};

// Parses and validates the attributes of a node with `num_inputs` inputs; error naming the
// problem.
Result<FusedProgram> parse_fused_program(const ir::Attrs& attrs, int num_inputs);

// Whether an input of this dtype can feed the program.
bool fused_input_dtype(DataType t);

// Evaluates one instruction on the host (the CPU tactics; the CUDA kernel mirrors it).
float fused_eval(const FusedInstruction& ins, float x, float y, float z);

// Number of operands instruction kind `k` reads (x; x, y; or x, y, z).
int fused_operand_count(FusedKind k);

// The program with its registers mapped onto few reusable slots (the CUDA kernel's per-thread
// storage for values: the fewer, the more threads fit). Input i starts in slot i. An instruction's
// result goes to the lowest free slot (possibly one that its own operands free: the kernel reads
// operands before writing), unless only the next instruction reads it (dst = -1): each instruction
// can read the previous one's result directly (operand kFusedPrevious). A slot is free after the
// last read of its value. Other operands are slots (>= 0) or constants as in FusedInstruction
// (-c - 1); unread operands are 0. The last instruction's result is the output (never stored).
constexpr int8_t kFusedPrevious = -64;  // below every constant operand
struct FusedSlotInstruction {
  FusedKind kind = FusedKind::kBinary;
  uint8_t sub = 0;
  int8_t dst = -1, x = 0, y = 0, z = 0;
};
struct FusedSlotProgram {
  int slots = 0;  // slots used (>= num_inputs)
  std::vector<FusedSlotInstruction> code;
};
FusedSlotProgram allocate_fused_slots(const FusedProgram& p);

}  // namespace kiln::ops
