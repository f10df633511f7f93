// ConvTranspose: both CPU tactics against a naive transposed convolution written here (an
// output-stationary gather in double, the opposite of the kernels' scatter), over random shapes
// with strides, asymmetric pads, dilations, output_padding, groups, bias and fused activations,
// output_shape and auto_pad padding splits (negative total padding too), 1-D / 3-D, float16 /
// bfloat16, zero-size batch, the ONNX spec examples, and the errors of shape inference.
#include "op_check_util.h"

#include <cmath>

namespace kiln::testing::conv_transpose_test {
namespace {

struct CtSpec {
  int64_t n = 1, c = 1, mg = 1, group = 1;
  std::vector<int64_t> in, k, strides, pads, dilations, out_pad;
  std::vector<int64_t> output_shape;  // spatial; empty = none
  std::string auto_pad;               // "" = attribute absent
  bool bias = false;
  std::string act;
  DataType dt = DataType::kFloat32;
  bool const_weights = true;

  int spatial() const { return static_cast<int>(in.size()); }
  int64_t eff_k(int d) const { return dilations[d] * (k[d] - 1) + 1; }
  int64_t total_pad(int d, int64_t out) const {
    return strides[d] * (in[d] - 1) + out_pad[d] + eff_k(d) - out;
  }
  int64_t out(int d) const {
    if (!output_shape.empty()) return output_shape[d];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return in[d] * strides[d];
    const int s = spatial();
    const int64_t pb = auto_pad == "VALID" ? 0 : pads[d],
                  pe = auto_pad == "VALID" ? 0 : pads[s + d];
    return strides[d] * (in[d] - 1) + out_pad[d] + eff_k(d) - pb - pe;
  }
  // pad_begin by the ONNX rules (Python floor division).
  int64_t pad_begin(int d) const {
    if (output_shape.empty() && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
      return auto_pad == "VALID" ? 0 : pads[d];
    }
    const int64_t t = total_pad(d, out(d));
    const int64_t half = static_cast<int64_t>(std::floor(t / 2.0));
    return auto_pad == "SAME_UPPER" ? half : t - half;
  }
  std::string describe() const {
    auto list = [](const char* name, const std::vector<int64_t>& v) {
      std::string s = std::string(" ") + name;
      for (auto x : v) s += " " + std::to_string(x);
      return s;
    };
    std::string s = "n" + std::to_string(n) + " c" + std::to_string(c) + " mg" +
                    std::to_string(mg) + " g" + std::to_string(group) + list("in", in) +
                    list("k", k) + list("s", strides) + list("p", pads) + list("d", dilations) +
                    list("op", out_pad);
    if (!output_shape.empty()) s += list("output_shape", output_shape);
    if (!auto_pad.empty()) s += " " + auto_pad;
    return s + (bias ? " bias" : "") + (act.empty() ? "" : " " + act) + " " +
           std::string(dtype_name(dt));
  }
};

CtSpec spec2d(int64_t c, int64_t mg, int64_t group, int64_t h, int64_t w, int64_t kh, int64_t kw) {
  CtSpec s;
  s.c = c;
  s.mg = mg;
  s.group = group;
  s.in = {h, w};
  s.k = {kh, kw};
  s.strides = {1, 1};
  s.pads = {0, 0, 0, 0};
  s.dilations = {1, 1};
  s.out_pad = {0, 0};
  return s;
}

Dims with_nc(int64_t a, int64_t b, const std::vector<int64_t>& rest) {
  std::vector<int64_t> v = {a, b};
  v.insert(v.end(), rest.begin(), rest.end());
  return to_dims(v);
}

OpCase make_case(const CtSpec& s, const HostTensor& x, const HostTensor& w, const HostTensor& b) {
  OpCase c;
  c.op = "ConvTranspose";
  c.attrs.set("strides", s.strides);
  c.attrs.set("pads", s.pads);
  c.attrs.set("dilations", s.dilations);
  c.attrs.set("output_padding", s.out_pad);
  c.attrs.set("group", s.group);
  if (!s.output_shape.empty()) c.attrs.set("output_shape", s.output_shape);
  if (!s.auto_pad.empty()) c.attrs.set("auto_pad", s.auto_pad);
  if (!s.act.empty()) c.attrs.set("activation", s.act);
  c.inputs = {x, w};
  c.constant = {false, s.const_weights};
  if (s.bias) {
    c.inputs.push_back(b);
    c.constant.push_back(true);
  }
  return c;
}

double activate(const std::string& kind, double v) {
  if (kind.empty()) return v;
  if (kind == "relu") return v > 0 ? v : 0;
  if (kind == "sigmoid") return 1 / (1 + std::exp(-v));
  if (kind == "leaky_relu") return v >= 0 ? v : 0.01 * v;
  ADD_FAILURE() << "unknown activation " << kind;
  return v;
}

// Output-stationary: y[n, m, o] = sum over c in m's group and taps k with
// o = i * stride - pad_begin + k * dil of x[n, c, i] * w[c, m % mg, k].
HostTensor naive(const CtSpec& s, const HostTensor& x, const HostTensor& w, const HostTensor& b) {
  const int sp = s.spatial();
  std::vector<int64_t> out(sp);
  for (int d = 0; d < sp; ++d) out[d] = s.out(d);
  const int64_t m_total = s.mg * s.group, cg = s.c / s.group;
  HostTensor y(s.dt, with_nc(s.n, m_total, out));
  int64_t out_size = 1, k_size = 1, in_size = 1;
  for (int d = 0; d < sp; ++d) {
    out_size *= out[d];
    k_size *= s.k[d];
    in_size *= s.in[d];
  }
  std::vector<int64_t> oc(sp), kc(sp);
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t m = 0; m < m_total; ++m) {
      const int64_t grp = m / s.mg, ml = m % s.mg;
      for (int64_t o = 0; o < out_size; ++o) {
        int64_t rem = o;
        for (int d = sp - 1; d >= 0; --d) {
          oc[d] = rem % out[d];
          rem /= out[d];
        }
        double acc = s.bias ? b.get_double(m) : 0.0;
        for (int64_t c = grp * cg; c < (grp + 1) * cg; ++c) {
          for (int64_t ki = 0; ki < k_size; ++ki) {
            int64_t kr = ki;
            for (int d = sp - 1; d >= 0; --d) {
              kc[d] = kr % s.k[d];
              kr /= s.k[d];
            }
            int64_t xi = 0;
            bool hit = true;
            for (int d = 0; d < sp && hit; ++d) {
              const int64_t num = oc[d] + s.pad_begin(d) - kc[d] * s.dilations[d];
              if (num < 0 || num % s.strides[d] != 0 || num / s.strides[d] >= s.in[d]) {
                hit = false;
              } else {
                xi = xi * s.in[d] + num / s.strides[d];
              }
            }
            if (!hit) continue;
            acc += x.get_double((n * s.c + c) * in_size + xi) *
                   w.get_double((c * s.mg + ml) * k_size + ki);
          }
        }
        store_from_double(y.data(), s.dt, (n * m_total + m) * out_size + o, activate(s.act, acc));
      }
    }
  }
  return y;
}

void check_spec(const CtSpec& s, std::mt19937& rng, std::vector<std::string> tactics,
                ThreadPool* pool = nullptr) {
  HostTensor x = random_tensor(s.dt, with_nc(s.n, s.c, s.in), rng);
  HostTensor w = random_tensor(s.dt, with_nc(s.c, s.mg, s.k), rng);
  HostTensor b = random_tensor(s.dt, {s.mg * s.group}, rng);
  const double tol = s.dt == DataType::kFloat32 ? 1e-4 : s.dt == DataType::kFloat16 ? 1e-2 : 5e-2;
  check_tactics(make_case(s, x, w, b), naive(s, x, w, b), tol, tol, tactics, s.describe(), pool);
}

const std::vector<std::string> kBoth = {"ConvTranspose/cpu-ref/reference",
                                        "ConvTranspose/cpu-blas/gemm_col2im"};
const std::vector<std::string> kRef = {"ConvTranspose/cpu-ref/reference"};

TEST(ConvTranspose, SpecExamples) {
  // X = 0..8 as 3x3, W = ones [1, 2, 3, 3]: both output channels are the overlap counts.
  HostTensor x = make_tensor(DataType::kFloat32, {1, 1, 3, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8});
  std::vector<double> ones(18, 1.0);
  HostTensor w = make_tensor(DataType::kFloat32, {1, 2, 3, 3}, ones);
  const std::vector<double> plane = {0,  1,  3, 3,  2,  3,  8,  15, 12, 7,  9,  21, 36,
                                     27, 15, 9, 20, 33, 24, 13, 6,  13, 21, 15, 8};
  std::vector<double> want = plane;
  want.insert(want.end(), plane.begin(), plane.end());
  OpCase c;
  c.op = "ConvTranspose";
  c.inputs = {x, w};
  c.constant = {false, true};
  check_tactics(c, make_tensor(DataType::kFloat32, {1, 2, 5, 5}, want), 0, 0, kBoth, "2-D");
  // 1-D: X = [0, 1, 2], W = ones [1, 2, 3].
  OpCase c1;
  c1.op = "ConvTranspose";
  c1.inputs = {make_tensor(DataType::kFloat32, {1, 1, 3}, {0, 1, 2}),
               make_tensor(DataType::kFloat32, {1, 2, 3}, {1, 1, 1, 1, 1, 1})};
  check_tactics(c1, make_tensor(DataType::kFloat32, {1, 2, 5}, {0, 1, 3, 3, 2, 0, 1, 3, 3, 2}), 0,
                0, kRef, "1-D");
  // output_shape [10, 8] with strides [3, 2]: total padding -1 on both dims, the extra row and
  // column are at the end (first rows of the ONNX expected output).
  OpCase c2 = c;
  c2.attrs.set("strides", std::vector<int64_t>{3, 2});
  c2.attrs.set("output_shape", std::vector<int64_t>{10, 8});
  auto runs = run_cpu_tactics(c2);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  ASSERT_EQ(tactic_names(*runs), kBoth);
  const std::vector<double> row0 = {0, 0, 1, 1, 3, 2, 2, 0};
  const std::vector<double> row3 = {3, 3, 7, 4, 9, 5, 5, 0};
  for (const auto& r : *runs) {
    ASSERT_EQ(r.outputs[0].shape(), (Dims{1, 2, 10, 8}));
    for (int j = 0; j < 8; ++j) {
      EXPECT_EQ(r.outputs[0].get_double(j), row0[j]) << r.tactic << " row 0 col " << j;
      EXPECT_EQ(r.outputs[0].get_double(3 * 8 + j), row3[j]) << r.tactic << " row 3 col " << j;
      EXPECT_EQ(r.outputs[0].get_double(9 * 8 + j), 0) << r.tactic << " row 9 col " << j;
    }
  }
  // auto_pad SAME_UPPER, strides 2: output 6x6, the natural 7x7 loses its last row and column.
  OpCase c3 = c;
  c3.attrs.set("strides", std::vector<int64_t>{2, 2});
  c3.attrs.set("auto_pad", std::string("SAME_UPPER"));
  runs = run_cpu_tactics(c3);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  const std::vector<double> first = {0, 0, 1, 1, 3, 2, 0, 0, 1, 1, 3, 2, 3, 3, 8, 5, 12, 7};
  for (const auto& r : *runs) {
    ASSERT_EQ(r.outputs[0].shape(), (Dims{1, 2, 6, 6}));
    for (size_t j = 0; j < first.size(); ++j) {
      EXPECT_EQ(r.outputs[0].get_double(static_cast<int64_t>(j)), first[j]) << r.tactic << " " << j;
    }
  }
}

TEST(ConvTranspose, Random2dEveryFeature) {
  std::mt19937 rng(111);
  ThreadPool pool(3);
  for (int iter = 0; iter < 50; ++iter) {
    const int64_t group = 1 + static_cast<int64_t>(rng() % 3);
    CtSpec s = spec2d(group * (1 + rng() % 3), 1 + rng() % 3, group, 1 + rng() % 5, 1 + rng() % 5,
                      1 + rng() % 3, 1 + rng() % 4);
    s.n = 1 + static_cast<int64_t>(rng() % 2);
    for (int d = 0; d < 2; ++d) {
      s.strides[d] = 1 + static_cast<int64_t>(rng() % 3);
      s.dilations[d] = 1 + static_cast<int64_t>(rng() % 2);
      s.out_pad[d] = static_cast<int64_t>(rng() % std::max(s.strides[d], s.dilations[d]));
    }
    for (int d = 0; d < 4; ++d) s.pads[d] = static_cast<int64_t>(rng() % s.eff_k(d % 2));
    for (int d = 0; d < 2; ++d) {
      while (s.out(d) < 1) --(s.pads[d] > 0 ? s.pads[d] : s.pads[2 + d]);  // keep it non-empty
    }
    s.bias = rng() % 2;
    const int act = static_cast<int>(rng() % 4);
    s.act = act == 0 ? "" : act == 1 ? "relu" : act == 2 ? "sigmoid" : "leaky_relu";
    s.const_weights = rng() % 2;
    check_spec(s, rng, kBoth, iter % 5 == 0 ? &pool : nullptr);
  }
}

TEST(ConvTranspose, OutputShapeAndAutoPadSplits) {
  std::mt19937 rng(112);
  for (int iter = 0; iter < 30; ++iter) {
    CtSpec s = spec2d(2, 2, 1, 2 + rng() % 3, 2 + rng() % 3, 1 + rng() % 3, 1 + rng() % 3);
    s.strides = {1 + static_cast<int64_t>(rng() % 3), 1 + static_cast<int64_t>(rng() % 3)};
    const int mode = iter % 4;
    if (mode == 0 || mode == 1) {
      // output_shape around the natural extent: total padding from -3 to +2.
      for (int d = 0; d < 2; ++d) {
        const int64_t natural = s.strides[d] * (s.in[d] - 1) + s.eff_k(d);
        s.output_shape.push_back(
            std::max<int64_t>(1, natural - 2 + static_cast<int64_t>(rng() % 6)));
      }
      if (mode == 1) s.auto_pad = rng() % 2 ? "SAME_UPPER" : "SAME_LOWER";
    } else if (mode == 2) {
      s.auto_pad = rng() % 2 ? "SAME_UPPER" : "SAME_LOWER";
    } else {
      s.auto_pad = "VALID";
      s.pads = {1, 1, 1, 1};  // ignored
    }
    s.bias = true;
    check_spec(s, rng, kBoth);
  }
}

TEST(ConvTranspose, OneDThreeDAndHalfTypes) {
  std::mt19937 rng(113);
  CtSpec s1;
  s1.c = 2;
  s1.mg = 3;
  s1.in = {7};
  s1.k = {3};
  s1.strides = {2};
  s1.pads = {1, 0};
  s1.dilations = {2};
  s1.out_pad = {1};
  s1.bias = true;
  check_spec(s1, rng, kRef);
  CtSpec s3;
  s3.n = 2;
  s3.c = 2;
  s3.mg = 2;
  s3.group = 2;
  s3.in = {3, 2, 3};
  s3.k = {2, 2, 3};
  s3.strides = {2, 1, 2};
  s3.pads = {0, 1, 1, 1, 0, 0};
  s3.dilations = {1, 1, 1};
  s3.out_pad = {1, 0, 0};
  s3.act = "relu";
  check_spec(s3, rng, kRef);
  for (DataType dt : {DataType::kFloat16, DataType::kBFloat16}) {
    CtSpec h = spec2d(4, 3, 2, 4, 5, 3, 3);
    h.strides = {2, 2};
    h.pads = {1, 0, 0, 1};
    h.bias = true;
    h.dt = dt;
    check_spec(h, rng, kRef);
  }
}

TEST(ConvTranspose, LargeBlocksThreaded) {
  std::mt19937 rng(114);
  ThreadPool pool(4);
  CtSpec s = spec2d(16, 8, 1, 24, 31, 4, 4);
  s.strides = {2, 2};
  s.pads = {1, 1, 1, 1};
  s.bias = true;
  s.act = "relu";
  check_spec(s, rng, kBoth, &pool);
}

// M/group * KH * KW * W = 64 * 25 * 64 floats per input row: gemm_col2im needs two column
// blocks for 30 input rows.
TEST(ConvTranspose, MultipleColumnBlocks) {
  std::mt19937 rng(117);
  ThreadPool pool(2);
  CtSpec s = spec2d(2, 64, 1, 30, 64, 5, 5);
  s.pads = {2, 2, 2, 2};
  s.bias = true;
  check_spec(s, rng, kBoth, &pool);
}

TEST(ConvTranspose, ZeroSizeBatch) {
  std::mt19937 rng(115);
  CtSpec s = spec2d(2, 2, 1, 3, 3, 2, 2);
  s.n = 0;
  check_spec(s, rng, kBoth);
}

TEST(ConvTranspose, InferErrors) {
  std::mt19937 rng(116);
  HostTensor x = random_tensor(DataType::kFloat32, {1, 4, 5, 5}, rng);
  HostTensor w = random_tensor(DataType::kFloat32, {4, 3, 3, 3}, rng);
  auto msg = [&](const std::function<void(OpCase&)>& edit) {
    OpCase c;
    c.op = "ConvTranspose";
    c.inputs = {x, w};
    c.constant = {false, true};
    edit(c);
    return infer_message(c);
  };
  EXPECT_EQ(msg([](OpCase&) {}), "OK");
  std::string m = msg([](OpCase& c) { c.attrs.set("group", int64_t{3}); });
  EXPECT_NE(m.find("input channels 4 are not divisible by group 3"), std::string::npos) << m;
  m = msg([&](OpCase& c) { c.inputs[1] = random_tensor(DataType::kFloat32, {5, 3, 3, 3}, rng); });
  EXPECT_NE(m.find("X has 4 channels but W [5,3,3,3] expects 5"), std::string::npos) << m;
  m = msg([](OpCase& c) { c.attrs.set("strides", std::vector<int64_t>{1}); });
  EXPECT_NE(m.find("attribute 'strides' has 1 values"), std::string::npos) << m;
  m = msg([](OpCase& c) { c.attrs.set("output_padding", std::vector<int64_t>{1, 0}); });
  EXPECT_NE(m.find("'output_padding' [1,0] must be smaller than the stride or the dilation"),
            std::string::npos)
      << m;
  m = msg([](OpCase& c) { c.attrs.set("pads", std::vector<int64_t>{4, 0, 4, 0}); });
  EXPECT_NE(m.find("output spatial dim 0 would be -1"), std::string::npos) << m;
  m = msg([](OpCase& c) { c.attrs.set("output_shape", std::vector<int64_t>{5, 5, 5}); });
  EXPECT_NE(m.find("'output_shape' [5,5,5] must have 2 (or 4) values"), std::string::npos) << m;
  EXPECT_EQ(msg([](OpCase& c) {
              c.attrs.set("output_shape", std::vector<int64_t>{1, 6, 8, 8});
            }),
            "OK");
  m = msg([](OpCase& c) { c.attrs.set("auto_pad", std::string("SAME")); });
  EXPECT_NE(m.find("'auto_pad' must be NOTSET"), std::string::npos) << m;
  m = msg([](OpCase& c) { c.attrs.set("activation", std::string("swish9")); });
  EXPECT_NE(m.find("unknown fused activation 'swish9'"), std::string::npos) << m;
  m = msg([&](OpCase& c) {
    c.inputs.push_back(random_tensor(DataType::kFloat32, {4}, rng));
    c.constant.push_back(true);
  });
  EXPECT_NE(m.find("B [4] must have shape [3]"), std::string::npos) << m;
  m = msg([&](OpCase& c) { c.inputs[1] = random_tensor(DataType::kFloat16, {4, 3, 3, 3}, rng); });
  EXPECT_NE(m.find("W has dtype float16"), std::string::npos) << m;
  m = msg([&](OpCase& c) { c.inputs[0] = random_tensor(DataType::kFloat32, {4, 5}, rng); });
  EXPECT_NE(m.find("rank >= 3"), std::string::npos) << m;
  m = msg([&](OpCase& c) { c.inputs[0] = random_tensor(DataType::kInt32, {1, 4, 5, 5}, rng); });
  EXPECT_NE(m.find("int32"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln::testing::conv_transpose_test
