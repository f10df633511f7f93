// CUDA tactics of ArgReduce ("lines", "block") against the CPU reference, index for index: ArgMax
// and ArgMin, every dtype, every axis (negative too), keepdims, select_last_index with frequent
// ties (small value ranges), NaN (the first / last NaN wins), lines longer than a block, strided
// axes, zero-size outputs and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"

#include <cmath>
#include <limits>

namespace kiln::testing::arg_reduce_cuda_test {
namespace {

using ArgReduceCuda = GpuTest;

const DataType kTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                           DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                           DataType::kInt64};

OpCase arg_case(const HostTensor& x, const std::string& op, int64_t axis, int64_t keepdims,
                int64_t last) {
  OpCase c;
  c.op = "ArgReduce";
  c.attrs.set("op", op);
  c.attrs.set("axis", axis);
  c.attrs.set("keepdims", keepdims);
  c.attrs.set("select_last_index", last);
  c.inputs = {x};
  return c;
}

// Values from a small range: ties everywhere.
HostTensor tied(DataType dt, const Dims& d, std::mt19937& rng) {
  HostTensor t(dt, d);
  for (int64_t i = 0; i < t.numel(); ++i) {
    store_from_double(t.data(), dt, i,
                      static_cast<double>(rng() % 5) - (dt == DataType::kUInt8 ? 0 : 2));
  }
  return t;
}

void check_both(const OpCase& c, Device* device, cudaStream_t stream, const std::string& what) {
  const auto runs = expect_exact(c, device, stream, what);
  EXPECT_EQ(runs.size(), 2u) << what;
}

TEST(ArgReduceCudaRegistry, Tactics) {
  auto tactics = ops::cuda_tactics("ArgReduce");
  ASSERT_EQ(tactics.size(), 2u);
  EXPECT_EQ(tactics[0].name, "lines");
  EXPECT_EQ(tactics[1].name, "block");
}

TEST_F(ArgReduceCuda, EveryDtypeAxisAndTieRule) {
  std::mt19937 rng(211);
  for (DataType dt : kTypes) {
    for (int iter = 0; iter < 16; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      std::vector<int64_t> d(rank);
      for (auto& v : d) v = 1 + static_cast<int64_t>(rng() % 9);
      const int64_t axis = static_cast<int64_t>(rng() % rank) - (iter % 3 == 0 ? rank : 0);
      const char* op = iter % 2 ? "max" : "min";
      const int64_t last = (iter / 2) % 2, keepdims = (iter / 4) % 2;
      check_both(arg_case(tied(dt, make_dims(d), rng), op, axis, keepdims, last), device(),
                 stream(),
                 std::string(dtype_name(dt)) + " " + op + " axis " + std::to_string(axis) +
                     " last " + std::to_string(last));
    }
  }
}

TEST_F(ArgReduceCuda, NaNWins) {
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    HostTensor x(dt, Dims{3, 700});
    for (int64_t i = 0; i < x.numel(); ++i) store_from_double(x.data(), dt, i, (i * 7) % 13);
    // Row 0: NaNs at 5 and 600; row 1: one NaN at 699; row 2: none.
    for (int64_t i : {5, 600, 700 + 699}) {
      store_from_double(x.data(), dt, i, std::numeric_limits<double>::quiet_NaN());
    }
    for (const char* op : {"max", "min"}) {
      for (int64_t last : {0, 1}) {
        check_both(arg_case(x, op, 1, 1, last), device(), stream(),
                   std::string(dtype_name(dt)) + " NaN " + op + " last " + std::to_string(last));
      }
    }
  }
}

TEST_F(ArgReduceCuda, LongAndStridedLines) {
  std::mt19937 rng(212);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kInt64, DataType::kUInt8}) {
    for (int64_t last : {0, 1}) {
      check_both(arg_case(tied(dt, Dims{5, 10000}, rng), "max", -1, 0, last), device(), stream(),
                 "long innermost");
      check_both(arg_case(tied(dt, Dims{1000, 3, 7}, rng), "min", 0, 1, last), device(), stream(),
                 "strided");
    }
  }
}

TEST_F(ArgReduceCuda, ZeroSizeAndCapture) {
  std::mt19937 rng(213);
  const OpCase empty = arg_case(HostTensor(DataType::kFloat32, Dims{0, 4}), "max", 1, 1, 0);
  auto runs = run_cuda_tactics(empty, device(), stream());
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_EQ(runs->size(), 2u);
  EXPECT_EQ(
      expect_capturable(arg_case(tied(DataType::kFloat32, Dims{8, 3000}, rng), "max", 1, 1, 1),
                        device(), stream(), 0, 0, "argmax"),
      2);
}

}  // namespace
}  // namespace kiln::testing::arg_reduce_cuda_test
