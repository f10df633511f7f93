// BitShift: the ONNX spec examples, broadcasting both ways, shifts of 8 bits or more, zero-size
// and the errors.
#include "op_check_util.h"

namespace kiln::testing::bit_shift_test {
namespace {

const std::vector<std::string> kRef = {"BitShift/cpu-ref/reference"};
const DataType u8 = DataType::kUInt8;

OpCase shift_case(HostTensor x, HostTensor y, const std::string& dir) {
  OpCase c;
  c.op = "BitShift";
  c.attrs.set("direction", dir);
  c.inputs = {std::move(x), std::move(y)};
  return c;
}

TEST(BitShift, SpecExamples) {
  HostTensor x = make_tensor(u8, {3}, {16, 4, 1});
  HostTensor y = make_tensor(u8, {3}, {1, 2, 3});
  check_tactics(shift_case(x, y, "RIGHT"), make_tensor(u8, {3}, {8, 1, 0}), 0, 0, kRef, "right");
  check_tactics(shift_case(x, y, "LEFT"), make_tensor(u8, {3}, {32, 16, 8}), 0, 0, kRef, "left");
}

TEST(BitShift, BroadcastOverflowAndLargeShifts) {
  std::mt19937 rng(141);
  HostTensor x = random_tensor(u8, {2, 1, 4}, rng, 0, 255);
  HostTensor y = random_tensor(u8, {3, 1}, rng, 0, 10);
  for (const std::string dir : {"LEFT", "RIGHT"}) {
    HostTensor want(u8, {2, 3, 4});
    for (int64_t a = 0; a < 2; ++a) {
      for (int64_t b = 0; b < 3; ++b) {
        for (int64_t c = 0; c < 4; ++c) {
          const int64_t v = x.get_int(a * 4 + c), s = y.get_int(b);
          int64_t r = dir == "LEFT" ? (v * (int64_t{1} << s)) % 256 : v / (int64_t{1} << s);
          want.as<uint8_t>()[(a * 3 + b) * 4 + c] = static_cast<uint8_t>(r);
        }
      }
    }
    check_tactics(shift_case(x, y, dir), want, 0, 0, kRef, dir);
  }
  check_tactics(shift_case(make_tensor(u8, {2}, {255, 1}), make_tensor(u8, {}, {8}), "LEFT"),
                make_tensor(u8, {2}, {0, 0}), 0, 0, kRef, "by 8");
  check_tactics(shift_case(HostTensor(u8, {0, 3}), make_tensor(u8, {3}, {1, 2, 3}), "LEFT"),
                HostTensor(u8, {0, 3}), 0, 0, kRef, "zero-size");
}

TEST(BitShift, Errors) {
  HostTensor x(u8, {3});
  std::string m = infer_message(shift_case(x, x, "UP"));
  EXPECT_NE(m.find("'direction' must be \"LEFT\" or \"RIGHT\", got \"UP\""), std::string::npos)
      << m;
  m = infer_message(shift_case(HostTensor(DataType::kInt32, {3}), x, "LEFT"));
  EXPECT_NE(m.find("X must be uint8, got int32"), std::string::npos) << m;
  m = infer_message(shift_case(x, HostTensor(u8, {4}), "LEFT"));
  EXPECT_NE(m.find("cannot be broadcast"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln::testing::bit_shift_test
