// Bulk float16/bfloat16 conversion (F16C where available) agrees with the scalar conversions.
#include "backends/cpu/half_convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace kiln::half_convert_test {
namespace {

TEST(HalfConvert, EveryHalfToFloat) {
  std::vector<Half> in(65536);
  for (int i = 0; i < 65536; ++i) in[i].bits = static_cast<uint16_t>(i);
  std::vector<float> out(in.size());
  to_float(in.data(), out.data(), static_cast<int64_t>(in.size()));
  for (int i = 0; i < 65536; ++i) {
    float want = static_cast<float>(in[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(out[i])) << i;
    } else {
      EXPECT_EQ(float_bits(out[i]), float_bits(want)) << i;
    }
  }
}

TEST(HalfConvert, FloatToHalfAndBFloat16) {
  std::mt19937 rng(5);
  std::vector<float> in;
  // Random bit patterns cover subnormals, overflow, ties and NaNs; plus hand-picked values.
  for (int i = 0; i < 200000; ++i) in.push_back(bits_float(static_cast<uint32_t>(rng())));
  for (float v : {0.f, -0.f, 65504.f, 65520.f, 65519.99f, 1e-8f, 5.96e-8f, 2.98e-8f, 1.f + 1e-3f,
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN()}) {
    in.push_back(v);
  }
  for (int64_t n :
       {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{9}, static_cast<int64_t>(in.size())}) {
    std::vector<Half> h(n);
    std::vector<BFloat16> b(n);
    from_float(in.data(), h.data(), n);
    from_float(in.data(), b.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      Half hw(in[i]);
      BFloat16 bw(in[i]);
      // Bit for bit, NaNs included: reduced-precision weights go into plans, which must not
      // depend on whether the building CPU has F16C.
      ASSERT_EQ(h[i].bits, hw.bits) << std::hex << float_bits(in[i]);
      ASSERT_EQ(b[i].bits, bw.bits) << std::hex << float_bits(in[i]);
    }
    std::vector<float> back(n);
    to_float(b.data(), back.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      float want = static_cast<float>(b[i]);
      if (!std::isnan(want)) {
        ASSERT_EQ(float_bits(back[i]), float_bits(want));
      }
    }
  }
}

// Every float whose rounding to float16 is decided near a tie: for each of the 2^19 values of
// the upper bits, the low 13 bits (the ones a normal float16 drops) at 0, 1, just below, at and
// just above half, and all ones; plus NaNs with payloads. Compared bit for bit with the scalar
// conversion.
TEST(HalfConvert, FloatToHalfRoundingBoundaries) {
  std::vector<float> in;
  for (uint32_t hi = 0; hi < (1u << 19); ++hi) {
    for (uint32_t lo : {0x0u, 0x1u, 0xfffu, 0x1000u, 0x1001u, 0x1fffu}) {
      in.push_back(bits_float((hi << 13) | lo));
    }
  }
  for (uint32_t payload : {1u, 0x1fffu, 0x2000u, 0x3fffffu, 0x400000u, 0x7fffffu}) {
    in.push_back(bits_float(0x7f800000u | payload));
    in.push_back(bits_float(0xff800000u | payload));
  }
  std::vector<Half> h(in.size());
  from_float(in.data(), h.data(), static_cast<int64_t>(in.size()));
  int64_t differ = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (h[i].bits != Half(in[i]).bits && differ++ < 5) {
      ADD_FAILURE() << "float bits " << std::hex << float_bits(in[i]) << ": bulk " << h[i].bits
                    << ", scalar " << Half(in[i]).bits;
    }
  }
  EXPECT_EQ(differ, 0);
}

}  // namespace
}  // namespace kiln::half_convert_test
