// Einsum CUDA tactics (cuBLAS strided-batched GEMM for matrix-product equations, the kiln generic
// kernel for every equation) against the CPU reference: matrix products in every operand layout
// (in place, transposed, permuted), products whose output needs a permutation, several batch / k
// labels, ellipses, dot and outer products, implicit outputs, diagonals, single-operand sums and
// permutations, three operands, broadcasting, float32 / float16 / bfloat16 and int32 / int64,
// empty sums (k = 0) and empty outputs, unaligned buffers, and a CUDA graph capture.
//
// Float tolerances scale with the magnitude of each sum (the reference on |inputs|,
// magnitude_check.h). cuBLAS's float32 runs may use TF32 tensor cores (kiln's kTf32 is on by
// default): about 1e-3 of the magnitude.
#include "gpu/cuda_case_util.h"
#include "gpu/magnitude_check.h"

namespace kiln::testing::einsum_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};
const std::string kGeneric = "Einsum/kiln-cuda/generic";
const std::string kCublas = "Einsum/cublas/cublas_gemm";

OpCase einsum_case(const std::string& eq, const std::vector<HostTensor>& inputs) {
  OpCase c;
  c.op = "Einsum";
  c.attrs.set("equation", eq);
  c.inputs = inputs;
  return c;
}

MagnitudeTol tol_for(const std::string& tactic, DataType dt) {
  const bool cublas = tactic == kCublas;
  switch (dt) {
    case DataType::kFloat32:
      return {cublas ? 3e-3 : 2e-5, 1e-6, 1e-6};
    case DataType::kFloat16:
      return {cublas ? 1.5e-3 : 2e-5, 2e-3, 1e-5};
    default:
      return {cublas ? 8e-3 : 2e-5, 1.6e-2, 1e-5};
  }
}

struct Eq {
  std::string equation;
  std::vector<Dims> shapes;
  bool gemm;  // a matrix product cuBLAS takes
};

const Eq kEquations[] = {
    {"ij,jk->ik", {{3, 4}, {4, 5}}, true},
    {"bij,bjk->bik", {{2, 3, 4}, {2, 4, 5}}, true},
    {"bij,bkj->bik", {{2, 3, 4}, {2, 5, 4}}, true},
    {"ji,jk->ik", {{4, 3}, {4, 5}}, true},
    {"ji,kj->ik", {{4, 3}, {5, 4}}, true},
    {"ik,kj->ji", {{3, 4}, {4, 5}}, true},
    {"bhqd,bhkd->bhqk", {{2, 3, 5, 8}, {2, 3, 6, 8}}, true},
    {"bqhd,bkhd->bhqk", {{2, 5, 3, 8}, {2, 6, 3, 8}}, true},
    {"bhqk,bkhd->bqhd", {{2, 3, 5, 6}, {2, 6, 3, 8}}, true},
    {"ijk,jkl->il", {{3, 4, 5}, {4, 5, 6}}, true},
    {"bij,jk->bik", {{2, 3, 4}, {4, 5}}, true},
    {"ij,j->i", {{3, 4}, {4}}, true},
    {"i,i->", {{7}, {7}}, true},
    {"i,j->ij", {{3}, {4}}, true},
    {"ij,ij->ij", {{3, 4}, {3, 4}}, true},
    {"...ij,...jk->...ik", {{2, 3, 4, 5}, {2, 3, 5, 6}}, true},
    {"ij,jk", {{3, 4}, {4, 5}}, true},
    {"ba,cb", {{4, 3}, {5, 4}}, true},
    {"ii->i", {{5, 5}}, false},
    {"ii", {{5, 5}}, false},
    {"ij->ji", {{3, 4}}, false},
    {"ij->", {{3, 4}}, false},
    {"ijk->kij", {{2, 3, 4}}, false},
    {"ij,jk,kl->il", {{3, 4}, {4, 5}, {5, 6}}, false},
    {"ij,ij->ij", {{3, 4}, {1, 4}}, false},
    {"...j,j->...", {{2, 3, 4}, {4}}, true},
    {"bij,bjk->bik", {{1, 3, 4}, {2, 4, 5}}, false},
    {"ii,ij->j", {{4, 4}, {4, 3}}, false},
    {"abc,cd,de->abe", {{2, 3, 4}, {4, 2}, {2, 3}}, false},
};

std::string describe(const Eq& e, DataType dt) {
  std::string s = std::string(dtype_name(dt)) + " '" + e.equation + "'";
  for (const Dims& d : e.shapes) s += " " + d.to_string();
  return s;
}

std::vector<HostTensor> random_inputs(const Eq& e, DataType dt, std::mt19937& rng) {
  std::vector<HostTensor> in;
  for (const Dims& d : e.shapes) {
    in.push_back(is_floating(dt) ? random_tensor(dt, d, rng, -1, 1)
                                 : random_tensor(dt, d, rng, -9, 9));
  }
  return in;
}

std::vector<std::string> check_float(const Eq& e, DataType dt, Device* device, cudaStream_t stream,
                                     std::mt19937& rng) {
  OpCase c = einsum_case(e.equation, random_inputs(e, dt, rng));
  return check_with_magnitude(
      c, abs_inputs(c), device, stream, [&](const std::string& id) { return tol_for(id, dt); },
      describe(e, dt));
}

using EinsumCuda = GpuTest;

TEST(EinsumCudaRegistry, CublasThenGeneric) {
  auto t = ops::cuda_tactics("Einsum");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "cublas_gemm");
  EXPECT_EQ(t[0].source, TacticSource::kCublas);
  EXPECT_EQ(t[1].name, "generic");
  EXPECT_EQ(t[1].source, TacticSource::kKilnCuda);
}

TEST_F(EinsumCuda, EquationsEveryFloatDtype) {
  std::mt19937 rng(1);
  for (DataType dt : kFloatTypes) {
    for (const Eq& e : kEquations) {
      auto ids = check_float(e, dt, device(), stream(), rng);
      EXPECT_TRUE(ran_tactic(ids, kGeneric)) << describe(e, dt);
      EXPECT_EQ(ran_tactic(ids, kCublas), e.gemm) << describe(e, dt);
    }
  }
}

TEST_F(EinsumCuda, IntegersExact) {
  std::mt19937 rng(2);
  for (DataType dt : {DataType::kInt32, DataType::kInt64}) {
    for (const Eq& e : kEquations) {
      auto runs = expect_exact(einsum_case(e.equation, random_inputs(e, dt, rng)), device(),
                               stream(), describe(e, dt));
      ASSERT_EQ(runs.size(), 1u) << describe(e, dt);  // the generic kernel only
      EXPECT_EQ(runs[0].tactic, kGeneric);
    }
  }
  // int32 products wrap like the reference's 64-bit arithmetic truncated to 32 bits.
  HostTensor a = make_tensor(DataType::kInt32, {2, 2}, {2000000000, 3, -2000000000, 7});
  HostTensor b = make_tensor(DataType::kInt32, {2, 2}, {3, 1, 5, -1});
  expect_exact(einsum_case("ij,jk->ik", {a, b}), device(), stream(), "int32 wrap");
}

TEST_F(EinsumCuda, LargerProducts) {
  std::mt19937 rng(3);
  const Eq big[] = {
      {"bij,bjk->bik", {{4, 64, 128}, {4, 128, 96}}, true},
      {"bhqd,bhkd->bhqk", {{2, 4, 33, 64}, {2, 4, 47, 64}}, true},
      {"bhqk,bhkd->bhqd", {{2, 4, 33, 47}, {2, 4, 47, 64}}, true},
      {"ik,jk->ij", {{100, 300}, {70, 300}}, true},
      {"ij,jk->ki", {{65, 257}, {257, 31}}, true},
  };
  for (DataType dt : kFloatTypes) {
    for (const Eq& e : big) {
      auto ids = check_float(e, dt, device(), stream(), rng);
      EXPECT_TRUE(ran_tactic(ids, kCublas)) << describe(e, dt);
    }
  }
}

TEST_F(EinsumCuda, EmptySumsAndOutputs) {
  std::mt19937 rng(4);
  const Eq empty[] = {
      {"ij,jk->ik", {{3, 0}, {0, 5}}, true},  // k = 0: zeros
      {"ij,jk->ik", {{0, 4}, {4, 5}}, true},  // empty output
      {"bij,bjk->bik", {{2, 3, 0}, {2, 0, 4}}, true},
      {"ij->i", {{3, 0}}, false},  // empty sum
      {"ij,jk,kl->il", {{2, 0}, {0, 3}, {3, 2}}, false},
  };
  for (DataType dt : kFloatTypes) {
    for (const Eq& e : empty) {
      auto ids = check_float(e, dt, device(), stream(), rng);
      EXPECT_TRUE(ran_tactic(ids, kGeneric)) << describe(e, dt);
    }
  }
  expect_exact(einsum_case("ij,jk->ik", {HostTensor(DataType::kInt64, {2, 0}),
                                         HostTensor(DataType::kInt64, {0, 3})}),
               device(), stream(), "int64 k = 0");
}

TEST_F(EinsumCuda, UnalignedAndCapture) {
  std::mt19937 rng(5);
  const Eq e = {"bij,bkj->bki", {{2, 5, 7}, {2, 3, 7}}, true};
  for (DataType dt : kFloatTypes) {
    OpCase c = einsum_case(e.equation, random_inputs(e, dt, rng));
    CudaRunOptions o;
    o.misalign_elements = 1;
    auto runs = run_cuda_tactics(c, device(), stream(), o);
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    auto want = run_reference_case(c);
    auto mag = run_reference_case(abs_inputs(c));
    ASSERT_TRUE(want.is_ok() && mag.is_ok());
    EXPECT_EQ(runs->size(), 2u);
    for (const CudaTacticRun& r : *runs) {
      EXPECT_EQ(compare_with_magnitude(r.outputs[0], (*want)[0], (*mag)[0], tol_for(r.tactic, dt)),
                "")
          << describe(e, dt) << " misaligned " << r.tactic;
    }
  }
  OpCase c = einsum_case(e.equation, random_inputs(e, DataType::kFloat32, rng));
  // |sums| are below 7: TF32's error stays under 2e-2.
  EXPECT_EQ(expect_capturable(c, device(), stream(), 2e-2, 1e-2, "einsum"), 2);
}

}  // namespace
}  // namespace kiln::testing::einsum_cuda_test
