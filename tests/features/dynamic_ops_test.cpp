// Resize, Pad, Tile, Range, Trilu, CumSum, OneHot, ArgReduce and Split through the whole
// pipeline on dynamic shapes: sizes, pads, repeats, k and range limits come from shape programs
// (Shape -> Gather / Slice / Concat), so the runtime must hand their host copies to the kernels.
// The engine's outputs are compared with the graph evaluated by the reference kernels, at
// several input shapes of one profile.
#include <kiln/kiln.h>

#include "common/reference_eval.h"
#include "core/tensor.h"
#include "network/network_state.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace kiln::dynamic_ops_test {
namespace {

// An int64 constant (the network copies the values).
Tensor* constant_i64(Network& net, const std::vector<int64_t>& v, bool scalar = false) {
  const Dims d = scalar ? Dims{} : Dims{static_cast<int64_t>(v.size())};
  return net.add_constant(d, Weights(DataType::kInt64, v.data(), static_cast<int64_t>(v.size())))
      ->output(0);
}

Tensor* op(Network& net, const char* type, std::vector<Tensor*> in, const char* attrs = "{}",
           int outputs = 1) {
  return net.add_op(type, in, outputs, attrs)->output(0);
}

struct Built {
  std::unique_ptr<Network> net;
  std::vector<std::string> outputs;
};

Built build_network(Builder& builder) {
  Built b;
  b.net = builder.create_network();
  Network& net = *b.net;
  Tensor* x = net.add_input("x", DataType::kFloat32, {1, 2, -1, -1});
  Tensor* z = net.add_input("z", DataType::kFloat32, {1, 2, -1, -1});
  Tensor* s = net.add_shape(x)->output(0);
  Tensor* sz = net.add_shape(z)->output(0);
  Tensor* h = net.add_gather(s, constant_i64(net, {2}, true), 0)->output(0);
  Tensor* w = net.add_gather(s, constant_i64(net, {3}, true), 0)->output(0);
  Tensor* hw = op(net, "Slice", {s, constant_i64(net, {2}), constant_i64(net, {4})});
  Tensor* hz = op(net, "Slice", {sz, constant_i64(net, {2}), constant_i64(net, {3})});
  auto out = [&](Tensor* t, const char* name) {
    t->set_name(name);
    net.mark_output(t);
    b.outputs.push_back(name);
  };
  // Resize to z's shape (sizes from a shape program), and by constant scales.
  // The network API has no absent inputs: empty roi / scales tensors stand for them.
  Tensor* none = net.add_constant({0}, Weights(DataType::kFloat32, nullptr, 0))->output(0);
  out(op(net, "Resize", {x, none, none, sz}, R"({"mode": "linear"})"), "resized");
  static const float kScales[] = {1, 1, 2, 1.5f};
  Tensor* scales = net.add_constant({4}, Weights(DataType::kFloat32, kScales, 4))->output(0);
  out(op(net, "Resize", {x, none, scales}, R"({"mode": "nearest"})"), "scaled");
  // Pad by [0, 0, H, W] in front, edge mode: [1, 2, 2H, 2W].
  Tensor* zeros2 = constant_i64(net, {0, 0});
  Tensor* zeros4 = constant_i64(net, {0, 0, 0, 0});
  Tensor* pad_parts[] = {zeros2, hw, zeros4};
  Tensor* pads = net.add_concatenation(pad_parts, 0)->output(0);
  out(op(net, "Pad", {x, pads}, R"({"mode": "edge"})"), "padded");
  // Range(0, W, 1) and OneHot(range, W): the W x W identity.
  Tensor* range = op(net, "Range", {constant_i64(net, {0}, true), w, constant_i64(net, {1}, true)});
  out(range, "range");
  static const float kOffOn[] = {0, 1};
  Tensor* values = net.add_constant({2}, Weights(DataType::kFloat32, kOffOn, 2))->output(0);
  out(op(net, "OneHot", {range, w, values}), "onehot");
  // Trilu with k = H, CumSum (reverse) on the last axis, ArgMax over W.
  out(op(net, "Trilu", {x, h}), "trilu");
  out(op(net, "CumSum", {x, constant_i64(net, {-1}, true)}, R"({"reverse": 1})"), "cumsum");
  out(op(net, "ArgReduce", {x}, R"({"op": "max", "axis": 3, "keepdims": 0})"), "argmax");
  // Tile by [1, 1, Hz, 1] (repeats from z's shape).
  Tensor* rep_parts[] = {constant_i64(net, {1, 1}), hz, constant_i64(net, {1})};
  Tensor* repeats = net.add_concatenation(rep_parts, 0)->output(0);
  out(op(net, "Tile", {x, repeats}), "tiled");
  // Split the channels.
  Layer* split =
      net.add_op("Split", std::vector<Tensor*>{x}, 2, R"({"axis": 1, "num_outputs": 2})");
  out(split->output(0), "split0");
  out(split->output(1), "split1");
  return b;
}

// Level 0 takes the first fast tactic of each layer (nchw2d, rows, memcpy, ...); level 3 times
// the candidates and checks them against the reference.
void run_at_level(int level) {
  SCOPED_TRACE("optimization level " + std::to_string(level));
  Builder builder;
  Built b = build_network(builder);
  ASSERT_TRUE(b.net->status().is_ok()) << b.net->status().to_string();
  BuildConfig config;
  OptimizationProfile p;
  p.set_shape("x", {1, 2, 2, 2}, {1, 2, 5, 6}, {1, 2, 9, 9});
  p.set_shape("z", {1, 2, 1, 1}, {1, 2, 7, 4}, {1, 2, 12, 12});
  config.add_profile(p);
  config.tuning_iterations = 1;
  config.optimization_level = level;
  config.check_accuracy = level > 0;
  auto plan = builder.build_serialized_network(*b.net, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  Runtime runtime;
  auto engine = runtime.deserialize(*plan);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok()) << ctx.status().to_string();
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1, 1);
  const Dims shapes[][2] = {
      {{1, 2, 5, 6}, {1, 2, 7, 4}}, {{1, 2, 2, 9}, {1, 2, 1, 12}}, {{1, 2, 9, 3}, {1, 2, 12, 1}}};
  for (const auto& [xs, zs] : shapes) {
    HostTensor x(DataType::kFloat32, xs), z(DataType::kFloat32, zs);
    for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = dist(rng);
    ASSERT_TRUE((*ctx)->set_input_shape("x", xs).is_ok());
    ASSERT_TRUE((*ctx)->set_input_shape("z", zs).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("x", x.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("z", z.data()).is_ok());
    auto want = testing::evaluate_reference(b.net->state().graph, {x, z});
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();
    ASSERT_EQ(want->size(), b.outputs.size());
    std::vector<HostTensor> got;
    for (size_t o = 0; o < b.outputs.size(); ++o) {
      const Dims d = (*ctx)->tensor_shape(b.outputs[o]);
      ASSERT_EQ(d, (*want)[o].shape()) << b.outputs[o] << " at x " << xs.to_string();
      got.emplace_back((*want)[o].dtype(), d);
      ASSERT_TRUE((*ctx)->set_tensor_address(b.outputs[o], got.back().data()).is_ok());
    }
    Status st = (*ctx)->execute();
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    for (size_t o = 0; o < b.outputs.size(); ++o) {
      for (int64_t i = 0; i < got[o].numel(); ++i) {
        ASSERT_NEAR(got[o].get_double(i), (*want)[o].get_double(i), 1e-5)
            << b.outputs[o] << "[" << i << "] at x " << xs.to_string();
      }
    }
    // Independent checks: the identity, the range, the padded and resized shapes.
    const int64_t h = xs[2], w = xs[3];
    const size_t onehot = 4, range = 3;
    for (int64_t i = 0; i < w; ++i) {
      EXPECT_EQ(got[range].as<int64_t>()[i], i);
      for (int64_t j = 0; j < w; ++j) EXPECT_EQ(got[onehot].as<float>()[i * w + j], i == j);
    }
    EXPECT_EQ(got[2].shape(), (Dims{1, 2, 2 * h, 2 * w}));
    EXPECT_EQ(got[0].shape(), zs);
    EXPECT_EQ(got[1].shape(), (Dims{1, 2, 2 * h, static_cast<int64_t>(std::floor(1.5 * w))}));
  }
}

TEST(DynamicOps, ShapeProgramInputsReachTheKernels) {
  run_at_level(0);
  run_at_level(3);
}

}  // namespace
}  // namespace kiln::dynamic_ops_test
