// CUDA "fill" tactic of ConstantOfShape against the CPU reference: every dtype, zero values
// (cudaMemsetAsync) and patterned ones (fill kernel, 16-byte words or single elements), scalar,
// zero-size and odd sizes, unaligned output.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::constant_of_shape_cuda_test {
namespace {

using ConstantOfShapeCuda = GpuTest;

OpCase fill_case(const std::vector<int64_t>& shape, DataType dt, double value) {
  OpCase c;
  c.op = "ConstantOfShape";
  c.inputs.push_back(ints(DataType::kInt64, shape));
  c.constant = {true};
  c.attrs.set("dtype", std::string(dtype_name(dt)));
  c.attrs.set("value", value);
  return c;
}

TEST(ConstantOfShapeCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("ConstantOfShape");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "fill");
}

TEST_F(ConstantOfShapeCuda, EveryDtypeValueAndShape) {
  for (DataType dt : all_dtypes()) {
    for (double value : {0.0, 1.0, -7.0, 2.5}) {
      if (dt == DataType::kUInt8 && value < 0) continue;  // does not fit: an infer error
      if (!is_floating(dt) && value != static_cast<int64_t>(value)) continue;
      for (const auto& shape : std::vector<std::vector<int64_t>>{
               {}, {0}, {1}, {7}, {3, 5}, {1 << 20}, {2, 0, 3}, {3, 333}}) {
        CudaRunOptions options;
        for (int misalign : {0, 1}) {
          options.misalign_elements = misalign;
          expect_exact(fill_case(shape, dt, value), device(), stream(),
                       std::string(dtype_name(dt)) + " value " + std::to_string(value) +
                           " misalign " + std::to_string(misalign),
                       options);
        }
      }
    }
  }
}

}  // namespace
}  // namespace kiln::testing::constant_of_shape_cuda_test
