// Conv CUDA tactics (every cuDNN forward algorithm that supports a case, the kiln direct and
// depthwise kernels) against the CPU reference: float32 / float16 / bfloat16, 1-D to 3-D,
// groups, depthwise with multipliers, strides, dilations, symmetric and asymmetric pads, the
// fused epilogue (bias, residual Z, every activation), W constant or not, zero-size batches, and
// kernels built for a shape range run at other shapes of the range.
//
// Tolerances are per element and scale with the magnitude m = conv(|X|, |W|) + |B| + |Z| (the
// reference run on absolute values): a reordered float sum is off by a few float ulps of m.
// cuDNN's float32 runs may use TF32 tensor cores (CUDNN_DEFAULT_MATH; kiln's kTf32 is on by
// default), whose 10-bit mantissas put the error near 1e-3 of m. cuDNN's 16-bit runs round the
// convolution to the output dtype before kiln's epilogue adds bias and Z (a second rounding).
#include "backends/cuda/handles.h"
#include "common/layout_util.h"
#include "gpu/op_check.h"
#include "ops/activation/activation.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

namespace kiln::testing::conv_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

struct Spec {
  DataType dt = DataType::kFloat32;
  Dims x, w;
  std::vector<int64_t> strides, pads, dilations;
  int64_t group = 1;
  bool bias = false, z = false, w_const = true;
  std::string act;  // empty: none
  double alpha = 0, beta = 0;
  bool has_alpha_beta = false;
};

OpCase make_case(const Spec& s, std::mt19937& rng) {
  OpCase c;
  c.op = "Conv";
  if (!s.strides.empty()) c.attrs.set("strides", s.strides);
  if (!s.pads.empty()) c.attrs.set("pads", s.pads);
  if (!s.dilations.empty()) c.attrs.set("dilations", s.dilations);
  c.attrs.set("group", s.group);
  if (!s.act.empty()) {
    c.attrs.set("activation", s.act);
    if (s.has_alpha_beta) {
      c.attrs.set("activation_alpha", s.alpha);
      c.attrs.set("activation_beta", s.beta);
    }
  }
  c.inputs.push_back(random_tensor(s.dt, s.x, rng, -1, 1));
  c.inputs.push_back(random_tensor(s.dt, s.w, rng, -1, 1));
  c.constant = {false, s.w_const};
  if (s.bias || s.z) {
    c.inputs.push_back(s.bias ? random_tensor(s.dt, {s.w[0]}, rng, -1, 1) : HostTensor());
    c.constant.push_back(s.bias);
  }
  if (s.z) {
    // Z has the output's shape: infer it from a graph without Z.
    OpCase probe = c;
    probe.inputs.resize(2);
    probe.constant.resize(2);
    auto g = make_graph(probe);
    EXPECT_TRUE(g.is_ok()) << g.status().to_string();
    if (g.is_ok()) {
      auto dims = ir::eval_shape(g->value(g->node(0).outputs[0]).shape, {});
      EXPECT_TRUE(dims.is_ok());
      if (dims.is_ok()) c.inputs.push_back(random_tensor(s.dt, dims_of(*dims), rng, -1, 1));
    }
    c.constant.push_back(false);
  }
  return c;
}

// The case on |inputs| without activation: the magnitude each output's error scales with.
OpCase magnitude_case(const OpCase& c) {
  OpCase m = c;
  m.attrs = ir::Attrs();
  for (const char* name : {"strides", "pads", "dilations"}) {
    if (c.attrs.has(name)) m.attrs.set(name, c.attrs.get_ints(name));
  }
  m.attrs.set("group", c.attrs.get_int("group", 1));
  for (HostTensor& t : m.inputs) {
    if (t.empty()) continue;
    HostTensor a(t.dtype(), t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) {
      store_from_double(a.data(), t.dtype(), i, std::fabs(t.get_double(i)));
    }
    t = a;
  }
  return m;
}

struct ConvTol {
  double acc;    // times the magnitude
  double out;    // times |expected|
  double floor;  // absolute
};

// tf32: whether the kernel was built with TF32 allowed (float32 cuDNN runs); without it, cuDNN's
// float32 algorithms (FFT and Winograd transforms included) stay near float accuracy.
ConvTol conv_tol(const std::string& tactic, DataType dt, bool has_act, bool tf32 = true) {
  const bool cudnn = tactic.find("/cudnn/") != std::string::npos;
  ConvTol t{};
  switch (dt) {
    case DataType::kFloat32:
      t = {cudnn ? (tf32 ? 3e-3 : 1e-4) : 2e-5, 1e-6, 1e-6};
      break;
    case DataType::kFloat16:
      t = {cudnn ? 1.5e-3 : 2e-5, 2e-3, 1e-5};
      break;
    default:
      t = {cudnn ? 8e-3 : 2e-5, 1.6e-2, 1e-5};
      break;
  }
  if (has_act) t.acc *= 2;  // activation slopes are at most ~1.8 (selu)
  return t;
}

// Compares with per-element tolerance; returns the failure description or "".
std::string compare(const HostTensor& got, const HostTensor& want, const HostTensor& mag,
                    const ConvTol& t) {
  if (!(got.shape() == want.shape())) return "shape " + got.shape().to_string();
  std::ostringstream os;
  int64_t bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.get_double(i), w = want.get_double(i), m = mag.get_double(i);
    const double lim = t.floor + t.acc * m + t.out * std::fabs(w);
    const double err = std::fabs(g - w);
    if (!(err <= lim)) {
      if (bad < 4) os << " [" << i << "] got " << g << " want " << w << " (mag " << m << ");";
      ++bad;
    }
    if (m > 0) worst = std::max(worst, err / m);
  }
  if (bad == 0) return "";
  return std::to_string(bad) + " of " + std::to_string(got.numel()) + " differ:" + os.str() +
         " worst err/mag " + std::to_string(worst);
}

// Tactic ids that ran, over the whole binary (coverage report).
std::map<std::string, int>& coverage() {
  static std::map<std::string, int> m;
  return m;
}

std::string describe(const Spec& s) {
  std::ostringstream os;
  os << dtype_name(s.dt) << " x" << s.x.to_string() << " w" << s.w.to_string() << " g" << s.group;
  auto ints = [&](const char* n, const std::vector<int64_t>& v) {
    if (v.empty()) return;
    os << " " << n << "[";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
    os << "]";
  };
  ints("s", s.strides);
  ints("p", s.pads);
  ints("d", s.dilations);
  if (s.bias) os << " +B";
  if (s.z) os << " +Z";
  if (!s.act.empty()) os << " " << s.act;
  return os.str();
}

// Runs every supporting CUDA tactic on the case; returns the tactic ids.
std::vector<std::string> check_conv(const Spec& s, Device* device, cudaStream_t stream,
                                    std::mt19937& rng) {
  const std::string what = describe(s);
  OpCase c = make_case(s, rng);
  auto want = run_reference_case(c);
  auto mag = run_reference_case(magnitude_case(c));
  EXPECT_TRUE(want.is_ok() && mag.is_ok()) << what;
  if (!want.is_ok() || !mag.is_ok()) return {};
  auto runs = run_cuda_tactics(c, device, stream);
  EXPECT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  if (!runs.is_ok()) return {};
  std::vector<std::string> ids;
  for (const CudaTacticRun& r : *runs) {
    ids.push_back(r.tactic);
    ++coverage()[r.tactic];
    const std::string err =
        compare(r.outputs[0], (*want)[0], (*mag)[0], conv_tol(r.tactic, s.dt, !s.act.empty()));
    EXPECT_EQ(err, "") << what << " tactic " << r.tactic;
  }
  return ids;
}

bool has(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}
bool any_cudnn(const std::vector<std::string>& ids) {
  return std::any_of(ids.begin(), ids.end(),
                     [](const std::string& id) { return id.find("/cudnn/") != std::string::npos; });
}

using ConvCuda = GpuTest;

TEST(ConvCudaRegistry, OneTacticPerCudnnAlgorithmPlusKilnKernels) {
  auto t = ops::cuda_tactics("Conv");
  ASSERT_EQ(t.size(), 25u);
  const char* cudnn_names[] = {"cudnn_implicit_gemm", "cudnn_implicit_precomp_gemm",
                               "cudnn_gemm",          "cudnn_direct",
                               "cudnn_fft",           "cudnn_fft_tiling",
                               "cudnn_winograd",      "cudnn_winograd_nonfused"};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(t[i].name, cudnn_names[i]);
    EXPECT_EQ(t[i].source, TacticSource::kCudnn);
  }
  EXPECT_EQ(t[8].name, "direct");
  EXPECT_EQ(t[8].source, TacticSource::kKilnCuda);
  EXPECT_EQ(t[9].name, "depthwise");
  EXPECT_EQ(t[9].source, TacticSource::kKilnCuda);
  EXPECT_EQ(t[10].name, "cudnn_fused_implicit_precomp_gemm");
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(t[11 + i].name, "cudnn_nhwc_" + std::string(cudnn_names[i]).substr(6));
    EXPECT_EQ(t[11 + i].source, TacticSource::kCudnn);
  }
  EXPECT_EQ(t[19].name, "cudnn_nhwc_fused_implicit_gemm");
  EXPECT_EQ(t[20].name, "cudnn_nhwc_fused_implicit_precomp_gemm");
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(t[21 + k].name, "cudnn_graph_" + std::to_string(k));
    EXPECT_EQ(t[21 + k].source, TacticSource::kCudnn);
  }
}

// Base 2-D geometries; each runs with several epilogues and every dtype.
std::vector<Spec> base_2d() {
  std::vector<Spec> v;
  auto add = [&](Dims x, Dims w, std::vector<int64_t> s, std::vector<int64_t> p,
                 std::vector<int64_t> d, int64_t g) {
    Spec sp;
    sp.x = x;
    sp.w = w;
    sp.strides = std::move(s);
    sp.pads = std::move(p);
    sp.dilations = std::move(d);
    sp.group = g;
    v.push_back(sp);
  };
  add({2, 8, 13, 11}, {16, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {}, 1);
  add({1, 6, 9, 10}, {9, 2, 3, 3}, {2, 2}, {1, 1, 1, 1}, {2, 2}, 3);
  add({2, 8, 12, 12}, {8, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {}, 8);   // depthwise
  add({1, 8, 15, 15}, {16, 1, 5, 5}, {2, 2}, {2, 2, 2, 2}, {}, 8);  // depthwise x2
  add({2, 16, 7, 7}, {32, 16, 1, 1}, {}, {}, {}, 1);                // 1x1
  add({1, 3, 10, 10}, {4, 3, 3, 3}, {1, 1}, {0, 1, 2, 0}, {}, 1);   // asymmetric pads
  add({1, 3, 32, 32}, {8, 3, 7, 7}, {2, 2}, {3, 3, 3, 3}, {}, 1);
  add({2, 4, 16, 16}, {8, 4, 5, 5}, {1, 1}, {2, 2, 2, 2}, {}, 1);
  add({1, 5, 8, 9}, {6, 5, 2, 3}, {3, 1}, {0, 0, 0, 0}, {1, 2}, 1);
  return v;
}

struct EpilogueSpec {
  bool bias, z;
  const char* act;
};
const EpilogueSpec kEpilogues[] = {{false, false, ""},
                                   {true, false, ""},
                                   {true, false, "relu"},
                                   {true, true, "silu"},
                                   {false, true, "clip"}};

TEST_F(ConvCuda, TwoDimensionalEveryDtypeAndEpilogue) {
  std::mt19937 rng(1);
  for (DataType dt : kFloatTypes) {
    for (Spec s : base_2d()) {
      s.dt = dt;
      for (const EpilogueSpec& e : kEpilogues) {
        s.bias = e.bias;
        s.z = e.z;
        s.act = e.act;
        if (s.act == "clip") {
          s.has_alpha_beta = true;
          s.alpha = -0.5;
          s.beta = 0.5;
        } else {
          s.has_alpha_beta = false;
        }
        auto ids = check_conv(s, device(), stream(), rng);
        EXPECT_TRUE(has(ids, "Conv/kiln-cuda/direct") || ids.empty()) << describe(s);
        const bool symmetric = s.pads.empty() || (s.pads[0] == s.pads[2] && s.pads[1] == s.pads[3]);
        if (!symmetric) {
          EXPECT_FALSE(any_cudnn(ids)) << describe(s);
        }
        if (s.w[1] == 1 && s.group > 1) {
          EXPECT_TRUE(has(ids, "Conv/kiln-cuda/depthwise") || ids.empty()) << describe(s);
        }
      }
    }
  }
}

TEST_F(ConvCuda, OneAndThreeDimensional) {
  std::mt19937 rng(2);
  for (DataType dt : kFloatTypes) {
    Spec one;
    one.dt = dt;
    one.x = {2, 4, 20};
    one.w = {6, 2, 3};
    one.strides = {2};
    one.pads = {1, 1};
    one.dilations = {2};
    one.group = 2;
    one.bias = true;
    one.act = "relu";
    check_conv(one, device(), stream(), rng);
    Spec three;
    three.dt = dt;
    three.x = {1, 4, 6, 7, 8};
    three.w = {8, 2, 3, 3, 3};
    three.pads = {1, 1, 1, 1, 1, 1};
    three.group = 2;
    three.bias = true;
    three.z = true;
    check_conv(three, device(), stream(), rng);
    Spec three_asym = three;
    three_asym.pads = {0, 1, 1, 1, 0, 1};
    three_asym.strides = {2, 1, 2};
    auto ids = check_conv(three_asym, device(), stream(), rng);
    EXPECT_FALSE(any_cudnn(ids));
  }
}

TEST_F(ConvCuda, EveryActivationKind) {
  std::mt19937 rng(3);
  const char* kinds[] = {
      "relu", "leaky_relu", "sigmoid",   "tanh", "elu",          "selu",       "softplus",
      "clip", "gelu_erf",   "gelu_tanh", "silu", "hard_sigmoid", "hard_swish", "thresholded_relu",
      "celu", "mish",       "softsign"};
  for (const char* k : kinds) {
    for (DataType dt : {DataType::kFloat32, DataType::kFloat16}) {
      Spec s;
      s.dt = dt;
      s.x = {1, 8, 9, 9};
      s.w = {8, 8, 3, 3};
      s.pads = {1, 1, 1, 1};
      s.bias = true;
      s.z = true;
      s.act = k;
      check_conv(s, device(), stream(), rng);
    }
  }
}

TEST_F(ConvCuda, WeightsNotConstant) {
  std::mt19937 rng(4);
  for (DataType dt : kFloatTypes) {
    Spec s;
    s.dt = dt;
    s.x = {2, 4, 10, 10};
    s.w = {6, 4, 3, 3};
    s.pads = {1, 1, 1, 1};
    s.w_const = false;
    s.bias = true;
    check_conv(s, device(), stream(), rng);
  }
}

// Cases where different cuDNN algorithms apply; each algorithm that supports() one must match.
TEST_F(ConvCuda, CudnnAlgorithmCoverage) {
  std::mt19937 rng(5);
  std::set<std::string> seen;
  std::vector<Spec> specs;
  for (DataType dt : kFloatTypes) {
    Spec s;
    s.dt = dt;
    s.bias = true;
    s.x = {2, 16, 28, 28};  // 3x3 stride 1: Winograd, FFT, implicit GEMMs
    s.w = {32, 16, 3, 3};
    s.pads = {1, 1, 1, 1};
    specs.push_back(s);
    s.x = {1, 8, 40, 40};  // 5x5: FFT / FFT tiling
    s.w = {8, 8, 5, 5};
    s.pads = {2, 2, 2, 2};
    specs.push_back(s);
    s.x = {4, 32, 14, 14};  // 1x1 stride 1: GEMM
    s.w = {64, 32, 1, 1};
    s.pads = {};
    specs.push_back(s);
    s.x = {1, 3, 64, 64};  // 7x7 stride 2 (stem)
    s.w = {16, 3, 7, 7};
    s.strides = {2, 2};
    s.pads = {3, 3, 3, 3};
    specs.push_back(s);
    s.strides = {};
  }
  for (const Spec& s : specs) {
    for (const std::string& id : check_conv(s, device(), stream(), rng)) {
      if (id.find("/cudnn/") != std::string::npos)
        seen.insert(id + " (" + std::string(dtype_name(s.dt)) + ")");
    }
  }
  std::string list;
  for (const std::string& id : seen) list += " " + id;
  std::cout << "[ cuDNN algorithms that ran ]" << list << "\n";
  EXPECT_TRUE(seen.count("Conv/cudnn/cudnn_implicit_gemm (float32)")) << list;
  EXPECT_TRUE(seen.count("Conv/cudnn/cudnn_implicit_precomp_gemm (float32)")) << list;
  EXPECT_GE(seen.size(), 6u) << list;
}

TEST_F(ConvCuda, ZeroBatch) {
  std::mt19937 rng(6);
  for (DataType dt : kFloatTypes) {
    Spec s;
    s.dt = dt;
    s.x = {0, 4, 8, 8};
    s.w = {4, 1, 3, 3};
    s.group = 4;
    s.pads = {1, 1, 1, 1};
    s.bias = true;
    auto ids = check_conv(s, device(), stream(), rng);
    EXPECT_TRUE(has(ids, "Conv/kiln-cuda/direct"));
    EXPECT_TRUE(has(ids, "Conv/kiln-cuda/depthwise"));
  }
}

TEST_F(ConvCuda, RandomGeometries) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> kd(1, 4), sd(1, 3), dd(1, 2), pd(0, 2), ext(5, 14);
  for (int iter = 0; iter < 30; ++iter) {
    Spec s;
    s.dt = kFloatTypes[iter % 3];
    const int64_t group = std::vector<int64_t>{1, 2, 3}[iter % 3];
    const int64_t cg = 1 + iter % 4, mg = 1 + (iter / 2) % 3;
    std::vector<int64_t> x = {1 + iter % 2, group * cg}, w = {group * mg, cg};
    for (int d = 0; d < 2; ++d) {
      w.push_back(kd(rng));
      s.strides.push_back(sd(rng));
      s.dilations.push_back(dd(rng));
      x.push_back(std::max(ext(rng), s.dilations[d] * (w.back() - 1) + 1));
    }
    const bool symmetric = iter % 3 != 0;
    const int64_t p0 = pd(rng), p1 = pd(rng);
    s.pads = symmetric ? std::vector<int64_t>{p0, p1, p0, p1}
                       : std::vector<int64_t>{p0, p1, pd(rng), pd(rng)};
    s.x = dims_of(x);
    s.w = dims_of(w);
    s.group = group;
    s.bias = iter % 2 == 0;
    s.z = iter % 5 == 0;
    if (iter % 4 == 1) s.act = "gelu_erf";
    check_conv(s, device(), stream(), rng);
  }
}

// A kernel built for a batch range [1, 4] (opt 2) runs at batches 1, 3 and 4: descriptors follow
// the run's shapes. float32 with and without TF32 (BuilderFlag::kTf32).
TEST_F(ConvCuda, KernelsServeTheWholeShapeRange) {
  std::mt19937 rng(8);
  struct Variant {
    DataType dt;
    bool tf32;
  };
  for (const Variant& variant :
       {Variant{DataType::kFloat32, true}, Variant{DataType::kFloat32, false},
        Variant{DataType::kFloat16, true}}) {
    const DataType dt = variant.dt;
    Spec s;
    s.dt = dt;
    s.w = {8, 4, 3, 3};
    s.pads = {1, 1, 1, 1};
    s.bias = true;
    s.act = "relu";
    auto case_for = [&](int64_t n) {
      Spec t = s;
      t.x = {n, 4, 12, 10};
      return make_case(t, rng);
    };
    OpCase c_min = case_for(1), c_opt = case_for(2), c_max = case_for(4);
    auto g = make_graph(c_opt);
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    const ir::Node& node = g->node(0);
    auto shapes_of = [&](const OpCase& c) {
      ops::NodeShapes ns;
      for (const HostTensor& t : c.inputs) ns.inputs.push_back(t.shape());
      ns.outputs.push_back(Dims{c.inputs[0].shape()[0], 8, 12, 10});
      return ns;
    };
    ops::KernelInfo info;
    info.graph = &*g;
    info.node = &node;
    info.backend = Backend::kCuda;
    info.builder_flags = variant.tf32 ? static_cast<uint32_t>(BuilderFlag::kTf32) : 0u;
    info.min = shapes_of(c_min);
    info.opt = shapes_of(c_opt);
    info.max = shapes_of(c_max);
    int ran = 0;
    for (const ops::TacticDef& t : ops::cuda_tactics("Conv")) {
      if (!t.supports(info)) continue;
      const std::string id = ops::tactic_id("Conv", t);
      auto kernel = t.create(info);
      ASSERT_TRUE(kernel.is_ok()) << id << ": " << kernel.status().to_string();
      for (int64_t n : {1, 3, 4}) {
        OpCase c = case_for(n);
        auto want = run_reference_case(c);
        auto mag = run_reference_case(magnitude_case(c));
        ASSERT_TRUE(want.is_ok() && mag.is_ok());
        const ops::NodeShapes ns = shapes_of(c);
        std::vector<DeviceBuffer> bufs;
        std::vector<TensorView> ins, outs;
        for (const HostTensor& h : c.inputs) {
          auto b = device()->allocate(h.nbytes());
          ASSERT_TRUE(b.is_ok());
          ASSERT_TRUE(device()->upload(b->get(), h.data(), h.nbytes()).is_ok());
          ins.push_back(TensorView{b->get(), h.dtype(), h.shape()});
          bufs.push_back(std::move(*b));
        }
        HostTensor y(dt, ns.outputs[0]);
        auto yb = device()->allocate(y.nbytes());
        ASSERT_TRUE(yb.is_ok());
        outs.push_back(TensorView{yb->get(), dt, y.shape()});
        // Workspace sized for the whole range, as the runtime does.
        const size_t ws =
            std::max({(*kernel)->workspace_size(info.max), (*kernel)->workspace_size(info.opt),
                      (*kernel)->workspace_size(ns)});
        DeviceBuffer wsb;
        if (ws) {
          auto b = device()->allocate(ws);
          ASSERT_TRUE(b.is_ok());
          wsb = std::move(*b);
        }
        ops::ExecArgs args;
        args.inputs = ins;
        args.outputs = outs;
        args.workspace = wsb.get();
        args.workspace_size = ws;
        args.stream = stream();
        Status st = (*kernel)->execute(args);
        ASSERT_TRUE(st.is_ok()) << id << " n=" << n << ": " << st.to_string();
        ASSERT_TRUE(device()->synchronize(stream()).is_ok());
        ASSERT_TRUE(device()->download(y.data(), yb->get(), y.nbytes()).is_ok());
        EXPECT_EQ(compare(y, (*want)[0], (*mag)[0], conv_tol(id, dt, true, variant.tf32)), "")
            << id << " n=" << n << (variant.tf32 ? "" : " no TF32");
      }
      ++ran;
    }
    EXPECT_GE(ran, 2);
  }
}

// ---------------------------------------------------------------- channels-last (NHWC)

// The NHWC twin of a channels-first case: X and Z transposed here, "channels_last" set.
OpCase nhwc_case(const OpCase& c) {
  OpCase l = c;
  l.attrs.set("channels_last", int64_t{1});
  l.inputs[0] = to_channels_last(c.inputs[0]);
  if (c.inputs.size() > 3 && !c.inputs[3].empty()) l.inputs[3] = to_channels_last(c.inputs[3]);
  return l;
}

// Runs every CUDA tactic that supports the NHWC form of `s` and compares each output, transposed
// back to NCHW here, with the channels-first CPU reference. Returns the tactic ids.
std::vector<std::string> check_conv_nhwc(const Spec& s, Device* device, cudaStream_t stream,
                                         std::mt19937& rng, bool must_run = true) {
  const std::string what = "NHWC " + describe(s);
  OpCase c = make_case(s, rng);
  auto want = run_reference_case(c);
  auto mag = run_reference_case(magnitude_case(c));
  EXPECT_TRUE(want.is_ok() && mag.is_ok()) << what;
  if (!want.is_ok() || !mag.is_ok()) return {};
  auto runs = run_cuda_tactics(nhwc_case(c), device, stream);
  if (!must_run && !runs.is_ok() && runs.status().code() == StatusCode::kUnsupported) return {};
  EXPECT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  if (!runs.is_ok()) return {};
  std::vector<std::string> ids;
  for (const CudaTacticRun& r : *runs) {
    ids.push_back(r.tactic);
    ++coverage()[r.tactic];
    EXPECT_TRUE(r.tactic.find("/cudnn_nhwc_") != std::string::npos ||
                r.tactic.find("/cudnn_graph_") != std::string::npos)
        << what << ": a channels-first tactic accepted a channels-last node: " << r.tactic;
    const std::string err = compare(to_channels_first(r.outputs[0]), (*want)[0], (*mag)[0],
                                    conv_tol(r.tactic, s.dt, !s.act.empty()));
    EXPECT_EQ(err, "") << what << " tactic " << r.tactic;
  }
  return ids;
}

// The legacy fused call (the graph API tactics fuse too, but may find no engine).
bool any_fused(const std::vector<std::string>& ids) {
  return std::any_of(ids.begin(), ids.end(), [](const std::string& id) {
    return id.find("/cudnn_nhwc_fused_") != std::string::npos;
  });
}
bool any_graph(const std::vector<std::string>& ids) {
  return std::any_of(ids.begin(), ids.end(), [](const std::string& id) {
    return id.find("/cudnn_graph_") != std::string::npos;
  });
}

// ResNet-50's conv shapes (scaled down in extent), every epilogue the fusion pass produces, in
// float32 / float16 / bfloat16; the fused cuDNN call must run for float16 ReLU and identity.
TEST_F(ConvCuda, ChannelsLastMatchesTheChannelsFirstReference) {
  std::mt19937 rng(21);
  struct Geo {
    Dims x, w;
    std::vector<int64_t> strides, pads;
    int64_t group;
  };
  const Geo geos[] = {
      {{2, 3, 32, 32}, {16, 3, 7, 7}, {2, 2}, {3, 3, 3, 3}, 1},    // stem, C = 3
      {{2, 16, 14, 14}, {16, 16, 1, 1}, {1, 1}, {0, 0, 0, 0}, 1},  // 1x1 reduce
      {{2, 16, 14, 14}, {16, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, 1},  // 3x3
      {{2, 16, 14, 14}, {32, 16, 1, 1}, {2, 2}, {0, 0, 0, 0}, 1},  // downsample
      {{1, 32, 9, 9}, {32, 8, 3, 3}, {2, 2}, {1, 1, 1, 1}, 4},     // grouped (ResNeXt)
  };
  struct Epi {
    bool bias, z;
    const char* act;
  };
  const Epi epis[] = {{false, false, ""},   {true, false, ""},     {true, false, "relu"},
                      {true, true, "relu"}, {false, true, "relu"}, {true, true, ""},
                      {true, false, "silu"}};
  for (DataType dt : kFloatTypes) {
    for (const Geo& g : geos) {
      for (const Epi& e : epis) {
        Spec s;
        s.dt = dt;
        s.x = g.x;
        s.w = g.w;
        s.strides = g.strides;
        s.pads = g.pads;
        s.group = g.group;
        s.bias = e.bias;
        s.z = e.z;
        s.act = e.act;
        // Grouped NHWC convs may have no cuDNN tactic (then the layout pass keeps them NCHW).
        const auto ids = check_conv_nhwc(s, device(), stream(), rng, g.group == 1);
        // One cuDNN call for conv + bias + Z + ReLU / identity in float16 (ResNet's FP16 path).
        const bool fusable = e.act[0] == '\0' || std::string(e.act) == "relu";
        if (dt == DataType::kFloat16 && fusable && g.group == 1) {
          EXPECT_TRUE(any_fused(ids)) << describe(s);
          // The graph API must find an engine for tensor-core friendly channel counts.
          if (g.x[1] % 8 == 0) {
            EXPECT_TRUE(any_graph(ids)) << describe(s);
          }
        }
        if (!fusable) {
          EXPECT_FALSE(any_fused(ids)) << describe(s);
          EXPECT_FALSE(any_graph(ids)) << describe(s);
        }
        if (dt == DataType::kFloat32) {
          EXPECT_FALSE(any_graph(ids)) << describe(s);
        }
      }
    }
  }
}

// Channels-last needs W at creation (packed to KRSC) and symmetric pads; other cases are
// declined, not run wrongly.
TEST_F(ConvCuda, ChannelsLastDeclinesWhatItCannotRun) {
  std::mt19937 rng(22);
  Spec s;
  s.dt = DataType::kFloat16;
  s.x = {1, 8, 10, 10};
  s.w = {8, 8, 3, 3};
  s.pads = {1, 1, 1, 1};
  s.w_const = false;
  OpCase c = nhwc_case(make_case(s, rng));
  auto runs = run_cuda_tactics(c, device(), stream());
  EXPECT_FALSE(runs.is_ok()) << "W not constant";
  s.w_const = true;
  s.pads = {0, 1, 2, 1};
  // Asymmetric pads: the legacy API pads symmetrically, so only the graph-API tactics (pre and
  // post paddings) may take them, and then they must compute the right thing.
  OpCase asym = make_case(s, rng);
  auto runs2 = run_cuda_tactics(nhwc_case(asym), device(), stream());
  if (runs2.is_ok()) {
    auto want = run_reference_case(asym);
    auto mag = run_reference_case(magnitude_case(asym));
    ASSERT_TRUE(want.is_ok() && mag.is_ok());
    ASSERT_FALSE(runs2->empty());
    for (const auto& r : *runs2) {
      EXPECT_NE(r.tactic.find("cudnn_graph"), std::string::npos) << r.tactic << ": asymmetric pads";
      EXPECT_EQ(compare(to_channels_first(r.outputs[0]), (*want)[0], (*mag)[0],
                        conv_tol(r.tactic, s.dt, false)),
                "")
          << r.tactic;
    }
  }
}

// An NHWC kernel built for a batch range runs at other batches of the range (descriptors are
// rebuilt when the shapes change and reused when they repeat).
TEST_F(ConvCuda, ChannelsLastServesTheShapeRange) {
  std::mt19937 rng(23);
  Spec s;
  s.dt = DataType::kFloat16;
  s.w = {16, 8, 3, 3};
  s.pads = {1, 1, 1, 1};
  s.bias = true;
  s.z = true;
  s.act = "relu";
  auto case_for = [&](int64_t n) {
    Spec t = s;
    t.x = {n, 8, 12, 10};
    return make_case(t, rng);
  };
  // W and B are constants packed at creation: every batch uses the opt case's.
  const OpCase base = case_for(2);
  OpCase c_opt = nhwc_case(base);
  auto g = make_graph(c_opt);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  const ir::Node& node = g->node(0);
  auto shapes_of = [&](int64_t n) {
    ops::NodeShapes ns;
    ns.inputs = {Dims{n, 12, 10, 8}, Dims{16, 8, 3, 3}, Dims{16}, Dims{n, 12, 10, 16}};
    ns.outputs = {Dims{n, 12, 10, 16}};
    return ns;
  };
  ops::KernelInfo info;
  info.graph = &*g;
  info.node = &node;
  info.backend = Backend::kCuda;
  info.min = shapes_of(1);
  info.opt = shapes_of(2);
  info.max = shapes_of(4);
  int ran = 0;
  for (const ops::TacticDef& t : ops::cuda_tactics("Conv")) {
    if (!t.supports(info)) continue;
    const std::string id = ops::tactic_id("Conv", t);
    auto kernel = t.create(info);
    ASSERT_TRUE(kernel.is_ok()) << id << ": " << kernel.status().to_string();
    for (int64_t n : {1, 3, 4, 3}) {
      OpCase first = case_for(n);
      first.inputs[1] = base.inputs[1];
      first.inputs[2] = base.inputs[2];
      OpCase c = nhwc_case(first);
      auto want = run_reference_case(first);
      auto mag = run_reference_case(magnitude_case(first));
      ASSERT_TRUE(want.is_ok() && mag.is_ok());
      std::vector<DeviceBuffer> bufs;
      std::vector<TensorView> ins, outs;
      for (const HostTensor& h : c.inputs) {
        auto b = device()->allocate(h.nbytes());
        ASSERT_TRUE(b.is_ok());
        ASSERT_TRUE(device()->upload(b->get(), h.data(), h.nbytes()).is_ok());
        ins.push_back(TensorView{b->get(), h.dtype(), h.shape()});
        bufs.push_back(std::move(*b));
      }
      HostTensor y(s.dt, shapes_of(n).outputs[0]);
      auto yb = device()->allocate(y.nbytes());
      ASSERT_TRUE(yb.is_ok());
      outs.push_back(TensorView{yb->get(), s.dt, y.shape()});
      const size_t ws =
          std::max({(*kernel)->workspace_size(info.max), (*kernel)->workspace_size(info.opt),
                    (*kernel)->workspace_size(shapes_of(n))});
      DeviceBuffer wsb;
      if (ws) {
        auto b = device()->allocate(ws);
        ASSERT_TRUE(b.is_ok());
        wsb = std::move(*b);
      }
      ops::ExecArgs args;
      args.inputs = ins;
      args.outputs = outs;
      args.workspace = wsb.get();
      args.workspace_size = ws;
      args.stream = stream();
      Status st = (*kernel)->execute(args);
      ASSERT_TRUE(st.is_ok()) << id << " n=" << n << ": " << st.to_string();
      ASSERT_TRUE(device()->synchronize(stream()).is_ok());
      ASSERT_TRUE(device()->download(y.data(), yb->get(), y.nbytes()).is_ok());
      EXPECT_EQ(compare(to_channels_first(y), (*want)[0], (*mag)[0], conv_tol(id, s.dt, true)), "")
          << id << " n=" << n;
    }
    ++ran;
  }
  EXPECT_GE(ran, 2);
}

// A graph-API plan is built at creation with one pooled cuDNN handle; runs lease whichever handle
// is free. Holding a lease during the run forces the run onto another handle.
TEST_F(ConvCuda, GraphPlansRunOnAnyHandle) {
  std::mt19937 rng(24);
  Spec s;
  s.dt = DataType::kFloat16;
  s.x = {2, 16, 10, 10};
  s.w = {32, 16, 3, 3};
  s.pads = {1, 1, 1, 1};
  s.bias = true;
  s.z = true;
  s.act = "relu";
  OpCase first = make_case(s, rng);
  OpCase c = nhwc_case(first);
  auto want = run_reference_case(first);
  auto mag = run_reference_case(magnitude_case(first));
  ASSERT_TRUE(want.is_ok() && mag.is_ok());
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  const ir::Node& node = g->node(0);
  ops::KernelInfo info;
  info.graph = &*g;
  info.node = &node;
  info.backend = Backend::kCuda;
  for (const HostTensor& h : c.inputs) info.opt.inputs.push_back(h.shape());
  info.opt.outputs = {Dims{2, 10, 10, 32}};
  info.min = info.opt;
  info.max = info.opt;
  int ran = 0;
  for (const ops::TacticDef& t : ops::cuda_tactics("Conv")) {
    const std::string id = ops::tactic_id("Conv", t);
    if (id.find("/cudnn_graph_") == std::string::npos || !t.supports(info)) continue;
    auto kernel = t.create(info);
    if (!kernel.is_ok()) {
      std::cout << "[ " << id << " ] not built: " << kernel.status().to_string() << "\n";
      continue;
    }
    std::vector<DeviceBuffer> bufs;
    std::vector<TensorView> ins, outs;
    for (const HostTensor& h : c.inputs) {
      auto b = device()->allocate(h.nbytes());
      ASSERT_TRUE(b.is_ok());
      ASSERT_TRUE(device()->upload(b->get(), h.data(), h.nbytes()).is_ok());
      ins.push_back(TensorView{b->get(), h.dtype(), h.shape()});
      bufs.push_back(std::move(*b));
    }
    HostTensor y(s.dt, info.opt.outputs[0]);
    auto yb = device()->allocate(y.nbytes());
    ASSERT_TRUE(yb.is_ok());
    outs.push_back(TensorView{yb->get(), s.dt, y.shape()});
    const size_t ws = (*kernel)->workspace_size(info.opt);
    DeviceBuffer wsb;
    if (ws) {
      auto b = device()->allocate(ws);
      ASSERT_TRUE(b.is_ok());
      wsb = std::move(*b);
    }
    ops::ExecArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.workspace = wsb.get();
    args.workspace_size = ws;
    args.stream = stream();
    {
      auto held = cuda::acquire_cudnn();  // the handle the plan was built with, most likely
      ASSERT_TRUE(held.is_ok());
      Status st = (*kernel)->execute(args);
      ASSERT_TRUE(st.is_ok()) << id << ": " << st.to_string();
      ASSERT_TRUE(device()->synchronize(stream()).is_ok());
    }
    ASSERT_TRUE(device()->download(y.data(), yb->get(), y.nbytes()).is_ok());
    EXPECT_EQ(compare(to_channels_first(y), (*want)[0], (*mag)[0], conv_tol(id, s.dt, true)), "")
        << id;
    ++ran;
  }
  EXPECT_GE(ran, 1) << "no cuDNN graph-API plan was built for a float16 3x3 conv";
}

// The default optimization level times the 4 best-ranked candidates: for a 16-bit NHWC conv with
// static shapes those must be the cuDNN graph-API configs (timed at level 5 they win every conv of
// ResNet-50 FP16 at batch 1; ranked by table position they were never timed at level 3 and the
// legacy algorithms they left were 3-4x slower), and each fused legacy call ranks before its
// unfused form.
TEST_F(ConvCuda, GraphConfigsRankFirstForStatic16BitNhwc) {
  std::mt19937 rng(31);
  Spec s;
  s.dt = DataType::kFloat16;
  s.x = {1, 64, 28, 28};
  s.w = {64, 64, 3, 3};
  s.pads = {1, 1, 1, 1};
  s.bias = true;
  s.act = "relu";
  OpCase c = nhwc_case(make_case(s, rng));
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  ops::KernelInfo info;
  info.graph = &*g;
  info.node = &g->node(0);
  info.backend = Backend::kCuda;
  for (const HostTensor& h : c.inputs) info.opt.inputs.push_back(h.shape());
  info.opt.outputs = {Dims{1, 28, 28, 64}};
  info.min = info.opt;
  info.max = info.opt;
  std::vector<std::pair<int, std::string>> ranked;
  std::map<std::string, int> rank_of;
  for (const ops::TacticDef& t : ops::cuda_tactics("Conv")) {
    if (!t.supports(info)) continue;
    const int rank = t.heuristic_rank != nullptr ? t.heuristic_rank(info) : 1 << 20;
    ranked.emplace_back(rank, std::string(t.name));
    rank_of[std::string(t.name)] = rank;
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string order;
  for (const auto& [rank, name] : ranked) order += " " + name + "=" + std::to_string(rank);
  ASSERT_GE(ranked.size(), 4u) << order;
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(ranked[k].second, "cudnn_graph_" + std::to_string(k)) << order;
  }
  for (const char* algo : {"implicit_gemm", "implicit_precomp_gemm"}) {
    const std::string fused = std::string("cudnn_nhwc_fused_") + algo,
                      plain = std::string("cudnn_nhwc_") + algo;
    if (rank_of.count(fused) && rank_of.count(plain)) {
      EXPECT_LT(rank_of[fused], rank_of[plain]) << order;
    }
  }
}

TEST_F(ConvCuda, CoverageReport) {
  std::string list;
  for (const auto& [id, n] : coverage()) list += " " + id + "=" + std::to_string(n);
  std::cout << "[ Conv tactic runs so far ]" << list << "\n";
  SUCCEED();
}

}  // namespace
}  // namespace kiln::testing::conv_cuda_test
