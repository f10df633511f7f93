// The index arithmetic of the CUDA group and broadcast kernels (ops/common/index_layout.h),
// checked on the host against direct coordinate arithmetic for random shapes: every output
// element's operand offsets (broadcasting), and every (group, element) pair's offset
// (GroupLayout), including the row-major order of the elements that Hardmax's "first maximum"
// relies on; plus the merging of dims and the errors.
#include "ops/common/index_layout.h"
#include "common/broadcast_index.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace kiln::ops::index_layout_test {
namespace {

using kiln::testing::broadcast_offset;
using kiln::testing::coords;

Dims make_dims(const std::vector<int64_t>& v) {
  return Dims(std::span<const int64_t>(v));
}

TEST(BroadcastGeometry, OffsetsMatchCoordinates) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> rank_d(0, 5), ext_d(1, 4), coin(0, 2);
  for (int iter = 0; iter < 400; ++iter) {
    const int rank = rank_d(rng);
    std::vector<int64_t> out(rank), a, b;
    for (int64_t& e : out) e = ext_d(rng);
    // Operands: a suffix of the output's dims, each dim kept or set to 1.
    auto operand = [&]() {
      std::vector<int64_t> v(out.begin() + std::uniform_int_distribution<int>(0, rank)(rng),
                             out.end());
      for (int64_t& e : v) e = coin(rng) == 0 ? 1 : e;
      return v;
    };
    a = operand();
    b = operand();
    BroadcastGeometry g;
    ASSERT_TRUE(broadcast_geometry("test", make_dims(a), make_dims(b), make_dims(out), &g).is_ok());
    int64_t n = 1;
    for (int64_t e : out) n *= e;
    for (int64_t i = 0; i < n; ++i) {
      int64_t ia = -1, ib = -1;
      broadcast_offsets<int64_t>(g, i, &ia, &ib);
      const std::vector<int64_t> c = coords(i, out);
      ASSERT_EQ(ia, broadcast_offset(a, c)) << "iter " << iter << " element " << i;
      ASSERT_EQ(ib, broadcast_offset(b, c)) << "iter " << iter << " element " << i;
      uint32_t ja = 0, jb = 0;  // the 32-bit index path agrees
      broadcast_offsets<uint32_t>(g, static_cast<uint32_t>(i), &ja, &jb);
      ASSERT_EQ(static_cast<int64_t>(ja), ia);
      ASSERT_EQ(static_cast<int64_t>(jb), ib);
    }
  }
}

TEST(BroadcastGeometry, MergesRunsAndRejectsMismatches) {
  BroadcastGeometry g;
  // [N, C, H, W] with a [C, 1, 1] operand: [N, C, H*W].
  ASSERT_TRUE(broadcast_geometry("t", {2, 3, 4, 5}, {3, 1, 1}, {2, 3, 4, 5}, &g).is_ok());
  ASSERT_EQ(g.rank, 3);
  EXPECT_EQ(g.dims[0], 2);
  EXPECT_EQ(g.dims[1], 3);
  EXPECT_EQ(g.dims[2], 20);
  EXPECT_EQ(g.stride_b[0], 0);
  EXPECT_EQ(g.stride_b[1], 1);
  EXPECT_EQ(g.stride_b[2], 0);
  // Same shapes: one dim.
  ASSERT_TRUE(broadcast_geometry("t", {2, 3, 4}, {2, 3, 4}, {2, 3, 4}, &g).is_ok());
  EXPECT_EQ(g.rank, 1);
  EXPECT_EQ(g.dims[0], 24);
  // Scalars: one element.
  ASSERT_TRUE(broadcast_geometry("t", {}, {1}, {1}, &g).is_ok());
  EXPECT_EQ(g.rank, 1);
  EXPECT_EQ(g.dims[0], 1);
  Status s = broadcast_geometry("PRelu", {2, 3}, {4}, {2, 3}, &g);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("PRelu"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[4]"), std::string::npos) << s.message();
  EXPECT_FALSE(broadcast_geometry("t", {2, 2, 3}, {3}, {2, 3}, &g).is_ok());  // rank too high
}

TEST(GroupLayout, OffsetsMatchCoordinates) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> rank_d(1, 5), ext_d(1, 4), coin(0, 1);
  for (int iter = 0; iter < 400; ++iter) {
    const int rank = rank_d(rng);
    std::vector<int64_t> x(rank);
    std::vector<bool> mask(rank);
    for (int d = 0; d < rank; ++d) {
      x[d] = ext_d(rng);
      mask[d] = coin(rng) == 1;
    }
    const GroupLayout l = group_layout(make_dims(x), mask);
    std::vector<int64_t> kept, red;
    for (int d = 0; d < rank; ++d) (mask[d] ? red : kept).push_back(x[d]);
    int64_t groups = 1, reduced = 1;
    for (int64_t e : kept) groups *= e;
    for (int64_t e : red) reduced *= e;
    ASSERT_EQ(l.groups, groups);
    ASSERT_EQ(l.reduced, reduced);
    int last = -1;
    for (int d = 0; d < rank; ++d) {
      if (x[d] != 1) last = d;
    }
    EXPECT_EQ(l.last_dim_reduced, last >= 0 && mask[last]) << "iter " << iter;
    std::set<int64_t> seen;
    for (int64_t g = 0; g < groups; ++g) {
      const std::vector<int64_t> kc = coords(g, kept);
      const int64_t base = strided_offset(l.kept_dims, l.kept_strides, l.kept_rank, g);
      for (int64_t r = 0; r < reduced; ++r) {
        const std::vector<int64_t> rc = coords(r, red);
        // Full coordinates: kept and reduced coordinates back in X's dim order.
        int64_t want = 0;
        size_t ki = 0, ri = 0;
        for (int d = 0; d < rank; ++d) want = want * x[d] + (mask[d] ? rc[ri++] : kc[ki++]);
        const int64_t got = base + strided_offset(l.red_dims, l.red_strides, l.red_rank, r);
        ASSERT_EQ(got, want) << "iter " << iter << " group " << g << " element " << r;
        seen.insert(got);
      }
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), groups * reduced);
  }
}

TEST(GroupLayout, MergesNeighbouringDims) {
  // NCHW with axes [0, 2, 3] (MeanVarianceNormalization's default): groups over C, elements
  // over [N, H*W].
  GroupLayout l = group_layout({2, 3, 4, 5}, {true, false, true, true});
  EXPECT_EQ(l.groups, 3);
  EXPECT_EQ(l.reduced, 40);
  ASSERT_EQ(l.kept_rank, 1);
  EXPECT_EQ(l.kept_strides[0], 20);
  ASSERT_EQ(l.red_rank, 2);
  EXPECT_EQ(l.red_dims[0], 2);
  EXPECT_EQ(l.red_strides[0], 60);
  EXPECT_EQ(l.red_dims[1], 20);
  EXPECT_EQ(l.red_strides[1], 1);
  EXPECT_TRUE(l.last_dim_reduced);
  // A size-1 dim between two reduced dims does not split them.
  l = group_layout({3, 4, 1, 5}, {false, true, false, true});
  EXPECT_EQ(l.red_rank, 1);
  EXPECT_EQ(l.red_dims[0], 20);
  // Nothing reduced: one element per group.
  l = group_layout({3, 4}, {false, false});
  EXPECT_EQ(l.red_rank, 0);
  EXPECT_EQ(l.reduced, 1);
  EXPECT_EQ(l.groups, 12);
  EXPECT_FALSE(l.last_dim_reduced);
}

}  // namespace
}  // namespace kiln::ops::index_layout_test
