// TopK: every CPU tactic against a stable sort of each slice written here; ties, largest=0,
// sorted=0, K as an input, symbolic K, and the errors.
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <algorithm>
#include <cmath>

namespace kiln::testing::topk_test {
namespace {

constexpr DataType kTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                               DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                               DataType::kInt64};

OpCase topk_case(HostTensor x, int64_t k, int64_t axis, int largest = 1, int sorted = 1) {
  OpCase c;
  c.op = "TopK";
  c.attrs.set("k", k);
  c.attrs.set("axis", axis);
  c.attrs.set("largest", int64_t{largest});
  c.attrs.set("sorted", int64_t{sorted});
  c.inputs.push_back(std::move(x));
  c.num_outputs = 2;
  return c;
}

// Expected values and indices: stable sort of (value, index) per slice; NaN above numbers.
std::pair<HostTensor, HostTensor> expected_topk(const HostTensor& x, int64_t k, int64_t axis,
                                                bool largest) {
  const Dims& d = x.shape();
  if (axis < 0) axis += d.rank();
  int ax = static_cast<int>(axis);
  Dims od = d;
  od[ax] = k;
  HostTensor vals(x.dtype(), od), inds(DataType::kInt64, od);
  int64_t stride = 1;
  for (int i = d.rank() - 1; i > ax; --i) stride *= d[i];
  int64_t n = d[ax];
  auto rank_key = [&](double v) { return std::isnan(v) ? INFINITY : v; };
  for (int64_t e = 0; e < x.numel(); ++e) {
    if ((e / stride) % n != 0) continue;  // e is the first element of its slice
    std::vector<std::pair<double, int64_t>> slice;
    for (int64_t a = 0; a < n; ++a) slice.push_back({x.get_double(e + a * stride), a});
    std::stable_sort(slice.begin(), slice.end(), [&](const auto& p, const auto& q) {
      bool pn = std::isnan(p.first), qn = std::isnan(q.first);
      if (pn || qn) return largest ? (pn && !qn) : (qn && !pn);
      return largest ? rank_key(p.first) > rank_key(q.first)
                     : rank_key(p.first) < rank_key(q.first);
    });
    int64_t outer = e / (stride * n), inner = e % stride;
    for (int64_t j = 0; j < k; ++j) {
      int64_t o = (outer * k + j) * stride + inner;
      store_from_double(vals.data(), vals.dtype(), o, slice[j].first);
      inds.as<int64_t>()[o] = slice[j].second;
    }
  }
  return {vals, inds};
}

// For sorted=0 the order within a slice is free: sort each slice's k results by index.
void canonicalize(HostTensor& vals, HostTensor& inds, int axis) {
  const Dims& d = vals.shape();
  int64_t stride = 1;
  for (int i = d.rank() - 1; i > axis; --i) stride *= d[i];
  int64_t k = d[axis];
  for (int64_t e = 0; e < vals.numel(); ++e) {
    if ((e / stride) % k != 0) continue;
    std::vector<std::pair<int64_t, double>> s;
    for (int64_t j = 0; j < k; ++j) {
      s.push_back({inds.get_int(e + j * stride), vals.get_double(e + j * stride)});
    }
    std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (int64_t j = 0; j < k; ++j) {
      inds.as<int64_t>()[e + j * stride] = s[j].first;
      store_from_double(vals.data(), vals.dtype(), e + j * stride, s[j].second);
    }
  }
}

void check(const OpCase& c, int64_t k, int64_t axis, bool largest, bool sorted,
           const std::string& what, ThreadPool* pool = nullptr) {
  auto [want_v, want_i] = expected_topk(c.inputs[0], k, axis, largest);
  int ax = static_cast<int>(axis < 0 ? axis + c.inputs[0].shape().rank() : axis);
  if (!sorted) canonicalize(want_v, want_i, ax);
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(runs->size(), 2u) << what;
  EXPECT_EQ((*runs)[0].tactic, "TopK/cpu-ref/reference");
  EXPECT_EQ((*runs)[1].tactic, "TopK/cpu-opt/heap");
  for (auto r : *runs) {
    if (!sorted) canonicalize(r.outputs[0], r.outputs[1], ax);
    EXPECT_TRUE(all_close(r.outputs[0], want_v, 0, 0)) << what << " values " << r.tactic;
    EXPECT_TRUE(all_close(r.outputs[1], want_i, 0, 0)) << what << " indices " << r.tactic;
  }
}

TEST(TopK, RandomShapesDtypesWithTies) {
  std::mt19937 rng(21);
  for (int iter = 0; iter < 140; ++iter) {
    DataType dt = kTypes[iter % 7];
    int rank = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> dims(rank);
    for (auto& v : dims) v = 1 + rng() % 6;
    int64_t axis = static_cast<int64_t>(rng() % (2 * rank)) - rank;
    int64_t n = dims[axis < 0 ? axis + rank : axis];
    int64_t k = static_cast<int64_t>(rng() % (n + 1));
    int largest = static_cast<int>(rng() % 2), sorted = static_cast<int>(rng() % 2);
    // Few distinct values, so ties are common.
    double lo = dt == DataType::kUInt8 ? 0 : -3, hi = 3;
    HostTensor x = random_tensor(dt, Dims(std::span<const int64_t>(dims)), rng, lo, hi);
    if (is_floating(dt)) {
      for (int64_t i = 0; i < x.numel(); ++i) {
        store_from_double(x.data(), dt, i, std::round(x.get_double(i) * 2) / 2);
      }
    }
    std::string what = x.shape().to_string() + " k " + std::to_string(k) + " axis " +
                       std::to_string(axis) + " largest " + std::to_string(largest) + " sorted " +
                       std::to_string(sorted) + " " + std::string(dtype_name(dt));
    check(topk_case(x, k, axis, largest, sorted), k, axis, largest, sorted, what);
  }
}

TEST(TopK, LongSlicesAndStridedAxis) {
  std::mt19937 rng(8);
  for (DataType dt : {DataType::kFloat32, DataType::kInt64, DataType::kBFloat16}) {
    HostTensor x = random_tensor(dt, {3, 517}, rng, -100, 100);
    check(topk_case(x, 7, 1), 7, 1, true, true, "long");
    check(topk_case(x, 517, -1, 0), 517, -1, false, true, "full sort");
    HostTensor y = random_tensor(dt, {2, 40, 9}, rng, -100, 100);
    check(topk_case(y, 5, 1, 0), 5, 1, false, true, "strided");
  }
  // int64 values that float could not tell apart.
  HostTensor big = make_tensor(DataType::kInt64, {3}, {0, 0, 0});
  big.as<int64_t>()[0] = (int64_t{1} << 60) + 1;
  big.as<int64_t>()[1] = (int64_t{1} << 60) + 3;
  big.as<int64_t>()[2] = (int64_t{1} << 60) + 2;
  auto runs = run_cpu_tactics(topk_case(big, 1, 0));
  ASSERT_TRUE(runs.is_ok());
  for (const auto& r : *runs) EXPECT_EQ(r.outputs[1].get_int(0), 1) << r.tactic;
}

TEST(TopK, TiesTakeTheLowerIndexFirst) {
  HostTensor x = make_tensor(DataType::kFloat32, {5}, {3, 1, 3, 2, 3});
  struct Want {
    int largest;
    std::vector<double> vals, inds;
  };
  for (const Want& w : {Want{1, {3, 3, 3}, {0, 2, 4}}, Want{0, {1, 2, 3}, {1, 3, 0}}}) {
    auto runs = run_cpu_tactics(topk_case(x, 3, 0, w.largest));
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    for (const auto& r : *runs) {
      EXPECT_TRUE(all_close(r.outputs[0], make_tensor(DataType::kFloat32, {3}, w.vals), 0, 0))
          << r.tactic;
      EXPECT_TRUE(all_close(r.outputs[1], make_tensor(DataType::kInt64, {3}, w.inds), 0, 0))
          << r.tactic;
    }
  }
}

TEST(TopK, NaNRanksAboveNumbers) {
  HostTensor x = make_tensor(DataType::kFloat32, {4}, {1, NAN, 3, 2});
  auto runs = run_cpu_tactics(topk_case(x, 2, 0, 1));
  ASSERT_TRUE(runs.is_ok());
  for (const auto& r : *runs) {
    EXPECT_TRUE(std::isnan(r.outputs[0].get_double(0))) << r.tactic;
    EXPECT_EQ(r.outputs[0].get_double(1), 3) << r.tactic;
    EXPECT_TRUE(all_close(r.outputs[1], make_tensor(DataType::kInt64, {2}, {1, 2}), 0, 0));
  }
  runs = run_cpu_tactics(topk_case(x, 2, 0, 0));
  ASSERT_TRUE(runs.is_ok());
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], make_tensor(DataType::kFloat32, {2}, {1, 2}), 0, 0));
    EXPECT_TRUE(all_close(r.outputs[1], make_tensor(DataType::kInt64, {2}, {0, 3}), 0, 0));
  }
}

TEST(TopK, KFromConstantInput) {
  std::mt19937 rng(4);
  HostTensor x = random_tensor(DataType::kFloat32, {4, 6}, rng);
  for (Dims kd : {Dims{1}, Dims{}}) {
    OpCase c = topk_case(x, 0, -1);
    c.attrs.erase("k");
    c.inputs.push_back(make_tensor(DataType::kInt64, kd, {4}));
    c.constant = {false, true};
    check(c, 4, -1, true, true, "K input " + kd.to_string());
    auto g = make_graph(c);
    ASSERT_TRUE(g.is_ok());
    EXPECT_EQ(ir::shape_to_string(g->value(g->node(0).outputs[1]).shape), "[4,4]");
    EXPECT_EQ(g->value(g->node(0).outputs[1]).dtype, DataType::kInt64);
  }
}

TEST(TopK, SymbolicKFromShapeValue) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, {2, -1});
  int k = g.add_value("k", DataType::kInt64, {1});
  ir::SymExpr s = g.value(x).shape[1];
  ASSERT_FALSE(s.is_const());
  g.value(k).shape_value = std::vector<ir::SymExpr>{floor_div(s, 2)};
  int node = g.add_node("TopK", "topk", {x, k}, 2);
  ASSERT_TRUE(g.infer_node(node).is_ok());
  const ir::SymShape& out = g.value(g.node(node).outputs[0]).shape;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[1].same_as(floor_div(s, 2)));
}

TEST(TopK, SizeOneAndZeroSize) {
  std::mt19937 rng(2);
  HostTensor one = random_tensor(DataType::kInt32, {3, 1}, rng, -9, 9);
  check(topk_case(one, 1, 1), 1, 1, true, true, "size 1");
  for (auto [d, k, axis] : {std::tuple{Dims{0, 5}, int64_t{2}, int64_t{1}},
                            std::tuple{Dims{3, 0}, int64_t{0}, int64_t{1}},
                            std::tuple{Dims{3, 4}, int64_t{0}, int64_t{-1}}}) {
    auto runs = run_cpu_tactics(topk_case(random_tensor(DataType::kFloat32, d, rng), k, axis));
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    EXPECT_EQ(runs->size(), 2u);
    Dims od = d;
    od[static_cast<int>(axis < 0 ? axis + d.rank() : axis)] = k;
    for (const auto& r : *runs) EXPECT_EQ(r.outputs[1].shape(), od);
  }
}

TEST(TopK, Errors) {
  std::mt19937 rng(1);
  HostTensor x = random_tensor(DataType::kFloat32, {2, 5}, rng);
  auto msg = [](const OpCase& c) {
    auto g = make_graph(c);
    return g.is_ok() ? std::string("OK") : g.status().to_string();
  };
  EXPECT_NE(msg(topk_case(x, 6, 1)).find("k 6 is larger than the extent 5"), std::string::npos)
      << msg(topk_case(x, 6, 1));
  EXPECT_NE(msg(topk_case(x, -1, 1)).find("k must be >= 0"), std::string::npos);
  EXPECT_NE(msg(topk_case(x, 1, 2)).find("axis 2 is out of range"), std::string::npos);
  OpCase no_k = topk_case(x, 1, 1);
  no_k.attrs.erase("k");
  EXPECT_NE(msg(no_k).find("attribute 'k'"), std::string::npos);
  OpCase runtime_k = no_k;
  runtime_k.inputs.push_back(make_tensor(DataType::kInt64, {1}, {2}));  // a graph input
  EXPECT_NE(msg(runtime_k).find("constant or a shape value"), std::string::npos);
  OpCase float_k = no_k;
  float_k.inputs.push_back(make_tensor(DataType::kFloat32, {1}, {2}));
  float_k.constant = {false, true};
  EXPECT_NE(msg(float_k).find("K must be int64"), std::string::npos);
  EXPECT_NE(msg(topk_case(random_tensor(DataType::kBool, {4}, rng), 1, 0)).find("bool"),
            std::string::npos);
  OpCase one_out = topk_case(x, 1, 1);
  one_out.num_outputs = 1;
  EXPECT_NE(msg(one_out).find("2 outputs"), std::string::npos);
  EXPECT_NE(msg(topk_case(x, 1, 1, 2)).find("'largest'"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::topk_test

namespace kiln::testing::topk_test {
namespace {

TEST(TopK, ThreadedChunks) {
  std::mt19937 rng(13);
  ThreadPool pool(4);
  HostTensor x = random_tensor(DataType::kFloat32, {300, 200}, rng, -50, 50);
  check(topk_case(x, 5, 1), 5, 1, true, true, "rows threaded", &pool);
  HostTensor y = random_tensor(DataType::kInt32, {20, 100, 30}, rng, -20, 20);
  check(topk_case(y, 3, 1, 0), 3, 1, false, true, "strided threaded", &pool);
}

}  // namespace
}  // namespace kiln::testing::topk_test
