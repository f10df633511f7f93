// Conv: every CPU tactic against a naive convolution written here (plain nested loops in double),
// over random shapes with strides, asymmetric pads, dilations, groups, depthwise, 1x1, fused
// bias / residual / every activation, 1-D and 3-D, zero-size batch, float16 / bfloat16, and the
// errors of shape inference.
#include "backends/cpu/thread_pool.h"
#include "common/op_harness.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace kiln::testing::conv_test {
namespace {

double activate(const std::string& kind, double x, double a, double b) {
  if (kind.empty()) return x;
  if (kind == "relu") return x > 0 ? x : 0;
  if (kind == "leaky_relu") return x >= 0 ? x : a * x;
  if (kind == "sigmoid") return 1 / (1 + std::exp(-x));
  if (kind == "tanh") return std::tanh(x);
  if (kind == "elu") return x >= 0 ? x : a * (std::exp(x) - 1);
  if (kind == "selu") return x > 0 ? b * x : b * a * (std::exp(x) - 1);
  if (kind == "softplus") return std::log(1 + std::exp(x));
  if (kind == "clip") return std::min(std::max(x, a), b);
  if (kind == "gelu_erf") return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  if (kind == "gelu_tanh")
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  if (kind == "silu") return x / (1 + std::exp(-x));
  if (kind == "hard_sigmoid") return std::max(0.0, std::min(1.0, a * x + b));
  if (kind == "hard_swish") return x * std::max(0.0, std::min(1.0, x / 6 + 0.5));
  ADD_FAILURE() << "unknown " << kind;
  return 0;
}

struct ConvSpec {
  int64_t n = 1, c = 1, m = 1, group = 1;
  std::vector<int64_t> in, k, strides, pads, dilations;  // spatial; pads = begins then ends
  bool bias = false, residual = false;
  std::string act;  // "" = none
  double alpha = 0, beta = 0;
  bool set_alpha_beta = false;
  DataType dt = DataType::kFloat32;
  bool const_weights = true;

  int spatial() const { return static_cast<int>(in.size()); }
  int64_t out(int d) const {
    const int s = spatial();
    return (in[d] + pads[d] + pads[s + d] - dilations[d] * (k[d] - 1) - 1) / strides[d] + 1;
  }
  std::string describe() const {
    std::string s = "n" + std::to_string(n) + " c" + std::to_string(c) + " m" + std::to_string(m) +
                    " g" + std::to_string(group) + " in";
    for (auto v : in) s += " " + std::to_string(v);
    s += " k";
    for (auto v : k) s += " " + std::to_string(v);
    s += " s";
    for (auto v : strides) s += " " + std::to_string(v);
    s += " p";
    for (auto v : pads) s += " " + std::to_string(v);
    s += " d";
    for (auto v : dilations) s += " " + std::to_string(v);
    s += bias ? " bias" : "";
    s += residual ? " residual" : "";
    s += act.empty() ? "" : " " + act;
    return s + " " + std::string(dtype_name(dt));
  }
};

ConvSpec spec2d(int64_t n, int64_t c, int64_t m, int64_t group, int64_t h, int64_t w, int64_t kh,
                int64_t kw) {
  ConvSpec s;
  s.n = n;
  s.c = c;
  s.m = m;
  s.group = group;
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

OpCase make_case(const ConvSpec& s, std::mt19937& rng) {
  OpCase c;
  c.op = "Conv";
  c.attrs.set("strides", s.strides);
  c.attrs.set("pads", s.pads);
  c.attrs.set("dilations", s.dilations);
  c.attrs.set("group", s.group);
  if (!s.act.empty()) {
    c.attrs.set("activation", s.act);
    if (s.set_alpha_beta) {
      c.attrs.set("activation_alpha", s.alpha);
      c.attrs.set("activation_beta", s.beta);
    }
  }
  std::vector<int64_t> out;
  for (int d = 0; d < s.spatial(); ++d) out.push_back(s.out(d));
  c.inputs.push_back(random_tensor(s.dt, dims_of(s.n, s.c, s.in), rng));
  c.inputs.push_back(random_tensor(s.dt, dims_of(s.m, s.c / s.group, s.k), rng));
  c.inputs.push_back(s.bias ? random_tensor(s.dt, {s.m}, rng) : HostTensor());
  if (s.residual) c.inputs.push_back(random_tensor(s.dt, dims_of(s.n, s.m, out), rng));
  c.constant = {false, s.const_weights, true, false};
  return c;
}

// The naive convolution: spatial dims padded to 3 (1-D as [1,1,L], 2-D as [1,H,W]).
HostTensor expected(const ConvSpec& s, const OpCase& c) {
  const int sp = s.spatial();
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1}, st[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, dl[3] = {1, 1, 1};
  for (int d = 0; d < sp; ++d) {
    const int e = 3 - sp + d;
    in[e] = s.in[d];
    k[e] = s.k[d];
    out[e] = s.out(d);
    st[e] = s.strides[d];
    pb[e] = s.pads[d];
    dl[e] = s.dilations[d];
  }
  std::vector<int64_t> out_dims;
  for (int d = 0; d < sp; ++d) out_dims.push_back(s.out(d));
  HostTensor y(s.dt, dims_of(s.n, s.m, out_dims));
  const HostTensor& x = c.inputs[0];
  const HostTensor& w = c.inputs[1];
  const int64_t cg = s.c / s.group, mg = s.m / s.group;
  double alpha = s.alpha, beta = s.beta;
  if (!s.set_alpha_beta) {
    // The documented defaults.
    alpha = s.act == "leaky_relu"     ? 0.01
            : s.act == "elu"          ? 1.0
            : s.act == "selu"         ? 1.6732632423543772
            : s.act == "hard_sigmoid" ? 0.2
            : s.act == "clip"         ? -INFINITY
                                      : 0.0;
    beta = s.act == "selu"           ? 1.0507009873554805
           : s.act == "hard_sigmoid" ? 0.5
           : s.act == "clip"         ? INFINITY
                                     : 0.0;
  }
  int64_t yi = 0;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t m = 0; m < s.m; ++m)
      for (int64_t o0 = 0; o0 < out[0]; ++o0)
        for (int64_t o1 = 0; o1 < out[1]; ++o1)
          for (int64_t o2 = 0; o2 < out[2]; ++o2, ++yi) {
            double acc = 0;
            const int64_t g = m / mg;
            for (int64_t ci = 0; ci < cg; ++ci)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t i0 = o0 * st[0] - pb[0] + k0 * dl[0];
                    const int64_t i1 = o1 * st[1] - pb[1] + k1 * dl[1];
                    const int64_t i2 = o2 * st[2] - pb[2] + k2 * dl[2];
                    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
                      continue;
                    const int64_t xc = n * s.c + g * cg + ci;
                    const double xv = x.get_double(((xc * in[0] + i0) * in[1] + i1) * in[2] + i2);
                    const double wv =
                        w.get_double((((m * cg + ci) * k[0] + k0) * k[1] + k1) * k[2] + k2);
                    acc += xv * wv;
                  }
            if (s.bias) acc += c.inputs[2].get_double(m);
            if (s.residual) acc += c.inputs[3].get_double(yi);
            store_from_double(y.data(), s.dt, yi, activate(s.act, acc, alpha, beta));
          }
  return y;
}

// Tolerances: float32 accumulation differs from the double oracle by rounding only (~1e-6 for
// these sums). float16/bfloat16 outputs are rounded once from float: allow 2 ulps of the type
// (2^-10 / 2^-7 relative), since the float result and the double oracle may round to neighbours.
void tolerance(DataType dt, double* atol, double* rtol) {
  if (dt == DataType::kFloat32) {
    *atol = 1e-4;
    *rtol = 1e-4;
  } else if (dt == DataType::kFloat16) {
    *atol = 1e-3;
    *rtol = 2.0 / 1024;
  } else {
    *atol = 1e-2;
    *rtol = 2.0 / 128;
  }
}

std::string tactic_name(const std::string& id) {
  return id.substr(id.rfind('/') + 1);
}

// The tactics the spec must run on, by the rules documented in src/ops/conv/cpu.cpp.
std::set<std::string> expected_tactics(const ConvSpec& s) {
  std::set<std::string> t = {"reference"};
  if (s.spatial() != 2 || !s.const_weights || s.c == 0) return t;
  t.insert("im2col_blas");
  t.insert("direct");
  const bool no_pad = std::all_of(s.pads.begin(), s.pads.end(), [](int64_t p) { return p == 0; });
  if (s.dt == DataType::kFloat32 && s.k[0] == 1 && s.k[1] == 1 && s.strides[0] == 1 &&
      s.strides[1] == 1 && no_pad) {
    t.insert("gemm_1x1");
  }
  if (s.group > 1 && s.c / s.group == 1) t.insert("depthwise");
  return t;
}

void check(const ConvSpec& s, std::mt19937& rng) {
  SCOPED_TRACE(s.describe());
  OpCase c = make_case(s, rng);
  HostTensor want = expected(s, c);
  auto runs = run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  std::set<std::string> ran;
  for (const auto& r : *runs) ran.insert(tactic_name(r.tactic));
  EXPECT_EQ(ran, expected_tactics(s));
  double atol, rtol;
  tolerance(s.dt, &atol, &rtol);
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, atol, rtol)) << r.tactic;
  }
}

// A random 2-D spec; the spatial extents are made large enough for at least one output.
ConvSpec random_spec2d(std::mt19937& rng, DataType dt) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  ConvSpec s;
  s.dt = dt;
  s.group = pick(1, 3);
  s.c = s.group * pick(1, 4);
  s.m = s.group * pick(1, 4);
  s.n = pick(1, 3);
  s.k = {pick(1, 3), pick(1, 3)};
  s.strides = {pick(1, 3), pick(1, 3)};
  s.dilations = {pick(1, 2), pick(1, 2)};
  s.pads = {pick(0, 2), pick(0, 2), pick(0, 2), pick(0, 2)};
  for (int d = 0; d < 2; ++d) {
    const int64_t eff = s.dilations[d] * (s.k[d] - 1) + 1;
    s.in.push_back(std::max<int64_t>(pick(1, 10), eff - s.pads[d] - s.pads[2 + d]));
    s.in[d] = std::max<int64_t>(s.in[d], 1);
  }
  s.bias = pick(0, 1) == 1;
  s.residual = pick(0, 1) == 1;
  const char* acts[] = {"", "relu", "leaky_relu", "sigmoid", "clip", "silu", "gelu_erf"};
  s.act = acts[pick(0, 6)];
  return s;
}

TEST(Conv, Random2dFloat32) {
  std::mt19937 rng(11);
  for (int i = 0; i < 60; ++i) check(random_spec2d(rng, DataType::kFloat32), rng);
}

TEST(Conv, Random2dHalfAndBFloat16) {
  std::mt19937 rng(12);
  for (DataType dt : {DataType::kFloat16, DataType::kBFloat16}) {
    for (int i = 0; i < 20; ++i) check(random_spec2d(rng, dt), rng);
  }
}

TEST(Conv, PointwiseRunsGemm1x1) {
  std::mt19937 rng(13);
  for (int64_t group : {1, 2}) {
    ConvSpec s = spec2d(2, 8, 6, group, 5, 7, 1, 1);
    s.bias = true;
    check(s, rng);
    s.residual = true;
    s.act = "relu";
    check(s, rng);
    s.dilations = {2, 3};  // irrelevant for 1x1
    check(s, rng);
    s.bias = s.residual = false;
    s.act = "";
    check(s, rng);  // no epilogue at all
  }
  // Padded or strided 1x1 is not a plain GEMM.
  ConvSpec s = spec2d(1, 4, 4, 1, 6, 6, 1, 1);
  s.strides = {2, 1};
  check(s, rng);
  s.strides = {1, 1};
  s.pads = {0, 1, 0, 0};
  check(s, rng);
  s.pads = {0, 0, 0, 0};
  s.dt = DataType::kFloat16;
  check(s, rng);
}

TEST(Conv, Depthwise) {
  std::mt19937 rng(14);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    for (int64_t mult : {1, 2}) {
      for (int64_t stride : {1, 2}) {
        for (int64_t dil : {1, 2}) {
          for (int64_t k : {3, 5, 2}) {
            ConvSpec s = spec2d(2, 6, 6 * mult, 6, 9, 11, k, k);
            s.strides = {stride, stride};
            s.dilations = {dil, dil};
            s.pads = {k / 2 * dil, 1, k / 2 * dil, 0};
            s.bias = true;
            s.residual = stride == 1;
            s.act = "relu";
            s.dt = dt;
            check(s, rng);
          }
        }
      }
    }
  }
  // Tiny image: every pixel on the border (no interior 3x3 window).
  ConvSpec s = spec2d(1, 3, 3, 3, 2, 2, 3, 3);
  s.pads = {1, 1, 1, 1};
  check(s, rng);
}

TEST(Conv, EveryFusedActivation) {
  struct Act {
    const char* name;
    double alpha, beta;
  };
  const Act acts[] = {{"relu", 0, 0},      {"leaky_relu", 0.1, 0}, {"sigmoid", 0, 0},
                      {"tanh", 0, 0},      {"elu", 0.7, 0},        {"selu", 1.5, 1.1},
                      {"softplus", 0, 0},  {"clip", -0.5, 0.8},    {"gelu_erf", 0, 0},
                      {"gelu_tanh", 0, 0}, {"silu", 0, 0},         {"hard_sigmoid", 0.3, 0.4},
                      {"hard_swish", 0, 0}};
  std::mt19937 rng(15);
  for (const Act& a : acts) {
    for (bool explicit_params : {true, false}) {
      // A general conv, a pointwise conv and a depthwise conv, each with bias and residual.
      ConvSpec general = spec2d(2, 4, 6, 2, 6, 5, 3, 2);
      general.pads = {1, 0, 1, 1};
      ConvSpec pointwise = spec2d(1, 5, 3, 1, 4, 4, 1, 1);
      ConvSpec depthwise = spec2d(1, 4, 4, 4, 6, 6, 3, 3);
      depthwise.pads = {1, 1, 1, 1};
      for (ConvSpec s : {general, pointwise, depthwise}) {
        s.bias = s.residual = true;
        s.act = a.name;
        s.alpha = a.alpha;
        s.beta = a.beta;
        s.set_alpha_beta = explicit_params;
        check(s, rng);
      }
    }
  }
}

TEST(Conv, BiasOnlyResidualOnly) {
  std::mt19937 rng(16);
  ConvSpec s = spec2d(2, 3, 4, 1, 5, 5, 3, 3);
  s.residual = true;  // residual without bias: B is an absent (-1) input
  check(s, rng);
  s.residual = false;
  s.bias = true;
  check(s, rng);
}

TEST(Conv, OneAndThreeSpatialDimsRunTheReference) {
  std::mt19937 rng(17);
  ConvSpec s1;
  s1.n = 2;
  s1.c = 4;
  s1.m = 6;
  s1.group = 2;
  s1.in = {11};
  s1.k = {3};
  s1.strides = {2};
  s1.pads = {2, 1};
  s1.dilations = {2};
  s1.bias = s1.residual = true;
  s1.act = "tanh";
  check(s1, rng);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16}) {
    ConvSpec s3;
    s3.dt = dt;
    s3.n = 1;
    s3.c = 3;
    s3.m = 4;
    s3.in = {4, 5, 6};
    s3.k = {2, 3, 2};
    s3.strides = {1, 2, 1};
    s3.pads = {1, 0, 1, 0, 1, 1};
    s3.dilations = {1, 1, 2};
    s3.bias = true;
    s3.act = "relu";
    check(s3, rng);
    s3.group = 3;
    s3.m = 6;
    s3.residual = true;
    check(s3, rng);
  }
}

TEST(Conv, NonConstantWeightsRunOnlyTheReference) {
  std::mt19937 rng(18);
  ConvSpec s = spec2d(1, 2, 3, 1, 4, 4, 3, 3);
  s.const_weights = false;
  s.bias = true;
  check(s, rng);
}

TEST(Conv, ZeroSizeBatchAndChannels) {
  std::mt19937 rng(19);
  ConvSpec s = spec2d(0, 4, 4, 1, 5, 5, 3, 3);
  s.bias = s.residual = true;
  check(s, rng);
  s = spec2d(0, 4, 4, 4, 5, 5, 3, 3);  // depthwise
  check(s, rng);
  s = spec2d(0, 4, 2, 1, 5, 5, 1, 1);  // pointwise
  check(s, rng);
  // No output channels.
  s = spec2d(2, 4, 0, 1, 5, 5, 3, 3);
  check(s, rng);
  // An empty input row made non-empty by padding: the output is the epilogue of the bias.
  for (int64_t group : {1, 2}) {
    s = spec2d(1, 2, 4, group, 0, 3, 1, 1);
    s.pads = {1, 0, 1, 0};
    s.bias = true;
    s.act = "sigmoid";
    check(s, rng);
  }
}

TEST(Conv, LargeImagesCrossBlockAndTileBoundaries) {
  std::mt19937 rng(20);
  // 64*3*3 = 576 im2col rows: 92x92 outputs need two column blocks of the 16 MiB budget.
  ConvSpec s = spec2d(1, 64, 3, 1, 92, 92, 3, 3);
  s.pads = {1, 1, 1, 1};
  s.bias = true;
  check(s, rng);
  // Rows wider than the direct kernel's 256-column accumulator tile.
  s = spec2d(1, 2, 5, 1, 3, 600, 3, 3);
  s.strides = {1, 2};
  s.pads = {1, 1, 1, 2};
  s.residual = true;
  check(s, rng);
  // Depthwise rows across accumulator tiles, with the 3x3 fast path and the generic path.
  for (int64_t k : {3, 4}) {
    for (int64_t stride : {1, 2}) {
      s = spec2d(1, 2, 2, 2, 4, 700, k, k);
      s.strides = {1, stride};
      s.pads = {1, 1, 1, 1};
      s.bias = s.residual = stride == 1;
      check(s, rng);
    }
  }
}

// Every tactic with a thread pool, on shapes large enough to be split across workers.
TEST(Conv, ThreadedMatchesSerial) {
  std::mt19937 rng(21);
  ThreadPool pool(4);
  std::vector<ConvSpec> specs;
  ConvSpec a = spec2d(2, 8, 12, 2, 20, 24, 3, 3);
  a.pads = {1, 1, 1, 1};
  a.bias = a.residual = true;
  a.act = "silu";
  specs.push_back(a);
  ConvSpec b = spec2d(2, 16, 16, 16, 20, 20, 3, 3);  // depthwise
  b.pads = {1, 1, 1, 1};
  b.bias = true;
  b.act = "relu";
  specs.push_back(b);
  ConvSpec c1 = spec2d(3, 16, 8, 1, 20, 20, 1, 1);  // pointwise
  c1.bias = c1.residual = true;
  specs.push_back(c1);
  for (const ConvSpec& s : specs) {
    SCOPED_TRACE(s.describe());
    OpCase c = make_case(s, rng);
    HostTensor want = expected(s, c);
    auto g = make_graph(c);
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    const ir::Node& node = g->node(0);
    ops::KernelInfo info;
    info.graph = &*g;
    info.node = &node;
    std::vector<TensorView> ins;
    for (const HostTensor& t : c.inputs) {
      info.opt.inputs.push_back(t.shape());
      ins.push_back(t.empty() ? TensorView{} : t.view());
    }
    info.opt.outputs.push_back(want.shape());
    info.min = info.max = info.opt;
    int ran = 0;
    for (const ops::TacticDef& t : ops::find_op("Conv")->cpu_tactics) {
      if (!t.supports(info)) continue;
      auto kernel = t.create(info);
      ASSERT_TRUE(kernel.is_ok());
      HostTensor out(s.dt, want.shape());
      HostTensor ws(DataType::kUInt8, {static_cast<int64_t>((*kernel)->workspace_size(info.opt))});
      TensorView out_view = out.view();
      ops::ExecArgs args;
      args.inputs = ins;
      args.outputs = std::span<const TensorView>(&out_view, 1);
      args.workspace = ws.data();
      args.workspace_size = ws.nbytes();
      args.threads = &pool;
      ASSERT_TRUE((*kernel)->execute(args).is_ok()) << t.name;
      EXPECT_TRUE(all_close(out, want, 1e-4, 1e-4)) << t.name;
      ++ran;
    }
    EXPECT_EQ(static_cast<size_t>(ran), expected_tactics(s).size());
  }
}

TEST(Conv, SymbolicShapes) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, {-1, 3, -1, 17});
  int w = g.add_constant("w", HostTensor(DataType::kFloat32, {8, 3, 3, 5}));
  ir::Attrs attrs;
  attrs.set("strides", std::vector<int64_t>{2, 3});
  attrs.set("pads", std::vector<int64_t>{1, 2, 0, 1});
  attrs.set("dilations", std::vector<int64_t>{2, 1});
  int node = g.add_node("Conv", "conv", {x, w}, 1, attrs);
  ASSERT_TRUE(g.infer_node(node).is_ok());
  const ir::SymShape& out = g.value(g.node(node).outputs[0]).shape;
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[1].is_const() && out[1].value() == 8);
  ASSERT_TRUE(out[3].is_const());
  EXPECT_EQ(out[3].value(), (17 + 2 + 1 - 5) / 3 + 1);
  for (int64_t n : {1, 4}) {
    for (int64_t h : {5, 6, 30}) {
      std::vector<int64_t> sym = {n, h};
      auto dims = ir::eval_shape(out, sym);
      ASSERT_TRUE(dims.is_ok());
      EXPECT_EQ((*dims)[0], n);
      EXPECT_EQ((*dims)[2], (h + 1 + 0 - 2 * 2 - 1) / 2 + 1) << h;
    }
  }
}

// Shape-inference errors; each message must name the problem.
void expect_error(const OpCase& c, const std::string& needle) {
  auto g = make_graph(c);
  ASSERT_FALSE(g.is_ok()) << "expected an error mentioning '" << needle << "'";
  EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
}

TEST(Conv, Errors) {
  std::mt19937 rng(22);
  auto base = [&] {
    OpCase c;
    c.op = "Conv";
    c.inputs.push_back(random_tensor(DataType::kFloat32, {1, 4, 6, 6}, rng));
    c.inputs.push_back(random_tensor(DataType::kFloat32, {6, 4, 3, 3}, rng));
    c.constant = {false, true, true, true};
    return c;
  };
  ASSERT_TRUE(make_graph(base()).is_ok());

  OpCase c = base();
  c.attrs.set("group", int64_t{3});  // 4 channels
  expect_error(c, "not divisible by group 3");
  c = base();
  c.attrs.set("group", int64_t{4});
  c.inputs[1] = random_tensor(DataType::kFloat32, {6, 1, 3, 3}, rng);  // 6 % 4 != 0
  expect_error(c, "output channels 6");
  c = base();
  c.attrs.set("group", int64_t{0});
  expect_error(c, "group");
  c = base();
  c.inputs[1] = random_tensor(DataType::kFloat32, {6, 3, 3, 3}, rng);
  expect_error(c, "dim 1 must be C/group = 4");
  c = base();
  c.inputs[1] = random_tensor(DataType::kFloat32, {6, 4, 3}, rng);
  expect_error(c, "rank");
  c = base();
  c.inputs[1] = random_tensor(DataType::kFloat32, {6, 4, 7, 3}, rng);  // 6 - 7 + 1 = 0 rows
  expect_error(c, "would be 0");
  c = base();
  c.attrs.set("dilations", std::vector<int64_t>{4, 1});  // dilated kernel 9 > 6
  expect_error(c, "would be -2");
  c = base();
  c.attrs.set("strides", std::vector<int64_t>{1});
  expect_error(c, "'strides'");
  c = base();
  c.attrs.set("strides", std::vector<int64_t>{0, 1});
  expect_error(c, "'strides'");
  c = base();
  c.attrs.set("pads", std::vector<int64_t>{1, 1});
  expect_error(c, "'pads'");
  c = base();
  c.attrs.set("pads", std::vector<int64_t>{1, 1, -1, 0});
  expect_error(c, "'pads'");
  c = base();
  c.attrs.set("activation", std::string("swishy"));
  expect_error(c, "swishy");
  c = base();
  c.inputs.push_back(random_tensor(DataType::kFloat32, {5}, rng));
  expect_error(c, "B [5]");
  c = base();
  c.inputs.push_back(HostTensor());
  c.inputs.push_back(random_tensor(DataType::kFloat32, {1, 6, 4, 5}, rng));
  expect_error(c, "Z [1,6,4,5]");
  c = base();
  c.inputs[0] = random_tensor(DataType::kInt32, {1, 4, 6, 6}, rng);
  expect_error(c, "int32");
  c = base();
  c.inputs[1] = random_tensor(DataType::kFloat16, {6, 4, 3, 3}, rng);
  expect_error(c, "W has dtype float16");
  c = base();
  c.inputs[0] = random_tensor(DataType::kFloat32, {4, 6}, rng);
  expect_error(c, "rank >= 3");
  c = base();
  c.inputs.resize(1);
  expect_error(c, "2 to 4 inputs");
}

TEST(Conv, RuntimeResidualShapeMismatchIsAnError) {
  // Symbolic dims cannot be compared at build time; the kernels check Z at run time.
  std::mt19937 rng(23);
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, {1, 2, -1, 4});
  int w = g.add_constant("w", random_tensor(DataType::kFloat32, {3, 2, 1, 1}, rng));
  int z = g.add_input("z", DataType::kFloat32, {1, 3, -1, 4});
  int node = g.add_node("Conv", "conv", {x, w, -1, z}, 1, {});
  ASSERT_TRUE(g.infer_node(node).is_ok());
  HostTensor xt = random_tensor(DataType::kFloat32, {1, 2, 5, 4}, rng);
  HostTensor zt = random_tensor(DataType::kFloat32, {1, 3, 6, 4}, rng);
  HostTensor yt(DataType::kFloat32, {1, 3, 5, 4});
  ops::KernelInfo info;
  info.graph = &g;
  info.node = &g.node(node);
  info.opt.inputs = {xt.shape(), Dims{3, 2, 1, 1}, Dims{}, zt.shape()};
  info.opt.outputs = {yt.shape()};
  info.min = info.max = info.opt;
  TensorView ins[] = {xt.view(), g.value(w).constant->view(), TensorView{}, zt.view()};
  TensorView outs[] = {yt.view()};
  HostTensor ws(DataType::kUInt8, {1 << 16});
  for (const ops::TacticDef& t : ops::find_op("Conv")->cpu_tactics) {
    if (!t.supports(info)) continue;
    auto kernel = t.create(info);
    ASSERT_TRUE(kernel.is_ok());
    ops::ExecArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.workspace = ws.data();
    args.workspace_size = ws.nbytes();
    Status st = (*kernel)->execute(args);
    EXPECT_FALSE(st.is_ok()) << t.name;
    EXPECT_NE(st.to_string().find("residual"), std::string::npos) << st.to_string();
  }
}

}  // namespace
}  // namespace kiln::testing::conv_test
