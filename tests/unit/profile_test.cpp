#include <kiln/builder.h>

#include <gtest/gtest.h>

namespace kiln::profile_test {
namespace {

TEST(OptimizationProfile, ValidRangePasses) {
  OptimizationProfile p;
  p.set_shape("x", {1, 3}, {4, 3}, {8, 3});
  EXPECT_TRUE(p.validate().is_ok());
  ASSERT_NE(p.shape("x"), nullptr);
  EXPECT_EQ(p.shape("x")->opt, (Dims{4, 3}));
  EXPECT_EQ(p.shape("y"), nullptr);
}

TEST(OptimizationProfile, MinAboveOptNamesInputAndDim) {
  OptimizationProfile p;
  p.set_shape("tokens", {1, 64}, {1, 32}, {1, 128});
  Status s = p.validate();
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'tokens'"), std::string::npos);
  EXPECT_NE(s.message().find("dim 1"), std::string::npos);
}

TEST(OptimizationProfile, RankMismatchAndNegative) {
  OptimizationProfile p;
  p.set_shape("x", {1, 3}, {4, 3, 1}, {8, 3});
  EXPECT_FALSE(p.validate().is_ok());
  OptimizationProfile q;
  q.set_shape("x", {-1}, {2}, {4});
  EXPECT_FALSE(q.validate().is_ok());
}

}  // namespace
}  // namespace kiln::profile_test
