// Reduce CUDA tactic against the CPU reference: every op, float and integer dtypes, inner-row
// reductions (block per row), middle / outer / scattered axes (generic walk), all axes, no axes
// (noop_with_empty_axes), keepdims, zero-size tensors and empty reductions, NaN propagation,
// integer wrap-around, axes given as a constant input.
#include "gpu/op_check.h"
#include "ops/reduce/reduce.h"

#include <cmath>
#include <limits>

namespace kiln::testing::reduce_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};
const char* const kOps[] = {"sum",        "mean", "max", "min",        "prod",
                            "sum_square", "l1",   "l2",  "log_sum_exp"};

OpCase reduce_case(HostTensor x, const std::string& op, std::vector<int64_t> axes, int keepdims = 1,
                   bool axes_as_input = false) {
  OpCase c;
  c.op = "Reduce";
  c.attrs.set("op", op);
  c.attrs.set("keepdims", int64_t{keepdims});
  c.inputs.push_back(std::move(x));
  if (axes_as_input) {
    HostTensor a(DataType::kInt64, {static_cast<int64_t>(axes.size())});
    for (size_t i = 0; i < axes.size(); ++i) a.as<int64_t>()[i] = axes[i];
    c.inputs.push_back(a);
    c.constant = {false, true};
  } else if (!axes.empty()) {
    c.attrs.set("axes", axes);
  }
  return c;
}

int64_t reduced_count(const Dims& shape, const std::vector<int64_t>& axes) {
  if (axes.empty()) return shape.volume();
  int64_t r = 1;
  for (int64_t a : axes) r *= shape[static_cast<int>(a < 0 ? a + shape.rank() : a)];
  return r;
}

// Float accumulation on the GPU against double on the host: the sum's rounding error grows with
// the number of reduced elements R (values are O(1)); prod's relative error likewise.
Tol reduce_tol(DataType dt, const std::string& op, int64_t R) {
  const double r = static_cast<double>(std::max<int64_t>(R, 1));
  Tol fp32{1e-6 + 4e-7 * r, 1e-5};
  if (op == "prod") fp32 = {1e-7, 1e-5 + 1e-6 * r};
  if (op == "mean" || op == "log_sum_exp") fp32 = {1e-5, 1e-5};  // sum / R; log(sum)
  if (op == "max" || op == "min") fp32 = {0, 0};
  return dtype_tol(dt, fp32);
}

// Input values suited to the op: prod near 1 so that it neither under- nor overflows.
HostTensor input_for(const std::string& op, DataType dt, Dims shape, std::mt19937& rng) {
  if (op == "prod") return random_tensor(dt, shape, rng, 0.9, 1.1);
  return random_tensor(dt, shape, rng, -2, 2);
}

using ReduceCuda = GpuTest;

TEST(ReduceCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("Reduce");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "blocked");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(ReduceCuda, EveryOpEveryFloatDtypeFixedLayouts) {
  std::mt19937 rng(1);
  struct Case {
    Dims shape;
    std::vector<int64_t> axes;
  };
  const Case cases[] = {
      {{7}, {0}},
      {{3, 5}, {1}},
      {{3, 5}, {0}},
      {{4, 1000}, {1}},
      {{2, 5000}, {-1}},
      {{3, 70, 9}, {1}},
      {{2, 3, 4, 5}, {1, 3}},
      {{2, 3, 4, 5}, {0, 2}},
      {{2, 3, 4, 5}, {2, 3}},
      {{2, 3, 4, 5}, {}},
      {{6, 1, 5}, {1}},
      {{6, 1, 5}, {0, 1}},
      {{1, 1, 300}, {2}},
      {{300, 2}, {0}},
      {{2, 3, 4, 5, 6}, {0, 2, 4}},
      {{1000, 33}, {1}},
      {{33, 1000}, {0}},
  };
  for (DataType dt : kFloatTypes) {
    for (const char* op : kOps) {
      for (const Case& k : cases) {
        for (int keepdims : {0, 1}) {
          OpCase c = reduce_case(input_for(op, dt, k.shape, rng), op, k.axes, keepdims);
          check_cuda_tactics(
              c, device(), stream(), reduce_tol(dt, op, reduced_count(k.shape, k.axes)),
              std::string(op) + " " + std::string(dtype_name(dt)) + " " + k.shape.to_string());
        }
      }
    }
  }
}

TEST_F(ReduceCuda, RandomShapesAndAxes) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> rank_dist(1, 5), dim_dist(1, 12);
  for (int iter = 0; iter < 120; ++iter) {
    const DataType dt = kFloatTypes[iter % 3];
    const std::string op = kOps[iter % 9];
    const int rank = rank_dist(rng);
    std::vector<int64_t> d(rank), axes;
    for (auto& v : d) v = dim_dist(rng);
    for (int a = 0; a < rank; ++a) {
      if (rng() % 2) axes.push_back(rng() % 2 ? a : a - rank);  // some negative
    }
    const bool as_input = iter % 4 == 0 && !axes.empty();
    OpCase c = reduce_case(input_for(op, dt, dims_of(d), rng), op, axes, iter % 2, as_input);
    check_cuda_tactics(c, device(), stream(), reduce_tol(dt, op, reduced_count(dims_of(d), axes)),
                       op + " " + std::string(dtype_name(dt)) + " " + dims_of(d).to_string());
  }
}

TEST_F(ReduceCuda, LargeRows) {
  std::mt19937 rng(3);
  for (const char* op : {"sum", "mean", "max", "l2", "log_sum_exp"}) {
    for (Dims shape : {Dims{1, 1 << 20}, Dims{3, 100003}, Dims{100003, 3}}) {
      const std::vector<int64_t> axes =
          shape[0] == 100003 ? std::vector<int64_t>{0} : std::vector<int64_t>{1};
      OpCase c = reduce_case(input_for(op, DataType::kFloat32, shape, rng), op, axes);
      check_cuda_tactics(c, device(), stream(),
                         reduce_tol(DataType::kFloat32, op, reduced_count(shape, axes)),
                         std::string(op) + " " + shape.to_string());
    }
  }
}

// Few outputs over many elements: the reduction is split into chunks combined by a second
// kernel (rows path and generic path, several reduced groups).
TEST_F(ReduceCuda, SplitReductions) {
  std::mt19937 rng(8);
  struct Case {
    Dims shape;
    std::vector<int64_t> axes;
  };
  const Case cases[] = {{{2, 70000}, {1}},          {{70000, 2}, {0}},
                        {{4000, 3, 50, 2}, {0, 2}}, {{200, 3, 20, 5, 7, 2}, {0, 2, 4}},
                        {{3, 40000, 3}, {1}},       {{1 << 18}, {}}};
  for (DataType dt : kFloatTypes) {
    for (const char* op : {"sum", "mean", "max", "min", "prod", "l1", "log_sum_exp"}) {
      for (const Case& k : cases) {
        OpCase c = reduce_case(input_for(op, dt, k.shape, rng), op, k.axes);
        check_cuda_tactics(
            c, device(), stream(), reduce_tol(dt, op, reduced_count(k.shape, k.axes)),
            std::string(op) + " " + std::string(dtype_name(dt)) + " " + k.shape.to_string());
      }
    }
  }
  for (DataType dt : {DataType::kInt32, DataType::kInt64}) {
    for (const char* op : {"sum", "max", "min"}) {
      for (const Case& k : cases) {
        OpCase c = reduce_case(random_tensor(dt, k.shape, rng, -1000, 1000), op, k.axes);
        check_cuda_tactics(
            c, device(), stream(), {},
            std::string(op) + " " + std::string(dtype_name(dt)) + " " + k.shape.to_string());
      }
    }
  }
}

TEST_F(ReduceCuda, IntegerOps) {
  std::mt19937 rng(4);
  for (DataType dt : {DataType::kInt32, DataType::kInt64}) {
    for (const char* op : {"sum", "max", "min", "prod"}) {
      for (Dims shape : {Dims{5, 7}, Dims{3, 4, 50}, Dims{2, 3000}}) {
        for (std::vector<int64_t> axes :
             {std::vector<int64_t>{1}, std::vector<int64_t>{0}, std::vector<int64_t>{}}) {
          const double range = std::string(op) == "prod" ? 3 : 1000;
          OpCase c = reduce_case(random_tensor(dt, shape, rng, -range, range), op, axes);
          check_cuda_tactics(
              c, device(), stream(), {},
              std::string(op) + " " + std::string(dtype_name(dt)) + " " + shape.to_string());
        }
      }
    }
  }
}

TEST_F(ReduceCuda, IntegerSumsAndProductsWrapAround) {
  std::mt19937 rng(5);
  for (DataType dt : {DataType::kInt32, DataType::kInt64}) {
    const double big = dt == DataType::kInt32 ? 2e9 : 9e18;
    for (const char* op : {"sum", "prod"}) {
      OpCase c = reduce_case(random_tensor(dt, {4, 37}, rng, big / 2, big), op, {1});
      check_cuda_tactics(c, device(), stream(), {},
                         std::string(op) + " " + std::string(dtype_name(dt)));
    }
  }
}

TEST_F(ReduceCuda, NoopWithEmptyAxesAppliesTheOpElementwise) {
  std::mt19937 rng(6);
  for (DataType dt : kFloatTypes) {
    for (const char* op : kOps) {
      OpCase c = reduce_case(input_for(op, dt, {3, 4, 5}, rng), op, {});
      c.attrs.set("noop_with_empty_axes", int64_t{1});
      check_cuda_tactics(c, device(), stream(), reduce_tol(dt, op, 1),
                         std::string(op) + " noop " + std::string(dtype_name(dt)));
    }
  }
}

TEST_F(ReduceCuda, ZeroSizeAndEmptyReductions) {
  std::mt19937 rng(7);
  for (DataType dt : kFloatTypes) {
    for (const char* op : kOps) {
      // Reduced dim of extent 0: sum 0, mean NaN, max -inf, prod 1, log_sum_exp -inf...
      OpCase c = reduce_case(input_for(op, dt, {3, 0, 4}, rng), op, {1});
      auto ids =
          check_cuda_tactics(c, device(), stream(), reduce_tol(dt, op, 1),
                             std::string(op) + " empty reduction " + std::string(dtype_name(dt)));
      EXPECT_EQ(ids.size(), 1u);
      // Kept dim of extent 0: nothing to write.
      OpCase z = reduce_case(input_for(op, dt, {0, 5}, rng), op, {1});
      check_cuda_tactics(z, device(), stream(), reduce_tol(dt, op, 5),
                         std::string(op) + " zero-size output " + std::string(dtype_name(dt)));
    }
  }
  for (const char* op : {"sum", "max", "min", "prod"}) {
    OpCase c = reduce_case(random_tensor(DataType::kInt32, {2, 0}, rng), op, {1});
    check_cuda_tactics(c, device(), stream(), {}, std::string(op) + " empty int reduction");
  }
}

TEST_F(ReduceCuda, NanAndInfinityPropagate) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const char* op : {"max", "min", "sum", "log_sum_exp"}) {
    for (int64_t axis : {0, 1}) {
      HostTensor x = make_tensor(DataType::kFloat32, {3, 4},
                                 {1, nan, 3, 4, -inf, -inf, -inf, -inf, 5, inf, 2, 1});
      OpCase c = reduce_case(x, op, {axis});
      check_cuda_tactics(c, device(), stream(), reduce_tol(DataType::kFloat32, op, 4),
                         std::string(op) + " nan/inf axis " + std::to_string(axis));
    }
  }
}

}  // namespace
}  // namespace kiln::testing::reduce_cuda_test
