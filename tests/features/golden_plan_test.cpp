// Golden plans: plans written by released plan-format versions must keep loading (or be refused
// with the documented message). tests/data/golden/v1_two_profile_sum.plan was written by
// kiln 0.1.0 (plan format v1, version-compatible flag set) for a network of two dynamic inputs
// summed with two profiles; regenerate only for a new format version, with
// KILN_WRITE_GOLDEN=1 ./build/bin/kiln_feature_tests --gtest_filter=GoldenPlan.*
#include <kiln/kiln.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <numeric>

namespace kiln::golden_plan_test {
namespace {

const char* kGolden = KILN_TEST_DATA_DIR "/golden/v1_two_profile_sum.plan";

std::vector<uint8_t> build_sum_plan() {
  Builder builder;
  auto net = builder.create_network();
  Tensor* a = net->add_input("a", DataType::kFloat32, {-1, 4});
  Tensor* b = net->add_input("b", DataType::kFloat32, {-1, 4});
  Layer* sum = net->add_elementwise(a, b, ElementWiseOp::kSum);
  sum->output(0)->set_name("sum");
  net->mark_output(sum->output(0));
  BuildConfig config;
  config.set_flag(BuilderFlag::kVersionCompatible);
  config.optimization_level = 0;
  for (int64_t lo : {1, 8}) {
    OptimizationProfile p;
    p.set_shape("a", {lo, 4}, {lo, 4}, {lo * 4, 4});
    p.set_shape("b", {lo, 4}, {lo, 4}, {lo * 4, 4});
    config.add_profile(p);
  }
  auto plan = builder.build_serialized_network(*net, config);
  EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
  return plan.is_ok() ? *plan : std::vector<uint8_t>{};
}

TEST(GoldenPlan, V1PlanStillLoadsAndRuns) {
  if (std::getenv("KILN_WRITE_GOLDEN") != nullptr) {
    auto plan = build_sum_plan();
    std::ofstream(kGolden, std::ios::binary)
        .write(reinterpret_cast<const char*>(plan.data()), static_cast<std::streamsize>(plan.size()));
  }
  std::ifstream f(kGolden, std::ios::binary);
  ASSERT_TRUE(f.good()) << "missing golden plan " << kGolden;
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Runtime runtime;
  auto engine = runtime.deserialize(bytes);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  ASSERT_EQ((*engine)->num_optimization_profiles(), 2);
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  for (int p = 0; p < 2; ++p) {
    int64_t rows = p == 0 ? 3 : 20;
    ASSERT_TRUE((*ctx)->set_optimization_profile(p).is_ok());
    ASSERT_TRUE((*ctx)->set_input_shape("a", {rows, 4}).is_ok());
    ASSERT_TRUE((*ctx)->set_input_shape("b", {rows, 4}).is_ok());
    std::vector<float> a(static_cast<size_t>(rows * 4)), b(a.size()), out(a.size());
    std::iota(a.begin(), a.end(), 1.f);
    std::iota(b.begin(), b.end(), -5.f);
    ASSERT_TRUE((*ctx)->set_tensor_address("a", a.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("b", b.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("sum", out.data()).is_ok());
    ASSERT_TRUE((*ctx)->execute().is_ok());
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], a[i] + b[i]);
  }
}

}  // namespace
}  // namespace kiln::golden_plan_test
