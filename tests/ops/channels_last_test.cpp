// Channels-last ("channels_last" = 1) Conv and Pooling on the CPU: the reference kernel on NHWC
// tensors against the channels-first reference on the same data transposed (NCHW -> NHWC in,
// NHWC -> NCHW out, done here), for random geometries, groups, dilations, asymmetric pads, the
// fused epilogue, every pooling type, ceil mode and global pooling; shape inference of the
// channels-last forms; and the optimized CPU tactics declining channels-last nodes.
#include "common/layout_util.h"
#include "common/op_harness.h"
#include "ir/shape_eval.h"
#include "ops/common/layout.h"
#include "ops/op.h"

#include <gtest/gtest.h>

#include <random>

namespace kiln::testing::channels_last_test {
namespace {

HostTensor to_last(const HostTensor& t) {
  return to_channels_last(t);
}
HostTensor to_first(const HostTensor& t) {
  return to_channels_first(t);
}

// The channels-last twin of a channels-first case: X (and Z, input 3 of Conv) transposed.
OpCase last_case(const OpCase& c) {
  OpCase l = c;
  l.attrs.set("channels_last", int64_t{1});
  l.inputs[0] = to_last(c.inputs[0]);
  if (c.op == "Conv" && c.inputs.size() > 3 && !c.inputs[3].empty()) {
    l.inputs[3] = to_last(c.inputs[3]);
  }
  return l;
}

// The reference on the NHWC case equals the NCHW reference transposed; returns the tactics that
// ran on the NHWC case.
std::vector<std::string> check_last(const OpCase& first, const std::string& what, double tol) {
  auto want = run_cpu_tactics(first);
  EXPECT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  if (!want.is_ok()) return {};
  const OpCase last = last_case(first);
  auto runs = run_cpu_tactics(last);
  EXPECT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  if (!runs.is_ok()) return {};
  std::vector<std::string> ids;
  for (const TacticRun& r : *runs) {
    ids.push_back(r.tactic);
    EXPECT_TRUE(all_close(to_first(r.outputs[0]), (*want)[0].outputs[0], tol, tol))
        << what << " " << r.tactic;
  }
  return ids;
}

TEST(ChannelsLast, ConvReferenceMatchesTransposedNchw) {
  std::mt19937 rng(11);
  struct Geo {
    Dims x, w;
    std::vector<int64_t> strides, pads, dilations;
    int64_t group;
  };
  const Geo geos[] = {
      {{2, 4, 7, 6}, {6, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
      {{1, 6, 9, 8}, {9, 2, 3, 2}, {2, 1}, {1, 0, 2, 1}, {1, 2}, 3},
      {{2, 8, 6, 6}, {8, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 8},
      {{1, 3, 11, 10}, {5, 3, 5, 5}, {2, 2}, {2, 2, 2, 2}, {1, 1}, 1},
      {{3, 5, 4, 4}, {7, 5, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
  };
  int case_no = 0;
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16}) {
    for (const Geo& g : geos) {
      for (int epi = 0; epi < 3; ++epi) {
        OpCase c;
        c.op = "Conv";
        c.attrs.set("strides", g.strides);
        c.attrs.set("pads", g.pads);
        c.attrs.set("dilations", g.dilations);
        c.attrs.set("group", g.group);
        if (epi == 2) c.attrs.set("activation", std::string("relu"));
        c.inputs.push_back(random_tensor(dt, g.x, rng));
        c.inputs.push_back(random_tensor(dt, g.w, rng));
        c.constant = {false, true};
        if (epi >= 1) {
          c.inputs.push_back(random_tensor(dt, {g.w[0]}, rng));
          c.constant.push_back(true);
          // Z: the output's shape, from shape inference.
          auto graph = make_graph(c);
          ASSERT_TRUE(graph.is_ok()) << graph.status().to_string();
          auto dims = ir::eval_shape(graph->value(graph->node(0).outputs[0]).shape, {});
          ASSERT_TRUE(dims.is_ok());
          c.inputs.push_back(random_tensor(dt, Dims(std::span<const int64_t>(*dims)), rng));
          c.constant.push_back(false);
        }
        const std::string what = "conv case " + std::to_string(case_no++);
        const auto ids = check_last(c, what, dt == DataType::kFloat32 ? 1e-5 : 4e-3);
        // Only the reference kernel implements channels-last on the CPU.
        EXPECT_EQ(ids, std::vector<std::string>{"Conv/cpu-ref/reference"}) << what;
      }
    }
  }
}

TEST(ChannelsLast, ConvShapeInference) {
  OpCase c;
  c.op = "Conv";
  c.attrs.set("channels_last", int64_t{1});
  c.attrs.set("strides", std::vector<int64_t>{2, 1});
  c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  c.inputs.push_back(HostTensor(DataType::kFloat32, {2, 9, 8, 4}));  // [N, H, W, C]
  c.inputs.push_back(HostTensor(DataType::kFloat32, {6, 4, 3, 3}));  // [M, C, KH, KW]
  c.constant = {false, true};
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(ir::shape_to_string(g->value(g->node(0).outputs[0]).shape), "[2,5,8,6]");
  // The channel dim is the last one: 4 channels do not match W's 3.
  c.inputs[1] = HostTensor(DataType::kFloat32, {6, 3, 3, 3});
  auto bad = make_graph(c);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("C/group = 4"), std::string::npos)
      << bad.status().to_string();
}

TEST(ChannelsLast, PoolingReferenceMatchesTransposedNchw) {
  std::mt19937 rng(12);
  struct P {
    std::string type;
    bool global;
    std::vector<int64_t> kernel, strides, pads;
    bool ceil, include_pad;
  };
  const P specs[] = {
      {"max", false, {3, 3}, {2, 2}, {1, 1, 1, 1}, false, false},
      {"average", false, {3, 2}, {1, 2}, {1, 0, 1, 1}, false, true},
      {"average", false, {2, 2}, {2, 2}, {0, 0, 0, 0}, true, false},
      {"lp", false, {2, 3}, {1, 1}, {0, 1, 0, 1}, false, false},
      {"max", true, {}, {}, {}, false, false},
      {"average", true, {}, {}, {}, false, false},
  };
  int case_no = 0;
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kInt8}) {
    for (const P& p : specs) {
      if (dt == DataType::kInt8 && p.type != "max") continue;
      OpCase c;
      c.op = "Pooling";
      c.attrs.set("type", p.type);
      if (p.global) {
        c.attrs.set("global", int64_t{1});
      } else {
        c.attrs.set("kernel", p.kernel);
        c.attrs.set("strides", p.strides);
        c.attrs.set("pads", p.pads);
        c.attrs.set("ceil_mode", int64_t{p.ceil});
        c.attrs.set("count_include_pad", int64_t{p.include_pad});
      }
      c.inputs.push_back(random_tensor(dt, {2, 5, 7, 9}, rng, -5, 5));
      const std::string what = "pool case " + std::to_string(case_no++);
      const auto ids = check_last(c, what, dt == DataType::kFloat16 ? 4e-3 : 1e-5);
      EXPECT_EQ(ids, std::vector<std::string>{"Pooling/cpu-ref/reference"}) << what;
    }
  }
}

TEST(ChannelsLast, BatchNormReferenceMatchesTransposedNchw) {
  std::mt19937 rng(13);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16}) {
    OpCase c;
    c.op = "BatchNorm";
    c.attrs.set("epsilon", 1e-3);
    c.inputs.push_back(random_tensor(dt, {2, 6, 5, 7}, rng, -3, 3));
    c.inputs.push_back(random_tensor(DataType::kFloat32, {6}, rng, 0.5, 1.5));
    c.inputs.push_back(random_tensor(DataType::kFloat32, {6}, rng, -1, 1));
    c.inputs.push_back(random_tensor(DataType::kFloat32, {6}, rng, -1, 1));
    c.inputs.push_back(random_tensor(DataType::kFloat32, {6}, rng, 0.1, 2));
    c.constant = {false, true, true, true, true};
    const auto ids = check_last(c, "batch norm", dt == DataType::kFloat32 ? 1e-5 : 4e-3);
    EXPECT_EQ(ids, std::vector<std::string>{"BatchNorm/cpu-ref/reference"});
  }
  // The channel dim is the last one: parameters of X's dim 1 are refused.
  OpCase bad;
  bad.op = "BatchNorm";
  bad.attrs.set("channels_last", int64_t{1});
  bad.inputs.push_back(HostTensor(DataType::kFloat32, {2, 6, 5, 7}));
  for (int i = 0; i < 4; ++i) bad.inputs.push_back(HostTensor(DataType::kFloat32, {6}));
  EXPECT_FALSE(make_graph(bad).is_ok());
}

TEST(ChannelsLast, PoolingShapeInference) {
  OpCase c;
  c.op = "Pooling";
  c.attrs.set("type", std::string("max"));
  c.attrs.set("channels_last", int64_t{1});
  c.attrs.set("kernel", std::vector<int64_t>{3, 3});
  c.attrs.set("strides", std::vector<int64_t>{2, 2});
  c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  c.inputs.push_back(HostTensor(DataType::kFloat16, {1, 112, 112, 64}));
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(ir::shape_to_string(g->value(g->node(0).outputs[0]).shape), "[1,56,56,64]");
  c.attrs.set("global", int64_t{1});
  auto gl = make_graph(c);
  ASSERT_TRUE(gl.is_ok()) << gl.status().to_string();
  EXPECT_EQ(ir::shape_to_string(gl->value(gl->node(0).outputs[0]).shape), "[1,1,1,64]");
}

}  // namespace
}  // namespace kiln::testing::channels_last_test
