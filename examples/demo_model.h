// The bundled demo model: a small MNIST-style classifier with seeded random weights.
//   input "x" [N,1,28,28] (N dynamic)
//   conv 5x5 (32, pad 2) + ReLU + max-pool 2x2 -> conv 5x5 (64, pad 2) + ReLU + max-pool 2x2
//   -> reshape [N, 3136] -> fully connected 1024 + ReLU -> fully connected 10 -> softmax
//   -> top-1: outputs "prob" [N,1] (probability) and "label" [N,1] (class index, int64).
#pragma once

#include <kiln/kiln.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

namespace kiln::demo {

inline constexpr int64_t kImage = 28;
inline constexpr int64_t kClasses = 10;

// Uniform weights in [-1/sqrt(fan_in), 1/sqrt(fan_in)] from a fixed seed.
inline std::vector<float> random_weights(size_t count, int64_t fan_in, std::mt19937& rng) {
  float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  std::uniform_real_distribution<float> dist(-bound, bound);
  std::vector<float> w(count);
  for (auto& v : w) v = dist(rng);
  return w;
}

// Builds the network into `net`. The weight vectors must outlive nothing: the network copies.
inline void build_mnist(Network& net, uint32_t seed = 31193) {
  std::mt19937 rng(seed);
  Tensor* x = net.add_input("x", DataType::kFloat32, {-1, 1, kImage, kImage});

  auto conv_relu_pool = [&](Tensor* in, int64_t cin, int64_t cout, const char* name) {
    auto w = random_weights(static_cast<size_t>(cout * cin * 25), cin * 25, rng);
    auto b = random_weights(static_cast<size_t>(cout), cin * 25, rng);
    Layer* conv = net.add_convolution(
        in, {.out_channels = cout, .kernel = {5, 5}, .padding = {2, 2}}, Weights(w), Weights(b));
    conv->set_name(std::string(name) + ".conv");
    Layer* relu = net.add_activation(conv->output(0), ActivationType::kRelu);
    relu->set_name(std::string(name) + ".relu");
    Layer* pool = net.add_pooling(relu->output(0), {.type = PoolingType::kMax, .window = {2, 2}});
    pool->set_name(std::string(name) + ".pool");
    return pool->output(0);
  };
  Tensor* t = conv_relu_pool(x, 1, 32, "stage1");
  t = conv_relu_pool(t, 32, 64, "stage2");

  Layer* flat = net.add_shuffle(t, {.reshape = {0, 64 * 7 * 7}, .has_reshape = true});
  flat->set_name("flatten");

  auto fully_connected = [&](Tensor* in, int64_t k, int64_t n, const char* name) {
    auto w = random_weights(static_cast<size_t>(k * n), k, rng);
    auto b = random_weights(static_cast<size_t>(n), k, rng);
    Layer* wc = net.add_constant({k, n}, Weights(w));
    wc->set_name(std::string(name) + ".weight");
    Layer* bc = net.add_constant({1, n}, Weights(b));
    bc->set_name(std::string(name) + ".bias");
    Layer* mm = net.add_matrix_multiply(in, MatrixOp::kNone, wc->output(0), MatrixOp::kNone);
    mm->set_name(std::string(name) + ".matmul");
    Layer* add = net.add_elementwise(mm->output(0), bc->output(0), ElementWiseOp::kSum);
    add->set_name(std::string(name) + ".bias_add");
    return add->output(0);
  };
  Tensor* h = fully_connected(flat->output(0), 64 * 7 * 7, 1024, "fc1");
  Layer* relu = net.add_activation(h, ActivationType::kRelu);
  relu->set_name("fc1.relu");
  Tensor* logits = fully_connected(relu->output(0), 1024, kClasses, "fc2");
  Layer* softmax = net.add_softmax(logits, 1);
  softmax->set_name("softmax");
  Layer* top = net.add_topk(softmax->output(0), TopKOp::kMax, 1, 1);
  top->set_name("top1");
  top->output(0)->set_name("prob");
  top->output(1)->set_name("label");
  net.mark_output(top->output(0));
  net.mark_output(top->output(1));
}

// The demo's profile: batch 1..max_batch, tuned at opt_batch.
inline OptimizationProfile mnist_profile(int64_t min_batch, int64_t opt_batch, int64_t max_batch) {
  OptimizationProfile p;
  p.set_shape("x", {min_batch, 1, kImage, kImage}, {opt_batch, 1, kImage, kImage},
              {max_batch, 1, kImage, kImage});
  return p;
}

// Deterministic input images in [0, 1).
inline std::vector<float> demo_images(int64_t batch, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(batch * kImage * kImage));
  for (auto& v : x) v = dist(rng);
  return x;
}

}  // namespace kiln::demo
