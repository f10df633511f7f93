// CUDA "convert" tactic of Cast against the CPU reference, bit for bit: every pair of dtypes on
// values that exercise truncation, saturation (and NaN -> 0), integer wrap-around, rounding of
// large integers into float32/float16/bfloat16 (round once, to nearest even), infinities, and
// x != 0 into bool; plus sizes spanning several grid passes and zero-size.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

#include <cmath>
#include <limits>

namespace kiln::testing::cast_cuda_test {
namespace {

using CastCuda = GpuTest;

OpCase cast_case(HostTensor x, DataType to) {
  OpCase c;
  c.op = "Cast";
  c.attrs.set("to", std::string(dtype_name(to)));
  c.inputs.push_back(std::move(x));
  return c;
}

// Edge values of a source dtype followed by random ones.
HostTensor source_values(DataType dt, int64_t n, std::mt19937& rng) {
  HostTensor t(dt, Dims{n});
  std::vector<double> edges;
  switch (dt) {
    case DataType::kFloat32:
    case DataType::kFloat16:
    case DataType::kBFloat16:
      edges = {0.0,   -0.0,  0.5,    -0.5,  1.5,      -1.5,      2.75,    -2.75,
               127.9, 128.0, -128.5, 255.9, 256.0,    -129.0,    65504.0, 70000.0,
               3e9,   -3e9,  1e19,   -1e19, INFINITY, -INFINITY, NAN};
      break;
    case DataType::kInt8:
      edges = {0, 1, -1, 127, -128, 100, -100};
      break;
    case DataType::kUInt8:
      edges = {0, 1, 127, 128, 255};
      break;
    case DataType::kInt32:
      edges = {0,     1,     -1,    127,      128,       255,          256,          -129,
               65504, 65520, 70000, 16777217, -16777217, 2147483647.0, -2147483648.0};
      break;
    case DataType::kBool:
      edges = {0, 1};
      break;
    default:
      break;
  }
  int64_t i = 0;
  for (; i < n && i < static_cast<int64_t>(edges.size()); ++i) {
    store_from_double(t.data(), dt, i, edges[i]);
  }
  if (dt == DataType::kInt64) {
    // Exact 64-bit values (doubles cannot hold them): rounding into floats, wrap-around.
    const int64_t big[] = {0,
                           -1,
                           (int64_t{1} << 24) + 1,
                           (int64_t{1} << 53) + 1,
                           (int64_t{1} << 62) + 12345,
                           std::numeric_limits<int64_t>::max(),
                           std::numeric_limits<int64_t>::min(),
                           -(int64_t{1} << 40) - 3,
                           4294967295LL,
                           2147483648LL,
                           65519,
                           65520};
    for (; i < n && i < static_cast<int64_t>(std::size(big)); ++i) t.as<int64_t>()[i] = big[i];
  }
  std::uniform_real_distribution<double> dist(-300.0, 300.0);
  for (; i < n; ++i) {
    double v = dist(rng);
    if (!is_floating(dt)) v = std::round(v);
    if (dt == DataType::kUInt8) v = std::fabs(v);
    if (dt == DataType::kBool) v = v > 0 ? 1 : 0;
    store_from_double(t.data(), dt, i, v);
  }
  return t;
}

TEST(CastCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Cast");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "convert");
}

TEST_F(CastCuda, EveryPairMatchesTheReferenceBitForBit) {
  std::mt19937 rng(71);
  for (DataType from : all_dtypes()) {
    const HostTensor x = source_values(from, 301, rng);
    for (DataType to : all_dtypes()) {
      auto runs =
          expect_exact(cast_case(x, to), device(), stream(),
                       std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to)));
      EXPECT_EQ(runs.size(), 1u);
    }
  }
}

TEST_F(CastCuda, LargeZeroSizeAndUnaligned) {
  std::mt19937 rng(72);
  for (auto [from, to] :
       std::vector<std::pair<DataType, DataType>>{{DataType::kFloat32, DataType::kFloat16},
                                                  {DataType::kBFloat16, DataType::kFloat32},
                                                  {DataType::kInt64, DataType::kInt32},
                                                  {DataType::kFloat16, DataType::kInt8}}) {
    expect_exact(cast_case(source_values(from, 3 * (1 << 20) + 7, rng), to), device(), stream(),
                 "large");
    expect_exact(cast_case(HostTensor(from, Dims{4, 0}), to), device(), stream(), "zero-size");
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(cast_case(source_values(from, 999, rng), to), device(), stream(), "misaligned",
                 misaligned);
  }
}

}  // namespace
}  // namespace kiln::testing::cast_cuda_test
