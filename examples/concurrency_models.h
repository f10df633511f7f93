// Networks of the concurrency examples, tests and benchmarks, built with the network API and
// seeded random weights:
//   conv_relu      the seed's multi-stream model: one convolution + ReLU, input [N, C, H, W]
//   inception      four parallel branches (1x1, 3x3, 5x5 conv, pool + 1x1) -> concat -> conv
//                  -> + input -> ReLU: independent branches for auxiliary streams
//   launch_bound   a chain of `layers` small fully connected layers: each kernel is tiny, so
//                  the time goes to launching them (what CUDA graphs remove)
#pragma once

#include <kiln/kiln.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace kiln::examples {

inline std::vector<float> uniform(size_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// input "inputT0" [-1, c, h, w] -> conv k x k (c_out, same padding) + bias -> ReLU -> "output".
inline void build_conv_relu(Network& net, int64_t c, int64_t h, int64_t w, int64_t c_out, int64_t k,
                            uint32_t seed = 31193) {
  std::mt19937 rng(seed);
  Tensor* x = net.add_input("inputT0", DataType::kFloat32, {-1, c, h, w});
  auto weights = uniform(static_cast<size_t>(c_out * c * k * k), -1.f, 1.f, rng);
  auto bias = uniform(static_cast<size_t>(c_out), -1.f, 1.f, rng);
  Layer* conv =
      net.add_convolution(x, {.out_channels = c_out, .kernel = {k, k}, .padding = {k / 2, k / 2}},
                          Weights(weights), Weights(bias));
  conv->set_name("conv");
  Layer* relu = net.add_activation(conv->output(0), ActivationType::kRelu);
  relu->set_name("relu");
  relu->output(0)->set_name("output");
  net.mark_output(relu->output(0));
}

// input "x" [-1, c, s, s] -> 4 branches of c/2 channels -> concat (2c) -> conv 3x3 (c) + x -> ReLU
// -> "y".
inline void build_inception(Network& net, int64_t c, int64_t s, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  Tensor* x = net.add_input("x", DataType::kFloat32, {-1, c, s, s});
  const int64_t b = c / 2;
  auto conv = [&](Tensor* in, int64_t cin, int64_t cout, int64_t k, const std::string& name) {
    float bound = 1.f / std::sqrt(static_cast<float>(cin * k * k));
    auto w = uniform(static_cast<size_t>(cout * cin * k * k), -bound, bound, rng);
    auto bias = uniform(static_cast<size_t>(cout), -0.1f, 0.1f, rng);
    Layer* l =
        net.add_convolution(in, {.out_channels = cout, .kernel = {k, k}, .padding = {k / 2, k / 2}},
                            Weights(w), Weights(bias));
    l->set_name(name);
    return l->output(0);
  };
  Tensor* b1 = conv(x, c, b, 1, "branch1.conv1x1");
  Tensor* b2 =
      net.add_activation(conv(x, c, b, 3, "branch2.conv3x3"), ActivationType::kRelu)->output(0);
  Tensor* b3 = conv(x, c, b, 5, "branch3.conv5x5");
  Layer* pool = net.add_pooling(
      x, {.type = PoolingType::kMax, .window = {3, 3}, .stride = {1, 1}, .padding = {1, 1}});
  pool->set_name("branch4.pool");
  Tensor* b4 = conv(pool->output(0), c, b, 1, "branch4.conv1x1");
  Tensor* parts[] = {b1, b2, b3, b4};
  Layer* cat = net.add_concatenation(parts, 1);
  cat->set_name("concat");
  Tensor* mixed = conv(cat->output(0), 4 * b, c, 3, "mix.conv3x3");
  Tensor* sum = net.add_elementwise(mixed, x, ElementWiseOp::kSum)->output(0);
  Layer* relu = net.add_activation(sum, ActivationType::kRelu);
  relu->output(0)->set_name("y");
  net.mark_output(relu->output(0));
}

// input "x" [-1, width] -> `layers` x (matmul width x width + bias -> ReLU) -> "y".
inline void build_launch_bound(Network& net, int layers, int64_t width, uint32_t seed = 5) {
  std::mt19937 rng(seed);
  Tensor* t = net.add_input("x", DataType::kFloat32, {-1, width});
  const float bound = 1.f / std::sqrt(static_cast<float>(width));
  for (int i = 0; i < layers; ++i) {
    auto w = uniform(static_cast<size_t>(width * width), -bound, bound, rng);
    auto bias = uniform(static_cast<size_t>(width), -0.1f, 0.1f, rng);
    Tensor* wt = net.add_constant({width, width}, Weights(w))->output(0);
    Tensor* bt = net.add_constant({1, width}, Weights(bias))->output(0);
    Tensor* mm = net.add_matrix_multiply(t, MatrixOp::kNone, wt, MatrixOp::kNone)->output(0);
    Tensor* add = net.add_elementwise(mm, bt, ElementWiseOp::kSum)->output(0);
    t = net.add_activation(add, ActivationType::kRelu)->output(0);
  }
  t->set_name("y");
  net.mark_output(t);
}

}  // namespace kiln::examples
