// CUDA "copy" tactic of Identity, Reshape, Squeeze and Unsqueeze against the CPU reference: every
// dtype, random and zero-size shapes, unaligned buffers, in place (aliased: no copy).
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::identity_cuda_test {
namespace {

using IdentityCuda = GpuTest;

Dims random_dims(std::mt19937& rng, int max_rank, int64_t max_dim) {
  std::uniform_int_distribution<int> rank_dist(0, max_rank);
  std::uniform_int_distribution<int64_t> dim_dist(1, max_dim);
  std::vector<int64_t> d(rank_dist(rng));
  for (auto& v : d) v = dim_dist(rng);
  return make_dims(d);
}

TEST(IdentityCudaRegistry, OneCopyTacticEach) {
  for (const char* op : {"Identity", "Reshape", "Squeeze", "Unsqueeze"}) {
    auto tactics = ops::cuda_tactics(op);
    ASSERT_EQ(tactics.size(), 1u) << op;
    EXPECT_EQ(tactics[0].name, "copy") << op;
    EXPECT_EQ(tactics[0].source, TacticSource::kKilnCuda) << op;
  }
}

TEST_F(IdentityCuda, IdentityEveryDtypeAndShape) {
  std::mt19937 rng(1);
  for (DataType dt : all_dtypes()) {
    std::vector<Dims> shapes = {Dims{}, Dims{0}, Dims{3, 0, 2}, Dims{1}, Dims{1000003}};
    for (int i = 0; i < 4; ++i) shapes.push_back(random_dims(rng, 5, 9));
    for (const Dims& d : shapes) {
      OpCase c;
      c.op = "Identity";
      c.inputs.push_back(pattern_tensor(dt, d, rng));
      auto runs =
          expect_exact(c, device(), stream(), std::string(dtype_name(dt)) + " " + d.to_string());
      EXPECT_EQ(runs.size(), 1u);
      CudaRunOptions misaligned;
      misaligned.misalign_elements = 1;
      expect_exact(c, device(), stream(), "misaligned " + d.to_string(), misaligned);
    }
  }
}

TEST_F(IdentityCuda, InPlaceSkipsTheCopy) {
  std::mt19937 rng(2);
  OpCase c;
  c.op = "Identity";
  c.inputs.push_back(pattern_tensor(DataType::kFloat32, Dims{7, 9}, rng));
  CudaRunOptions options;
  options.in_place = true;
  expect_exact(c, device(), stream(), "in place", options);
}

TEST_F(IdentityCuda, ReshapeWithShapeInputAndAttribute) {
  std::mt19937 rng(3);
  for (DataType dt : all_dtypes()) {
    OpCase c;
    c.op = "Reshape";
    c.inputs.push_back(pattern_tensor(dt, Dims{2, 3, 4}, rng));
    c.inputs.push_back(ints(DataType::kInt64, {4, -1}));
    c.constant = {false, true};
    expect_exact(c, device(), stream(), "reshape input " + std::string(dtype_name(dt)));

    OpCase a;
    a.op = "Reshape";
    a.inputs.push_back(pattern_tensor(dt, Dims{6, 0, 5}, rng));
    a.attrs.set("shape", std::vector<int64_t>{5, 0, 6});
    a.attrs.set("allowzero", int64_t{1});
    expect_exact(a, device(), stream(), "reshape attr zero-size " + std::string(dtype_name(dt)));
  }
}

TEST_F(IdentityCuda, SqueezeAndUnsqueeze) {
  std::mt19937 rng(4);
  for (DataType dt : all_dtypes()) {
    OpCase s;
    s.op = "Squeeze";
    s.inputs.push_back(pattern_tensor(dt, Dims{1, 5, 1, 3}, rng));
    s.attrs.set("axes", std::vector<int64_t>{0, -2});
    expect_exact(s, device(), stream(), "squeeze " + std::string(dtype_name(dt)));

    OpCase u;
    u.op = "Unsqueeze";
    u.inputs.push_back(pattern_tensor(dt, Dims{5, 3}, rng));
    u.attrs.set("axes", std::vector<int64_t>{0, 3});
    expect_exact(u, device(), stream(), "unsqueeze " + std::string(dtype_name(dt)));
  }
}

TEST_F(IdentityCuda, DataMovementKernelsAreCapturableInACudaGraph) {
  // One case per data-movement op, each tactic's execute() captured into a CUDA graph: no
  // allocation, synchronization or host read of device data (Slice reads its bounds from the
  // host copies).
  std::mt19937 rng(5);
  std::vector<OpCase> cases;
  {
    OpCase c;
    c.op = "Identity";
    c.inputs.push_back(pattern_tensor(DataType::kFloat16, Dims{5, 7}, rng));
    cases.push_back(c);
  }
  {
    OpCase c;
    c.op = "Transpose";
    c.inputs.push_back(pattern_tensor(DataType::kInt32, Dims{3, 40, 33}, rng));
    c.attrs.set("perm", std::vector<int64_t>{0, 2, 1});
    cases.push_back(c);
  }
  {
    OpCase c;
    c.op = "Concat";
    c.attrs.set("axis", int64_t{1});
    c.inputs = {pattern_tensor(DataType::kFloat32, Dims{4, 3}, rng),
                pattern_tensor(DataType::kFloat32, Dims{4, 5}, rng)};
    cases.push_back(c);
  }
  {
    OpCase c;
    c.op = "Slice";
    c.inputs = {pattern_tensor(DataType::kUInt8, Dims{6, 9}, rng), ints(DataType::kInt64, {1, 8}),
                ints(DataType::kInt64, {5, 0}), ints(DataType::kInt64, {0, 1}),
                ints(DataType::kInt64, {2, -3})};
    c.constant = {false, true, true, true, true};
    cases.push_back(c);
  }
  {
    OpCase c;
    c.op = "Gather";
    c.inputs = {pattern_tensor(DataType::kBFloat16, Dims{10, 8}, rng),
                ints(DataType::kInt32, {3, -1, 0})};
    cases.push_back(c);
  }
  {
    OpCase c;
    c.op = "Expand";
    c.inputs = {pattern_tensor(DataType::kInt64, Dims{3, 1}, rng),
                ints(DataType::kInt64, {2, 3, 4})};
    c.constant = {false, true};
    cases.push_back(c);
  }
  {
    OpCase c;
    c.op = "Cast";
    c.attrs.set("to", std::string("float16"));
    c.inputs.push_back(pattern_tensor(DataType::kInt32, Dims{100}, rng));
    cases.push_back(c);
  }
  {
    OpCase c;
    c.op = "Select";
    c.inputs = {pattern_tensor(DataType::kBool, Dims{4, 1}, rng),
                pattern_tensor(DataType::kFloat32, Dims{4, 6}, rng),
                pattern_tensor(DataType::kFloat32, Dims{6}, rng)};
    cases.push_back(c);
  }
  {
    OpCase c;
    c.op = "ConstantOfShape";
    c.inputs.push_back(ints(DataType::kInt64, {3, 5}));
    c.constant = {true};
    c.attrs.set("value", 1.5);
    cases.push_back(c);
  }
  for (const OpCase& c : cases) {
    EXPECT_GE(expect_capturable(c, device(), stream(), 0, 0, c.op), 1) << c.op;
  }
}

}  // namespace
}  // namespace kiln::testing::identity_cuda_test
