// Activation CUDA tactics against the CPU reference kernel: every kind, every float dtype,
// random shapes (zero-size, scalar, odd sizes, sizes larger than one grid pass), aligned and
// unaligned buffers, in place.
#include "gpu/gpu_harness.h"
#include "ops/activation/activation.h"

namespace kiln::testing::activation_cuda_test {
namespace {

struct Kind {
  const char* name;
  double alpha, beta;
};
const Kind kKinds[] = {{"relu", 0, 0},      {"leaky_relu", 0.1, 0}, {"sigmoid", 0, 0},
                       {"tanh", 0, 0},      {"elu", 0.7, 0},        {"selu", 1.67326, 1.0507},
                       {"softplus", 0, 0},  {"clip", -0.5, 0.8},    {"gelu_erf", 0, 0},
                       {"gelu_tanh", 0, 0}, {"silu", 0, 0},         {"hard_sigmoid", 0.2, 0.5},
                       {"hard_swish", 0, 0}};
const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

// Device math (expf, erff, ...) may differ from the host's by an ulp or two of float; after
// rounding to 16 bits that is at most one unit in the last place of the result.
struct Tolerance {
  double atol, rtol;
};
Tolerance tolerance(DataType dt) {
  switch (dt) {
    case DataType::kFloat16:
      return {1e-5, 2e-3};  // 2 ulp of half (2^-10 relative)
    case DataType::kBFloat16:
      return {1e-5, 1.6e-2};  // 2 ulp of bfloat16 (2^-7 relative)
    default:
      return {1e-6, 1e-5};
  }
}

OpCase activation_case(const Kind& k, DataType dt, Dims shape, std::mt19937& rng, double lo,
                       double hi) {
  OpCase c;
  c.op = "Activation";
  c.attrs.set("type", std::string(k.name));
  c.attrs.set("alpha", k.alpha);
  c.attrs.set("beta", k.beta);
  c.inputs.push_back(random_tensor(dt, shape, rng, lo, hi));
  return c;
}

Dims random_shape(std::mt19937& rng) {
  std::uniform_int_distribution<int> rank_dist(1, 4);
  std::uniform_int_distribution<int64_t> dim_dist(1, 37);
  int rank = rank_dist(rng);
  std::vector<int64_t> d(rank);
  for (auto& v : d) v = dim_dist(rng);
  return Dims(std::span<const int64_t>(d));
}

using ActivationCuda = GpuTest;

TEST(ActivationCudaRegistry, OneElementwiseTacticOfKilnSource) {
  auto tactics = ops::cuda_tactics("Activation");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "elementwise");
  EXPECT_EQ(tactics[0].source, TacticSource::kKilnCuda);
  EXPECT_TRUE(ops::cuda_tactics("NoSuchOp").empty());
}

TEST_F(ActivationCuda, EveryKindEveryFloatDtypeMatchesTheReference) {
  std::mt19937 rng(11);
  for (DataType dt : kFloatTypes) {
    Tolerance tol = tolerance(dt);
    for (const Kind& k : kKinds) {
      // Fixed odd shapes (vector body plus tail), random ones, and one above a full grid pass.
      std::vector<Dims> shapes = {Dims{1}, Dims{7}, Dims{3, 5, 7}, Dims{1031}};
      for (int i = 0; i < 3; ++i) shapes.push_back(random_shape(rng));
      for (const Dims& shape : shapes) {
        OpCase c = activation_case(k, dt, shape, rng, -6, 6);
        auto want = run_reference_case(c);
        ASSERT_TRUE(want.is_ok()) << want.status().to_string();
        auto runs = run_cuda_tactics(c, device(), stream());
        ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
        ASSERT_EQ(runs->size(), 1u);
        for (const auto& r : *runs) {
          EXPECT_TRUE(all_close(r.outputs[0], (*want)[0], tol.atol, tol.rtol))
              << k.name << " " << dtype_name(dt) << " " << shape.to_string() << " " << r.tactic;
        }
      }
    }
  }
}

TEST_F(ActivationCuda, WideInputRangeAndSaturation) {
  // Softplus switches formula above 20; sigmoid/silu/elu saturate; exp overflows past ~88.
  std::mt19937 rng(5);
  for (DataType dt : kFloatTypes) {
    Tolerance tol = tolerance(dt);
    for (const Kind& k : kKinds) {
      OpCase c = activation_case(k, dt, Dims{4099}, rng, -100, 100);
      auto want = run_reference_case(c);
      ASSERT_TRUE(want.is_ok()) << want.status().to_string();
      auto runs = run_cuda_tactics(c, device(), stream());
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      for (const auto& r : *runs) {
        EXPECT_TRUE(all_close(r.outputs[0], (*want)[0], tol.atol, tol.rtol))
            << k.name << " " << dtype_name(dt);
      }
    }
  }
}

TEST_F(ActivationCuda, LargeTensorsSpanSeveralGridPasses) {
  std::mt19937 rng(3);
  for (DataType dt : kFloatTypes) {
    Tolerance tol = tolerance(dt);
    for (const char* name : {"gelu_erf", "relu"}) {
      Kind k{name, 0, 0};
      // More vectors than the grid has threads (multiprocessors x 8 blocks x 256), odd tail.
      OpCase c = activation_case(k, dt, Dims{3, (1 << 20) + 5}, rng, -5, 5);
      auto want = run_reference_case(c);
      ASSERT_TRUE(want.is_ok()) << want.status().to_string();
      auto runs = run_cuda_tactics(c, device(), stream());
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      for (const auto& r : *runs) {
        EXPECT_TRUE(all_close(r.outputs[0], (*want)[0], tol.atol, tol.rtol))
            << name << " " << dtype_name(dt);
      }
    }
  }
}

TEST_F(ActivationCuda, UnalignedBuffersUseTheScalarPath) {
  std::mt19937 rng(9);
  for (DataType dt : kFloatTypes) {
    Tolerance tol = tolerance(dt);
    for (const Kind& k : {kKinds[0], kKinds[8], kKinds[12]}) {
      for (int64_t n : {1, 9, 1000, 65537}) {
        OpCase c = activation_case(k, dt, Dims{n}, rng, -6, 6);
        auto want = run_reference_case(c);
        ASSERT_TRUE(want.is_ok());
        CudaRunOptions options;
        options.misalign_elements = 1;
        auto runs = run_cuda_tactics(c, device(), stream(), options);
        ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
        for (const auto& r : *runs) {
          EXPECT_TRUE(all_close(r.outputs[0], (*want)[0], tol.atol, tol.rtol))
              << k.name << " " << dtype_name(dt) << " n=" << n;
        }
      }
    }
  }
}

TEST_F(ActivationCuda, InPlace) {
  std::mt19937 rng(4);
  for (DataType dt : kFloatTypes) {
    Tolerance tol = tolerance(dt);
    for (const Kind& k : kKinds) {
      OpCase c = activation_case(k, dt, Dims{2, 333}, rng, -6, 6);
      auto want = run_reference_case(c);
      ASSERT_TRUE(want.is_ok());
      CudaRunOptions options;
      options.in_place = true;
      auto runs = run_cuda_tactics(c, device(), stream(), options);
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      for (const auto& r : *runs) {
        EXPECT_TRUE(all_close(r.outputs[0], (*want)[0], tol.atol, tol.rtol))
            << k.name << " " << dtype_name(dt);
      }
    }
  }
}

TEST_F(ActivationCuda, ZeroSizeAndScalar) {
  std::mt19937 rng(2);
  for (DataType dt : kFloatTypes) {
    for (Dims d : {Dims{0}, Dims{0, 4}, Dims{5, 0, 3}, Dims{}}) {
      OpCase c = activation_case(kKinds[2], dt, d, rng, -1, 1);
      auto want = run_reference_case(c);
      ASSERT_TRUE(want.is_ok()) << want.status().to_string();
      auto runs = run_cuda_tactics(c, device(), stream());
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      for (const auto& r : *runs) {
        EXPECT_EQ(r.outputs[0].shape(), d);
        EXPECT_TRUE(all_close(r.outputs[0], (*want)[0], 1e-5, 2e-2)) << d.to_string();
      }
    }
  }
}

TEST_F(ActivationCuda, DefaultAlphaBetaMatchTheReference) {
  // Attributes absent: both backends use activation_defaults.
  std::mt19937 rng(8);
  for (const char* name : {"leaky_relu", "elu", "selu", "hard_sigmoid", "clip"}) {
    OpCase c;
    c.op = "Activation";
    c.attrs.set("type", std::string(name));
    c.inputs.push_back(random_tensor(DataType::kFloat32, {257}, rng, -3, 3));
    auto want = run_reference_case(c);
    ASSERT_TRUE(want.is_ok());
    auto runs = run_cuda_tactics(c, device(), stream());
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    EXPECT_TRUE(all_close((*runs)[0].outputs[0], (*want)[0], 1e-6, 1e-5)) << name;
  }
}

TEST_F(ActivationCuda, IntegerInputIsNotSupported) {
  // Shape inference rejects it before any tactic; the tactic's supports() says no as well.
  std::mt19937 rng(1);
  OpCase c;
  c.op = "Activation";
  c.attrs.set("type", std::string("relu"));
  c.inputs.push_back(random_tensor(DataType::kInt32, {4}, rng));
  auto runs = run_cuda_tactics(c, device(), stream());
  EXPECT_FALSE(runs.is_ok());
}

}  // namespace
}  // namespace kiln::testing::activation_cuda_test
