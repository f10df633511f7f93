// Pooling: every CPU tactic against naive window loops written here, over random shapes with
// strides, asymmetric pads, dilations, ceil mode and count_include_pad, global pooling, 1-D and
// 3-D, zero-size batch, float16 / bfloat16 / int8 / uint8, hand-computed values, and the errors
// of shape inference.
#include "backends/cpu/thread_pool.h"
#include "common/op_harness.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace kiln::testing::pooling_test {
namespace {

struct PoolSpec {
  bool max = true;
  bool global = false;
  bool ceil_mode = false;
  bool count_include_pad = false;
  int64_t n = 1, c = 1;
  std::vector<int64_t> in, k, strides, pads, dilations;
  DataType dt = DataType::kFloat32;

  int spatial() const { return static_cast<int>(in.size()); }
  int64_t out(int d) const {
    if (global) return 1;
    const int s = spatial();
    const int64_t span = in[d] + pads[d] + pads[s + d] - (dilations[d] * (k[d] - 1) + 1);
    if (!ceil_mode) return span / strides[d] + 1;
    int64_t o = (span + strides[d] - 1) / strides[d] + 1;
    if ((o - 1) * strides[d] >= in[d] + pads[d]) --o;  // last window starts in the end padding
    return o;
  }
  std::string describe() const {
    std::string s = std::string(max ? "max" : "avg") + (global ? " global" : "") +
                    (ceil_mode ? " ceil" : "") + (count_include_pad ? " incl_pad" : "") + " n" +
                    std::to_string(n) + " c" + std::to_string(c) + " in";
    for (auto v : in) s += " " + std::to_string(v);
    s += " k";
    for (auto v : k) s += " " + std::to_string(v);
    s += " s";
    for (auto v : strides) s += " " + std::to_string(v);
    s += " p";
    for (auto v : pads) s += " " + std::to_string(v);
    s += " d";
    for (auto v : dilations) s += " " + std::to_string(v);
    return s + " " + std::string(dtype_name(dt));
  }
};

PoolSpec spec2d(bool max, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw) {
  PoolSpec s;
  s.max = max;
  s.n = n;
  s.c = c;
  s.in = {h, w};
  s.k = {kh, kw};
  s.strides = {1, 1};
  s.pads = {0, 0, 0, 0};
  s.dilations = {1, 1};
  return s;
}

Dims dims_of(int64_t a, int64_t b, const std::vector<int64_t>& rest) {
  std::vector<int64_t> v = {a, b};
  v.insert(v.end(), rest.begin(), rest.end());
  return Dims(std::span<const int64_t>(v));
}

OpCase make_case(const PoolSpec& s, std::mt19937& rng) {
  OpCase c;
  c.op = "Pooling";
  c.attrs.set("type", std::string(s.max ? "max" : "average"));
  if (s.global) {
    c.attrs.set("global", int64_t{1});
  } else {
    c.attrs.set("kernel", s.k);
    c.attrs.set("strides", s.strides);
    c.attrs.set("pads", s.pads);
    c.attrs.set("dilations", s.dilations);
    c.attrs.set("ceil_mode", int64_t{s.ceil_mode});
    c.attrs.set("count_include_pad", int64_t{s.count_include_pad});
  }
  double lo = -4, hi = 4;
  if (s.dt == DataType::kInt8) lo = -120, hi = 120;
  if (s.dt == DataType::kUInt8) lo = 0, hi = 250;
  c.inputs.push_back(random_tensor(s.dt, dims_of(s.n, s.c, s.in), rng, lo, hi));
  return c;
}

// Naive pooling: spatial dims padded to 3 (1-D as [1,1,L], 2-D as [1,H,W]).
HostTensor expected(const PoolSpec& s, const HostTensor& x) {
  const int sp = s.spatial();
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1}, st[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0}, dl[3] = {1, 1, 1};
  std::vector<int64_t> out_dims;
  for (int d = 0; d < sp; ++d) {
    const int e = 3 - sp + d;
    in[e] = s.in[d];
    out[e] = s.out(d);
    out_dims.push_back(out[e]);
    if (s.global) {
      k[e] = s.in[d];
      continue;
    }
    k[e] = s.k[d];
    st[e] = s.strides[d];
    pb[e] = s.pads[d];
    pe[e] = s.pads[sp + d];
    dl[e] = s.dilations[d];
  }
  HostTensor y(s.dt, dims_of(s.n, s.c, out_dims));
  int64_t yi = 0;
  for (int64_t nc = 0; nc < s.n * s.c; ++nc)
    for (int64_t o0 = 0; o0 < out[0]; ++o0)
      for (int64_t o1 = 0; o1 < out[1]; ++o1)
        for (int64_t o2 = 0; o2 < out[2]; ++o2, ++yi) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int64_t inside = 0, padded = 0;
          for (int64_t k0 = 0; k0 < k[0]; ++k0)
            for (int64_t k1 = 0; k1 < k[1]; ++k1)
              for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                const int64_t i0 = o0 * st[0] - pb[0] + k0 * dl[0];
                const int64_t i1 = o1 * st[1] - pb[1] + k1 * dl[1];
                const int64_t i2 = o2 * st[2] - pb[2] + k2 * dl[2];
                if (i0 >= -pb[0] && i0 < in[0] + pe[0] && i1 >= -pb[1] && i1 < in[1] + pe[1] &&
                    i2 >= -pb[2] && i2 < in[2] + pe[2]) {
                  ++padded;
                }
                if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
                  continue;
                ++inside;
                const double v = x.get_double(((nc * in[0] + i0) * in[1] + i1) * in[2] + i2);
                best = std::max(best, v);
                sum += v;
              }
          double v;
          if (s.max) {
            v = inside > 0 ? best
                           : (is_integer(s.dt) ? (s.dt == DataType::kInt8 ? -128 : 0) : best);
          } else {
            const int64_t count = s.count_include_pad ? padded : inside;
            v = count > 0 ? sum / static_cast<double>(count) : 0;
          }
          store_from_double(y.data(), s.dt, yi, v);
        }
  return y;
}

// Max pooling selects an input value: exact for every dtype. Average pooling sums in float
// (float32: rounding only); float16/bfloat16 results are rounded once, so allow 2 ulps
// (2^-10 / 2^-7 relative) since the float and double results may round to neighbours.
void tolerance(const PoolSpec& s, double* atol, double* rtol) {
  *atol = *rtol = 0;
  if (s.max) return;
  if (s.dt == DataType::kFloat32) {
    *atol = *rtol = 1e-5;
  } else if (s.dt == DataType::kFloat16) {
    *atol = 1e-3;
    *rtol = 2.0 / 1024;
  } else {
    *atol = 1e-2;
    *rtol = 2.0 / 128;
  }
}

std::set<std::string> expected_tactics(const PoolSpec& s) {
  if (s.spatial() == 2) return {"reference", "threaded_2d"};
  return {"reference"};
}

std::string tactic_name(const std::string& id) {
  return id.substr(id.rfind('/') + 1);
}

void check(const PoolSpec& s, std::mt19937& rng) {
  SCOPED_TRACE(s.describe());
  OpCase c = make_case(s, rng);
  HostTensor want = expected(s, c.inputs[0]);
  auto runs = run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  std::set<std::string> ran;
  for (const auto& r : *runs) ran.insert(tactic_name(r.tactic));
  EXPECT_EQ(ran, expected_tactics(s));
  double atol, rtol;
  tolerance(s, &atol, &rtol);
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, atol, rtol)) << r.tactic;
  }
}

PoolSpec random_spec2d(std::mt19937& rng, DataType dt, bool max) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  PoolSpec s;
  s.max = max;
  s.dt = dt;
  s.n = pick(1, 2);
  s.c = pick(1, 3);
  s.k = {pick(1, 4), pick(1, 4)};
  s.strides = {pick(1, 3), pick(1, 3)};
  s.dilations = {pick(1, 2), pick(1, 2)};
  s.ceil_mode = pick(0, 1) == 1;
  s.count_include_pad = pick(0, 1) == 1;
  s.pads.assign(4, 0);
  for (int d = 0; d < 2; ++d) {
    const int64_t eff = s.dilations[d] * (s.k[d] - 1) + 1;
    s.pads[d] = std::min<int64_t>(pick(0, 2), eff - 1);
    s.pads[2 + d] = std::min<int64_t>(pick(0, 2), eff - 1);
    s.in.push_back(std::max<int64_t>(pick(1, 11), eff - s.pads[d] - s.pads[2 + d]));
  }
  return s;
}

TEST(Pooling, Random2dFloat32) {
  std::mt19937 rng(31);
  for (bool max : {true, false}) {
    for (int i = 0; i < 60; ++i) check(random_spec2d(rng, DataType::kFloat32, max), rng);
  }
}

TEST(Pooling, Random2dHalfBFloat16AndBytes) {
  std::mt19937 rng(32);
  for (DataType dt : {DataType::kFloat16, DataType::kBFloat16}) {
    for (bool max : {true, false}) {
      for (int i = 0; i < 20; ++i) check(random_spec2d(rng, dt, max), rng);
    }
  }
  for (DataType dt : {DataType::kInt8, DataType::kUInt8}) {
    for (int i = 0; i < 20; ++i) check(random_spec2d(rng, dt, true), rng);
  }
}

TEST(Pooling, Global) {
  std::mt19937 rng(33);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt8,
                      DataType::kUInt8}) {
    for (bool max : {true, false}) {
      if (!max && is_integer(dt)) continue;
      for (std::vector<int64_t> in :
           std::vector<std::vector<int64_t>>{{7}, {5, 6}, {1, 1}, {3, 4, 5}}) {
        PoolSpec s;
        s.max = max;
        s.global = true;
        s.n = 2;
        s.c = 3;
        s.in = in;
        s.dt = dt;
        check(s, rng);
      }
    }
  }
}

TEST(Pooling, OneAndThreeSpatialDimsRunTheReference) {
  std::mt19937 rng(34);
  for (bool max : {true, false}) {
    PoolSpec s1;
    s1.max = max;
    s1.n = 2;
    s1.c = 3;
    s1.in = {13};
    s1.k = {3};
    s1.strides = {2};
    s1.pads = {1, 2};
    s1.dilations = {2};
    s1.ceil_mode = true;
    s1.count_include_pad = true;
    check(s1, rng);
    PoolSpec s3;
    s3.max = max;
    s3.n = 1;
    s3.c = 2;
    s3.in = {5, 6, 7};
    s3.k = {2, 3, 2};
    s3.strides = {2, 1, 2};
    s3.pads = {1, 0, 1, 0, 1, 0};
    s3.dilations = {1, 2, 1};
    s3.ceil_mode = true;
    check(s3, rng);
    s3.count_include_pad = true;
    s3.dt = DataType::kFloat16;
    check(s3, rng);
  }
}

TEST(Pooling, HandValues) {
  // 3x3 input 1..9, 3x3 window, pads 1, stride 2: windows at the corners.
  OpCase c;
  c.op = "Pooling";
  c.attrs.set("type", std::string("average"));
  c.attrs.set("kernel", std::vector<int64_t>{3, 3});
  c.attrs.set("strides", std::vector<int64_t>{2, 2});
  c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  c.inputs.push_back(make_tensor(DataType::kFloat32, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // Excluding padding: top-left window holds 1,2,4,5.
  HostTensor excl =
      make_tensor(DataType::kFloat32, {1, 1, 2, 2}, {12 / 4.0, 16 / 4.0, 24 / 4.0, 28 / 4.0});
  auto runs = run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_EQ(runs->size(), 2u);
  for (const auto& r : *runs) EXPECT_TRUE(all_close(r.outputs[0], excl, 1e-6, 1e-6)) << r.tactic;
  // Including padding: every window has 9 taps.
  c.attrs.set("count_include_pad", int64_t{1});
  HostTensor incl =
      make_tensor(DataType::kFloat32, {1, 1, 2, 2}, {12 / 9.0, 16 / 9.0, 24 / 9.0, 28 / 9.0});
  runs = run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok());
  for (const auto& r : *runs) EXPECT_TRUE(all_close(r.outputs[0], incl, 1e-6, 1e-6)) << r.tactic;
  // Max with ceil mode: 1x5 row, window 2 stride 2: ceil gives 3 windows, the last one partial.
  OpCase m;
  m.op = "Pooling";
  m.attrs.set("type", std::string("max"));
  m.attrs.set("kernel", std::vector<int64_t>{1, 2});
  m.attrs.set("strides", std::vector<int64_t>{1, 2});
  m.attrs.set("ceil_mode", int64_t{1});
  m.inputs.push_back(make_tensor(DataType::kFloat32, {1, 1, 1, 5}, {3, -1, 4, 1, -5}));
  runs = run_cpu_tactics(m);
  ASSERT_TRUE(runs.is_ok());
  HostTensor want = make_tensor(DataType::kFloat32, {1, 1, 1, 3}, {3, 4, -5});
  for (const auto& r : *runs) EXPECT_TRUE(all_close(r.outputs[0], want, 0, 0)) << r.tactic;
  // Ceil mode with pads 1+1 on 5: ceil((5+2-2)/2)+1 = 4, but the 4th window would start at 6,
  // in the end padding, so there are 3: [pad,3] [-1,4] [1,-5].
  m.attrs.set("pads", std::vector<int64_t>{0, 1, 0, 1});
  runs = run_cpu_tactics(m);
  ASSERT_TRUE(runs.is_ok());
  want = make_tensor(DataType::kFloat32, {1, 1, 1, 3}, {3, 4, 1});
  for (const auto& r : *runs) EXPECT_TRUE(all_close(r.outputs[0], want, 0, 0)) << r.tactic;
}

TEST(Pooling, ZeroSizeBatch) {
  std::mt19937 rng(35);
  for (bool max : {true, false}) {
    PoolSpec s = spec2d(max, 0, 3, 6, 6, 2, 2);
    s.strides = {2, 2};
    check(s, rng);
    s.global = true;
    check(s, rng);
  }
}

TEST(Pooling, ThreadedMatchesSerial) {
  std::mt19937 rng(36);
  ThreadPool pool(4);
  std::vector<PoolSpec> specs;
  for (bool max : {true, false}) {
    PoolSpec s = spec2d(max, 2, 16, 33, 35, 3, 3);
    s.strides = {2, 2};
    s.pads = {1, 1, 1, 1};
    s.ceil_mode = true;
    s.count_include_pad = !max;
    specs.push_back(s);
    s.global = true;
    specs.push_back(s);
  }
  for (const PoolSpec& s : specs) {
    SCOPED_TRACE(s.describe());
    OpCase c = make_case(s, rng);
    HostTensor want = expected(s, c.inputs[0]);
    auto g = make_graph(c);
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    ops::KernelInfo info;
    info.graph = &*g;
    info.node = &g->node(0);
    info.opt.inputs = {c.inputs[0].shape()};
    info.opt.outputs = {want.shape()};
    info.min = info.max = info.opt;
    int ran = 0;
    for (const ops::TacticDef& t : ops::find_op("Pooling")->cpu_tactics) {
      if (!t.supports(info)) continue;
      auto kernel = t.create(info);
      ASSERT_TRUE(kernel.is_ok());
      HostTensor out(s.dt, want.shape());
      TensorView in_view = c.inputs[0].view(), out_view = out.view();
      ops::ExecArgs args;
      args.inputs = std::span<const TensorView>(&in_view, 1);
      args.outputs = std::span<const TensorView>(&out_view, 1);
      args.threads = &pool;
      ASSERT_TRUE((*kernel)->execute(args).is_ok()) << t.name;
      EXPECT_TRUE(all_close(out, want, 1e-5, 1e-5)) << t.name;
      ++ran;
    }
    EXPECT_EQ(ran, 2);
  }
}

TEST(Pooling, SymbolicShapes) {
  for (bool ceil_mode : {false, true}) {
    ir::Graph g;
    int x = g.add_input("x", DataType::kFloat32, {-1, 3, -1, -1});
    ir::Attrs attrs;
    attrs.set("type", std::string("max"));
    attrs.set("kernel", std::vector<int64_t>{3, 2});
    attrs.set("strides", std::vector<int64_t>{2, 3});
    attrs.set("pads", std::vector<int64_t>{1, 0, 2, 1});
    attrs.set("dilations", std::vector<int64_t>{1, 2});
    attrs.set("ceil_mode", int64_t{ceil_mode});
    int node = g.add_node("Pooling", "pool", {x}, 1, attrs);
    ASSERT_TRUE(g.infer_node(node).is_ok());
    const ir::SymShape& out = g.value(g.node(node).outputs[0]).shape;
    PoolSpec s = spec2d(true, 1, 3, 0, 0, 3, 2);
    s.strides = {2, 3};
    s.pads = {1, 0, 2, 1};
    s.dilations = {1, 2};
    s.ceil_mode = ceil_mode;
    for (int64_t h = 1; h < 14; ++h) {
      for (int64_t w = 2; w < 14; ++w) {
        s.in = {h, w};
        std::vector<int64_t> sym = {2, h, w};
        auto dims = ir::eval_shape(out, sym);
        ASSERT_TRUE(dims.is_ok());
        EXPECT_EQ((*dims)[0], 2);
        EXPECT_EQ((*dims)[2], s.out(0)) << "h=" << h << " ceil=" << ceil_mode;
        EXPECT_EQ((*dims)[3], s.out(1)) << "w=" << w << " ceil=" << ceil_mode;
      }
    }
  }
}

void expect_error(const OpCase& c, const std::string& needle) {
  auto g = make_graph(c);
  ASSERT_FALSE(g.is_ok()) << "expected an error mentioning '" << needle << "'";
  EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
}

TEST(Pooling, Errors) {
  std::mt19937 rng(37);
  auto base = [&] {
    OpCase c;
    c.op = "Pooling";
    c.attrs.set("type", std::string("max"));
    c.attrs.set("kernel", std::vector<int64_t>{2, 2});
    c.inputs.push_back(random_tensor(DataType::kFloat32, {1, 2, 5, 5}, rng));
    return c;
  };
  ASSERT_TRUE(make_graph(base()).is_ok());
  OpCase c = base();
  c.attrs.erase("type");
  expect_error(c, "'type'");
  c = base();
  c.attrs.set("type", std::string("median"));
  expect_error(c, "median");
  c = base();
  c.attrs.erase("kernel");
  expect_error(c, "'kernel' is required");
  c = base();
  c.attrs.set("kernel", std::vector<int64_t>{2});
  expect_error(c, "'kernel'");
  c = base();
  c.attrs.set("kernel", std::vector<int64_t>{2, 0});
  expect_error(c, "'kernel'");
  c = base();
  c.attrs.set("strides", std::vector<int64_t>{0, 1});
  expect_error(c, "'strides'");
  c = base();
  c.attrs.set("pads", std::vector<int64_t>{2, 0, 0, 0});  // pad 2 >= kernel 2
  expect_error(c, "smaller than the dilated kernel");
  c = base();
  c.attrs.set("pads", std::vector<int64_t>{1, 0});
  expect_error(c, "'pads'");
  c = base();
  c.attrs.set("kernel", std::vector<int64_t>{7, 2});  // 5 - 7 + 1 < 1
  expect_error(c, "would be -1");
  c = base();
  c.attrs.set("dilations", std::vector<int64_t>{1, 3});  // dilated kernel 4 on 5: fine
  EXPECT_TRUE(make_graph(c).is_ok());
  c.attrs.set("dilations", std::vector<int64_t>{1, 5});  // dilated kernel 6 > 5
  expect_error(c, "would be 0");
  c = base();
  c.attrs.set("type", std::string("average"));
  c.inputs[0] = random_tensor(DataType::kInt8, {1, 2, 5, 5}, rng);
  expect_error(c, "average pooling does not support int8");
  c = base();
  c.inputs[0] = random_tensor(DataType::kInt32, {1, 2, 5, 5}, rng);
  expect_error(c, "max pooling does not support int32");
  c = base();
  c.inputs[0] = random_tensor(DataType::kFloat32, {2, 5}, rng);
  expect_error(c, "rank >= 3");
  c = base();
  c.inputs.push_back(random_tensor(DataType::kFloat32, {2}, rng));
  expect_error(c, "expects 1 input");
}

}  // namespace
}  // namespace kiln::testing::pooling_test
