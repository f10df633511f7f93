// Shared pieces of the concurrency tests (also run under ThreadSanitizer): CPU engines built
// once per process, a thread-safe recording logger, and the reference runs that concurrent
// results are compared with.
#pragma once

#include <kiln/kiln.h>

#include "demo_model.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

namespace kiln::testing {

// The MNIST demo (conv, pool, matmul, softmax, top-k): input "x" [N,1,28,28], N in 1..4;
// outputs "prob" [N,1] float32 and "label" [N,1] int64.
inline const Engine& mnist_engine() {
  static const std::unique_ptr<Engine> engine = [] {
    Builder builder;
    auto net = builder.create_network();
    demo::build_mnist(*net);
    BuildConfig config;
    config.add_profile(demo::mnist_profile(1, 2, 4));
    config.optimization_level = 0;
    auto plan = builder.build_serialized_network(*net, config);
    EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
    auto e = Runtime().deserialize(*plan);
    EXPECT_TRUE(e.is_ok()) << e.status().to_string();
    return std::move(*e);
  }();
  return *engine;
}

// y = relu(a + b) * a over [-1, 16] float32 with two profiles: rows 1..8 and rows 9..64
// (relu(a + b) goes through two cancelling transposes, so the engine has intermediates).
inline const Engine& two_profile_engine() {
  static const std::unique_ptr<Engine> engine = [] {
    Builder builder;
    auto net = builder.create_network();
    Tensor* a = net->add_input("a", DataType::kFloat32, {-1, 16});
    Tensor* b = net->add_input("b", DataType::kFloat32, {-1, 16});
    Tensor* s = net->add_elementwise(a, b, ElementWiseOp::kSum)->output(0);
    Tensor* r = net->add_activation(s, ActivationType::kRelu)->output(0);
    // Two transposes that cancel: they keep intermediates in the activation arena (an
    // all-elementwise network would fuse into one kernel and need no activation memory).
    ShuffleDesc t;
    t.first_transpose = {1, 0};
    Tensor* rt = net->add_shuffle(r, t)->output(0);
    Tensor* rr = net->add_shuffle(rt, t)->output(0);
    Tensor* y = net->add_elementwise(rr, a, ElementWiseOp::kProd)->output(0);
    y->set_name("y");
    net->mark_output(y);
    BuildConfig config;
    for (auto [lo, hi] : {std::pair<int64_t, int64_t>{1, 8}, {9, 64}}) {
      OptimizationProfile p;
      p.set_shape("a", {lo, 16}, {hi, 16}, {hi, 16});
      p.set_shape("b", {lo, 16}, {hi, 16}, {hi, 16});
      config.add_profile(p);
    }
    config.optimization_level = 0;
    auto plan = builder.build_serialized_network(*net, config);
    EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
    auto e = Runtime().deserialize(*plan);
    EXPECT_TRUE(e.is_ok()) << e.status().to_string();
    return std::move(*e);
  }();
  return *engine;
}

// The expected y of two_profile_engine, computed directly.
inline std::vector<float> relu_sum_prod(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<float> y(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    float s = a[i] + b[i];
    y[i] = (s > 0 ? s : 0.f) * a[i];
  }
  return y;
}

inline std::vector<float> ramp(size_t n, float start, float step) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i % 97);
  return v;
}

struct MnistResult {
  std::vector<float> prob;
  std::vector<int64_t> label;
  bool operator==(const MnistResult&) const = default;
};

// One synchronous MNIST inference of `batch` images made from `seed`.
inline Status run_mnist(Context& ctx, int64_t batch, uint32_t seed, MnistResult* out) {
  auto images = demo::demo_images(batch, seed);
  out->prob.assign(static_cast<size_t>(batch), -1.f);
  out->label.assign(static_cast<size_t>(batch), -1);
  KILN_RETURN_IF_ERROR(ctx.set_input_shape("x", {batch, 1, 28, 28}));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("x", images.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("prob", out->prob.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("label", out->label.data()));
  return ctx.execute();
}

// Request i of a test: batch 1..4 and its own images.
inline int64_t batch_of(int i) {
  return 1 + i % 4;
}
inline uint32_t seed_of(int i) {
  return 1000u + static_cast<uint32_t>(i);
}

// Expected results of requests [0, n), from one context, one after another.
inline std::vector<MnistResult> mnist_reference(int n) {
  std::vector<MnistResult> want(n);
  auto ctx = mnist_engine().create_context();
  EXPECT_TRUE(ctx.is_ok());
  for (int i = 0; i < n; ++i) {
    Status s = run_mnist(**ctx, batch_of(i), seed_of(i), &want[i]);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
  }
  return want;
}

// Records every message (thread-safe).
class RecordingLogger final : public Logger {
 public:
  void log(Severity severity, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    messages_.emplace_back(severity, std::string(message));
  }
  std::vector<std::pair<Severity, std::string>> messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  size_t count_containing(std::string_view text) const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& [sev, m] : messages_) n += m.find(text) != std::string::npos;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<Severity, std::string>> messages_;
};

}  // namespace kiln::testing
