// LpNormalization CUDA tactic against the CPU reference (double on the host, float on the GPU):
// p = 1 and 2, every axis of 1-D to 4-D inputs, layouts that select each group mapping (a thread
// per line, a warp per line, a block per line, and strided lines with few groups), lines of
// zeros (output 0), all float dtypes, zero-size tensors, unaligned buffers, and a CUDA graph
// capture.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"
#include "gpu/random_shapes.h"

namespace kiln::testing::lp_norm_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

OpCase lp_case(HostTensor x, int64_t axis, int64_t p) {
  OpCase c;
  c.op = "LpNormalization";
  c.attrs.set("axis", axis);
  c.attrs.set("p", p);
  c.inputs = {std::move(x)};
  return c;
}

// |y| <= 1 and the norm is a float sum of at most a few thousand terms.
Tol lp_tol(DataType dt) {
  return dtype_tol(dt, {2e-6, 2e-5});
}

using LpNormCuda = GpuTest;

TEST(LpNormCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("LpNormalization");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "groups");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(LpNormCuda, EveryAxisBothNormsEveryDtype) {
  std::mt19937 rng(1);
  const Dims shapes[] = {{9}, {4, 7}, {3, 5, 6}, {2, 3, 4, 5}, {2, 1, 8, 1}};
  for (DataType dt : kFloatTypes) {
    for (const Dims& d : shapes) {
      for (int64_t axis = -d.rank(); axis < d.rank(); ++axis) {
        for (int64_t p : {1, 2}) {
          OpCase c = lp_case(random_tensor(dt, d, rng, -3, 3), axis, p);
          auto ids =
              check_cuda_tactics(c, device(), stream(), lp_tol(dt),
                                 std::string(dtype_name(dt)) + " " + d.to_string() + " axis " +
                                     std::to_string(axis) + " p" + std::to_string(p));
          EXPECT_EQ(ids.size(), 1u);
        }
      }
    }
  }
}

// Layouts chosen to reach each mapping of the group kernel.
TEST_F(LpNormCuda, GroupMappings) {
  std::mt19937 rng(2);
  struct L {
    Dims x;
    int64_t axis;
    const char* mapping;
  };
  const L layouts[] = {{{64, 3000}, 1, "block per line"},
                       {{500, 200}, 1, "warp per line"},
                       {{100, 40, 64}, 1, "thread per line"},
                       {{5000, 7}, 0, "few strided lines, block"},
                       {{700, 3}, 0, "few strided lines, warp"},
                       {{2, 20, 3000}, 1, "many strided lines"},
                       {{1, 1}, 0, "single element"}};
  for (const L& l : layouts) {
    for (DataType dt : {DataType::kFloat32, DataType::kFloat16}) {
      for (int64_t p : {1, 2}) {
        check_cuda_tactics(lp_case(random_tensor(dt, l.x, rng, -2, 2), l.axis, p), device(),
                           stream(), lp_tol(dt),
                           std::string(l.mapping) + " " + std::string(dtype_name(dt)) + " " +
                               l.x.to_string() + " p" + std::to_string(p));
      }
    }
  }
}

TEST_F(LpNormCuda, RandomShapes) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 40; ++iter) {
    const DataType dt = kFloatTypes[iter % 3];
    const Dims d = random_rank_dims(rng, 1, 5, 9);
    const int64_t axis = std::uniform_int_distribution<int64_t>(-d.rank(), d.rank() - 1)(rng);
    const int64_t p = 1 + iter % 2;
    check_cuda_tactics(lp_case(random_tensor(dt, d, rng, -2, 2), axis, p), device(), stream(),
                       lp_tol(dt),
                       std::string(dtype_name(dt)) + " " + d.to_string() + " axis " +
                           std::to_string(axis) + " p" + std::to_string(p));
  }
}

TEST_F(LpNormCuda, ZeroLinesZeroSizeUnalignedCapture) {
  std::mt19937 rng(3);
  for (DataType dt : kFloatTypes) {
    HostTensor x = random_tensor(dt, {6, 9}, rng, -1, 1);
    for (int64_t j = 0; j < 9; ++j) store_from_double(x.data(), dt, 2 * 9 + j, 0.0);  // row 2
    for (int64_t i = 0; i < 6; ++i) store_from_double(x.data(), dt, i * 9 + 4, 0.0);  // column 4
    for (int64_t axis : {0, 1}) {
      check_cuda_tactics(lp_case(x, axis, 2), device(), stream(), lp_tol(dt), "zero lines");
      CudaRunOptions o;
      o.misalign_elements = 1;
      check_cuda_tactics(lp_case(x, axis, 1), device(), stream(), lp_tol(dt), "misaligned", o);
    }
    EXPECT_EQ(check_cuda_tactics(lp_case(HostTensor(dt, {0, 5}), 1, 2), device(), stream(),
                                 lp_tol(dt), "zero size")
                  .size(),
              1u);
  }
  OpCase c = lp_case(random_tensor(DataType::kFloat32, {33, 70}, rng, -1, 1), -1, 2);
  EXPECT_EQ(expect_capturable(c, device(), stream(), 2e-6, 2e-5, "lp_norm"), 1);
}

}  // namespace
}  // namespace kiln::testing::lp_norm_cuda_test
