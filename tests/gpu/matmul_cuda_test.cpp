// CUDA tactics of MatMul (cuBLASLt lt_heuristic_0..7, cuBLAS gemm_strided_batched, kiln naive)
// against the CPU reference kernel: float32 (TF32 in the cuBLAS tactics), float16 and bfloat16;
// 2-D, 1-D operands, transposes, dense batches, broadcast batches (folded into M, stride 0, host
// loops over leading dims), Bias [N] and [1], activations (cuBLASLt epilogues for relu and
// gelu_tanh, kiln's epilogue for the others), zero-size M/N/K/batch, unaligned buffers (cuBLASLt
// re-selects an algorithm), and int32/int64 (naive only, exact).
//
// Tolerance, per element: the products' magnitude S = sum_k |a_ik||b_kj| + |bias_j| (the reference
// run on absolute values) bounds every rounding: inputs rounded to TF32 (2^-9 relative per
// product, float32 only), float accumulation in another order ((K+2) * 2^-24), and the output
// rounded to its dtype once or twice (when the epilogue runs after the GEMM wrote the output);
// an activation adds its Lipschitz factor (<= 2 for every kind tested).
#include "gpu/cuda_case_util.h"
#include "ops/matmul/matmul.h"

#include <cmath>
#include <sstream>

namespace kiln::testing::matmul_cuda_test {
namespace {

using MatMulCuda = GpuTest;

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

struct Shape {
  Dims a, b;
  bool ta = false, tb = false;
};

struct Epi {
  int bias = 0;  // 0 none, 1 [N], 2 [1]
  std::string act;
  double alpha = 0, beta = 0;
};

std::string describe(const Shape& s, DataType dt, const Epi& e) {
  std::ostringstream o;
  o << dtype_name(dt) << " A" << s.a.to_string() << (s.ta ? "^T" : "") << " B" << s.b.to_string()
    << (s.tb ? "^T" : "") << " bias=" << e.bias << " act=" << (e.act.empty() ? "-" : e.act);
  return o.str();
}

int64_t n_of(const Shape& s) {
  const int r = s.b.rank();
  return r == 1 ? 1 : (s.tb ? s.b[r - 2] : s.b[r - 1]);
}

int64_t k_of(const Shape& s) {
  const int r = s.a.rank();
  return r == 1 ? s.a[0] : (s.ta ? s.a[r - 2] : s.a[r - 1]);
}

OpCase make_case(const Shape& s, DataType dt, const Epi& e, std::mt19937& rng) {
  OpCase c;
  c.op = "MatMul";
  if (s.ta) c.attrs.set("transpose_a", int64_t{1});
  if (s.tb) c.attrs.set("transpose_b", int64_t{1});
  if (!e.act.empty()) {
    c.attrs.set("activation", e.act);
    c.attrs.set("activation_alpha", e.alpha);
    c.attrs.set("activation_beta", e.beta);
  }
  const double lo = is_integer(dt) ? -100 : -1, hi = -lo;
  c.inputs.push_back(random_tensor(dt, s.a, rng, lo, hi));
  c.inputs.push_back(random_tensor(dt, s.b, rng, lo, hi));
  if (e.bias) c.inputs.push_back(random_tensor(dt, Dims{e.bias == 1 ? n_of(s) : 1}, rng, lo, hi));
  return c;
}

// |x| as float32.
HostTensor abs_f32(const HostTensor& t) {
  HostTensor r(DataType::kFloat32, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i)
    r.as<float>()[i] = std::fabs(static_cast<float>(t.get_double(i)));
  return r;
}

// S per output element: the reference on absolute values, without the activation.
HostTensor magnitude(const OpCase& c) {
  OpCase m;
  m.op = "MatMul";
  for (const char* a : {"transpose_a", "transpose_b"}) {
    if (c.attrs.has(a)) m.attrs.set(a, c.attrs.get_int(a));
  }
  for (const HostTensor& t : c.inputs) m.inputs.push_back(abs_f32(t));
  auto r = run_reference_case(m);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? (*r)[0] : HostTensor();
}

double output_ulp(DataType dt) {
  switch (dt) {
    case DataType::kFloat16:
      return std::ldexp(1.0, -10);
    case DataType::kBFloat16:
      return std::ldexp(1.0, -7);
    default:
      return std::ldexp(1.0, -23);
  }
}

::testing::AssertionResult within_bound(const HostTensor& got, const HostTensor& want,
                                        const HostTensor& mag, DataType dt, int64_t k, bool act,
                                        bool tf32 = true) {
  if (!(got.shape() == want.shape())) {
    return ::testing::AssertionFailure()
           << "shape " << got.shape().to_string() << " != " << want.shape().to_string();
  }
  const double lip = act ? 2.0 : 1.0;
  const double eps = (dt == DataType::kFloat32 && tf32 ? std::ldexp(1.0, -9) : 0.0) +
                     static_cast<double>(k + 2) * std::ldexp(1.0, -24);
  const double ulp = output_ulp(dt);
  int64_t bad = 0;
  std::ostringstream misses;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.get_double(i), w = want.get_double(i), s = mag.get_double(i);
    const double tol = lip * (eps + 2 * ulp) * s + 4 * ulp * std::fabs(w) + 1e-6;
    const bool ok = (std::isnan(g) && std::isnan(w)) || std::fabs(g - w) <= tol;
    if (!ok) {
      if (bad < 5) misses << " [" << i << "] got " << g << " want " << w << " tol " << tol << ";";
      ++bad;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << got.numel() << " differ:" << misses.str();
}

// Runs every supporting tactic and compares; returns the tactic ids that ran.
std::vector<std::string> check_case(const Shape& s, DataType dt, const Epi& e, std::mt19937& rng,
                                    Device* device, cudaStream_t stream,
                                    const CudaRunOptions& options = {}) {
  const std::string what = describe(s, dt, e);
  OpCase c = make_case(s, dt, e, rng);
  auto want = run_reference_case(c);
  EXPECT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  if (!want.is_ok()) return {};
  auto runs = run_cuda_tactics(c, device, stream, options);
  EXPECT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  if (!runs.is_ok()) return {};
  if (is_integer(dt)) {
    for (const auto& r : *runs) {
      EXPECT_TRUE(all_close(r.outputs[0], (*want)[0], 0, 0)) << what << " " << r.tactic;
    }
    return tactic_ids(*runs);
  }
  const HostTensor mag = magnitude(c);
  for (const auto& r : *runs) {
    EXPECT_TRUE(
        within_bound(r.outputs[0], (*want)[0], mag, dt, k_of(s), !e.act.empty(), options.tf32))
        << what << " " << r.tactic;
  }
  EXPECT_TRUE(ran(*runs, "/naive")) << what;
  EXPECT_TRUE(ran(*runs, "/gemm_strided_batched")) << what;
  return tactic_ids(*runs);
}

bool has_lt(const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (id.find("/lt_heuristic_") != std::string::npos) return true;
  }
  return false;
}

TEST(MatMulCudaRegistry, TenTacticsOfThreeSources) {
  auto tactics = ops::cuda_tactics("MatMul");
  ASSERT_EQ(tactics.size(), 10u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(tactics[i].name, "lt_heuristic_" + std::to_string(i));
    EXPECT_EQ(tactics[i].source, TacticSource::kCublasLt);
  }
  EXPECT_EQ(tactics[8].name, "gemm_strided_batched");
  EXPECT_EQ(tactics[8].source, TacticSource::kCublas);
  EXPECT_EQ(tactics[9].name, "naive");
  EXPECT_EQ(tactics[9].source, TacticSource::kKilnCuda);
}

TEST_F(MatMulCuda, TwoDimensionalEveryTransposeEveryDtype) {
  std::mt19937 rng(91);
  const int64_t sizes[][3] = {{1, 1, 1},      {7, 13, 5},   {64, 64, 64},
                              {129, 67, 200}, {1, 300, 17}, {33, 1, 100}};
  for (DataType dt : kFloatTypes) {
    for (const auto& mnk : sizes) {
      const int64_t m = mnk[0], n = mnk[1], k = mnk[2];
      for (int t = 0; t < 4; ++t) {
        Shape s;
        s.ta = t & 1;
        s.tb = t & 2;
        s.a = s.ta ? Dims{k, m} : Dims{m, k};
        s.b = s.tb ? Dims{n, k} : Dims{k, n};
        auto ids = check_case(s, dt, {}, rng, device(), stream());
        EXPECT_TRUE(has_lt(ids)) << describe(s, dt, {});
      }
    }
  }
}

TEST_F(MatMulCuda, OneDimensionalOperands) {
  std::mt19937 rng(92);
  for (DataType dt : kFloatTypes) {
    for (const Shape& s :
         {Shape{Dims{17}, Dims{17, 9}}, Shape{Dims{6, 17}, Dims{17}}, Shape{Dims{40}, Dims{40}},
          Shape{Dims{3, 5, 17}, Dims{17}}, Shape{Dims{17}, Dims{4, 17, 6}},
          Shape{Dims{17}, Dims{9, 17}, false, true}}) {
      check_case(s, dt, {}, rng, device(), stream());
      check_case(s, dt, {1, "relu"}, rng, device(), stream());
    }
  }
}

TEST_F(MatMulCuda, BatchesAndBroadcastBatches) {
  std::mt19937 rng(93);
  const std::vector<Shape> shapes = {
      {Dims{3, 20, 24}, Dims{24, 16}},                        // folds into M = 60
      {Dims{3, 24, 20}, Dims{24, 16}, true, false},           // transposed A: strided, B stride 0
      {Dims{20, 24}, Dims{4, 24, 16}},                        // A stride 0
      {Dims{2, 3, 20, 24}, Dims{2, 3, 16, 24}, false, true},  // dense batch, B transposed
      {Dims{2, 1, 20, 24}, Dims{1, 3, 24, 16}},               // loop over 2 calls of 3
      {Dims{5, 1, 9, 8}, Dims{4, 8, 7}},                      // loop over 5 calls of 4
      {Dims{2, 1, 3, 9, 8}, Dims{2, 4, 1, 8, 7}},             // loop over 8 calls of 3
      {Dims{1, 1, 9, 8}, Dims{1, 8, 7}},                      // extent-1 batch dims only
  };
  for (DataType dt : kFloatTypes) {
    for (const Shape& s : shapes) {
      // cuBLASLt runs where it has an algorithm (stride-0 batches included, as far as the
      // library supports them); cuBLAS and the naive kernel always do.
      check_case(s, dt, {}, rng, device(), stream());
      check_case(s, dt, {1, "gelu_tanh"}, rng, device(), stream());
    }
  }
}

TEST_F(MatMulCuda, BiasAndEveryActivation) {
  std::mt19937 rng(94);
  const std::vector<Epi> epilogues = {{1, ""},
                                      {2, ""},
                                      {1, "relu"},
                                      {0, "relu"},
                                      {1, "gelu_tanh"},
                                      {0, "gelu_tanh"},
                                      {2, "gelu_tanh"},
                                      {1, "gelu_erf"},
                                      {0, "sigmoid"},
                                      {1, "tanh"},
                                      {1, "leaky_relu", 0.1},
                                      {1, "elu", 0.7},
                                      {1, "selu", 1.67326, 1.0507},
                                      {1, "softplus"},
                                      {1, "clip", -0.5, 0.8},
                                      {1, "silu"},
                                      {1, "hard_sigmoid", 0.2, 0.5},
                                      {2, "hard_swish"},
                                      {1, "celu", 0.8},
                                      {1, "mish"},
                                      {2, "softsign"}};
  // (thresholded_relu is left out: it jumps at alpha, so a rounding difference in the product
  // next to the threshold changes the output by alpha.)
  for (DataType dt : kFloatTypes) {
    for (const Epi& e : epilogues) {
      for (const Shape& s :
           {Shape{Dims{37, 29}, Dims{29, 45}}, Shape{Dims{2, 8, 16}, Dims{2, 24, 16}, false, true},
            Shape{Dims{5, 3}, Dims{3, 1}}}) {
        auto ids = check_case(s, dt, e, rng, device(), stream());
        EXPECT_TRUE(has_lt(ids)) << describe(s, dt, e);
      }
    }
  }
}

TEST_F(MatMulCuda, ZeroSize) {
  std::mt19937 rng(95);
  for (DataType dt : kFloatTypes) {
    for (const Shape& s : {Shape{Dims{0, 5}, Dims{5, 7}}, Shape{Dims{4, 5}, Dims{5, 0}},
                           Shape{Dims{4, 0}, Dims{0, 7}}, Shape{Dims{0, 4, 5}, Dims{5, 7}},
                           Shape{Dims{3, 4, 0}, Dims{1, 0, 7}}}) {
      // K = 0 gives act(bias) (or zeros); the others an empty output.
      check_case(s, dt, {}, rng, device(), stream());
      check_case(s, dt, {1, "sigmoid"}, rng, device(), stream());
    }
  }
}

TEST_F(MatMulCuda, UnalignedBuffers) {
  std::mt19937 rng(96);
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  for (DataType dt : kFloatTypes) {
    for (const Shape& s : {Shape{Dims{33, 40}, Dims{40, 24}}, Shape{Dims{3, 16, 8}, Dims{8, 32}},
                           Shape{Dims{2, 9, 8}, Dims{2, 7, 8}, false, true}}) {
      auto ids = check_case(s, dt, {1, "relu"}, rng, device(), stream(), misaligned);
      EXPECT_TRUE(has_lt(ids)) << describe(s, dt, {});
    }
  }
}

TEST_F(MatMulCuda, LargerProblem) {
  std::mt19937 rng(97);
  for (DataType dt : kFloatTypes) {
    check_case(Shape{Dims{2, 300, 520}, Dims{520, 260}}, dt, {1, "gelu_erf"}, rng, device(),
               stream());
  }
}

// BuilderFlag::kTf32 decides whether float32 GEMMs run on TF32 tensor cores. Every input is
// 1 + 2^-13, which TF32 (10 mantissa bits) rounds to 1: over K = 64 a TF32 GEMM gives 64 instead
// of 64 * (1 + 2^-13)^2 (off by 0.0156), full FP32 is exact to a few float ulps.
TEST_F(MatMulCuda, Tf32FlagDecidesTheFloat32Precision) {
  const float v = 1.0f + std::ldexp(1.0f, -13);
  const double exact = 64.0 * static_cast<double>(v) * static_cast<double>(v);
  OpCase c;
  c.op = "MatMul";
  c.inputs.emplace_back(DataType::kFloat32, Dims{8, 64});
  c.inputs.emplace_back(DataType::kFloat32, Dims{64, 16});
  for (auto& t : c.inputs) std::fill(t.as<float>(), t.as<float>() + t.numel(), v);
  for (bool tf32 : {false, true}) {
    CudaRunOptions options;
    options.tf32 = tf32;
    auto runs = run_cuda_tactics(c, device(), stream(), options);
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    int library_tactics = 0;
    for (const auto& r : *runs) {
      const bool library = r.tactic.find("/naive") == std::string::npos;
      library_tactics += library ? 1 : 0;
      for (int64_t i = 0; i < r.outputs[0].numel(); ++i) {
        const double err = std::fabs(r.outputs[0].get_double(i) - exact);
        if (tf32 && library) {
          EXPECT_GT(err, 0.01) << r.tactic << ": TF32 allowed but the result is full FP32";
        } else {
          EXPECT_LT(err, 1e-4) << r.tactic << (tf32 ? "" : " without TF32") << " [" << i << "]";
        }
        if (::testing::Test::HasFailure()) break;
      }
    }
    EXPECT_GE(library_tactics, 2) << "cuBLAS and cuBLASLt tactics must run";
  }
}

TEST_F(MatMulCuda, IntegersRunOnlyTheNaiveKernel) {
  std::mt19937 rng(98);
  for (DataType dt : {DataType::kInt32, DataType::kInt64}) {
    for (const Shape& s :
         {Shape{Dims{7, 13}, Dims{13, 5}}, Shape{Dims{2, 1, 8, 9}, Dims{3, 8, 7}, true, false},
          Shape{Dims{13}, Dims{5, 13}, false, true}, Shape{Dims{4, 0}, Dims{0, 3}}}) {
      auto ids = check_case(s, dt, {1, ""}, rng, device(), stream());
      ASSERT_EQ(ids.size(), 1u) << describe(s, dt, {});
      EXPECT_EQ(ids[0], "MatMul/kiln-cuda/naive");
    }
  }
}

}  // namespace
}  // namespace kiln::testing::matmul_cuda_test

namespace kiln::testing::matmul_cuda_test {
namespace {

// BERT's FFN input GEMM: bias in cuBLASLt's epilogue, gelu_erf in kiln's epilogue kernel after
// it, on 16-byte vectors when N is a multiple of the vector width and the buffers are aligned;
// element by element otherwise.
TEST_F(MatMulCuda, GeluErfEpilogueVectorAndScalar) {
  std::mt19937 rng(97);
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  for (DataType dt : kFloatTypes) {
    for (const Shape& s :
         {Shape{Dims{2, 64, 96}, Dims{96, 384}}, Shape{Dims{70, 96}, Dims{96, 250}}}) {
      check_case(s, dt, {1, "gelu_erf"}, rng, device(), stream());
      check_case(s, dt, {0, "gelu_erf"}, rng, device(), stream());
      check_case(s, dt, {1, "gelu_erf"}, rng, device(), stream(), misaligned);
    }
  }
}

}  // namespace
}  // namespace kiln::testing::matmul_cuda_test
