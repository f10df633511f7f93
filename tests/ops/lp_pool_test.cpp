// Pooling type "lp" (ONNX LpPool / GlobalLpPool): both CPU tactics against a naive window loop
// written here, p = 1, 2, 3 (and the default 2), strides, asymmetric pads, dilations, ceil mode,
// global, 1-D and 3-D, float16 / bfloat16, the ONNX spec example values, and the errors.
#include "op_check_util.h"

#include <cmath>

namespace kiln::testing::lp_pool_test {
namespace {

const std::vector<std::string> kBoth = {"Pooling/cpu-ref/reference", "Pooling/cpu-opt/threaded_2d"};
const std::vector<std::string> kRef = {"Pooling/cpu-ref/reference"};

struct LpSpec {
  int64_t n = 1, c = 1;
  std::vector<int64_t> in, k, strides, pads, dilations;
  int64_t p = 2;
  bool set_p = true, global = false, ceil_mode = false;
  DataType dt = DataType::kFloat32;

  int spatial() const { return static_cast<int>(in.size()); }
  int64_t out(int d) const {
    if (global) return 1;
    const int s = spatial();
    const int64_t span = in[d] + pads[d] + pads[s + d] - (dilations[d] * (k[d] - 1) + 1);
    if (!ceil_mode) return span / strides[d] + 1;
    int64_t o = (span + strides[d] - 1) / strides[d] + 1;
    if ((o - 1) * strides[d] >= in[d] + pads[d]) --o;
    return o;
  }
};

OpCase lp_case(const LpSpec& s, const HostTensor& x) {
  OpCase c;
  c.op = "Pooling";
  c.attrs.set("type", std::string("lp"));
  if (s.set_p) c.attrs.set("p", s.p);
  if (s.global) {
    c.attrs.set("global", int64_t{1});
  } else {
    c.attrs.set("kernel", s.k);
    c.attrs.set("strides", s.strides);
    c.attrs.set("pads", s.pads);
    c.attrs.set("dilations", s.dilations);
    c.attrs.set("ceil_mode", int64_t{s.ceil_mode});
  }
  c.inputs = {x};
  return c;
}

// Naive: every output position, every window tap, in double.
HostTensor naive(const LpSpec& s, const HostTensor& x) {
  const int sp = s.spatial();
  std::vector<int64_t> od = {s.n, s.c}, k(sp), st(sp, 1), pb(sp, 0), dl(sp, 1);
  for (int d = 0; d < sp; ++d) {
    od.push_back(s.out(d));
    k[d] = s.global ? s.in[d] : s.k[d];
    if (!s.global) {
      st[d] = s.strides[d];
      pb[d] = s.pads[d];
      dl[d] = s.dilations[d];
    }
  }
  HostTensor y(s.dt, to_dims(od));
  int64_t in_size = 1, k_size = 1;
  for (int d = 0; d < sp; ++d) {
    in_size *= s.in[d];
    k_size *= k[d];
  }
  const int64_t out_size = y.numel() / std::max<int64_t>(1, s.n * s.c);
  for (int64_t plane = 0; plane < s.n * s.c; ++plane) {
    for (int64_t o = 0; o < out_size; ++o) {
      std::vector<int64_t> oc(sp);
      for (int d = sp - 1, r = static_cast<int>(o); d >= 0; --d) {
        oc[d] = r % od[2 + d];
        r /= static_cast<int>(od[2 + d]);
      }
      double sum = 0;
      for (int64_t t = 0; t < k_size; ++t) {
        int64_t rem = t, idx = 0;
        bool inside = true;
        std::vector<int64_t> kc(sp);
        for (int d = sp - 1; d >= 0; --d) {
          kc[d] = rem % k[d];
          rem /= k[d];
        }
        for (int d = 0; d < sp; ++d) {
          const int64_t i = oc[d] * st[d] - pb[d] + kc[d] * dl[d];
          inside = inside && i >= 0 && i < s.in[d];
          idx = idx * s.in[d] + i;
        }
        if (inside) sum += std::pow(std::fabs(x.get_double(plane * in_size + idx)), double(s.p));
      }
      store_from_double(y.data(), s.dt, plane * out_size + o, std::pow(sum, 1.0 / double(s.p)));
    }
  }
  return y;
}

void check(const LpSpec& s, std::mt19937& rng, const std::vector<std::string>& tactics) {
  std::vector<int64_t> xd = {s.n, s.c};
  xd.insert(xd.end(), s.in.begin(), s.in.end());
  HostTensor x = random_tensor(s.dt, to_dims(xd), rng, -2, 2);
  const double tol = s.dt == DataType::kFloat32 ? 1e-5 : s.dt == DataType::kFloat16 ? 3e-3 : 2e-2;
  check_tactics(lp_case(s, x), naive(s, x), tol, tol, tactics,
                "p " + std::to_string(s.p) + " in " + x.shape().to_string());
}

TEST(LpPool, SpecExample) {
  // ONNX lppool_2d_default-like: X 1x1x2x2 = [1, 2, 3, 4], kernel 2x2, p 2 -> sqrt(30).
  LpSpec s;
  s.in = {2, 2};
  s.k = {2, 2};
  s.strides = {1, 1};
  s.pads = {0, 0, 0, 0};
  s.dilations = {1, 1};
  s.set_p = false;  // default p = 2
  check_tactics(lp_case(s, make_tensor(DataType::kFloat32, {1, 1, 2, 2}, {1, 2, 3, 4})),
                make_tensor(DataType::kFloat32, {1, 1, 1, 1}, {std::sqrt(30.0)}), 1e-6, 1e-6, kBoth,
                "2x2");
  s.p = 1;
  s.set_p = true;
  check_tactics(lp_case(s, make_tensor(DataType::kFloat32, {1, 1, 2, 2}, {1, -2, 3, -4})),
                make_tensor(DataType::kFloat32, {1, 1, 1, 1}, {10}), 1e-6, 1e-6, kBoth, "p1");
}

TEST(LpPool, Random2d) {
  std::mt19937 rng(131);
  for (int iter = 0; iter < 40; ++iter) {
    LpSpec s;
    s.n = 1 + rng() % 2;
    s.c = 1 + rng() % 3;
    s.in = {1 + static_cast<int64_t>(rng() % 7), 1 + static_cast<int64_t>(rng() % 7)};
    s.k = {1 + static_cast<int64_t>(rng() % 3), 1 + static_cast<int64_t>(rng() % 3)};
    s.strides = {1 + static_cast<int64_t>(rng() % 2), 1 + static_cast<int64_t>(rng() % 3)};
    s.dilations = {1 + static_cast<int64_t>(rng() % 2), 1};
    s.pads.resize(4);
    for (int d = 0; d < 4; ++d) {
      s.pads[d] = static_cast<int64_t>(rng() % (s.dilations[d % 2] * (s.k[d % 2] - 1) + 1));
    }
    s.ceil_mode = rng() % 2;
    s.p = 1 + static_cast<int64_t>(rng() % 3);
    s.dt = kFloatDtypes[iter % 3];
    if (s.out(0) < 1 || s.out(1) < 1) continue;
    check(s, rng, kBoth);
  }
}

TEST(LpPool, GlobalAndOtherRanks) {
  std::mt19937 rng(132);
  for (int64_t p : {1, 2, 3}) {
    LpSpec g;
    g.n = 2;
    g.c = 3;
    g.in = {5, 4};
    g.global = true;
    g.p = p;
    check(g, rng, kBoth);
    g.in = {3, 2, 4};
    check(g, rng, kRef);
  }
  LpSpec s1;
  s1.c = 2;
  s1.in = {9};
  s1.k = {3};
  s1.strides = {2};
  s1.pads = {1, 2};
  s1.dilations = {1};
  s1.p = 3;
  check(s1, rng, kRef);
}

TEST(LpPool, Errors) {
  LpSpec s;
  s.in = {2, 2};
  s.k = {2, 2};
  s.strides = {1, 1};
  s.pads = {0, 0, 0, 0};
  s.dilations = {1, 1};
  s.p = 0;
  std::string m = infer_message(lp_case(s, HostTensor(DataType::kFloat32, {1, 1, 2, 2})));
  EXPECT_NE(m.find("attribute 'p' must be >= 1, got 0"), std::string::npos) << m;
  s.p = 2;
  m = infer_message(lp_case(s, HostTensor(DataType::kInt8, {1, 1, 2, 2})));
  EXPECT_NE(m.find("lp pooling does not support int8"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln::testing::lp_pool_test
