// FusedElementwise programs for tests (the CPU op tests, the CUDA tests and the host emulation of
// the CUDA kernel): instruction words and an OpCase around a program.
#pragma once

#include "common/op_harness.h"
#include "ops/elementwise/elementwise.h"
#include "ops/unary/unary.h"

#include <string>
#include <utility>
#include <vector>

namespace kiln::testing {

// Instruction words: a binary ElementWise op or a unary op on slots (inputs, then results).
inline std::vector<int64_t> bin(ops::ElementWiseOp op, int64_t x, int64_t y) {
  return {0, static_cast<int64_t>(op), x, y, 0};
}
inline std::vector<int64_t> un(ops::UnaryOp op, int64_t x) {
  return {1, static_cast<int64_t>(op), x, 0, 0};
}

// rank 0: no "rank" attribute (the output rank is the inputs' largest).
inline OpCase fused_case(std::vector<HostTensor> inputs, std::vector<std::vector<int64_t>> code,
                         std::vector<double> constants, DataType out = DataType::kFloat32,
                         int64_t rank = 0) {
  OpCase c;
  c.op = "FusedElementwise";
  std::vector<int64_t> program;
  for (const auto& ins : code) program.insert(program.end(), ins.begin(), ins.end());
  c.attrs.set("program", program);
  c.attrs.set("constants", constants);
  c.attrs.set("dtype", std::string(dtype_name(out)));
  if (rank) c.attrs.set("rank", rank);
  c.inputs = std::move(inputs);
  return c;
}

}  // namespace kiln::testing
