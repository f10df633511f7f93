// TacticDef::dtypes (what docs/ops.md lists) against supports(): every tactic is asked about
// probe nodes of every dtype (tests/common/op_probes.cpp). A CPU tactic must support a probe of
// exactly its declared dtypes. A CUDA tactic must support none outside them; that it supports
// each declared one is checked on a GPU (tests/gpu/op_dtypes_cuda_test.cpp), since the library
// tactics' supports() ask cuDNN / cuBLASLt.
#include "common/op_probes.h"

#include <gtest/gtest.h>

#include <set>

namespace kiln::op_dtypes_test {
namespace {

TEST(OpDtypes, EveryOpHasProbes) {
  for (const ops::OpDef* op : ops::all_ops()) {
    EXPECT_TRUE(testing::has_dtype_probes(op->name))
        << op->name << ": add its probe nodes to tests/common/op_probes.cpp";
  }
}

// A variant that no dtype gets through shape inference would probe nothing (a typo in its
// attributes, say).
TEST(OpDtypes, EveryProbeVariantIsValidForSomeDtype) {
  for (const ops::OpDef* op : ops::all_ops()) {
    std::set<std::string> valid;
    for (int k = 0; k < kNumDataTypes; ++k) {
      for (const auto& p :
           testing::dtype_probes(op->name, static_cast<DataType>(k), Backend::kCpu)) {
        valid.insert(p->variant);
      }
    }
    for (const std::string& v : testing::probe_variant_names(op->name)) {
      EXPECT_TRUE(valid.count(v)) << op->name << " probe '" << v << "' fails shape inference "
                                  << "for every dtype";
    }
  }
}

TEST(OpDtypes, CpuTacticsSupportExactlyTheirDeclaredDtypes) {
  for (const ops::OpDef* op : ops::all_ops()) {
    for (const ops::TacticDef& t : op->cpu_tactics) {
      const ops::DtypeSet probed = testing::probed_dtypes(*op, t, Backend::kCpu);
      EXPECT_EQ(probed.to_string(), t.dtypes.to_string())
          << ops::tactic_id(op->name, t) << ": declared dtypes differ from what supports() "
          << "accepts on the probe nodes (fix TacticDef::dtypes or the probes)";
    }
  }
}

// The references are the fallback of every node the op accepts: an optimized CPU tactic never
// takes a dtype the reference kernel does not.
TEST(OpDtypes, CpuReferenceCoversTheOptimizedTactics) {
  for (const ops::OpDef* op : ops::all_ops()) {
    ASSERT_FALSE(op->cpu_tactics.empty()) << op->name;
    const ops::DtypeSet ref = op->cpu_tactics[0].dtypes;
    for (const ops::TacticDef& t : op->cpu_tactics) {
      EXPECT_TRUE((t.dtypes - ref).empty())
          << ops::tactic_id(op->name, t) << " declares " << (t.dtypes - ref).to_string()
          << " beyond the reference kernel";
    }
  }
}

TEST(OpDtypes, CudaTacticsSupportNoUndeclaredDtype) {
  int checked = 0;
  for (const ops::OpDef* op : ops::all_ops()) {
    for (const ops::TacticDef& t : ops::cuda_tactics(op->name)) {
      const ops::DtypeSet probed = testing::probed_dtypes(*op, t, Backend::kCuda);
      EXPECT_TRUE((probed - t.dtypes).empty())
          << ops::tactic_id(op->name, t) << " supports undeclared "
          << (probed - t.dtypes).to_string();
      ++checked;
    }
  }
#ifdef KILN_WITH_CUDA
  EXPECT_GT(checked, 0);
#else
  EXPECT_EQ(checked, 0);
#endif
}

// The probing itself: a tactic that supports everything gets exactly the dtypes the op's shape
// inference accepts, one that supports nothing gets none, and one that checks a dtype gets it.
bool supports_all(const ops::KernelInfo&) {
  return true;
}
bool supports_none(const ops::KernelInfo&) {
  return false;
}
bool supports_int8(const ops::KernelInfo& info) {
  return info.input_dtype(0) == DataType::kInt8;
}

TEST(OpDtypes, ProbingFollowsShapeInferenceAndSupports) {
  auto probe = [](std::string_view op, bool (*supports)(const ops::KernelInfo&)) {
    const ops::TacticDef t{"probe", TacticSource::kCpuOptimized, {}, supports, nullptr};
    return testing::probed_dtypes(*ops::find_op(op), t, Backend::kCpu).to_string();
  };
  EXPECT_EQ(probe("Activation", supports_all), "float32, float16, bfloat16");
  EXPECT_EQ(probe("BitShift", supports_all), "uint8");
  EXPECT_EQ(probe("Pooling", supports_all), "float32, float16, bfloat16, int8, uint8");
  EXPECT_EQ(probe("ElementWise", supports_all), ops::kAllDtypes.to_string());
  EXPECT_EQ(probe("ConstantOfShape", supports_all), ops::kAllDtypes.to_string());
  EXPECT_EQ(probe("ElementWise", supports_none), "none");
  EXPECT_EQ(probe("TopK", supports_int8), "int8");
  EXPECT_EQ(probe("Activation", supports_int8), "none");
}

TEST(OpDtypes, DtypeSetBasics) {
  const ops::DtypeSet s{DataType::kFloat16, DataType::kInt8};
  EXPECT_TRUE(s.contains(DataType::kFloat16));
  EXPECT_FALSE(s.contains(DataType::kFloat32));
  EXPECT_EQ(s.to_string(), "float16, int8");
  EXPECT_EQ(ops::DtypeSet{}.to_string(), "none");
  EXPECT_EQ((ops::kAllDtypes - ops::kNumericDtypes).to_string(), "bool");
  EXPECT_EQ(ops::kFloatDtypes | ops::kIntDtypes, ops::kNumericDtypes);
}

}  // namespace
}  // namespace kiln::op_dtypes_test
