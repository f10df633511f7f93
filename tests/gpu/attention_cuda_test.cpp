// Attention CUDA tactics (flash_wmma on tensor cores for float16 / bfloat16, simt for every float
// dtype) against the CPU reference: every layout, head dims 16..128 (and odd ones for simt),
// query / key counts around the 64-row tiles, float and bool masks with broadcasting, fully
// masked rows with and without nan_to_zero, a finite mask_fill, misaligned buffers (scalar tile
// loads), zero-size tensors, Sk = 0, long sequences, and capture into a CUDA graph.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"

#include <limits>

namespace kiln::testing {
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

OpCase attention_case(const Sizes& n, const Layouts& l, DataType dt, std::mt19937& rng,
                      HostTensor mask = {}) {
  OpCase c;
  c.op = "Attention";
  c.attrs.set("q_layout", l.q);
  c.attrs.set("k_layout", l.k);
  c.attrs.set("v_layout", l.v);
  c.attrs.set("y_layout", l.y);
  c.attrs.set("num_heads", n.h);
  c.inputs.push_back(random_tensor(dt, layout_shape(l.q, n.b, n.h, n.sq, n.d), rng, -2, 2));
  c.inputs.push_back(random_tensor(dt, layout_shape(l.k, n.b, n.h, n.sk, n.d), rng, -2, 2));
  c.inputs.push_back(random_tensor(dt, layout_shape(l.v, n.b, n.h, n.sk, n.dv), rng, -2, 2));
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

TEST(AttentionCudaRegistry, FlashAndSimt) {
  auto t = ops::cuda_tactics("Attention");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "flash_wmma");
  EXPECT_EQ(t[1].name, "simt");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
  EXPECT_EQ(t[1].source, TacticSource::kKilnCuda);
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
        auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(dt), describe(n, l, dt));
        EXPECT_TRUE(contains(ids, "/simt")) << describe(n, l, dt);
        EXPECT_EQ(contains(ids, "/flash_wmma"), dt != DataType::kFloat32) << describe(n, l, dt);
      }
    }
  }
}

TEST_F(AttentionCuda, HeadDimsOnlySimtTakes) {
  // Head dims 8 and 24 (not multiples of 16) and 200 (above 128): simt only.
  std::mt19937 rng(2);
  for (const Sizes& n :
       {Sizes{2, 2, 9, 13, 8, 8}, Sizes{1, 3, 17, 40, 24, 40}, Sizes{1, 1, 5, 70, 200, 16}}) {
    OpCase c = attention_case(n, {}, DataType::kFloat16, rng);
    auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(DataType::kFloat16),
                                  describe(n, {}, DataType::kFloat16));
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_TRUE(contains(ids, "/simt"));
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
        check_cuda_tactics(
            c, device(), stream(), attention_tol(dt),
            describe(n, l, dt) + " mask " + std::string(dtype_name(mdt)) + md.to_string());
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
      check_cuda_tactics(c, device(), stream(), attention_tol(dt),
                         describe(n, {}, dt) + (mode == 0   ? " NaN rows"
                                                : mode == 1 ? " nan_to_zero"
                                                            : " mask_fill"));
    }
  }
}

TEST_F(AttentionCuda, MisalignedBuffersTakeTheScalarLoads) {
  std::mt19937 rng(5);
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  for (DataType dt : {DataType::kFloat16, DataType::kBFloat16}) {
    for (const Layouts& l : {Layouts{}, Layouts{"bsd", "bsd", "bsd", "bsd"}}) {
      const Sizes n{2, 2, 65, 70, 64, 64};
      OpCase c = attention_case(n, l, dt, rng);
      auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(dt),
                                    describe(n, l, dt) + " misaligned", misaligned);
      EXPECT_TRUE(contains(ids, "/flash_wmma"));
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
    check_cuda_tactics(c, device(), stream(), attention_tol(dt), "rank 3");
    c.inputs = {random_tensor(dt, Dims{33, 32}, rng), random_tensor(dt, Dims{32, 70}, rng),
                random_tensor(dt, Dims{70, 16}, rng)};
    check_cuda_tactics(c, device(), stream(), attention_tol(dt), "rank 2");
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
  EXPECT_EQ(expect_capturable(c, device(), stream(), t.atol, t.rtol, "bert"), 2);
}

}  // namespace
}  // namespace kiln::testing

namespace kiln::testing {
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
      auto ids = check_cuda_tactics(c, device(), stream(), attention_tol(dt), what);
      EXPECT_EQ(contains(ids, "/flash_wmma"), dt != DataType::kFloat32) << what;
      check_cuda_tactics(c, device(), stream(), attention_tol(dt), what + " misaligned",
                         misaligned);
    }
  }
}

}  // namespace
}  // namespace kiln::testing
