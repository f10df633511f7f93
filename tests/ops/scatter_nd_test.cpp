// ScatterND: the ONNX spec examples and hand values of every reduction with repeated tuples,
// random shapes in every dtype with int32/int64 negative indices under every reduction,
// zero-size, the out-of-range error and the infer errors.
#include "data_movement_util.h"
#include "op_check_util.h"
#include "scatter_util.h"

namespace kiln::testing::scatter_nd_test {
namespace {

OpCase snd_case(HostTensor data, HostTensor idx, HostTensor upd,
                const std::string& reduction = "") {
  OpCase c;
  c.op = "ScatterND";
  c.inputs = {std::move(data), std::move(idx), std::move(upd)};
  if (!reduction.empty()) c.attrs.set("reduction", reduction);
  return c;
}

HostTensor idx_tensor(DataType dt, const Dims& d, const std::vector<int64_t>& v) {
  HostTensor t(dt, d);
  for (size_t i = 0; i < v.size(); ++i) store_from_double(t.data(), dt, i, double(v[i]));
  return t;
}

HostTensor naive_snd(const HostTensor& data, const HostTensor& idx, const HostTensor& upd,
                     const std::string& red) {
  const Dims& dd = data.shape();
  const Dims& id = idx.shape();
  const int q = id.rank(), k = static_cast<int>(id[q - 1]);
  HostTensor y = copy_of(data);
  for (int64_t u = 0; u < upd.numel(); ++u) {
    const std::vector<int64_t> uc = unravel(u, upd.shape());
    std::vector<int64_t> ic(uc.begin(), uc.begin() + (q - 1));
    std::vector<int64_t> dc;
    for (int j = 0; j < k; ++j) {
      ic.push_back(j);
      int64_t v = idx.get_int(ravel(ic, id));
      ic.pop_back();
      if (v < 0) v += dd[j];
      dc.push_back(v);
    }
    dc.insert(dc.end(), uc.begin() + (q - 1), uc.end());
    naive_combine(y, ravel(dc, dd), upd, u, red);
  }
  return y;
}

const std::vector<std::string> kRef = {"ScatterND/cpu-ref/reference"};
const DataType f32 = DataType::kFloat32;

TEST(ScatterND, SpecExamplesAndReductions) {
  HostTensor d = make_tensor(f32, {8}, {1, 2, 3, 4, 5, 6, 7, 8});
  HostTensor u = make_tensor(f32, {4}, {9, 10, 11, 12});
  check_tactics(snd_case(d, idx_tensor(DataType::kInt64, {4, 1}, {4, 3, 1, 7}), u),
                make_tensor(f32, {8}, {1, 11, 3, 10, 9, 6, 7, 12}), 0, 0, kRef, "example 1");
  HostTensor dup = idx_tensor(DataType::kInt64, {4, 1}, {4, 3, 1, -4});  // -4 == 4
  check_tactics(snd_case(d, dup, u, "add"), make_tensor(f32, {8}, {1, 13, 3, 14, 26, 6, 7, 8}), 0,
                0, kRef, "add");
  check_tactics(snd_case(d, dup, u, "mul"), make_tensor(f32, {8}, {1, 22, 3, 40, 540, 6, 7, 8}), 0,
                0, kRef, "mul");
  check_tactics(snd_case(d, dup, u, "max"), make_tensor(f32, {8}, {1, 11, 3, 10, 12, 6, 7, 8}), 0,
                0, kRef, "max");
  check_tactics(snd_case(d, dup, u, "min"), d, 0, 0, kRef, "min");
  check_tactics(snd_case(d, dup, u, "none"), make_tensor(f32, {8}, {1, 11, 3, 10, 12, 6, 7, 8}), 0,
                0, kRef, "none: last wins");
  // Example 2: whole 4x4 slices of a 4x4x4 tensor.
  std::vector<double> dv(64);
  for (int i = 0; i < 64; ++i) dv[i] = i % 9;
  HostTensor d3 = make_tensor(f32, {4, 4, 4}, dv);
  std::vector<double> uv(32);
  for (int i = 0; i < 32; ++i) uv[i] = 100 + i;
  HostTensor u3 = make_tensor(f32, {2, 4, 4}, uv);
  std::vector<double> want = dv;
  for (int i = 0; i < 16; ++i) {
    want[0 * 16 + i] = uv[i];
    want[2 * 16 + i] = uv[16 + i];
  }
  check_tactics(snd_case(d3, idx_tensor(DataType::kInt32, {2, 1}, {0, 2}), u3),
                make_tensor(f32, {4, 4, 4}, want), 0, 0, kRef, "example 2");
}

TEST(ScatterND, RandomEveryDtypeEveryReduction) {
  std::mt19937 rng(91);
  for (DataType dt : all_dtypes()) {
    for (const std::string red : {"none", "add", "mul", "max", "min"}) {
      for (int iter = 0; iter < 4; ++iter) {
        const int r = 1 + static_cast<int>(rng() % 3);
        Dims dd = random_dims(rng, r, 1, 4);
        const int k = 1 + static_cast<int>(rng() % r);
        std::vector<int64_t> id;
        const int lead = static_cast<int>(rng() % 3);
        for (int f = 0; f < lead; ++f) id.push_back(1 + rng() % 3);
        id.push_back(k);
        const DataType it = rng() % 2 ? DataType::kInt32 : DataType::kInt64;
        HostTensor idx(it, to_dims(id));
        for (int64_t i = 0; i < idx.numel(); ++i) {
          const int64_t e = dd[static_cast<int>(i % k)];
          store_from_double(idx.data(), it, i, double(int64_t(rng() % (2 * e)) - e));
        }
        std::vector<int64_t> ud(id.begin(), id.end() - 1);
        ud.insert(ud.end(), dd.begin() + k, dd.end());
        HostTensor data = pattern_tensor(dt, dd, rng);
        HostTensor upd = pattern_tensor(dt, to_dims(ud), rng);
        check_tactics(snd_case(data, idx, upd, red), naive_snd(data, idx, upd, red), 0, 0, kRef,
                      dd.to_string() + " idx " + idx.shape().to_string() + " " + red + " " +
                          std::string(dtype_name(dt)));
      }
    }
  }
}

TEST(ScatterND, ZeroSize) {
  HostTensor d = make_tensor(f32, {2, 2}, {1, 2, 3, 4});
  check_tactics(snd_case(d, HostTensor(DataType::kInt64, {0, 1}), HostTensor(f32, {0, 2})), d, 0, 0,
                kRef, "no tuples");
  check_tactics(snd_case(HostTensor(f32, {2, 0}), idx_tensor(DataType::kInt64, {1, 1}, {1}),
                         HostTensor(f32, {1, 0})),
                HostTensor(f32, {2, 0}), 0, 0, kRef, "empty slices");
}

TEST(ScatterND, OutOfRangeIndexIsAnError) {
  HostTensor d(f32, {2, 3});
  auto out = run_tactic(
      snd_case(d, idx_tensor(DataType::kInt64, {2, 2}, {0, 1, 1, 3}), HostTensor(f32, {2})),
      "reference", nullptr);
  ASSERT_FALSE(out.is_ok());
  const std::string m = out.status().to_string();
  EXPECT_EQ(out.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(m.find("index 3 (tuple 1, entry 1) is out of range for data dim 1 of extent 3"),
            std::string::npos)
      << m;
}

TEST(ScatterND, InferErrors) {
  HostTensor d(f32, {2, 3});
  std::string m =
      infer_message(snd_case(d, HostTensor(DataType::kInt64, {2, 1}), HostTensor(f32, {2, 2})));
  EXPECT_NE(m.find("updates [2,2] must have shape indices.shape[:-1] ++ data.shape[k:] = [2,3]"),
            std::string::npos)
      << m;
  m = infer_message(snd_case(d, HostTensor(DataType::kInt64, {2, 3}), HostTensor(f32, {2})));
  EXPECT_NE(m.find("is 3, must be in [1, rank(data)] = [1, 2]"), std::string::npos) << m;
  m = infer_message(snd_case(d, HostTensor(DataType::kInt64, {1, 2}), HostTensor(f32, {1}), "or"));
  EXPECT_NE(m.find("'reduction' must be"), std::string::npos) << m;
  m = infer_message(
      snd_case(d, HostTensor(DataType::kInt64, {1, 2}), HostTensor(DataType::kInt32, {1})));
  EXPECT_NE(m.find("updates has dtype int32"), std::string::npos) << m;
  m = infer_message(snd_case(d, HostTensor(DataType::kInt64, {}), HostTensor(f32, {})));
  EXPECT_NE(m.find("indices must have rank >= 1"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln::testing::scatter_nd_test
