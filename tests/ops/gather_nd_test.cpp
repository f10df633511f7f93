// GatherND: the ONNX spec examples (batch_dims 0 and 1), random shapes in every dtype with
// int32/int64 negative indices and batch dims, zero-size, the out-of-range error and the infer
// errors.
#include "data_movement_util.h"
#include "op_check_util.h"

namespace kiln::testing::gather_nd_test {
namespace {

OpCase gnd_case(HostTensor data, HostTensor idx, std::optional<int64_t> batch_dims) {
  OpCase c;
  c.op = "GatherND";
  c.inputs = {std::move(data), std::move(idx)};
  if (batch_dims) c.attrs.set("batch_dims", *batch_dims);
  return c;
}

HostTensor idx_tensor(DataType dt, const Dims& d, const std::vector<int64_t>& v) {
  HostTensor t(dt, d);
  for (size_t i = 0; i < v.size(); ++i) store_from_double(t.data(), dt, i, double(v[i]));
  return t;
}

HostTensor naive_gnd(const HostTensor& data, const HostTensor& idx, int b) {
  const Dims& dd = data.shape();
  const Dims& id = idx.shape();
  const int q = id.rank(), k = static_cast<int>(id[q - 1]);
  std::vector<int64_t> od(id.begin(), id.end() - 1);
  od.insert(od.end(), dd.begin() + b + k, dd.end());
  HostTensor y(data.dtype(), to_dims(od));
  for (int64_t i = 0; i < y.numel(); ++i) {
    const std::vector<int64_t> oc = unravel(i, y.shape());
    std::vector<int64_t> ic(oc.begin(), oc.begin() + (q - 1));
    std::vector<int64_t> dc(oc.begin(), oc.begin() + b);
    for (int j = 0; j < k; ++j) {
      ic.push_back(j);
      int64_t v = idx.get_int(ravel(ic, id));
      ic.pop_back();
      if (v < 0) v += dd[b + j];
      dc.push_back(v);
    }
    dc.insert(dc.end(), oc.begin() + (q - 1), oc.end());
    copy_element(data, ravel(dc, dd), y, i);
  }
  return y;
}

const std::vector<std::string> kRef = {"GatherND/cpu-ref/reference"};

TEST(GatherND, SpecExamples) {
  const DataType i32 = DataType::kInt32;
  HostTensor d2 = make_tensor(i32, {2, 2}, {0, 1, 2, 3});
  check_tactics(gnd_case(d2, idx_tensor(DataType::kInt64, {2, 2}, {0, 0, 1, 1}), std::nullopt),
                make_tensor(i32, {2}, {0, 3}), 0, 0, kRef, "example 1");
  check_tactics(gnd_case(d2, idx_tensor(DataType::kInt64, {2, 1}, {1, 0}), 0),
                make_tensor(i32, {2, 2}, {2, 3, 0, 1}), 0, 0, kRef, "example 2");
  HostTensor d3 = make_tensor(DataType::kFloat32, {2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  check_tactics(gnd_case(d3, idx_tensor(DataType::kInt64, {2, 2}, {0, 1, 1, 0}), 0),
                make_tensor(DataType::kFloat32, {2, 2}, {2, 3, 4, 5}), 0, 0, kRef, "example 3");
  check_tactics(gnd_case(d3, idx_tensor(DataType::kInt64, {2, 1, 2}, {0, 1, 1, 0}), 0),
                make_tensor(DataType::kFloat32, {2, 1, 2}, {2, 3, 4, 5}), 0, 0, kRef, "example 4");
  check_tactics(gnd_case(d3, idx_tensor(DataType::kInt64, {2, 1}, {1, 0}), 1),
                make_tensor(DataType::kFloat32, {2, 2}, {2, 3, 4, 5}), 0, 0, kRef,
                "example 5 (batch_dims 1)");
}

TEST(GatherND, RandomEveryDtype) {
  std::mt19937 rng(71);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 12; ++iter) {
      const int r = 1 + static_cast<int>(rng() % 4);
      Dims dd = random_dims(rng, r, 1, 4);
      const int b = static_cast<int>(rng() % r) % 2;  // 0 or 1 (when r > 1)
      const int k = 1 + static_cast<int>(rng() % (r - b));
      // indices: batch dims of data, then 0-2 free dims, then k.
      std::vector<int64_t> id(dd.begin(), dd.begin() + b);
      const int free = static_cast<int>(rng() % 3);
      for (int f = 0; f < free; ++f) id.push_back(1 + rng() % 3);
      id.push_back(k);
      const DataType it = rng() % 2 ? DataType::kInt32 : DataType::kInt64;
      HostTensor idx(it, to_dims(id));
      for (int64_t i = 0; i < idx.numel(); ++i) {
        const int64_t e = dd[b + static_cast<int>(i % k)];
        store_from_double(idx.data(), it, i, double(int64_t(rng() % (2 * e)) - e));
      }
      HostTensor data = pattern_tensor(dt, dd, rng);
      check_tactics(gnd_case(data, idx, b), naive_gnd(data, idx, b), 0, 0, kRef,
                    dd.to_string() + " idx " + idx.shape().to_string() + " b " + std::to_string(b) +
                        " " + std::string(dtype_name(dt)));
    }
  }
}

TEST(GatherND, ZeroSize) {
  check_tactics(
      gnd_case(HostTensor(DataType::kFloat32, {3, 4}), HostTensor(DataType::kInt64, {0, 1}), 0),
      HostTensor(DataType::kFloat32, {0, 4}), 0, 0, kRef, "no tuples");
  check_tactics(gnd_case(HostTensor(DataType::kFloat32, {3, 0}),
                         idx_tensor(DataType::kInt64, {2, 1}, {0, 2}), 0),
                HostTensor(DataType::kFloat32, {2, 0}), 0, 0, kRef, "empty slices");
}

TEST(GatherND, OutOfRangeIndexIsAnError) {
  HostTensor data(DataType::kFloat32, {2, 3});
  for (int64_t bad : {3, -4}) {
    auto out = run_tactic(gnd_case(data, idx_tensor(DataType::kInt64, {2, 2}, {0, 1, 1, bad}), 0),
                          "reference", nullptr);
    ASSERT_FALSE(out.is_ok());
    const std::string m = out.status().to_string();
    EXPECT_EQ(out.status().code(), StatusCode::kOutOfRange);
    EXPECT_NE(m.find("index " + std::to_string(bad) + " (tuple 1, entry 1)"), std::string::npos)
        << m;
    EXPECT_NE(m.find("data dim 1 of extent 3"), std::string::npos) << m;
  }
}

TEST(GatherND, InferErrors) {
  HostTensor data(DataType::kFloat32, {2, 3, 4});
  std::string m = infer_message(gnd_case(data, HostTensor(DataType::kInt64, {2, 4}), 0));
  EXPECT_NE(m.find("is 4, must be in [1, rank(data) - batch_dims] = [1, 3]"), std::string::npos)
      << m;
  m = infer_message(gnd_case(data, HostTensor(DataType::kInt64, {2, 3}), 1));
  EXPECT_NE(m.find("[1, 2]"), std::string::npos) << m;
  m = infer_message(gnd_case(data, HostTensor(DataType::kInt64, {3, 1}), 1));
  EXPECT_NE(m.find("batch dim 0 differs"), std::string::npos) << m;
  m = infer_message(gnd_case(data, HostTensor(DataType::kInt64, {2, 1}), 2));
  EXPECT_NE(m.find("batch_dims 2 must be in"), std::string::npos) << m;
  m = infer_message(gnd_case(data, HostTensor(DataType::kInt64, {}), 0));
  EXPECT_NE(m.find("indices must have rank >= 1"), std::string::npos) << m;
  m = infer_message(gnd_case(data, HostTensor(DataType::kInt8, {1}), 0));
  EXPECT_NE(m.find("int32 or int64"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln::testing::gather_nd_test
