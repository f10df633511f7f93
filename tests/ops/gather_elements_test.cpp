// GatherElements: the ONNX spec examples, random shapes in every dtype with int32/int64 indices
// (negative entries, indices smaller than data on other dims), every axis (negative too),
// zero-size, the out-of-range error and the infer errors.
#include "data_movement_util.h"
#include "op_check_util.h"

namespace kiln::testing::gather_elements_test {
namespace {

OpCase ge_case(HostTensor data, HostTensor idx, std::optional<int64_t> axis) {
  OpCase c;
  c.op = "GatherElements";
  c.inputs = {std::move(data), std::move(idx)};
  if (axis) c.attrs.set("axis", *axis);
  return c;
}

HostTensor naive_ge(const HostTensor& data, const HostTensor& idx, int64_t axis) {
  const Dims& dd = data.shape();
  if (axis < 0) axis += dd.rank();
  HostTensor y(data.dtype(), idx.shape());
  for (int64_t i = 0; i < idx.numel(); ++i) {
    std::vector<int64_t> c = unravel(i, idx.shape());
    int64_t v = idx.get_int(i);
    if (v < 0) v += dd[static_cast<int>(axis)];
    c[axis] = v;
    copy_element(data, ravel(c, dd), y, i);
  }
  return y;
}

HostTensor index_tensor(DataType dt, const Dims& d, const std::vector<int64_t>& v) {
  HostTensor t(dt, d);
  for (size_t i = 0; i < v.size(); ++i) store_from_double(t.data(), dt, i, double(v[i]));
  return t;
}

const std::vector<std::string> kRef = {"GatherElements/cpu-ref/reference"};

TEST(GatherElements, SpecExamples) {
  HostTensor d2 = make_tensor(DataType::kFloat32, {2, 2}, {1, 2, 3, 4});
  check_tactics(ge_case(d2, index_tensor(DataType::kInt64, {2, 2}, {0, 0, 1, 0}), 1),
                make_tensor(DataType::kFloat32, {2, 2}, {1, 1, 4, 3}), 0, 0, kRef, "example 1");
  HostTensor d3 = make_tensor(DataType::kInt32, {3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  check_tactics(ge_case(d3, index_tensor(DataType::kInt32, {2, 3}, {1, 2, 0, 2, 0, 0}), 0),
                make_tensor(DataType::kInt32, {2, 3}, {4, 8, 3, 7, 2, 3}), 0, 0, kRef, "example 2");
  check_tactics(
      ge_case(d3, index_tensor(DataType::kInt64, {2, 3}, {-1, -2, 0, -2, 0, 0}), std::nullopt),
      make_tensor(DataType::kInt32, {2, 3}, {7, 5, 3, 4, 2, 3}), 0, 0, kRef, "negative indices");
}

TEST(GatherElements, RandomEveryDtype) {
  std::mt19937 rng(61);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 12; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      Dims d = random_dims(rng, rank, 1, 5);
      int64_t axis = static_cast<int64_t>(rng() % rank);
      const int a = static_cast<int>(axis);
      if (rng() % 2) axis -= rank;
      // Indices: any extent on the axis, at most data's elsewhere.
      std::vector<int64_t> id(rank);
      for (int k = 0; k < rank; ++k) {
        id[k] = k == a ? 1 + static_cast<int64_t>(rng() % 6) : 1 + rng() % d[k];
      }
      const DataType it = rng() % 2 ? DataType::kInt32 : DataType::kInt64;
      HostTensor idx(it, to_dims(id));
      for (int64_t i = 0; i < idx.numel(); ++i) {
        const int64_t e = d[a];
        store_from_double(idx.data(), it, i, double(int64_t(rng() % (2 * e)) - e));
      }
      HostTensor data = pattern_tensor(dt, d, rng);
      check_tactics(ge_case(data, idx, axis), naive_ge(data, idx, axis), 0, 0, kRef,
                    d.to_string() + " idx " + idx.shape().to_string() + " axis " +
                        std::to_string(axis) + " " + std::string(dtype_name(dt)));
    }
  }
}

TEST(GatherElements, ZeroSize) {
  check_tactics(
      ge_case(HostTensor(DataType::kFloat32, {3, 4}), HostTensor(DataType::kInt64, {0, 4}), 0),
      HostTensor(DataType::kFloat32, {0, 4}), 0, 0, kRef, "no indices");
  check_tactics(
      ge_case(HostTensor(DataType::kFloat32, {0, 4}), HostTensor(DataType::kInt64, {0, 2}), 1),
      HostTensor(DataType::kFloat32, {0, 2}), 0, 0, kRef, "empty data");
}

TEST(GatherElements, OutOfRangeIndexIsAnError) {
  HostTensor data = make_tensor(DataType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  for (int64_t bad : {3, -4, 100}) {
    auto out = run_tactic(ge_case(data, index_tensor(DataType::kInt64, {2, 2}, {0, 1, 2, bad}), 1),
                          "reference", nullptr);
    ASSERT_FALSE(out.is_ok());
    const std::string m = out.status().to_string();
    EXPECT_EQ(out.status().code(), StatusCode::kOutOfRange);
    EXPECT_NE(m.find("index " + std::to_string(bad) + " at indices[1,1]"), std::string::npos) << m;
    EXPECT_NE(m.find("extent 3"), std::string::npos) << m;
  }
}

TEST(GatherElements, InferErrors) {
  HostTensor data(DataType::kFloat32, {2, 3});
  std::string m = infer_message(ge_case(data, HostTensor(DataType::kInt64, {2}), 0));
  EXPECT_NE(m.find("must have data's rank 2"), std::string::npos) << m;
  m = infer_message(ge_case(data, HostTensor(DataType::kInt64, {2, 4}), 0));
  EXPECT_NE(m.find("dim 1 exceeds data [2,3]"), std::string::npos) << m;
  EXPECT_EQ(infer_message(ge_case(data, HostTensor(DataType::kInt64, {5, 3}), 0)), "OK");
  m = infer_message(ge_case(data, HostTensor(DataType::kFloat32, {2, 3}), 0));
  EXPECT_NE(m.find("indices must be int32 or int64"), std::string::npos) << m;
  m = infer_message(ge_case(data, HostTensor(DataType::kInt64, {2, 3}), -3));
  EXPECT_NE(m.find("axis -3 is out of range"), std::string::npos) << m;
  m = infer_message(
      ge_case(HostTensor(DataType::kFloat32, {}), HostTensor(DataType::kInt64, {}), 0));
  EXPECT_NE(m.find("scalar"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln::testing::gather_elements_test
