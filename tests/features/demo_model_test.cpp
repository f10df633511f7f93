// The bundled demo model end to end: build with a dynamic-batch profile, serialize, load, run
// several batch sizes, and compare with a naive forward pass written here.
#include <kiln/kiln.h>

#include "core/tensor.h"
#include "demo_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace kiln::demo_model_test {
namespace {

// Naive forward pass of the demo network (same seeded weights, same order of generation).
struct NaiveMnist {
  std::vector<float> w1, b1, w2, b2, f1w, f1b, f2w, f2b;
  NaiveMnist() {
    std::mt19937 rng(31193);
    w1 = demo::random_weights(32 * 1 * 25, 25, rng);
    b1 = demo::random_weights(32, 25, rng);
    w2 = demo::random_weights(64 * 32 * 25, 32 * 25, rng);
    b2 = demo::random_weights(64, 32 * 25, rng);
    f1w = demo::random_weights(3136 * 1024, 3136, rng);
    f1b = demo::random_weights(1024, 3136, rng);
    f2w = demo::random_weights(1024 * 10, 1024, rng);
    f2b = demo::random_weights(10, 1024, rng);
  }
  static std::vector<float> conv_relu_pool(const std::vector<float>& x, int cin, int hw,
                                           const std::vector<float>& w,
                                           const std::vector<float>& b, int cout) {
    std::vector<float> y(static_cast<size_t>(cout * hw * hw));
    for (int o = 0; o < cout; ++o)
      for (int i = 0; i < hw; ++i)
        for (int j = 0; j < hw; ++j) {
          double acc = b[o];
          for (int c = 0; c < cin; ++c)
            for (int ki = 0; ki < 5; ++ki)
              for (int kj = 0; kj < 5; ++kj) {
                int ii = i + ki - 2, jj = j + kj - 2;
                if (ii < 0 || jj < 0 || ii >= hw || jj >= hw) continue;
                acc += static_cast<double>(x[(c * hw + ii) * hw + jj]) *
                       w[((o * cin + c) * 5 + ki) * 5 + kj];
              }
          y[(o * hw + i) * hw + j] = static_cast<float>(std::max(acc, 0.0));
        }
    int h2 = hw / 2;
    std::vector<float> p(static_cast<size_t>(cout * h2 * h2));
    for (int o = 0; o < cout; ++o)
      for (int i = 0; i < h2; ++i)
        for (int j = 0; j < h2; ++j) {
          float m = -INFINITY;
          for (int a = 0; a < 2; ++a)
            for (int bb = 0; bb < 2; ++bb) m = std::max(m, y[(o * hw + 2 * i + a) * hw + 2 * j + bb]);
          p[(o * h2 + i) * h2 + j] = m;
        }
    return p;
  }
  // Softmax probabilities of one image.
  std::vector<double> forward(const float* image) const {
    std::vector<float> x(image, image + 784);
    auto t = conv_relu_pool(x, 1, 28, w1, b1, 32);
    t = conv_relu_pool(t, 32, 14, w2, b2, 64);
    std::vector<double> h(1024);
    for (int n = 0; n < 1024; ++n) {
      double acc = f1b[n];
      for (int k = 0; k < 3136; ++k) acc += static_cast<double>(t[k]) * f1w[k * 1024 + n];
      h[n] = std::max(acc, 0.0);
    }
    std::vector<double> logits(10);
    for (int n = 0; n < 10; ++n) {
      double acc = f2b[n];
      for (int k = 0; k < 1024; ++k) acc += h[k] * f2w[k * 10 + n];
      logits[n] = acc;
    }
    double mx = *std::max_element(logits.begin(), logits.end()), sum = 0;
    for (double& l : logits) sum += (l = std::exp(l - mx));
    for (double& l : logits) l /= sum;
    return logits;
  }
};

std::vector<uint8_t> build_demo_plan(int64_t min_b, int64_t opt_b, int64_t max_b) {
  Builder builder;
  auto net = builder.create_network();
  demo::build_mnist(*net);
  EXPECT_TRUE(net->status().is_ok()) << net->status().to_string();
  BuildConfig config;
  config.add_profile(demo::mnist_profile(min_b, opt_b, max_b));
  config.tuning_iterations = 2;
  auto plan = builder.build_serialized_network(*net, config);
  EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
  return plan.is_ok() ? *plan : std::vector<uint8_t>{};
}

TEST(DemoModel, SeveralBatchSizesMatchNaiveForward) {
  auto plan = build_demo_plan(1, 4, 16);
  ASSERT_FALSE(plan.empty());
  Runtime runtime;
  auto engine = runtime.deserialize(plan);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok()) << ctx.status().to_string();
  NaiveMnist ref;
  for (int64_t batch : {1, 3, 16}) {
    auto images = demo::demo_images(batch, static_cast<uint32_t>(batch));
    ASSERT_TRUE((*ctx)->set_input_shape("x", {batch, 1, 28, 28}).is_ok());
    EXPECT_EQ((*ctx)->tensor_shape("prob"), (Dims{batch, 1}));
    EXPECT_EQ((*ctx)->tensor_shape("label"), (Dims{batch, 1}));
    std::vector<float> prob(static_cast<size_t>(batch));
    std::vector<int64_t> label(static_cast<size_t>(batch), -1);
    ASSERT_TRUE((*ctx)->set_tensor_address("x", images.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("prob", prob.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("label", label.data()).is_ok());
    Status s = (*ctx)->execute();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    for (int64_t i = 0; i < batch; ++i) {
      auto p = ref.forward(images.data() + i * 784);
      int64_t best = std::max_element(p.begin(), p.end()) - p.begin();
      EXPECT_NEAR(prob[i], p[best], 1e-4) << "batch " << batch << " image " << i;
      std::vector<double> sorted = p;
      std::sort(sorted.rbegin(), sorted.rend());
      if (sorted[0] - sorted[1] > 1e-4) {
        EXPECT_EQ(label[i], best) << "batch " << batch << " image " << i;
      }
    }
  }
}

TEST(DemoModel, ShapeOutsideProfileIsRejectedWithRange) {
  auto plan = build_demo_plan(1, 4, 16);
  ASSERT_FALSE(plan.empty());
  Runtime runtime;
  auto engine = runtime.deserialize(plan);
  ASSERT_TRUE(engine.is_ok());
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  Status s = (*ctx)->set_input_shape("x", {17, 1, 28, 28});
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'x'"), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("[17,1,28,28]"), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("max [16,1,28,28]"), std::string::npos) << s.to_string();
  // A fixed dim that differs is also an error.
  EXPECT_FALSE((*ctx)->set_input_shape("x", {2, 3, 28, 28}).is_ok());
  // Unknown input name.
  EXPECT_EQ((*ctx)->set_input_shape("y", {2, 1, 28, 28}).code(), StatusCode::kNotFound);
  // Nothing ran: enqueue without shapes is a clear error.
  Status e = (*ctx)->execute();
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.message().find("'x'"), std::string::npos) << e.to_string();
}

TEST(DemoModel, MissingTensorAddressIsAnError) {
  auto plan = build_demo_plan(1, 2, 4);
  ASSERT_FALSE(plan.empty());
  Runtime runtime;
  auto engine = runtime.deserialize(plan);
  ASSERT_TRUE(engine.is_ok());
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  ASSERT_TRUE((*ctx)->set_input_shape("x", {2, 1, 28, 28}).is_ok());
  auto images = demo::demo_images(2);
  std::vector<float> prob(2);
  ASSERT_TRUE((*ctx)->set_tensor_address("x", images.data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("prob", prob.data()).is_ok());
  Status s = (*ctx)->execute();
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("'label'"), std::string::npos) << s.to_string();
  EXPECT_EQ((*ctx)->set_tensor_address("label", nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*ctx)->set_tensor_address("nope", prob.data()).code(), StatusCode::kNotFound);
}

TEST(DemoModel, UserManagedMemory) {
  auto plan = build_demo_plan(1, 4, 8);
  ASSERT_FALSE(plan.empty());
  Runtime runtime;
  auto engine = runtime.deserialize(plan);
  ASSERT_TRUE(engine.is_ok());
  auto owned = (*engine)->create_context();
  auto user = (*engine)->create_context(AllocationStrategy::kUserManaged);
  ASSERT_TRUE(owned.is_ok() && user.is_ok());
  auto images = demo::demo_images(2);
  std::vector<float> p_owned(2), p_user(2);
  std::vector<int64_t> l_owned(2), l_user(2);
  for (auto* c : {owned->get(), user->get()}) {
    ASSERT_TRUE(c->set_input_shape("x", {2, 1, 28, 28}).is_ok());
    ASSERT_TRUE(c->set_tensor_address("x", images.data()).is_ok());
  }
  ASSERT_TRUE((*owned)->set_tensor_address("prob", p_owned.data()).is_ok());
  ASSERT_TRUE((*owned)->set_tensor_address("label", l_owned.data()).is_ok());
  ASSERT_TRUE((*user)->set_tensor_address("prob", p_user.data()).is_ok());
  ASSERT_TRUE((*user)->set_tensor_address("label", l_user.data()).is_ok());
  // Without memory: a clear error.
  Status no_mem = (*user)->execute();
  ASSERT_FALSE(no_mem.is_ok());
  EXPECT_NE(no_mem.message().find("set_device_memory"), std::string::npos);
  auto need = (*user)->device_memory_size_for_current_shapes();
  ASSERT_TRUE(need.is_ok());
  EXPECT_GT(*need, 0u);
  EXPECT_LE(*need, (*engine)->device_memory_size(0));  // batch 2 needs less than max batch 8
  std::unique_ptr<void, void (*)(void*)> block(std::aligned_alloc(256, (*need + 255) / 256 * 256),
                                               std::free);
  // Misaligned memory is refused.
  Status misaligned = (*user)->set_device_memory(static_cast<char*>(block.get()) + 64, *need - 64);
  EXPECT_EQ(misaligned.code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE((*user)->set_device_memory(block.get(), *need).is_ok());
  ASSERT_TRUE((*user)->execute().is_ok());
  ASSERT_TRUE((*owned)->execute().is_ok());
  EXPECT_EQ(p_owned, p_user);
  EXPECT_EQ(l_owned, l_user);
  // Too small a block is refused with the sizes.
  ASSERT_TRUE((*user)->set_device_memory(block.get(), 256).is_ok());
  Status small = (*user)->execute();
  ASSERT_FALSE(small.is_ok());
  EXPECT_NE(small.message().find("256"), std::string::npos) << small.to_string();
}

}  // namespace
}  // namespace kiln::demo_model_test
