// Attention CUDA tactics (flash_mma, flash_wmma and their _q16 forms (16-row blocks) on tensor
// cores for float16 / bfloat16; cublas_batched (cuBLAS GEMMs around a kiln softmax) and simt for
// every float dtype) against the CPU reference: every layout, head dims 16..128 (and odd ones for
// simt and cuBLAS), query / key counts around the 64-row tiles and odd ones (1, 7, 129), Sq != Sk,
// float and bool masks with broadcasting, fully masked rows with and without nan_to_zero, a finite
// mask_fill, misaligned buffers (scalar tile loads; cuBLAS's per-lead-dim loop), zero-size tensors,
// Sk = 0, long sequences (the block-per-row softmax past 1024 keys), and capture into a CUDA graph.
// float32 runs with TF32 off (BuilderFlag::kTf32 cleared) so that cublas_batched computes in full
// FP32 and meets the float32 tolerance; the TF32 tests check that the flag switches it to TF32 and
// bound its error (see Tf32ErrorWithinItsBound).
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"

#include <cmath>
#include <limits>

namespace kiln::testing::attention_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

// flash_wmma rounds the probabilities to the input type before P·V (as flash attention does):
// up to one 16-bit rounding per weight on top of the output's rounding.
Tol attention_tol(DataType dt) {
  switch (dt) {
    case DataType::kFloat16:
      return {2e-3, 4e-3};
    case DataType::kBFloat16:
      return {1.6e-2, 1.6e-2};
    default:
      return {1e-5, 1e-4};
  }
}

// float32 in full FP32 (TF32 off): every tactic meets attention_tol(kFloat32).
CudaRunOptions options_for(DataType dt, CudaRunOptions o = {}) {
  if (dt == DataType::kFloat32) o.tf32 = false;
  return o;
}

struct Sizes {
  int64_t b, h, sq, sk, d, dv;
};

struct Layouts {
  std::string q = "bhsd", k = "bhsd", v = "bhsd", y = "bhsd";
};

Dims layout_shape(const std::string& layout, int64_t b, int64_t h, int64_t s, int64_t e) {
  if (layout == "bhsd") return Dims{b, h, s, e};
  if (layout == "bhds") return Dims{b, h, e, s};
  if (layout == "bshd") return Dims{b, s, h, e};
  return Dims{b, s, h * e};
}

// Flat index of logical element (b, h, s, e) of a tensor in `layout` (H heads, S rows, E head dim).
int64_t layout_index(const std::string& layout, int64_t h_count, int64_t s_count, int64_t e_count,
                     int64_t b, int64_t h, int64_t s, int64_t e) {
  if (layout == "bhsd") return ((b * h_count + h) * s_count + s) * e_count + e;
  if (layout == "bhds") return ((b * h_count + h) * e_count + e) * s_count + s;
  return ((b * s_count + s) * h_count + h) * e_count + e;  // bshd and bsd
}

OpCase attention_case(const Sizes& n, const Layouts& l, DataType dt, std::mt19937& rng,
                      HostTensor mask = {}, double range = 2) {
  OpCase c;
  c.op = "Attention";
  c.attrs.set("q_layout", l.q);
  c.attrs.set("k_layout", l.k);
  c.attrs.set("v_layout", l.v);
  c.attrs.set("y_layout", l.y);
  c.attrs.set("num_heads", n.h);
  c.inputs.push_back(random_tensor(dt, layout_shape(l.q, n.b, n.h, n.sq, n.d), rng, -range, range));
  c.inputs.push_back(random_tensor(dt, layout_shape(l.k, n.b, n.h, n.sk, n.d), rng, -range, range));
  c.inputs.push_back(
      random_tensor(dt, layout_shape(l.v, n.b, n.h, n.sk, n.dv), rng, -range, range));
  if (!mask.empty()) c.inputs.push_back(std::move(mask));
  return c;
}

std::string describe(const Sizes& n, const Layouts& l, DataType dt) {
  return std::string(dtype_name(dt)) + " " + l.q + "/" + l.k + "/" + l.v + "/" + l.y + " b" +
         std::to_string(n.b) + " h" + std::to_string(n.h) + " sq" + std::to_string(n.sq) + " sk" +
         std::to_string(n.sk) + " d" + std::to_string(n.d) + " dv" + std::to_string(n.dv);
}

bool contains(const std::vector<std::string>& ids, const std::string& suffix) {
  for (const auto& id : ids) {
    if (id.size() >= suffix.size() &&
        id.compare(id.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

using AttentionCuda = GpuTest;

TEST(AttentionCudaRegistry, FlashCublasAndSimt) {
  auto t = ops::cuda_tactics("Attention");
  ASSERT_EQ(t.size(), 6u);
  const char* names[] = {"flash_mma",  "flash_mma_q16",  "cublas_batched",
                         "flash_wmma", "flash_wmma_q16", "simt"};
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t[i].name, names[i]);
    EXPECT_EQ(t[i].source, i == 2 ? TacticSource::kCublas : TacticSource::kKilnCuda) << names[i];
  }
}

TEST_F(AttentionCuda, LayoutsSizesAndDtypes) {
  std::mt19937 rng(1);
  const Layouts layouts[] = {{},
                             {"bhsd", "bhds", "bhsd", "bhsd"},
                             {"bshd", "bshd", "bshd", "bshd"},
                             {"bsd", "bsd", "bsd", "bsd"},
                             {"bsd", "bhds", "bshd", "bhsd"}};
  const Sizes sizes[] = {
      {1, 1, 1, 1, 16, 16},    {2, 3, 70, 130, 64, 64},   {1, 2, 64, 64, 128, 128},
      {2, 2, 5, 200, 32, 48},  {1, 12, 128, 128, 64, 64}, {3, 1, 33, 17, 16, 112},
      {1, 2, 129, 65, 96, 80},
  };
  for (DataType dt : kFloatTypes) {
    for (const Layouts& l : layouts) {
      for (const Sizes& n : sizes) {
        OpCase c = attention_case(n, l, dt, rng);
        c.attrs.set("scale", 1.0 / std::sqrt(static_cast<double>(n.d)));
        auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(dt), describe(n, l, dt),
                                      options_for(dt));
        EXPECT_TRUE(contains(ids, "/simt")) << describe(n, l, dt);
        EXPECT_TRUE(contains(ids, "/cublas_batched")) << describe(n, l, dt);
        EXPECT_EQ(contains(ids, "/flash_mma"), dt != DataType::kFloat32) << describe(n, l, dt);
        EXPECT_EQ(contains(ids, "/flash_wmma"), dt != DataType::kFloat32) << describe(n, l, dt);
        EXPECT_EQ(contains(ids, "/flash_mma_q16"), dt != DataType::kFloat32) << describe(n, l, dt);
        EXPECT_EQ(contains(ids, "/flash_wmma_q16"), dt != DataType::kFloat32) << describe(n, l, dt);
      }
    }
  }
}

// kiln's attention kernels alone, every head dim the flash kernels take, masked and unmasked:
// the case set compute-sanitizer racecheck runs (it does not instrument cuBLAS's kernels).
TEST_F(AttentionCuda, KilnKernelsEveryHeadDim) {
  std::mt19937 rng(7);
  CudaRunOptions kiln_only;
  kiln_only.kiln_kernels_only = true;
  for (DataType dt : {DataType::kFloat16, DataType::kBFloat16}) {
    for (int64_t d : {16, 32, 64, 96, 128}) {
      for (bool masked : {false, true}) {
        const Sizes n{2, 2, 70, 130, d, d};
        const Layouts l{};
        HostTensor mask;  // key padding: about one key in seven masked
        if (masked) mask = random_tensor(DataType::kBool, Dims{n.b, 1, 1, n.sk}, rng, -0.15, 1);
        OpCase c = attention_case(n, l, dt, rng, mask);
        c.attrs.set("scale", 1.0 / std::sqrt(static_cast<double>(d)));
        auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(dt),
                                      describe(n, l, dt) + (masked ? " masked" : ""), kiln_only);
        EXPECT_EQ(ids.size(), 5u) << describe(n, l, dt);
        for (const char* t :
             {"/flash_mma", "/flash_mma_q16", "/flash_wmma", "/flash_wmma_q16", "/simt"}) {
          EXPECT_TRUE(contains(ids, t)) << t << " " << describe(n, l, dt);
        }
        EXPECT_FALSE(contains(ids, "/cublas_batched"));
      }
    }
  }
}

TEST_F(AttentionCuda, HeadDimsFlashDoesNotTake) {
  // Head dims 8 and 24 (not multiples of 16), 200 (above 128) and 7 (odd): simt and cuBLAS only.
  std::mt19937 rng(2);
  for (const Sizes& n : {Sizes{2, 2, 9, 13, 8, 8}, Sizes{1, 3, 17, 40, 24, 40},
                         Sizes{1, 1, 5, 70, 200, 16}, Sizes{2, 3, 7, 9, 7, 5}}) {
    for (const Layouts& l : {Layouts{}, Layouts{"bsd", "bsd", "bsd", "bsd"}}) {
      OpCase c = attention_case(n, l, DataType::kFloat16, rng);
      auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(DataType::kFloat16),
                                    describe(n, l, DataType::kFloat16));
      ASSERT_EQ(ids.size(), 2u) << describe(n, l, DataType::kFloat16);
      EXPECT_TRUE(contains(ids, "/cublas_batched"));
      EXPECT_TRUE(contains(ids, "/simt"));
    }
  }
}

TEST_F(AttentionCuda, MasksFloatAndBoolBroadcast) {
  std::mt19937 rng(3);
  const Sizes n{2, 3, 70, 90, 64, 64};
  const Layouts l{"bsd", "bsd", "bsd", "bsd"};
  for (DataType dt : kFloatTypes) {
    for (DataType mdt : {DataType::kFloat32, DataType::kFloat16, DataType::kBool}) {
      for (Dims md :
           {Dims{2, 1, 1, 90}, Dims{2, 1, 70, 90}, Dims{90}, Dims{3, 70, 90}, Dims{2, 3, 70, 90}}) {
        HostTensor mask = mdt == DataType::kBool ? random_tensor(mdt, md, rng, -1, 1)
                                                 : random_tensor(mdt, md, rng, -4, 0);
        if (mdt == DataType::kBool) {
          for (int64_t i = 0; i < mask.numel(); i += 90) mask.as<uint8_t>()[i] = 1;
        }
        OpCase c = attention_case(n, l, dt, rng, mask);
        c.attrs.set("scale", 0.125);
        auto ids = check_cuda_tactics(
            c, device(), stream(), attention_tol(dt),
            describe(n, l, dt) + " mask " + std::string(dtype_name(mdt)) + md.to_string(),
            options_for(dt));
        EXPECT_TRUE(contains(ids, "/cublas_batched"));
      }
    }
  }
}

TEST_F(AttentionCuda, FullyMaskedRowsNanToZeroAndMaskFill) {
  std::mt19937 rng(4);
  const Sizes n{2, 2, 40, 100, 32, 32};
  HostTensor mask = random_tensor(DataType::kBool, Dims{2, 1, 40, 100}, rng, -1, 1);
  for (int64_t j = 0; j < 100; ++j) {
    mask.as<uint8_t>()[3 * 100 + j] = 0;          // batch 0, query 3: every key masked
    mask.as<uint8_t>()[(40 + 39) * 100 + j] = 0;  // batch 1, last query
  }
  for (DataType dt : kFloatTypes) {
    for (int mode = 0; mode < 3; ++mode) {
      OpCase c = attention_case(n, {}, dt, rng, mask);
      c.attrs.set("scale", 0.2);
      if (mode == 1) c.attrs.set("nan_to_zero", int64_t{1});
      if (mode == 2)
        c.attrs.set("mask_fill", static_cast<double>(std::numeric_limits<float>::lowest()));
      auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(dt),
                                    describe(n, {}, dt) + (mode == 0   ? " NaN rows"
                                                           : mode == 1 ? " nan_to_zero"
                                                                       : " mask_fill"),
                                    options_for(dt));
      EXPECT_TRUE(contains(ids, "/cublas_batched"));
    }
  }
}

// Misaligned buffers: flash_wmma's scalar tile loads; cublas_batched's per-lead-dim loop of
// strided calls for "bsd" (its pointer arrays need 16-byte aligned matrices) and cuBLAS's own
// unaligned kernels.
TEST_F(AttentionCuda, MisalignedBuffersTakeTheScalarLoads) {
  std::mt19937 rng(5);
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  for (DataType dt : kFloatTypes) {
    for (const Layouts& l : {Layouts{}, Layouts{"bsd", "bsd", "bsd", "bsd"}}) {
      const Sizes n{2, 2, 65, 70, 64, 64};
      OpCase c = attention_case(n, l, dt, rng);
      auto ids =
          check_cuda_tactics(c, device(), stream(), attention_tol(dt),
                             describe(n, l, dt) + " misaligned", options_for(dt, misaligned));
      EXPECT_EQ(contains(ids, "/flash_mma"), dt != DataType::kFloat32);
      EXPECT_EQ(contains(ids, "/flash_wmma"), dt != DataType::kFloat32);
      EXPECT_EQ(contains(ids, "/flash_mma_q16"), dt != DataType::kFloat32);
      EXPECT_EQ(contains(ids, "/flash_wmma_q16"), dt != DataType::kFloat32);
      EXPECT_TRUE(contains(ids, "/cublas_batched"));
    }
  }
}

TEST_F(AttentionCuda, LongSequences) {
  std::mt19937 rng(6);
  for (DataType dt : {DataType::kFloat16, DataType::kBFloat16}) {
    const Sizes n{1, 2, 300, 1000, 64, 64};
    OpCase c = attention_case(n, {"bsd", "bsd", "bsd", "bsd"}, dt, rng);
    c.attrs.set("scale", 0.125);
    check_cuda_tactics(c, device(), stream(), attention_tol(dt), describe(n, {}, dt));
  }
  // Past 1024 keys cublas_batched's softmax takes a block per row (three passes, P over the
  // scores chunk by chunk); a bool mask with one fully masked row.
  for (DataType dt : kFloatTypes) {
    const Sizes n{2, 2, 33, 2500, 32, 32};
    HostTensor mask = random_tensor(DataType::kBool, Dims{2, 1, 33, 2500}, rng, -0.5, 1);
    for (int64_t j = 0; j < 2500; ++j) mask.as<uint8_t>()[5 * 2500 + j] = 0;
    for (int nz = 0; nz < 2; ++nz) {
      OpCase c = attention_case(n, {}, dt, rng, mask);
      c.attrs.set("scale", 0.15);
      c.attrs.set("nan_to_zero", int64_t{nz});
      auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(dt),
                                    describe(n, {}, dt) + " block rows", options_for(dt));
      EXPECT_TRUE(contains(ids, "/cublas_batched"));
    }
  }
}

// Odd query / key counts (1, 7, 129) with Sq != Sk, batches of several heads (B x H entries
// batched into one cuBLAS call, or pointer arrays for "bsd"), float32 / float16 / bfloat16.
TEST_F(AttentionCuda, OddLengthsAndBatches) {
  std::mt19937 rng(11);
  const int64_t lengths[] = {1, 7, 129};
  for (DataType dt : kFloatTypes) {
    for (const Layouts& l :
         {Layouts{}, Layouts{"bsd", "bsd", "bsd", "bsd"}, Layouts{"bshd", "bhds", "bsd", "bshd"}}) {
      for (int64_t sq : lengths) {
        for (int64_t sk : lengths) {
          const Sizes n{3, 4, sq, sk, 32, 16};
          HostTensor mask = random_tensor(DataType::kFloat32, Dims{3, 1, 1, sk}, rng, -3, 0);
          OpCase c = attention_case(n, l, dt, rng, mask);
          c.attrs.set("scale", 0.3);
          auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(dt),
                                        describe(n, l, dt), options_for(dt));
          EXPECT_TRUE(contains(ids, "/cublas_batched")) << describe(n, l, dt);
        }
      }
    }
  }
}

TEST_F(AttentionCuda, ZeroSizeAndNoKeys) {
  std::mt19937 rng(7);
  for (DataType dt : kFloatTypes) {
    for (const Sizes& n :
         {Sizes{0, 2, 5, 7, 16, 16}, Sizes{2, 2, 0, 7, 16, 16}, Sizes{2, 2, 5, 0, 16, 16}}) {
      OpCase c = attention_case(n, {}, dt, rng);
      auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(dt), describe(n, {}, dt));
      EXPECT_FALSE(ids.empty()) << describe(n, {}, dt);
    }
  }
}

TEST_F(AttentionCuda, RankTwoAndThree) {
  std::mt19937 rng(8);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16}) {
    OpCase c;
    c.op = "Attention";
    c.attrs.set("k_layout", std::string("bhds"));
    c.inputs = {random_tensor(dt, Dims{6, 33, 32}, rng), random_tensor(dt, Dims{6, 32, 70}, rng),
                random_tensor(dt, Dims{6, 70, 16}, rng)};
    auto ids3 =
        check_cuda_tactics(c, device(), stream(), attention_tol(dt), "rank 3", options_for(dt));
    EXPECT_TRUE(contains(ids3, "/cublas_batched"));
    c.inputs = {random_tensor(dt, Dims{33, 32}, rng), random_tensor(dt, Dims{32, 70}, rng),
                random_tensor(dt, Dims{70, 16}, rng)};
    auto ids2 =
        check_cuda_tactics(c, device(), stream(), attention_tol(dt), "rank 2", options_for(dt));
    EXPECT_TRUE(contains(ids2, "/cublas_batched"));
  }
}

TEST_F(AttentionCuda, CapturedInAGraph) {
  std::mt19937 rng(9);
  const Sizes n{2, 12, 128, 128, 64, 64};  // BERT-base heads at seq 128
  HostTensor mask = random_tensor(DataType::kBool, Dims{2, 1, 128, 128}, rng, -1, 1);
  OpCase c = attention_case(n, {"bsd", "bsd", "bsd", "bsd"}, DataType::kFloat16, rng, mask);
  c.attrs.set("scale", 0.125);
  c.attrs.set("nan_to_zero", int64_t{1});
  const Tol t = attention_tol(DataType::kFloat16);
  // flash_mma, flash_mma_q16, cublas_batched (pointer arrays: "bsd"), flash_wmma,
  // flash_wmma_q16 and simt.
  EXPECT_EQ(expect_capturable(c, device(), stream(), t.atol, t.rtol, "bert"), 6);
  // Heads-major bfloat16: cublas_batched's strided calls.
  HostTensor keys = random_tensor(DataType::kBool, Dims{2, 1, 1, 77}, rng, -0.5, 1);
  OpCase h = attention_case({2, 3, 50, 77, 64, 64}, {}, DataType::kBFloat16, rng, keys);
  const Tol tb = attention_tol(DataType::kBFloat16);
  EXPECT_EQ(expect_capturable(h, device(), stream(), tb.atol, tb.rtol, "heads-major"), 6);
}

// BuilderFlag::kTf32 decides whether cublas_batched's float32 GEMMs run on TF32 tensor cores.
// Q = 0 makes every score 0, so P = 1/64 (exact); V = 1 + 2^-13 everywhere, which TF32 (10
// mantissa bits) rounds to 1: Y = 1 + 2^-13 exactly in FP32, 1 on TF32 (off by 1.2e-4).
TEST_F(AttentionCuda, Tf32FlagDecidesTheFloat32Precision) {
  const float v = 1.0f + std::ldexp(1.0f, -13);
  OpCase c;
  c.op = "Attention";
  c.inputs.emplace_back(DataType::kFloat32, Dims{2, 4, 64, 64});
  c.inputs.emplace_back(DataType::kFloat32, Dims{2, 4, 64, 64});
  c.inputs.emplace_back(DataType::kFloat32, Dims{2, 4, 64, 64});
  std::fill(c.inputs[0].as<float>(), c.inputs[0].as<float>() + c.inputs[0].numel(), 0.f);
  std::fill(c.inputs[1].as<float>(), c.inputs[1].as<float>() + c.inputs[1].numel(), 0.5f);
  std::fill(c.inputs[2].as<float>(), c.inputs[2].as<float>() + c.inputs[2].numel(), v);
  for (bool tf32 : {false, true}) {
    CudaRunOptions options;
    options.tf32 = tf32;
    auto runs = run_cuda_tactics(c, device(), stream(), options);
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    bool library = false;
    for (const auto& r : *runs) {
      const bool cublas = r.tactic.find("/cublas_batched") != std::string::npos;
      library = library || cublas;
      double worst = 0;
      for (int64_t i = 0; i < r.outputs[0].numel(); ++i) {
        worst = std::max(worst, std::fabs(r.outputs[0].get_double(i) - static_cast<double>(v)));
      }
      if (tf32 && cublas) {
        EXPECT_GT(worst, 6e-5) << r.tactic << ": TF32 allowed but the result is full FP32";
      } else {
        EXPECT_LT(worst, 1e-6) << r.tactic << (tf32 ? "" : " without TF32");
      }
    }
    EXPECT_TRUE(library) << "cublas_batched must run";
  }
}

// cublas_batched on TF32 (float32 inputs, BuilderFlag::kTf32 on) within the error that TF32
// implies, per output element (the other tactics compute in full FP32: attention_tol).
// With u = 2^-10 (TF32 keeps 10 mantissa bits: rounding or truncating an input is off by < u):
//   scores: each product q·k is off by < (2u + u²)|q||k|, float accumulation adds (D+3)·2^-24 of
//           the same sum, so every z_j is off by at most
//           E = scale · ((2u + u²) + (D+3)·2^-24) · max_j Σ_e |q_e||k_je|  (+1e-6: mask addition)
//   softmax: p~_j / p_j = exp(δ_j) / Σ_k p_k exp(δ_k) lies in [exp(-2E), exp(2E)], so
//           |p~_j - p_j| <= (exp(2E) - 1) · p_j
//   P·V:    P and V rounded to TF32 (2u + u² per product), float accumulation over Sk and the
//           rounding of Y, so with A = Σ_j p_j |v_j| (the reference run on |V|)
//           |Y~ - Y| <= (exp(2E) - 1) · A + exp(2E) · ((2u + u²) + (Sk+2)·2^-24 + 2e-6) · A
//                       + 2^-23 |Y| + 1e-7
TEST_F(AttentionCuda, Tf32ErrorWithinItsBound) {
  std::mt19937 rng(12);
  const double u = std::ldexp(1.0, -10);
  const Layouts layouts[] = {{},
                             {"bhsd", "bhds", "bhsd", "bhsd"},
                             {"bsd", "bsd", "bsd", "bsd"},
                             {"bshd", "bsd", "bhsd", "bsd"}};
  const Sizes sizes[] = {{2, 3, 70, 90, 64, 64}, {1, 12, 128, 128, 64, 64}, {2, 2, 7, 129, 32, 16}};
  int checked = 0;
  for (const Layouts& l : layouts) {
    for (const Sizes& n : sizes) {
      for (bool masked : {false, true}) {
        HostTensor mask;
        if (masked) {
          mask = random_tensor(DataType::kBool, Dims{n.b, 1, n.sq, n.sk}, rng, -0.5, 1);
          for (int64_t j = 0; j < n.sk; ++j) mask.as<uint8_t>()[j] = 0;  // query 0: all masked
        }
        OpCase c = attention_case(n, l, DataType::kFloat32, rng, mask, 1.0);
        const double scale = 1.0 / std::sqrt(static_cast<double>(n.d));
        c.attrs.set("scale", scale);
        if (masked) c.attrs.set("nan_to_zero", int64_t{1});
        const std::string what = describe(n, l, DataType::kFloat32) + (masked ? " masked" : "");
        auto want = run_reference_case(c);
        ASSERT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
        OpCase abs_v = c;
        // HostTensor copies share their bytes: |V| goes into a fresh tensor, or c's V changes too.
        abs_v.inputs[2] =
            HostTensor::from_bytes(c.inputs[2].dtype(), c.inputs[2].shape(), c.inputs[2].data());
        HostTensor& av = abs_v.inputs[2];
        for (int64_t i = 0; i < av.numel(); ++i) av.as<float>()[i] = std::fabs(av.as<float>()[i]);
        auto mag = run_reference_case(abs_v);
        ASSERT_TRUE(mag.is_ok()) << what << ": " << mag.status().to_string();
        auto runs = run_cuda_tactics(c, device(), stream());  // TF32 allowed (the default)
        ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
        const HostTensor& q = c.inputs[0];
        const HostTensor& k = c.inputs[1];
        const HostTensor& w = (*want)[0];
        const HostTensor& a = (*mag)[0];
        for (const CudaTacticRun& r : *runs) {
          const HostTensor& got = r.outputs[0];
          if (r.tactic.find("/cublas_batched") == std::string::npos) {
            const Tol t = attention_tol(DataType::kFloat32);
            EXPECT_TRUE(all_close(got, w, t.atol, t.rtol)) << what << " " << r.tactic;
            continue;
          }
          ++checked;
          int64_t bad = 0;
          std::string first;
          for (int64_t b = 0; b < n.b; ++b) {
            for (int64_t h = 0; h < n.h; ++h) {
              for (int64_t i = 0; i < n.sq; ++i) {
                double most = 0;
                for (int64_t j = 0; j < n.sk; ++j) {
                  double sum = 0;
                  for (int64_t e = 0; e < n.d; ++e) {
                    sum += std::fabs(q.get_double(layout_index(l.q, n.h, n.sq, n.d, b, h, i, e)) *
                                     k.get_double(layout_index(l.k, n.h, n.sk, n.d, b, h, j, e)));
                  }
                  most = std::max(most, sum);
                }
                const double big_e =
                    scale * ((2 * u + u * u) + (n.d + 3) * std::ldexp(1.0, -24)) * most + 1e-6;
                const double grow = std::exp(2 * big_e);
                const double rel = (grow - 1) + grow * ((2 * u + u * u) +
                                                        (n.sk + 2) * std::ldexp(1.0, -24) + 2e-6);
                for (int64_t e = 0; e < n.dv; ++e) {
                  const int64_t at = layout_index(l.y, n.h, n.sq, n.dv, b, h, i, e);
                  const double g = got.get_double(at), x = w.get_double(at);
                  const double bound =
                      rel * a.get_double(at) + std::ldexp(1.0, -23) * std::fabs(x) + 1e-7;
                  const bool ok = (std::isnan(g) && std::isnan(x)) || std::fabs(g - x) <= bound;
                  if (!ok && bad++ == 0) {
                    first = "(" + std::to_string(b) + "," + std::to_string(h) + "," +
                            std::to_string(i) + "," + std::to_string(e) + ") got " +
                            std::to_string(g) + " want " + std::to_string(x) + " bound " +
                            std::to_string(bound);
                  }
                }
              }
            }
          }
          EXPECT_EQ(bad, 0) << what << " " << r.tactic << ": first " << first;
        }
      }
    }
  }
  EXPECT_EQ(checked, 24);
}

}  // namespace
}  // namespace kiln::testing::attention_cuda_test

namespace kiln::testing::attention_cuda_test {
namespace {

// qkv_packed: Q, K and V are column blocks of [B, S, 3*H*D] rows (one GEMM's output).
TEST_F(AttentionCuda, PackedQkv) {
  std::mt19937 rng(10);
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  for (DataType dt : kFloatTypes) {
    for (const Sizes& n : {Sizes{2, 12, 128, 128, 64, 64}, Sizes{1, 3, 70, 70, 32, 32}}) {
      HostTensor packed = random_tensor(dt, Dims{n.b, n.sq, 3 * n.h * n.d}, rng, -2, 2);
      OpCase c;
      c.op = "Attention";
      for (const char* a : {"q_layout", "k_layout", "v_layout", "y_layout"}) {
        c.attrs.set(a, std::string("bsd"));
      }
      c.attrs.set("num_heads", n.h);
      c.attrs.set("qkv_packed", int64_t{1});
      c.attrs.set("scale", 1.0 / std::sqrt(static_cast<double>(n.d)));
      c.attrs.set("nan_to_zero", int64_t{1});
      HostTensor mask = random_tensor(DataType::kBool, Dims{n.b, 1, n.sq, n.sk}, rng, -1, 1);
      c.inputs = {packed, packed, packed, mask};
      const std::string what = "packed " + describe(n, {}, dt);
      auto ids =
          check_cuda_tactics(c, device(), stream(), attention_tol(dt), what, options_for(dt));
      EXPECT_EQ(contains(ids, "/flash_mma"), dt != DataType::kFloat32) << what;
      EXPECT_EQ(contains(ids, "/flash_wmma"), dt != DataType::kFloat32) << what;
      EXPECT_TRUE(contains(ids, "/cublas_batched")) << what;
      check_cuda_tactics(c, device(), stream(), attention_tol(dt), what + " misaligned",
                         options_for(dt, misaligned));
    }
  }
}

}  // namespace
}  // namespace kiln::testing::attention_cuda_test
