// ConvTranspose CUDA tactics (each cuDNN backward-data algorithm that supports a case, and the
// kiln direct kernels) against the CPU reference: float32 / float16 / bfloat16, 1-D to 4-D,
// groups, strides, dilations, output_padding, symmetric and asymmetric pads, output_shape and
// auto_pad (including a negative pad_begin), the fused epilogue (bias, activations), W constant
// or not, zero-size batches, random geometries, and a CUDA graph capture.
//
// Tolerances scale with the magnitude m = conv_transpose(|X|, |W|) + |B| (magnitude_check.h).
// cuDNN's float32 runs may use TF32 tensor cores (kiln's kTf32 is on by default): about 1e-3 of
// m. cuDNN's 16-bit runs round the result to the output dtype before kiln's epilogue adds the
// bias (a second rounding).
#include "gpu/cuda_case_util.h"
#include "gpu/magnitude_check.h"

#include <iostream>
#include <set>
#include <sstream>

namespace kiln::testing::conv_transpose_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};
const std::string kDirect = "ConvTranspose/kiln-cuda/direct";

struct Spec {
  DataType dt = DataType::kFloat32;
  Dims x, w;
  std::vector<int64_t> strides, pads, dilations, output_padding, output_shape;
  std::string auto_pad;
  int64_t group = 1;
  bool bias = false, w_const = true;
  std::string act;  // empty: none
};

void set_window(const Spec& s, ir::Attrs* a) {
  if (!s.strides.empty()) a->set("strides", s.strides);
  if (!s.pads.empty()) a->set("pads", s.pads);
  if (!s.dilations.empty()) a->set("dilations", s.dilations);
  if (!s.output_padding.empty()) a->set("output_padding", s.output_padding);
  if (!s.output_shape.empty()) a->set("output_shape", s.output_shape);
  if (!s.auto_pad.empty()) a->set("auto_pad", s.auto_pad);
  a->set("group", s.group);
}

OpCase make_case(const Spec& s, std::mt19937& rng) {
  OpCase c;
  c.op = "ConvTranspose";
  set_window(s, &c.attrs);
  if (!s.act.empty()) {
    c.attrs.set("activation", s.act);
    if (s.act == "clip") {
      c.attrs.set("activation_alpha", -0.5);
      c.attrs.set("activation_beta", 0.5);
    }
  }
  c.inputs.push_back(random_tensor(s.dt, s.x, rng, -1, 1));
  c.inputs.push_back(random_tensor(s.dt, s.w, rng, -1, 1));
  c.constant = {false, s.w_const};
  if (s.bias) {
    c.inputs.push_back(random_tensor(s.dt, {s.w[1] * s.group}, rng, -1, 1));
    c.constant.push_back(true);
  }
  return c;
}

// The same transposed convolution on |inputs|, without the activation.
OpCase magnitude_case(const Spec& s, const OpCase& c) {
  OpCase m = abs_inputs(c);
  m.attrs = ir::Attrs();
  set_window(s, &m.attrs);
  return m;
}

MagnitudeTol tol_for(const std::string& tactic, DataType dt, bool has_act) {
  const bool cudnn = tactic.find("/cudnn/") != std::string::npos;
  MagnitudeTol t;
  switch (dt) {
    case DataType::kFloat32:
      t = {cudnn ? 3e-3 : 2e-5, 1e-6, 1e-6};
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
  ints("op", s.output_padding);
  ints("os", s.output_shape);
  if (!s.auto_pad.empty()) os << " " << s.auto_pad;
  if (s.bias) os << " +B";
  if (!s.act.empty()) os << " " << s.act;
  return os.str();
}

std::vector<std::string> check(const Spec& s, Device* device, cudaStream_t stream,
                               std::mt19937& rng) {
  OpCase c = make_case(s, rng);
  auto ids = check_with_magnitude(
      c, magnitude_case(s, c), device, stream,
      [&](const std::string& id) { return tol_for(id, s.dt, !s.act.empty()); }, describe(s));
  EXPECT_TRUE(ran_tactic(ids, kDirect)) << describe(s);  // the fallback serves every case
  return ids;
}

Spec spec(Dims x, Dims w, std::vector<int64_t> strides = {}, std::vector<int64_t> pads = {},
          std::vector<int64_t> dilations = {}, int64_t group = 1) {
  Spec s;
  s.x = x;
  s.w = w;
  s.strides = std::move(strides);
  s.pads = std::move(pads);
  s.dilations = std::move(dilations);
  s.group = group;
  return s;
}

using ConvTransposeCuda = GpuTest;

TEST(ConvTransposeCudaRegistry, CudnnBackwardDataAlgorithmsThenDirect) {
  auto t = ops::cuda_tactics("ConvTranspose");
  ASSERT_EQ(t.size(), 7u);
  const char* names[] = {"cudnn_bwd_data_algo_0",   "cudnn_bwd_data_algo_1",
                         "cudnn_bwd_data_fft",      "cudnn_bwd_data_fft_tiling",
                         "cudnn_bwd_data_winograd", "cudnn_bwd_data_winograd_nonfused"};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(t[i].name, names[i]);
    EXPECT_EQ(t[i].source, TacticSource::kCudnn);
  }
  EXPECT_EQ(t[6].name, "direct");
  EXPECT_EQ(t[6].source, TacticSource::kKilnCuda);
}

// 2-D geometries, each with every dtype and several epilogues. `cudnn` says whether cuDNN can
// take the geometry (its convolution of Y gives back X's shape, pads >= 0).
TEST_F(ConvTransposeCuda, TwoDimensionalEveryDtypeAndEpilogue) {
  std::mt19937 rng(1);
  struct Geo {
    Spec s;
    bool cudnn;
  };
  std::vector<Geo> geos;
  geos.push_back({spec({2, 8, 7, 6}, {8, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}), true});
  geos.push_back({spec({1, 6, 5, 5}, {6, 3, 3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 2), true});
  geos.push_back({spec({1, 4, 6, 6}, {4, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {}, 4), true});
  geos.push_back({spec({2, 4, 5, 4}, {4, 2, 3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}), true});
  geos.push_back({spec({1, 16, 7, 7}, {16, 8, 1, 1}), true});
  geos.push_back({spec({1, 3, 4, 5}, {3, 5, 4, 4}, {2, 2}, {1, 1, 1, 1}), true});
  geos.push_back({spec({1, 3, 6, 6}, {3, 2, 3, 3}, {1, 1}, {0, 1, 1, 0}), false});  // pe < pb
  geos.push_back({spec({1, 3, 6, 6}, {3, 2, 3, 3}, {2, 2}, {1, 1, 0, 0}), true});   // pe < pb < s
  geos.push_back({spec({2, 5, 4, 3}, {5, 2, 2, 3}, {3, 1}, {0, 0, 0, 0}, {1, 2}), true});
  Spec op = spec({1, 4, 5, 5}, {4, 3, 3, 3}, {2, 2}, {1, 1, 1, 1});
  op.output_padding = {1, 1};
  geos.push_back({op, true});
  Spec op_dil = spec({1, 2, 4, 4}, {2, 2, 2, 2}, {1, 1}, {0, 0, 0, 0}, {3, 3});
  op_dil.output_padding = {2, 1};  // output_padding >= stride, < dilation: cuDNN cannot
  geos.push_back({op_dil, false});
  const char* acts[] = {"", "relu", "clip", "silu"};
  for (DataType dt : kFloatTypes) {
    for (Geo g : geos) {
      g.s.dt = dt;
      for (int e = 0; e < 4; ++e) {
        g.s.bias = e != 0;
        g.s.act = acts[e];
        auto ids = check(g.s, device(), stream(), rng);
        if (!g.cudnn) {
          EXPECT_FALSE(ran_source(ids, "cudnn")) << describe(g.s);
        } else if (dt == DataType::kFloat32) {
          EXPECT_TRUE(ran_source(ids, "cudnn")) << describe(g.s);
        }
      }
    }
  }
}

TEST_F(ConvTransposeCuda, OneThreeAndFourSpatialDims) {
  std::mt19937 rng(2);
  for (DataType dt : kFloatTypes) {
    Spec one = spec({2, 4, 9}, {4, 3, 3}, {2}, {1, 1}, {2}, 2);
    one.dt = dt;
    one.bias = true;
    one.act = "relu";
    auto ids = check(one, device(), stream(), rng);
    if (dt == DataType::kFloat32) {
      EXPECT_TRUE(ran_source(ids, "cudnn"));
    }
    Spec three = spec({1, 4, 3, 4, 5}, {4, 2, 3, 3, 3}, {2, 1, 2}, {1, 1, 1, 1, 1, 1}, {}, 2);
    three.dt = dt;
    three.bias = true;
    check(three, device(), stream(), rng);
    Spec four = spec({1, 2, 3, 2, 3, 2}, {2, 2, 2, 2, 2, 2}, {2, 1, 1, 2}, {}, {1, 1, 2, 1});
    four.dt = dt;
    four.bias = true;
    ids = check(four, device(), stream(), rng);
    EXPECT_FALSE(ran_source(ids, "cudnn")) << "cuDNN's legacy API has at most 3 spatial dims";
  }
}

TEST_F(ConvTransposeCuda, OutputShapeAndAutoPad) {
  std::mt19937 rng(3);
  for (DataType dt : kFloatTypes) {
    // Natural extent 9; 10 puts the extra row at the end (pad_end -1); 11 needs pad_begin -1.
    for (int64_t o : {9, 10, 11}) {
      Spec s = spec({1, 2, 4, 4}, {2, 3, 3, 3}, {2, 2});
      s.dt = dt;
      s.output_shape = {o, o};
      s.bias = true;
      auto ids = check(s, device(), stream(), rng);
      if (o == 11) {
        EXPECT_FALSE(ran_source(ids, "cudnn")) << describe(s);
      }
      if (o == 9 && dt == DataType::kFloat32) {
        EXPECT_TRUE(ran_source(ids, "cudnn")) << describe(s);
      }
    }
    for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
      Spec s = spec({1, 3, 5, 4}, {3, 2, 3, 3}, {2, 2});
      s.dt = dt;
      s.auto_pad = mode;
      check(s, device(), stream(), rng);
      s.output_shape = {1, 3, 11, 9};  // N and C given too
      check(s, device(), stream(), rng);
    }
    Spec valid = spec({1, 3, 5, 4}, {3, 2, 3, 3}, {2, 2});
    valid.dt = dt;
    valid.auto_pad = "VALID";
    check(valid, device(), stream(), rng);
  }
}

TEST_F(ConvTransposeCuda, EveryActivationKind) {
  std::mt19937 rng(4);
  const char* kinds[] = {
      "relu", "leaky_relu", "sigmoid",   "tanh", "elu",          "selu",       "softplus",
      "clip", "gelu_erf",   "gelu_tanh", "silu", "hard_sigmoid", "hard_swish", "thresholded_relu",
      "celu", "mish",       "softsign"};
  for (const char* k : kinds) {
    Spec s = spec({1, 4, 5, 5}, {4, 4, 3, 3}, {2, 2}, {1, 1, 1, 1});
    s.bias = true;
    s.act = k;
    check(s, device(), stream(), rng);
  }
}

TEST_F(ConvTransposeCuda, WeightsNotConstantAndZeroBatch) {
  std::mt19937 rng(5);
  for (DataType dt : kFloatTypes) {
    Spec s = spec({2, 4, 6, 6}, {4, 3, 3, 3}, {2, 2}, {1, 1, 1, 1});
    s.dt = dt;
    s.w_const = false;
    s.bias = true;
    check(s, device(), stream(), rng);
    Spec zero = spec({0, 4, 6, 6}, {4, 3, 3, 3}, {1, 1}, {1, 1, 1, 1});
    zero.dt = dt;
    zero.bias = true;
    check(zero, device(), stream(), rng);
  }
}

// Cases where different backward-data algorithms apply; each one that supports a case must
// match.
TEST_F(ConvTransposeCuda, CudnnAlgorithmCoverage) {
  std::mt19937 rng(6);
  std::set<std::string> seen;
  for (DataType dt : kFloatTypes) {
    std::vector<Spec> specs = {spec({2, 16, 14, 14}, {16, 32, 3, 3}, {1, 1}, {1, 1, 1, 1}),
                               spec({1, 8, 20, 20}, {8, 8, 5, 5}, {1, 1}, {2, 2, 2, 2}),
                               spec({2, 32, 8, 8}, {32, 16, 4, 4}, {2, 2}, {1, 1, 1, 1}),
                               spec({4, 64, 7, 7}, {64, 32, 1, 1})};
    for (Spec& s : specs) {
      s.dt = dt;
      s.bias = true;
      for (const std::string& id : check(s, device(), stream(), rng)) {
        if (id.find("/cudnn/") != std::string::npos) {
          seen.insert(id + " (" + std::string(dtype_name(dt)) + ")");
        }
      }
    }
  }
  std::string list;
  for (const std::string& id : seen) list += " " + id;
  std::cout << "[ cuDNN backward-data algorithms that ran ]" << list << "\n";
  EXPECT_TRUE(seen.count("ConvTranspose/cudnn/cudnn_bwd_data_algo_1 (float32)")) << list;
  EXPECT_GE(seen.size(), 4u) << list;
}

TEST_F(ConvTransposeCuda, RandomGeometries) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> kd(1, 4), sd(1, 3), dd(1, 2), pd(0, 2), ext(1, 7);
  for (int iter = 0; iter < 30; ++iter) {
    Spec s;
    s.dt = kFloatTypes[iter % 3];
    s.group = std::vector<int64_t>{1, 2, 3}[iter % 3];
    const int64_t cg = 1 + iter % 4, mg = 1 + (iter / 2) % 3;
    std::vector<int64_t> x = {1 + iter % 2, s.group * cg}, w = {s.group * cg, mg};
    std::vector<int64_t> pb, pe;
    for (int d = 0; d < 2; ++d) {
      const int64_t k = kd(rng);
      w.push_back(k);
      x.push_back(ext(rng));
      s.strides.push_back(sd(rng));
      s.dilations.push_back(dd(rng));
      const int64_t eff = s.dilations[d] * (k - 1) + 1;
      // Pads that add up to less than the dilated kernel keep the output non-empty.
      pb.push_back(std::min<int64_t>(pd(rng), eff - 1));
      pe.push_back(std::min<int64_t>(pd(rng), eff - 1 - pb.back()));
      s.output_padding.push_back(iter % 2 == 0 ? 0 : std::max(s.strides[d], s.dilations[d]) - 1);
    }
    s.pads = {pb[0], pb[1], pe[0], pe[1]};
    s.x = Dims(std::span<const int64_t>(x));
    s.w = Dims(std::span<const int64_t>(w));
    s.bias = iter % 4 != 0;
    s.act = iter % 5 == 0 ? "relu" : "";
    check(s, device(), stream(), rng);
  }
}

TEST_F(ConvTransposeCuda, Capturable) {
  ASSERT_TRUE(cuda::reserve_handles(TacticSource::kCudnn, 1).is_ok());
  std::mt19937 rng(8);
  Spec s = spec({1, 4, 6, 6}, {4, 3, 3, 3}, {2, 2}, {1, 1, 1, 1});
  s.bias = true;
  s.act = "relu";
  OpCase c = make_case(s, rng);
  // Magnitudes here are below ~10: TF32's error stays under 5e-2 absolute.
  EXPECT_GE(expect_capturable(c, device(), stream(), 5e-2, 1e-2, "ConvTranspose"), 2);
}

}  // namespace
}  // namespace kiln::testing::conv_transpose_cuda_test
