// Pooling CUDA tactics against the CPU reference: max / average, 1-D to 3-D windows (the 2-D
// kernel and the N-D one on the same cases), strides, pads, dilations, ceil mode,
// count_include_pad, global pooling (the block reduction and the N-D window kernel), int8 /
// uint8 max, zero-size tensors.
#include "common/layout_util.h"
#include "gpu/op_check.h"

#include <algorithm>

namespace kiln::testing::pooling_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

// Max is exact; the average divides a float sum (host: float too) by the tap count.
Tol pool_tol(DataType dt, bool is_max) {
  return is_max ? Tol{0, 0} : dtype_tol(dt, {1e-6, 1e-5});
}

struct Window {
  std::vector<int64_t> kernel, strides, pads, dilations;
  int ceil_mode = 0;
};

OpCase pool_case(HostTensor x, bool is_max, const Window& w, int count_include_pad = 0) {
  OpCase c;
  c.op = "Pooling";
  c.attrs.set("type", std::string(is_max ? "max" : "average"));
  c.attrs.set("kernel", w.kernel);
  if (!w.strides.empty()) c.attrs.set("strides", w.strides);
  if (!w.pads.empty()) c.attrs.set("pads", w.pads);
  if (!w.dilations.empty()) c.attrs.set("dilations", w.dilations);
  c.attrs.set("ceil_mode", int64_t{w.ceil_mode});
  c.attrs.set("count_include_pad", int64_t{count_include_pad});
  c.inputs.push_back(std::move(x));
  return c;
}

OpCase global_case(HostTensor x, bool is_max) {
  OpCase c;
  c.op = "Pooling";
  c.attrs.set("type", std::string(is_max ? "max" : "average"));
  c.attrs.set("global", int64_t{1});
  c.inputs.push_back(std::move(x));
  return c;
}

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

using PoolingCuda = GpuTest;

TEST(PoolingCudaRegistry, Tactics) {
  auto t = ops::cuda_tactics("Pooling");
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[0].name, "window_2d");
  EXPECT_EQ(t[1].name, "window_nd");
  EXPECT_EQ(t[2].name, "global");
  EXPECT_EQ(t[3].name, "nhwc_2d");
  EXPECT_EQ(t[4].name, "nhwc_global");
  EXPECT_EQ(t[5].name, "cudnn_nhwc");
  EXPECT_EQ(t[5].source, TacticSource::kCudnn);
}

// ---- channels-last: each NHWC tactic's output, transposed back here, against the channels-first
// CPU reference on the same data.
std::vector<std::string> check_nhwc(const OpCase& first, Device* device, cudaStream_t stream,
                                    Tol tol, const std::string& what) {
  auto want = run_reference_case(first);
  EXPECT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  if (!want.is_ok()) return {};
  OpCase last = first;
  last.attrs.set("channels_last", int64_t{1});
  last.inputs[0] = to_channels_last(first.inputs[0]);
  auto runs = run_cuda_tactics(last, device, stream);
  EXPECT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  if (!runs.is_ok()) return {};
  std::vector<std::string> ids;
  for (const CudaTacticRun& r : *runs) {
    ids.push_back(r.tactic);
    EXPECT_TRUE(r.tactic.find("nhwc") != std::string::npos)
        << what << ": a channels-first tactic accepted a channels-last node: " << r.tactic;
    EXPECT_TRUE(all_close(to_channels_first(r.outputs[0]), (*want)[0], tol.atol, tol.rtol))
        << what << " tactic " << r.tactic;
  }
  return ids;
}

TEST_F(PoolingCuda, ChannelsLastWindowsAndGlobal) {
  std::mt19937 rng(31);
  const Window windows[] = {
      {{3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0},  // ResNet's max pool
      {{2, 2}, {2, 2}, {}, {}, 0},
      {{3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 1},      // ceil mode: the kiln kernel only
      {{3, 2}, {2, 3}, {0, 1, 2, 0}, {}, 0},      // asymmetric pads: the kiln kernel only
      {{2, 3}, {1, 2}, {1, 0, 0, 2}, {2, 1}, 0},  // dilations: the kiln kernel only
      {{5, 5}, {1, 1}, {2, 2, 2, 2}, {}, 0},
  };
  for (DataType dt : kFloatTypes) {
    const Tol avg_tol = dtype_tol(dt, {1e-5, 1e-5});  // cuDNN may sum in another order
    for (size_t wi = 0; wi < std::size(windows); ++wi) {
      const Window& w = windows[wi];
      for (bool is_max : {true, false}) {
        for (int cip : {0, 1}) {
          if (is_max && cip) continue;
          OpCase c = pool_case(random_tensor(dt, {2, 19, 11, 13}, rng, -5, 5), is_max, w, cip);
          const std::string what = std::string(dtype_name(dt)) + (is_max ? " max" : " avg") +
                                   " window " + std::to_string(wi) + " cip " + std::to_string(cip);
          auto ids = check_nhwc(c, device(), stream(), is_max ? Tol{0, 0} : avg_tol, what);
          EXPECT_TRUE(contains(ids, "Pooling/kiln-cuda/nhwc_2d")) << what;
          const bool cudnn_can =
              dt != DataType::kBFloat16 && w.ceil_mode == 0 && w.dilations.empty() &&
              (w.pads.empty() || (w.pads[0] == w.pads[2] && w.pads[1] == w.pads[3]));
          EXPECT_EQ(contains(ids, "Pooling/cudnn/cudnn_nhwc"), cudnn_can) << what;
        }
      }
    }
    for (bool is_max : {true, false}) {
      // ResNet's final pool ([N, 7, 7, 2048] scaled down) and a plane larger than the lanes.
      for (Dims x : {Dims{3, 70, 7, 7}, Dims{1, 5, 40, 33}, Dims{2, 33, 1, 1}}) {
        OpCase c = global_case(random_tensor(dt, x, rng, -5, 5), is_max);
        const std::string what = std::string(dtype_name(dt)) + " global " + x.to_string();
        auto ids = check_nhwc(c, device(), stream(), is_max ? Tol{0, 0} : avg_tol, what);
        EXPECT_TRUE(contains(ids, "Pooling/kiln-cuda/nhwc_global")) << what;
      }
    }
  }
  // int8 max and lp (kiln kernels only).
  OpCase i8 = pool_case(random_tensor(DataType::kInt8, {1, 16, 9, 9}, rng, -100, 100), true,
                        {{3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0});
  EXPECT_EQ(check_nhwc(i8, device(), stream(), {0, 0}, "int8 max"),
            std::vector<std::string>{"Pooling/kiln-cuda/nhwc_2d"});
  OpCase lp = pool_case(random_tensor(DataType::kFloat32, {1, 16, 9, 9}, rng, -2, 2), false,
                        {{3, 3}, {1, 1}, {1, 1, 1, 1}, {}, 0});
  lp.attrs.set("type", std::string("lp"));
  EXPECT_EQ(check_nhwc(lp, device(), stream(), {1e-5, 1e-5}, "lp"),
            std::vector<std::string>{"Pooling/kiln-cuda/nhwc_2d"});
}

TEST_F(PoolingCuda, Windows2dBothKernels) {
  std::mt19937 rng(1);
  const Window windows[] = {
      {{2, 2}, {2, 2}, {}, {}, 0},
      {{3, 3}, {1, 1}, {1, 1, 1, 1}, {}, 0},
      {{3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 1},
      {{3, 2}, {2, 3}, {0, 1, 2, 0}, {}, 1},
      {{2, 3}, {1, 2}, {1, 0, 0, 2}, {2, 1}, 0},
      {{3, 3}, {3, 3}, {2, 2, 2, 2}, {2, 2}, 1},
      {{1, 1}, {2, 2}, {}, {}, 0},
      {{5, 5}, {1, 1}, {2, 2, 2, 2}, {}, 0},
  };
  for (DataType dt : kFloatTypes) {
    for (const Window& w : windows) {
      for (bool is_max : {true, false}) {
        for (int cip : {0, 1}) {
          if (is_max && cip) continue;
          OpCase c = pool_case(random_tensor(dt, {2, 3, 11, 13}, rng, -5, 5), is_max, w, cip);
          auto ids = check_cuda_tactics(c, device(), stream(), pool_tol(dt, is_max),
                                        std::string(dtype_name(dt)) + (is_max ? " max" : " avg") +
                                            " cip " + std::to_string(cip));
          EXPECT_TRUE(contains(ids, "Pooling/kiln-cuda/window_2d") || ids.empty());
          EXPECT_EQ(ids.size(), 2u);
        }
      }
    }
  }
}

TEST_F(PoolingCuda, Windows1dAnd3d) {
  std::mt19937 rng(2);
  for (DataType dt : kFloatTypes) {
    for (bool is_max : {true, false}) {
      OpCase c1 = pool_case(random_tensor(dt, {2, 3, 17}, rng), is_max, {{3}, {2}, {1, 2}, {2}, 1},
                            is_max ? 0 : 1);
      auto ids = check_cuda_tactics(c1, device(), stream(), pool_tol(dt, is_max), "1-D");
      EXPECT_EQ(ids.size(), 1u);
      OpCase c3 = pool_case(random_tensor(dt, {1, 2, 7, 8, 9}, rng), is_max,
                            {{2, 3, 2}, {2, 1, 2}, {1, 0, 1, 0, 1, 1}, {1, 2, 1}, 1});
      ids = check_cuda_tactics(c3, device(), stream(), pool_tol(dt, is_max), "3-D");
      EXPECT_EQ(ids.size(), 1u);
    }
  }
}

TEST_F(PoolingCuda, RandomWindows) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int64_t> kd(1, 4), sd(1, 3), dd(1, 2), ext(4, 20);
  for (int iter = 0; iter < 60; ++iter) {
    const DataType dt = kFloatTypes[iter % 3];
    const int spatial = 1 + iter % 3;
    Window w;
    std::vector<int64_t> shape = {1 + iter % 2, 1 + iter % 3};
    std::vector<int64_t> pe;
    for (int d = 0; d < spatial; ++d) {
      w.kernel.push_back(kd(rng));
      w.strides.push_back(sd(rng));
      w.dilations.push_back(dd(rng));
      const int64_t eff = w.dilations[d] * (w.kernel[d] - 1) + 1;
      w.pads.push_back(std::uniform_int_distribution<int64_t>(0, eff - 1)(rng));
      pe.push_back(std::uniform_int_distribution<int64_t>(0, eff - 1)(rng));
      shape.push_back(std::max(ext(rng), eff));
    }
    w.pads.insert(w.pads.end(), pe.begin(), pe.end());
    w.ceil_mode = iter % 2;
    const bool is_max = iter % 4 < 2;
    OpCase c = pool_case(random_tensor(dt, dims_of(shape), rng, -5, 5), is_max, w, iter % 3 == 0);
    check_cuda_tactics(c, device(), stream(), pool_tol(dt, is_max),
                       "iter " + std::to_string(iter) + " " + dims_of(shape).to_string());
  }
}

TEST_F(PoolingCuda, GlobalBothKernels) {
  std::mt19937 rng(4);
  for (DataType dt : kFloatTypes) {
    for (Dims x : {Dims{2, 3, 7, 9}, Dims{1, 4, 64, 64}, Dims{2, 2, 5}, Dims{1, 3, 4, 5, 6},
                   Dims{3, 5, 1, 1}}) {
      for (bool is_max : {true, false}) {
        auto ids =
            check_cuda_tactics(global_case(random_tensor(dt, x, rng, -5, 5), is_max), device(),
                               stream(), is_max ? Tol{0, 0} : dtype_tol(dt, {1e-6, 2e-5}),
                               x.to_string() + (is_max ? " max" : " avg"));
        EXPECT_EQ(ids.size(), 2u);
        EXPECT_TRUE(contains(ids, "Pooling/kiln-cuda/global") || ids.empty());
      }
    }
  }
}

TEST_F(PoolingCuda, LpWindowsAndGlobal) {
  std::mt19937 rng(7);
  for (DataType dt : kFloatTypes) {
    for (int64_t p : {1, 2, 3}) {
      OpCase c = pool_case(random_tensor(dt, {2, 3, 11, 12}, rng, -2, 2), false,
                           {{3, 2}, {2, 1}, {1, 0, 1, 1}, {1, 2}, 1});
      c.attrs.set("type", std::string("lp"));
      c.attrs.set("p", p);
      // powf on the device and std::pow on the host may differ by an ulp or two of float.
      auto ids = check_cuda_tactics(c, device(), stream(), dtype_tol(dt, {1e-6, 2e-5}),
                                    std::string(dtype_name(dt)) + " lp p=" + std::to_string(p));
      EXPECT_EQ(ids.size(), 2u);
      OpCase g = global_case(random_tensor(dt, {2, 3, 6, 7}, rng, -2, 2), false);
      g.attrs.set("type", std::string("lp"));
      g.attrs.set("p", p);
      ids = check_cuda_tactics(g, device(), stream(), dtype_tol(dt, {1e-6, 2e-5}),
                               std::string(dtype_name(dt)) + " global lp p=" + std::to_string(p));
      EXPECT_EQ(ids.size(), 2u);
    }
  }
}

TEST_F(PoolingCuda, ByteMax) {
  std::mt19937 rng(5);
  for (DataType dt : {DataType::kInt8, DataType::kUInt8}) {
    const double lo = dt == DataType::kInt8 ? -128 : 0, hi = dt == DataType::kInt8 ? 127 : 255;
    OpCase c = pool_case(random_tensor(dt, {2, 3, 9, 10}, rng, lo, hi), true,
                         {{3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 1});
    auto ids = check_cuda_tactics(c, device(), stream(), {}, std::string(dtype_name(dt)));
    EXPECT_EQ(ids.size(), 2u);
    auto g = check_cuda_tactics(global_case(random_tensor(dt, {2, 3, 9, 10}, rng, lo, hi), true),
                                device(), stream(), {}, std::string(dtype_name(dt)) + " global");
    EXPECT_EQ(g.size(), 2u);
  }
}

TEST_F(PoolingCuda, ZeroSize) {
  std::mt19937 rng(6);
  for (DataType dt : kFloatTypes) {
    OpCase c = pool_case(random_tensor(dt, {0, 3, 8, 8}, rng), false, {{2, 2}, {2, 2}, {}, {}, 0});
    auto ids = check_cuda_tactics(c, device(), stream(), pool_tol(dt, false), "N = 0");
    EXPECT_EQ(ids.size(), 2u);
    auto g = check_cuda_tactics(global_case(random_tensor(dt, {2, 0, 5, 5}, rng), true), device(),
                                stream(), {}, "C = 0 global");
    EXPECT_EQ(g.size(), 2u);
  }
}

}  // namespace
}  // namespace kiln::testing::pooling_cuda_test
