#include "ir/sym.h"

#include <gtest/gtest.h>

namespace kiln::ir::sym_test {
namespace {

TEST(SymExpr, ConstantsFold) {
  SymExpr e = (SymExpr(6) + 4) * 3;
  ASSERT_TRUE(e.is_const());
  EXPECT_EQ(e.value(), 30);
  EXPECT_EQ(floor_div(SymExpr(-7), 2).value(), -4);
  EXPECT_EQ(ceil_div(SymExpr(7), 2).value(), 4);
  EXPECT_EQ(sym_mod(SymExpr(-7), 3).value(), 2);
  EXPECT_EQ(sym_min(SymExpr(3), 5).value(), 3);
  EXPECT_EQ(broadcast_dim(SymExpr(1), 5).value(), 5);
}

TEST(SymExpr, SymbolsEvaluate) {
  SymExpr n = SymExpr::symbol(0), h = SymExpr::symbol(1);
  // Convolution output extent: (H + 2p - k)/s + 1
  SymExpr out = floor_div(h + 2 * 1 - 3, 2) + 1;
  EXPECT_FALSE(out.is_const());
  std::vector<int64_t> vals = {4, 224};
  EXPECT_EQ(*out.eval(vals), 112);
  EXPECT_EQ(*(n * 12).eval(vals), 48);
  EXPECT_EQ(out.max_symbol(), 1);
  EXPECT_EQ((n * 12).to_string(std::vector<std::string>{"batch"}), "(batch*12)");
}

TEST(SymExpr, IdentitiesSimplify) {
  SymExpr n = SymExpr::symbol(0);
  EXPECT_TRUE((n + 0).same_as(n));
  EXPECT_TRUE((n * 1).same_as(n));
  EXPECT_TRUE((n * 0).is_const());
  EXPECT_TRUE((n - n).is_const());
  EXPECT_TRUE(floor_div(n, n).is_const());
  EXPECT_TRUE(broadcast_dim(n, 1).same_as(n));
  EXPECT_TRUE(broadcast_dim(n, n).same_as(n));
  EXPECT_FALSE((n + 1).same_as(n + 2));
}

TEST(SymExpr, EvalErrors) {
  SymExpr n = SymExpr::symbol(0);
  std::vector<int64_t> zero = {0};
  auto r = floor_div(SymExpr(5), n).eval(zero);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("division by zero"), std::string::npos);
  std::vector<int64_t> three = {3};
  auto b = broadcast_dim(n, 4).eval(three);
  ASSERT_FALSE(b.is_ok());
  EXPECT_NE(b.status().message().find("cannot be broadcast"), std::string::npos);
  auto unbound = SymExpr::symbol(5).eval(three);
  EXPECT_FALSE(unbound.is_ok());
}

TEST(SymExpr, PostfixRoundTrip) {
  SymExpr a = SymExpr::symbol(0), b = SymExpr::symbol(1);
  SymExpr e = sym_max(floor_div(a * 3 + b, 2), ceil_div(b - 1, a));
  std::vector<int64_t> tokens;
  e.append_postfix(tokens);
  auto back = SymExpr::from_postfix(tokens, 2);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_TRUE(back->same_as(e));
  std::vector<int64_t> vals = {5, 9};
  EXPECT_EQ(*back->eval(vals), *e.eval(vals));
}

TEST(SymExpr, PostfixRejectsGarbage) {
  EXPECT_FALSE(SymExpr::from_postfix(std::vector<int64_t>{}, 1).is_ok());
  EXPECT_FALSE(SymExpr::from_postfix(std::vector<int64_t>{1}, 1).is_ok());           // odd
  EXPECT_FALSE(SymExpr::from_postfix(std::vector<int64_t>{99, 0}, 1).is_ok());       // kind
  EXPECT_FALSE(SymExpr::from_postfix(std::vector<int64_t>{1, 3}, 1).is_ok());        // symbol id
  EXPECT_FALSE(SymExpr::from_postfix(std::vector<int64_t>{0, 1, 2, 0}, 1).is_ok());  // underflow
  EXPECT_FALSE(SymExpr::from_postfix(std::vector<int64_t>{0, 1, 0, 2}, 1).is_ok());  // leftovers
}

}  // namespace
}  // namespace kiln::ir::sym_test
