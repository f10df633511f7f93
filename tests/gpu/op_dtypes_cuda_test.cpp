// TacticDef::dtypes of the CUDA tactics against supports() on a GPU (the CPU-side half is
// tests/unit/op_dtypes_test.cpp). kiln's own CUDA tactics must support a probe of exactly their
// declared dtypes. Library tactics (cuDNN, cuBLAS, cuBLASLt) declare the dtypes kiln passes to
// the library, which may decline some for one algorithm (or offer a heuristic index for none of
// the probes' small shapes): each must support no undeclared dtype, and the library tactics of
// one op and source together must support every dtype they declare. What one declines is
// printed.
#include "common/op_probes.h"
#include "gpu/gpu_harness.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>

namespace kiln::testing::op_dtypes_cuda_test {
namespace {

using OpDtypesCuda = GpuTest;

bool is_library(TacticSource s) {
  return s == TacticSource::kCudnn || s == TacticSource::kCublas || s == TacticSource::kCublasLt;
}

TEST_F(OpDtypesCuda, TacticsSupportTheirDeclaredDtypes) {
  int library_unused = 0;
  for (const ops::OpDef* op : ops::all_ops()) {
    std::map<TacticSource, std::pair<ops::DtypeSet, ops::DtypeSet>> by_source;  // declared, probed
    for (const ops::TacticDef& t : ops::cuda_tactics(op->name)) {
      const std::string id = ops::tactic_id(op->name, t);
      const ops::DtypeSet probed = probed_dtypes(*op, t, Backend::kCuda);
      EXPECT_TRUE((probed - t.dtypes).empty())
          << id << " supports undeclared " << (probed - t.dtypes).to_string();
      if (!is_library(t.source)) {
        EXPECT_EQ(probed.to_string(), t.dtypes.to_string()) << id;
        continue;
      }
      auto& [declared_union, probed_union] = by_source[t.source];
      declared_union = declared_union | t.dtypes;
      probed_union = probed_union | probed;
      if (probed.empty()) {
        ++library_unused;
        std::printf("%s: the library offers it for no probe\n", id.c_str());
      } else if (!(t.dtypes - probed).empty()) {
        std::printf("%s: the library declines %s on this GPU\n", id.c_str(),
                    (t.dtypes - probed).to_string().c_str());
      }
    }
    for (const auto& [source, sets] : by_source) {
      EXPECT_EQ(sets.second.to_string(), sets.first.to_string())
          << op->name << " " << tactic_source_name(source)
          << " tactics: the library takes none of them for some declared dtype";
    }
  }
  std::printf("%d library tactics matched no probe\n", library_unused);
}

}  // namespace
}  // namespace kiln::testing::op_dtypes_cuda_test
