// Two optimization profiles over different shape ranges (the seed's multi-profile example):
// two dynamic inputs summed; each profile selected in turn and checked.
#include <kiln/kiln.h>

#include <gtest/gtest.h>

#include <numeric>

namespace kiln::multi_profile_test {
namespace {

std::vector<uint8_t> build_two_profile_sum() {
  Builder builder;
  auto net = builder.create_network();
  Tensor* a = net->add_input("inputT0", DataType::kFloat32, {-1, -1, -1, -1});
  Tensor* b = net->add_input("inputT1", DataType::kFloat32, {-1, -1, -1, -1});
  Layer* sum = net->add_elementwise(a, b, ElementWiseOp::kSum);
  sum->output(0)->set_name("sum");
  net->mark_output(sum->output(0));
  BuildConfig config;
  for (int p = 0; p < 2; ++p) {
    int64_t k = p + 1;  // profile p covers shapes k*[2,3,4,5] .. 2k*[2,3,4,5]
    OptimizationProfile prof;
    Dims lo{2 * k, 3 * k, 4 * k, 5 * k}, hi{4 * k, 6 * k, 8 * k, 10 * k};
    prof.set_shape("inputT0", lo, lo, hi);
    prof.set_shape("inputT1", lo, lo, hi);
    config.add_profile(prof);
  }
  auto plan = builder.build_serialized_network(*net, config);
  EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
  return plan.is_ok() ? *plan : std::vector<uint8_t>{};
}

TEST(MultiProfile, EachProfileSelectedInTurn) {
  auto plan = build_two_profile_sum();
  ASSERT_FALSE(plan.empty());
  Runtime runtime;
  auto engine = runtime.deserialize(plan);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  EXPECT_EQ((*engine)->num_optimization_profiles(), 2);
  auto r1 = (*engine)->profile_shape("inputT0", 1);
  ASSERT_TRUE(r1.is_ok());
  EXPECT_EQ(r1->max, (Dims{8, 12, 16, 20}));
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  for (int p = 0; p < 2; ++p) {
    ASSERT_TRUE((*ctx)->set_optimization_profile(p).is_ok());
    EXPECT_EQ((*ctx)->optimization_profile(), p);
    int64_t k = p + 1;
    Dims shape{2 * k, 3 * k, 4 * k, 5 * k};
    ASSERT_TRUE((*ctx)->set_input_shape("inputT0", shape).is_ok());
    ASSERT_TRUE((*ctx)->set_input_shape("inputT1", shape).is_ok());
    EXPECT_EQ((*ctx)->tensor_shape("sum"), shape);
    std::vector<float> a(static_cast<size_t>(shape.volume())), b(a.size()), out(a.size(), -1.f);
    std::iota(a.begin(), a.end(), 0.f);
    std::iota(b.begin(), b.end(), 100.f);
    ASSERT_TRUE((*ctx)->set_tensor_address("inputT0", a.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("inputT1", b.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("sum", out.data()).is_ok());
    Status s = (*ctx)->execute();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], a[i] + b[i]) << "profile " << p;
  }
}

TEST(MultiProfile, ShapeOfTheOtherProfileIsRejected) {
  auto plan = build_two_profile_sum();
  ASSERT_FALSE(plan.empty());
  Runtime runtime;
  auto engine = runtime.deserialize(plan);
  ASSERT_TRUE(engine.is_ok());
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  // [8,12,16,20] is profile 1's max, outside profile 0.
  Status s = (*ctx)->set_input_shape("inputT0", {8, 12, 16, 20});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("optimization profile 0"), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("max [4,6,8,10]"), std::string::npos) << s.to_string();
  ASSERT_TRUE((*ctx)->set_optimization_profile(1).is_ok());
  EXPECT_TRUE((*ctx)->set_input_shape("inputT0", {8, 12, 16, 20}).is_ok());
  EXPECT_EQ((*ctx)->set_optimization_profile(2).code(), StatusCode::kOutOfRange);
}

TEST(MultiProfile, BuildErrors) {
  Builder builder;
  auto net = builder.create_network();
  Tensor* a = net->add_input("a", DataType::kFloat32, {-1, 4});
  net->mark_output(net->add_unary(a, UnaryOp::kAbs)->output(0));
  // No profile for a dynamic input.
  auto none = builder.build_serialized_network(*net, BuildConfig{});
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("'a'"), std::string::npos) << none.status().to_string();
  // min > max.
  BuildConfig bad;
  OptimizationProfile p;
  p.set_shape("a", {4, 4}, {2, 4}, {8, 4});
  bad.add_profile(p);
  auto r = builder.build_serialized_network(*net, bad);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().to_string().find("min <= opt <= max"), std::string::npos);
  // Range over a fixed dim.
  BuildConfig fixed;
  OptimizationProfile q;
  q.set_shape("a", {1, 2}, {2, 4}, {8, 8});
  fixed.add_profile(q);
  auto f = builder.build_serialized_network(*net, fixed);
  ASSERT_FALSE(f.is_ok());
  EXPECT_NE(f.status().to_string().find("fixed at 4"), std::string::npos) << f.status().to_string();
  // Unknown input.
  BuildConfig unknown;
  OptimizationProfile u;
  u.set_shape("zz", {1, 4}, {1, 4}, {1, 4});
  u.set_shape("a", {1, 4}, {1, 4}, {2, 4});
  unknown.add_profile(u);
  auto z = builder.build_serialized_network(*net, unknown);
  ASSERT_FALSE(z.is_ok());
  EXPECT_NE(z.status().to_string().find("'zz'"), std::string::npos);
}

TEST(MultiProfile, OverlappingProfilesAllowed) {
  Builder builder;
  auto net = builder.create_network();
  Tensor* a = net->add_input("a", DataType::kFloat32, {-1, 4});
  net->mark_output(net->add_activation(a, ActivationType::kRelu)->output(0));
  BuildConfig config;
  OptimizationProfile p0, p1;
  p0.set_shape("a", {1, 4}, {4, 4}, {8, 4});
  p1.set_shape("a", {4, 4}, {8, 4}, {16, 4});
  config.add_profile(p0);
  config.add_profile(p1);
  auto plan = builder.build_serialized_network(*net, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
}

}  // namespace
}  // namespace kiln::multi_profile_test
