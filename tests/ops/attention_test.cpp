// Attention: every CPU tactic against a naive computation written here (index formulas per
// layout, double precision softmax), over layouts, masks (float / bool, broadcast), scale,
// nan_to_zero and mask_fill; shape inference and its errors.
#include "ops/op_check_util.h"

#include <cmath>
#include <limits>

namespace kiln::testing::attention_test {
namespace {

struct Dims4 {
  int64_t b, h, sq, sk, d, dv;
};

// Shape of a tensor of logical dims (B, H, S, E) in `layout`.
Dims layout_shape(const std::string& layout, int64_t b, int64_t h, int64_t s, int64_t e) {
  if (layout == "bhsd") return Dims{b, h, s, e};
  if (layout == "bhds") return Dims{b, h, e, s};
  if (layout == "bshd") return Dims{b, s, h, e};
  return Dims{b, s, h * e};  // bsd
}

// Flat index of logical element (b, h, s, e) in `layout` (B is implied by the strides).
int64_t layout_index(const std::string& layout, int64_t h_count, int64_t s_count, int64_t e_count,
                     int64_t b, int64_t h, int64_t s, int64_t e) {
  if (layout == "bhsd") return ((b * h_count + h) * s_count + s) * e_count + e;
  if (layout == "bhds") return ((b * h_count + h) * e_count + e) * s_count + s;
  return ((b * s_count + s) * h_count + h) * e_count + e;  // bshd and bsd
}

struct Layouts {
  std::string q = "bhsd", k = "bhsd", v = "bhsd", y = "bhsd";
};

OpCase attention_case(const Dims4& n, const Layouts& l, DataType dt, std::mt19937& rng,
                      HostTensor mask = {}) {
  OpCase c;
  c.op = "Attention";
  c.attrs.set("q_layout", l.q);
  c.attrs.set("k_layout", l.k);
  c.attrs.set("v_layout", l.v);
  c.attrs.set("y_layout", l.y);
  if (l.q == "bsd" || l.k == "bsd" || l.v == "bsd" || l.y == "bsd") c.attrs.set("num_heads", n.h);
  c.inputs.push_back(random_tensor(dt, layout_shape(l.q, n.b, n.h, n.sq, n.d), rng, -2, 2));
  c.inputs.push_back(random_tensor(dt, layout_shape(l.k, n.b, n.h, n.sk, n.d), rng, -2, 2));
  c.inputs.push_back(random_tensor(dt, layout_shape(l.v, n.b, n.h, n.sk, n.dv), rng, -2, 2));
  if (!mask.empty()) c.inputs.push_back(std::move(mask));
  return c;
}

// The naive result: per (b, h, i), scores in double, softmax, weighted sum of V.
HostTensor expected_attention(const OpCase& c, const Dims4& n, const Layouts& l, double scale,
                              bool nan_to_zero, double fill = -INFINITY) {
  const HostTensor& q = c.inputs[0];
  const HostTensor& k = c.inputs[1];
  const HostTensor& v = c.inputs[2];
  const HostTensor* mask = c.inputs.size() > 3 ? &c.inputs[3] : nullptr;
  HostTensor y(q.dtype(), layout_shape(l.y, n.b, n.h, n.sq, n.dv));
  // Mask element for (b, h, i, j): right-aligned broadcast against [B, H, Sq, Sk].
  auto mask_at = [&](int64_t b, int64_t h, int64_t i, int64_t j) {
    const Dims& md = mask->shape();
    const int64_t coords[4] = {b, h, i, j};
    int64_t off = 0;
    for (int a = 0; a < md.rank(); ++a) {
      off = off * md[a] + (md[a] == 1 ? 0 : coords[4 - md.rank() + a]);
    }
    if (mask->dtype() == DataType::kBool) return mask->get_double(off) != 0 ? 0.0 : fill;
    return mask->get_double(off);
  };
  std::vector<double> z(n.sk);
  for (int64_t b = 0; b < n.b; ++b) {
    for (int64_t h = 0; h < n.h; ++h) {
      for (int64_t i = 0; i < n.sq; ++i) {
        double m = -INFINITY;
        for (int64_t j = 0; j < n.sk; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < n.d; ++e) {
            dot += q.get_double(layout_index(l.q, n.h, n.sq, n.d, b, h, i, e)) *
                   k.get_double(layout_index(l.k, n.h, n.sk, n.d, b, h, j, e));
          }
          z[j] = scale * dot + (mask ? mask_at(b, h, i, j) : 0.0);
          if (z[j] > m) m = z[j];
        }
        double sum = 0;
        for (int64_t j = 0; j < n.sk; ++j) sum += std::exp(z[j] - m);
        for (int64_t e = 0; e < n.dv; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < n.sk; ++j) {
            double p = std::exp(z[j] - m) / sum;
            if (nan_to_zero && std::isnan(p)) p = 0;
            acc += p * v.get_double(layout_index(l.v, n.h, n.sk, n.dv, b, h, j, e));
          }
          store_from_double(y.data(), y.dtype(), layout_index(l.y, n.h, n.sq, n.dv, b, h, i, e),
                            acc);
        }
      }
    }
  }
  return y;
}

const std::vector<std::string> kTactics = {"Attention/cpu-ref/reference",
                                           "Attention/cpu-opt/threaded"};

TEST(Attention, LayoutsAndDtypes) {
  std::mt19937 rng(1);
  ThreadPool pool(3);
  const Layouts layouts[] = {
      {},
      {"bhsd", "bhds", "bhsd", "bhsd"},
      {"bshd", "bshd", "bshd", "bshd"},
      {"bsd", "bsd", "bsd", "bsd"},
      {"bsd", "bhds", "bshd", "bhsd"},
      {"bshd", "bsd", "bhsd", "bsd"},
  };
  const Dims4 sizes[] = {{1, 1, 1, 1, 4, 4}, {2, 3, 5, 7, 8, 6}, {1, 2, 17, 33, 4, 8}};
  for (DataType dt : kFloatDtypes) {
    for (const Layouts& l : layouts) {
      for (const Dims4& n : sizes) {
        OpCase c = attention_case(n, l, dt, rng);
        const double scale = 0.37;
        c.attrs.set("scale", scale);
        const std::string what = std::string(dtype_name(dt)) + " " + l.q + "/" + l.k + "/" + l.v +
                                 "/" + l.y + " sq " + std::to_string(n.sq) + " sk " +
                                 std::to_string(n.sk);
        check_tactics(c, expected_attention(c, n, l, scale, false), float_tol(dt), float_tol(dt),
                      kTactics, what, &pool);
      }
    }
  }
}

TEST(Attention, DefaultScaleIsInverseSqrtHeadDim) {
  std::mt19937 rng(2);
  const Dims4 n{2, 2, 3, 5, 16, 4};
  OpCase c = attention_case(n, {}, DataType::kFloat32, rng);
  check_tactics(c, expected_attention(c, n, {}, 0.25, false), 1e-5, 1e-5, kTactics, "default");
}

TEST(Attention, MasksBroadcastFloatAndBool) {
  std::mt19937 rng(3);
  const Dims4 n{2, 3, 4, 6, 8, 8};
  const Layouts l{"bsd", "bsd", "bsd", "bsd"};
  for (DataType mdt : {DataType::kFloat32, DataType::kFloat16, DataType::kBool}) {
    for (Dims md : {Dims{2, 1, 1, 6}, Dims{2, 1, 4, 6}, Dims{6}, Dims{3, 1, 6}, Dims{2, 3, 4, 6}}) {
      HostTensor mask = mdt == DataType::kBool ? random_tensor(DataType::kBool, md, rng, -1, 1)
                                               : random_tensor(mdt, md, rng, -3, 0);
      if (mdt == DataType::kBool) {
        // At least one key kept per row keeps the softmax finite: make key 0 always visible.
        for (int64_t i = 0; i < mask.numel(); i += md[md.rank() - 1]) mask.as<uint8_t>()[i] = 1;
      }
      OpCase c = attention_case(n, l, DataType::kFloat32, rng, mask);
      c.attrs.set("scale", 0.5);
      check_tactics(c, expected_attention(c, n, l, 0.5, false), 1e-5, 1e-5, kTactics,
                    std::string(dtype_name(mdt)) + " mask " + md.to_string());
    }
  }
}

TEST(Attention, FullyMaskedRowsAreNanOrZeroAndMaskFill) {
  std::mt19937 rng(4);
  const Dims4 n{2, 2, 3, 5, 4, 4};
  HostTensor mask(DataType::kBool, Dims{2, 1, 3, 5});
  for (int64_t i = 0; i < mask.numel(); ++i) mask.as<uint8_t>()[i] = i % 3 != 0;
  for (int64_t j = 0; j < 5; ++j) mask.as<uint8_t>()[5 + j] = 0;  // batch 0, query 1: all masked
  for (bool nan_to_zero : {false, true}) {
    OpCase c = attention_case(n, {}, DataType::kFloat32, rng, mask);
    c.attrs.set("scale", 1.0);
    if (nan_to_zero) c.attrs.set("nan_to_zero", int64_t{1});
    HostTensor want = expected_attention(c, n, {}, 1.0, nan_to_zero);
    // Row (0, h, 1) is NaN without the guard, 0 with it.
    EXPECT_EQ(std::isnan(want.get_double(1 * 4)), !nan_to_zero);
    check_tactics(c, want, 1e-5, 1e-5, kTactics, nan_to_zero ? "nan_to_zero" : "nan");
  }
  // A finite fill (float32's lowest, as torch.export's Where) gives the masked row uniform
  // weights instead.
  OpCase c = attention_case(n, {}, DataType::kFloat32, rng, mask);
  const double lowest = std::numeric_limits<float>::lowest();
  c.attrs.set("scale", 1.0);
  c.attrs.set("mask_fill", lowest);
  HostTensor want = expected_attention(c, n, {}, 1.0, false, lowest);
  EXPECT_FALSE(std::isnan(want.get_double(1 * 4)));
  check_tactics(c, want, 1e-5, 1e-5, kTactics, "mask_fill");
}

TEST(Attention, RankTwoAndThreeAndEmptyKeys) {
  std::mt19937 rng(5);
  // Rank 3: [B*H, S, D] heads-major; rank 2: one head.
  for (int rank : {2, 3}) {
    const int64_t bh = rank == 3 ? 6 : 1;
    OpCase c;
    c.op = "Attention";
    c.attrs.set("k_layout", std::string("bhds"));
    c.attrs.set("scale", 0.3);
    auto shape = [&](int64_t s, int64_t e) { return rank == 3 ? Dims{bh, s, e} : Dims{s, e}; };
    c.inputs = {random_tensor(DataType::kFloat32, shape(4, 5), rng),
                random_tensor(DataType::kFloat32, shape(5, 7), rng),  // Kᵀ: [.., D, Sk]
                random_tensor(DataType::kFloat32, shape(7, 3), rng)};
    // Naive: same as rank 4 with B = 1, H = bh.
    OpCase c4 = c;
    const Dims4 n{1, bh, 4, 7, 5, 3};
    c4.inputs[0] =
        HostTensor::from_bytes(DataType::kFloat32, Dims{1, bh, 4, 5}, c.inputs[0].data());
    c4.inputs[1] =
        HostTensor::from_bytes(DataType::kFloat32, Dims{1, bh, 5, 7}, c.inputs[1].data());
    c4.inputs[2] =
        HostTensor::from_bytes(DataType::kFloat32, Dims{1, bh, 7, 3}, c.inputs[2].data());
    HostTensor w4 = expected_attention(c4, n, {"bhsd", "bhds", "bhsd", "bhsd"}, 0.3, false);
    HostTensor want = HostTensor::from_bytes(DataType::kFloat32, shape(4, 3), w4.data());
    check_tactics(c, want, 1e-5, 1e-5, kTactics, "rank " + std::to_string(rank));
  }
  // Sk = 0: softmax over nothing and an empty sum: zeros.
  const Dims4 n{1, 2, 3, 0, 4, 5};
  OpCase c = attention_case(n, {}, DataType::kFloat32, rng);
  HostTensor zeros(DataType::kFloat32, Dims{1, 2, 3, 5});
  check_tactics(c, zeros, 0, 0, kTactics, "sk 0");
}

TEST(Attention, ShapeInference) {
  std::mt19937 rng(6);
  const Dims4 n{2, 4, 5, 7, 8, 6};
  OpCase c = attention_case(n, {"bsd", "bsd", "bsd", "bsd"}, DataType::kFloat16, rng);
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(ir::shape_to_string(g->value(g->node(0).outputs[0]).shape), "[2,5,24]");
  EXPECT_EQ(g->value(g->node(0).outputs[0]).dtype, DataType::kFloat16);
  c = attention_case(n, {"bsd", "bhds", "bsd", "bshd"}, DataType::kFloat32, rng);
  g = make_graph(c);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(ir::shape_to_string(g->value(g->node(0).outputs[0]).shape), "[2,5,4,6]");
}

TEST(Attention, Errors) {
  std::mt19937 rng(7);
  const Dims4 n{2, 4, 5, 7, 8, 6};
  auto expect_error = [&](const OpCase& c, const std::string& needle) {
    std::string m = infer_message(c);
    EXPECT_NE(m.find(needle), std::string::npos) << m;
  };
  OpCase c = attention_case(n, {}, DataType::kFloat32, rng);
  c.inputs[1] = random_tensor(DataType::kFloat32, Dims{2, 4, 7, 9}, rng);  // D 9 != 8
  expect_error(c, "head dims of Q");
  c = attention_case(n, {}, DataType::kFloat32, rng);
  c.inputs[2] = random_tensor(DataType::kFloat32, Dims{2, 4, 6, 6}, rng);  // Sk 6 != 7
  expect_error(c, "sequence lengths");
  c = attention_case(n, {}, DataType::kFloat32, rng);
  c.inputs[1] = random_tensor(DataType::kFloat32, Dims{2, 3, 7, 8}, rng);  // H 3 != 4
  expect_error(c, "batch/head dims of K");
  c = attention_case(n, {}, DataType::kFloat32, rng);
  c.attrs.set("q_layout", std::string("sbhd"));
  expect_error(c, "is not one of");
  c = attention_case(n, {}, DataType::kFloat32, rng);
  c.attrs.set("v_layout", std::string("bhds"));
  expect_error(c, "only for K");
  c = attention_case(n, {"bsd", "bsd", "bsd", "bsd"}, DataType::kFloat32, rng);
  c.attrs.erase("num_heads");
  expect_error(c, "num_heads");
  c = attention_case(n, {"bsd", "bsd", "bsd", "bsd"}, DataType::kFloat32, rng);
  c.attrs.set("num_heads", int64_t{3});  // 32 is not a multiple of 3
  expect_error(c, "not a multiple of num_heads");
  c = attention_case(n, {}, DataType::kFloat32, rng);
  c.inputs[1] = random_tensor(DataType::kFloat16, Dims{2, 4, 7, 8}, rng);
  expect_error(c, "differs from Q's");
  c = attention_case(n, {}, DataType::kFloat32, rng,
                     random_tensor(DataType::kFloat32, Dims{2, 4, 5, 8}, rng));
  expect_error(c, "does not broadcast");
  c = attention_case(n, {}, DataType::kFloat32, rng, random_tensor(DataType::kInt32, Dims{7}, rng));
  expect_error(c, "float or bool");
  c = attention_case(n, {}, DataType::kFloat32, rng);
  c.attrs.set("mask_fill", std::nan(""));
  expect_error(c, "NaN");
  c = attention_case(n, {"bhsd", "bhsd", "bhsd", "bshd"}, DataType::kFloat32, rng);
  c.inputs[0] = random_tensor(DataType::kFloat32, Dims{8, 5, 8}, rng);  // rank 3 beside bshd
  expect_error(c, "rank 4");
}

}  // namespace
}  // namespace kiln::testing::attention_test

namespace kiln::testing::attention_test {
namespace {

TEST(Attention, PackedQkvColumns) {
  std::mt19937 rng(8);
  const Dims4 n{2, 3, 5, 5, 4, 4};
  const Layouts l{"bsd", "bsd", "bsd", "bsd"};
  for (DataType dt : kFloatDtypes) {
    HostTensor packed = random_tensor(dt, Dims{2, 5, 3 * 12}, rng, -2, 2);
    OpCase c;
    c.op = "Attention";
    for (const char* a : {"q_layout", "k_layout", "v_layout", "y_layout"})
      c.attrs.set(a, std::string("bsd"));
    c.attrs.set("num_heads", int64_t{3});
    c.attrs.set("qkv_packed", int64_t{1});
    c.attrs.set("scale", 0.6);
    c.inputs = {packed, packed, packed};
    // The same problem with Q, K and V split out of the packed rows.
    OpCase split = attention_case(n, l, dt, rng);
    for (int t = 0; t < 3; ++t) {
      for (int64_t r = 0; r < 2 * 5; ++r) {
        for (int64_t e = 0; e < 12; ++e) {
          store_from_double(split.inputs[t].data(), dt, r * 12 + e,
                            packed.get_double(r * 36 + t * 12 + e));
        }
      }
    }
    check_tactics(c, expected_attention(split, n, l, 0.6, false), float_tol(dt), float_tol(dt),
                  kTactics, std::string("packed ") + std::string(dtype_name(dt)));
  }
  // Errors: tensors of different shapes, a layout other than bsd, a width that is not 3 * H * D.
  OpCase c = attention_case(n, l, DataType::kFloat32, rng);
  c.attrs.set("qkv_packed", int64_t{1});
  c.inputs[0] = random_tensor(DataType::kFloat32, Dims{2, 5, 36}, rng);
  EXPECT_NE(infer_message(c).find("one shape"), std::string::npos) << infer_message(c);
  HostTensor odd = random_tensor(DataType::kFloat32, Dims{2, 5, 35}, rng);
  c.inputs = {odd, odd, odd};
  EXPECT_NE(infer_message(c).find("3 * num_heads"), std::string::npos) << infer_message(c);
  c.attrs.set("k_layout", std::string("bshd"));
  EXPECT_NE(infer_message(c).find("layout bsd"), std::string::npos) << infer_message(c);
}

}  // namespace
}  // namespace kiln::testing::attention_test
