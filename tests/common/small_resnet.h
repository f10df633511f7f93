// A small ResNet built with the network API, shared by the CPU layout tests and the GPU end-to-end
// test: stem conv 7x7/2 + batch norm + ReLU, max pool 3x3/2, two bottleneck blocks (1x1, 3x3,
// 1x1 with batch norms, a projection shortcut conv, residual add, ReLU; the second strided),
// global average pool, flatten (shuffle reshape [0, -1]), fully connected layer with bias.
// Input "x" [N, 3, 32, 32], output "y" [N, 10].
#pragma once

#include <kiln/kiln.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

namespace kiln::testing {

constexpr int64_t kClasses = 10;
// Stem, 3 + projection per block.
constexpr int kSmallResNetConvs = 9;

struct WeightStore {
  std::mt19937 rng{17};
  std::vector<std::vector<float>> arrays;  // Weights point into these
  Weights make(size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    arrays.emplace_back(n);
    for (float& v : arrays.back()) v = d(rng);
    return Weights(arrays.back());
  }
};

inline Tensor* conv_bn(Network& net, WeightStore& ws, Tensor* x, int64_t cin, int64_t cout,
                       int64_t k, int64_t stride, bool relu) {
  ConvolutionDesc d;
  d.out_channels = cout;
  d.kernel = {k, k};
  d.stride = {stride, stride};
  d.padding = {k / 2, k / 2};
  const float bound = std::sqrt(3.f / static_cast<float>(cin * k * k));
  Tensor* y =
      net.add_convolution(x, d, ws.make(static_cast<size_t>(cout * cin * k * k), -bound, bound))
          ->output(0);
  const size_t c = static_cast<size_t>(cout);
  y = net.add_batch_norm(y, ws.make(c, 0.5f, 1.5f), ws.make(c, -0.2f, 0.2f),
                         ws.make(c, -0.2f, 0.2f), ws.make(c, 0.5f, 1.5f))
          ->output(0);
  if (relu) y = net.add_activation(y, ActivationType::kRelu)->output(0);
  return y;
}

inline Tensor* bottleneck(Network& net, WeightStore& ws, Tensor* x, int64_t cin, int64_t mid,
                          int64_t cout, int64_t stride) {
  Tensor* a = conv_bn(net, ws, x, cin, mid, 1, 1, true);
  Tensor* b = conv_bn(net, ws, a, mid, mid, 3, stride, true);
  Tensor* c = conv_bn(net, ws, b, mid, cout, 1, 1, false);
  Tensor* shortcut =
      stride != 1 || cin != cout ? conv_bn(net, ws, x, cin, cout, 1, stride, false) : x;
  Tensor* sum = net.add_elementwise(c, shortcut, ElementWiseOp::kSum)->output(0);
  return net.add_activation(sum, ActivationType::kRelu)->output(0);
}

inline std::unique_ptr<Network> small_resnet(Builder& b, WeightStore& ws) {
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {-1, 3, 32, 32});
  Tensor* t = conv_bn(*net, ws, x, 3, 16, 7, 2, true);
  PoolingDesc pd;
  pd.type = PoolingType::kMax;
  pd.window = {3, 3};
  pd.stride = {2, 2};
  pd.padding = {1, 1};
  t = net->add_pooling(t, pd)->output(0);
  t = bottleneck(*net, ws, t, 16, 8, 32, 1);
  t = bottleneck(*net, ws, t, 32, 16, 64, 2);
  PoolingDesc gp;
  gp.type = PoolingType::kAverage;
  gp.global = true;
  t = net->add_pooling(t, gp)->output(0);
  ShuffleDesc flat;
  flat.reshape = {0, -1};
  flat.has_reshape = true;
  t = net->add_shuffle(t, flat)->output(0);
  Tensor* w = net->add_constant({64, kClasses}, ws.make(64 * kClasses, -0.3f, 0.3f))->output(0);
  t = net->add_matrix_multiply(t, MatrixOp::kNone, w, MatrixOp::kNone)->output(0);
  Tensor* bias = net->add_constant({kClasses}, ws.make(kClasses, -0.1f, 0.1f))->output(0);
  t = net->add_elementwise(t, bias, ElementWiseOp::kSum)->output(0);
  t->set_name("y");
  net->mark_output(t);
  return net;
}

}  // namespace kiln::testing
