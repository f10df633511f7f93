// ScatterElements: the ONNX spec examples (with negative indices and every reduction), random
// shapes in every dtype with int32/int64 indices and repeated targets under every reduction,
// zero-size, the out-of-range error (output untouched) and the infer errors.
#include "data_movement_util.h"
#include "op_check_util.h"
#include "scatter_util.h"

namespace kiln::testing::scatter_elements_test {
namespace {

OpCase se_case(HostTensor data, HostTensor idx, HostTensor upd, std::optional<int64_t> axis,
               const std::string& reduction = "") {
  OpCase c;
  c.op = "ScatterElements";
  c.inputs = {std::move(data), std::move(idx), std::move(upd)};
  if (axis) c.attrs.set("axis", *axis);
  if (!reduction.empty()) c.attrs.set("reduction", reduction);
  return c;
}

HostTensor idx_tensor(DataType dt, const Dims& d, const std::vector<int64_t>& v) {
  HostTensor t(dt, d);
  for (size_t i = 0; i < v.size(); ++i) store_from_double(t.data(), dt, i, double(v[i]));
  return t;
}

HostTensor naive_se(const HostTensor& data, const HostTensor& idx, const HostTensor& upd,
                    int64_t axis, const std::string& red) {
  const Dims& dd = data.shape();
  if (axis < 0) axis += dd.rank();
  HostTensor y = copy_of(data);
  for (int64_t i = 0; i < idx.numel(); ++i) {
    std::vector<int64_t> c = unravel(i, idx.shape());
    int64_t v = idx.get_int(i);
    if (v < 0) v += dd[static_cast<int>(axis)];
    c[axis] = v;
    naive_combine(y, ravel(c, dd), upd, i, red);
  }
  return y;
}

const std::vector<std::string> kRef = {"ScatterElements/cpu-ref/reference"};
const DataType f32 = DataType::kFloat32;

TEST(ScatterElements, SpecExamples) {
  check_tactics(
      se_case(HostTensor(f32, {3, 3}), idx_tensor(DataType::kInt64, {2, 3}, {1, 0, 2, 0, 2, 1}),
              make_tensor(f32, {2, 3}, {1.0, 1.1, 1.2, 2.0, 2.1, 2.2}), std::nullopt),
      make_tensor(f32, {3, 3}, {2.0, 1.1, 0.0, 1.0, 0.0, 2.2, 0.0, 2.1, 1.2}), 0, 0, kRef,
      "axis 0");
  HostTensor d = make_tensor(f32, {1, 5}, {1, 2, 3, 4, 5});
  HostTensor u = make_tensor(f32, {1, 2}, {1.1, 2.1});
  check_tactics(se_case(d, idx_tensor(DataType::kInt64, {1, 2}, {1, 3}), u, 1),
                make_tensor(f32, {1, 5}, {1, 1.1, 3, 2.1, 5}), 0, 0, kRef, "axis 1");
  check_tactics(se_case(d, idx_tensor(DataType::kInt32, {1, 2}, {1, -3}), u, -1),
                make_tensor(f32, {1, 5}, {1, 1.1, 2.1, 4, 5}), 0, 0, kRef, "negative index");
  HostTensor dup = idx_tensor(DataType::kInt64, {1, 2}, {1, 1});
  check_tactics(se_case(d, dup, u, 1, "add"), make_tensor(f32, {1, 5}, {1, 5.2, 3, 4, 5}), 1e-6,
                1e-6, kRef, "add");
  check_tactics(se_case(d, dup, u, 1, "mul"),
                make_tensor(f32, {1, 5}, {1, 2 * 1.1f * 2.1f, 3, 4, 5}), 1e-6, 1e-6, kRef, "mul");
  check_tactics(se_case(d, dup, u, 1, "max"), make_tensor(f32, {1, 5}, {1, 2.1, 3, 4, 5}), 0, 0,
                kRef, "max");
  check_tactics(se_case(d, dup, u, 1, "min"), make_tensor(f32, {1, 5}, {1, 1.1, 3, 4, 5}), 0, 0,
                kRef, "min");
  // none with a repeated target: the last update wins.
  check_tactics(se_case(d, dup, u, 1, "none"), make_tensor(f32, {1, 5}, {1, 2.1, 3, 4, 5}), 0, 0,
                kRef, "none");
}

TEST(ScatterElements, RandomEveryDtypeEveryReduction) {
  std::mt19937 rng(81);
  for (DataType dt : all_dtypes()) {
    for (const std::string red : {"none", "add", "mul", "max", "min"}) {
      for (int iter = 0; iter < 4; ++iter) {
        const int rank = 1 + static_cast<int>(rng() % 3);
        Dims d = random_dims(rng, rank, 1, 4);
        int64_t axis = static_cast<int64_t>(rng() % rank);
        const int a = static_cast<int>(axis);
        if (rng() % 2) axis -= rank;
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
        HostTensor upd = pattern_tensor(dt, idx.shape(), rng);
        check_tactics(se_case(data, idx, upd, axis, red), naive_se(data, idx, upd, axis, red), 0, 0,
                      kRef,
                      d.to_string() + " idx " + idx.shape().to_string() + " axis " +
                          std::to_string(axis) + " " + red + " " + std::string(dtype_name(dt)));
      }
    }
  }
}

TEST(ScatterElements, ZeroSize) {
  HostTensor d = make_tensor(f32, {2, 2}, {1, 2, 3, 4});
  check_tactics(se_case(d, HostTensor(DataType::kInt64, {0, 2}), HostTensor(f32, {0, 2}), 0), d, 0,
                0, kRef, "no updates");
  check_tactics(se_case(HostTensor(f32, {0, 3}), HostTensor(DataType::kInt64, {0, 3}),
                        HostTensor(f32, {0, 3}), 1),
                HostTensor(f32, {0, 3}), 0, 0, kRef, "empty data");
}

TEST(ScatterElements, OutOfRangeIndexIsAnError) {
  HostTensor d = make_tensor(f32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto out = run_tactic(se_case(d, idx_tensor(DataType::kInt64, {1, 2}, {0, -4}),
                                make_tensor(f32, {1, 2}, {9, 9}), 1, "add"),
                        "reference", nullptr);
  ASSERT_FALSE(out.is_ok());
  const std::string m = out.status().to_string();
  EXPECT_EQ(out.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(m.find("index -4 at indices[0,1] is out of range for axis 1 of extent 3"),
            std::string::npos)
      << m;
}

TEST(ScatterElements, InferErrors) {
  HostTensor d(f32, {2, 3});
  HostTensor i(DataType::kInt64, {2, 3});
  HostTensor u(f32, {2, 3});
  std::string m = infer_message(se_case(d, i, u, 0, "sum"));
  EXPECT_NE(m.find("'reduction' must be none, add, mul, max or min, got \"sum\""),
            std::string::npos)
      << m;
  m = infer_message(se_case(d, i, HostTensor(f32, {2, 2}), 0));
  EXPECT_NE(m.find("updates [2,2] must have indices' shape [2,3]"), std::string::npos) << m;
  m = infer_message(se_case(d, i, HostTensor(DataType::kFloat16, {2, 3}), 0));
  EXPECT_NE(m.find("updates has dtype float16"), std::string::npos) << m;
  m = infer_message(se_case(d, HostTensor(DataType::kInt64, {3}), HostTensor(f32, {3}), 0));
  EXPECT_NE(m.find("must have data's rank 2"), std::string::npos) << m;
  m = infer_message(se_case(d, HostTensor(DataType::kInt64, {3, 3}), HostTensor(f32, {3, 3}), 1));
  EXPECT_NE(m.find("dim 0 exceeds data"), std::string::npos) << m;
  m = infer_message(se_case(d, i, u, 2));
  EXPECT_NE(m.find("axis 2 is out of range"), std::string::npos) << m;
  m = infer_message(se_case(d, HostTensor(f32, {2, 3}), u, 0));
  EXPECT_NE(m.find("indices must be int32 or int64"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln::testing::scatter_elements_test
