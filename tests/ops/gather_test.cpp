// Gather: both tactics on random shapes, every data dtype, int32/int64 indices of rank 0-2 with
// negative entries, every axis (negative too), zero-size cases, the out-of-range error of both
// kernels, shape values of Shape -> Gather, and infer errors.
#include "data_movement_util.h"

namespace kiln::testing::gather_test {
namespace {

HostTensor naive_gather(const HostTensor& data, const HostTensor& idx, int64_t axis) {
  const Dims& d = data.shape();
  std::vector<int64_t> od;
  for (int k = 0; k < axis; ++k) od.push_back(d[k]);
  for (int64_t e : idx.shape()) od.push_back(e);
  for (int k = static_cast<int>(axis) + 1; k < d.rank(); ++k) od.push_back(d[k]);
  const Dims out = dims_of(od);
  HostTensor y(data.dtype(), out);
  const int ir = idx.shape().rank();
  for (int64_t o = 0; o < y.numel(); ++o) {
    auto oi = unravel(o, out);
    std::vector<int64_t> ii(oi.begin() + axis, oi.begin() + axis + ir);
    int64_t pick = idx.get_int(ravel(ii, idx.shape()));
    if (pick < 0) pick += d[static_cast<int>(axis)];
    std::vector<int64_t> di(oi.begin(), oi.begin() + axis);
    di.push_back(pick);
    di.insert(di.end(), oi.begin() + axis + ir, oi.end());
    copy_element(data, ravel(di, d), y, o);
  }
  return y;
}

OpCase gather_case(HostTensor data, HostTensor idx, std::optional<int64_t> axis) {
  OpCase c;
  c.op = "Gather";
  c.inputs = {std::move(data), std::move(idx)};
  if (axis) c.attrs.set("axis", *axis);
  return c;
}

HostTensor random_indices(std::mt19937& rng, DataType dt, const Dims& shape, int64_t extent) {
  HostTensor t(dt, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t v = static_cast<int64_t>(rng() % (2 * extent)) - extent;  // [-extent, extent)
    store_from_double(t.data(), dt, i, static_cast<double>(v));
  }
  return t;
}

const std::vector<std::string> kBoth = {"Gather/cpu-ref/reference", "Gather/cpu-opt/rows"};

TEST(Gather, RandomEveryDtype) {
  std::mt19937 rng(51);
  ThreadPool pool(3);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 20; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      Dims d = random_dims(rng, rank, 1, 5);
      int64_t axis = static_cast<int64_t>(rng() % rank);
      const int64_t a = axis;
      if (rng() % 2) axis -= rank;
      Dims id = random_dims(rng, static_cast<int>(rng() % 3), 1, 4);
      DataType it = rng() % 2 ? DataType::kInt32 : DataType::kInt64;
      HostTensor idx = random_indices(rng, it, id, d[static_cast<int>(a)]);
      HostTensor data = pattern_tensor(dt, d, rng);
      OpCase c = gather_case(data, idx, axis);
      HostTensor want = naive_gather(data, idx, a);
      auto runs = run_cpu_tactics(c);
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      ASSERT_EQ(tactic_ids(*runs), kBoth);
      for (const auto& r : *runs) {
        EXPECT_TRUE(same(r.outputs[0], want))
            << r.tactic << " " << d.to_string() << " axis " << axis << " idx " << id.to_string();
      }
      auto threaded = run_tactic(c, "rows", &pool);
      ASSERT_TRUE(threaded.is_ok());
      EXPECT_TRUE(same(*threaded, want));
    }
  }
}

TEST(Gather, DefaultAxisScalarIndexAndZeroSize) {
  std::mt19937 rng(2);
  HostTensor data = pattern_tensor(DataType::kFloat16, {4, 3}, rng);
  // Scalar index -1: the last row, rank drops by one.
  auto runs = run_cpu_tactics(gather_case(data, int64_scalar(-1), std::nullopt));
  ASSERT_TRUE(runs.is_ok());
  for (const auto& r : *runs) {
    EXPECT_EQ(r.outputs[0].shape(), Dims{3});
    EXPECT_TRUE(same(r.outputs[0], naive_gather(data, int64_scalar(-1), 0)));
  }
  // No indices: empty output. Zero-size data on another axis: empty output.
  runs = run_cpu_tactics(gather_case(data, HostTensor(DataType::kInt64, {0}), 1));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_EQ((*runs)[0].outputs[0].shape(), (Dims{4, 0}));
  runs = run_cpu_tactics(
      gather_case(HostTensor(DataType::kInt8, {0, 5}), ints(DataType::kInt32, {4, -5, 0}), 1));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_EQ((*runs)[0].outputs[0].shape(), (Dims{0, 3}));
}

TEST(Gather, OutOfRangeIndexIsAnErrorInEveryTactic) {
  std::mt19937 rng(4);
  HostTensor data = pattern_tensor(DataType::kFloat32, {3, 4}, rng);
  for (int64_t bad : {4, -5, 1000}) {
    for (const char* tactic : {"reference", "rows"}) {
      OpCase c = gather_case(data, ints(DataType::kInt64, {0, bad, 1}), 1);
      auto out = run_tactic(c, tactic, nullptr);
      ASSERT_FALSE(out.is_ok()) << tactic << " " << bad;
      const std::string msg = out.status().to_string();
      EXPECT_NE(msg.find("index " + std::to_string(bad)), std::string::npos) << msg;
      EXPECT_NE(msg.find("extent 4"), std::string::npos) << msg;
      EXPECT_EQ(out.status().code(), StatusCode::kOutOfRange);
    }
  }
  // Any index into an empty axis is out of range.
  auto out = run_tactic(gather_case(HostTensor(DataType::kFloat32, {0, 2}), int64_scalar(0), 0),
                        "rows", nullptr);
  EXPECT_FALSE(out.is_ok());
}

TEST(Gather, ShapeValues) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3, -1, 2});
  int s = g.node(g.add_node("Shape", "s", {x}, 1)).outputs[0];
  int i_scalar = g.add_constant("i", int64_scalar(-2));
  int i_vec = g.add_constant("iv", ints(DataType::kInt32, {0, 2, 2}));
  int a = g.node(g.add_node("Gather", "a", {s, i_scalar}, 1)).outputs[0];
  int b = g.node(g.add_node("Gather", "b", {s, i_vec}, 1)).outputs[0];
  int dyn = g.add_input("dyn_idx", DataType::kInt64, Dims{1});
  int c = g.node(g.add_node("Gather", "c", {s, dyn}, 1)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  std::vector<int64_t> sym = {5, 9};
  EXPECT_EQ(g.value(a).shape.size(), 0u);
  ASSERT_TRUE(g.value(a).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(a).shape_value, sym), (std::vector<int64_t>{9}));
  ASSERT_TRUE(g.value(b).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(b).shape_value, sym), (std::vector<int64_t>{5, 9, 9}));
  EXPECT_FALSE(g.value(c).shape_value.has_value());  // indices not known at build time
  // A constant index outside the shape tensor is caught at build time.
  ir::Graph g2;
  int x2 = g2.add_input("x", DataType::kFloat32, Dims{-1, 3});
  int s2 = g2.node(g2.add_node("Shape", "s", {x2}, 1)).outputs[0];
  int bad = g2.add_constant("bad", int64_scalar(2));
  g2.add_node("Gather", "g", {s2, bad}, 1);
  Status st = g2.infer_shapes();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("index 2 is out of range"), std::string::npos) << st.to_string();
}

TEST(Gather, InferErrors) {
  std::mt19937 rng(1);
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  HostTensor data = pattern_tensor(DataType::kFloat32, {3, 4}, rng);
  expect_error(gather_case(data, make_tensor(DataType::kFloat32, {1}, {0}), 0), "int32 or int64");
  expect_error(gather_case(data, int64_scalar(0), 2), "axis 2 is out of range");
  expect_error(gather_case(data, int64_scalar(0), -3), "axis -3 is out of range");
  expect_error(gather_case(HostTensor(DataType::kFloat32, {}), int64_scalar(0), 0), "scalar");
  OpCase c = gather_case(data, int64_scalar(0), 0);
  c.inputs.pop_back();
  expect_error(c, "expects 2 inputs");
}

}  // namespace
}  // namespace kiln::testing::gather_test
