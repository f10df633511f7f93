// Reduced precision casts float32 weights with the bulk conversion: the reduced constants hold
// exactly the scalar conversion's bits (round to nearest even, overflow to infinity, subnormals,
// NaNs with payloads as the canonical quiet NaN), so plans do not depend on the building CPU.
#include "core/half.h"
#include "passes/pass.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

namespace kiln::precision_weights_test {
namespace {

TEST(PrecisionWeights, ReducedConstantsHoldTheScalarConversion) {
  std::vector<float> w;
  for (float v : {0.f, -0.f, 1.f, -2.5f, 65504.f, 65519.f, 65520.f, 1e6f, 6e-8f, 3e-8f, 1e-40f,
                  1.f + 1.f / 2048.f, 1.f + 3.f / 2048.f, std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity(), bits_float(0x7fc00000u),
                  bits_float(0x7f800001u), bits_float(0xffbfffffu), bits_float(0x7fa02000u)}) {
    w.push_back(v);
  }
  std::mt19937 rng(3);
  while (w.size() < 8 * 37) w.push_back(bits_float(static_cast<uint32_t>(rng())));
  for (DataType target : {DataType::kFloat16, DataType::kBFloat16}) {
    ir::Graph g;
    const int x = g.add_input("x", DataType::kFloat32, Dims{2, 8});
    const int c =
        g.add_constant("w", HostTensor::from_bytes(DataType::kFloat32, Dims{8, 37}, w.data()));
    const int mm = g.add_node("MatMul", "mm", {x, c}, 1);
    g.mark_output(g.node(mm).outputs[0]);
    ASSERT_TRUE(g.infer_shapes().is_ok());
    auto converted = passes::reduce_precision(g, target);
    ASSERT_TRUE(converted.is_ok()) << converted.status().to_string();
    ASSERT_EQ(*converted, 1);
    const HostTensor* reduced = nullptr;
    for (int v = 0; v < g.num_values(); ++v) {
      if (g.value(v).constant && g.value(v).constant->dtype() == target) {
        reduced = &*g.value(v).constant;
      }
    }
    ASSERT_NE(reduced, nullptr) << dtype_name(target);
    ASSERT_EQ(reduced->numel(), static_cast<int64_t>(w.size()));
    const auto* bits = reduced->as<const uint16_t>();
    for (size_t i = 0; i < w.size(); ++i) {
      const uint16_t want = target == DataType::kFloat16 ? Half(w[i]).bits : BFloat16(w[i]).bits;
      ASSERT_EQ(bits[i], want) << dtype_name(target) << " of float bits " << std::hex
                               << float_bits(w[i]);
    }
  }
}

}  // namespace
}  // namespace kiln::precision_weights_test
