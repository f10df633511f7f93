// What a tactic's speed depends on, as a readable signature and its timing-cache key.
#pragma once

#include <kiln/builder.h>
#include <kiln/timing_cache.h>

#include "ops/op.h"

#include <string>

namespace kiln {
class Device;
}

namespace kiln::tuner {

// Op, backend, attributes (fused epilogues are attributes: bias/residual inputs, activation),
// input/output dtypes and layouts, which inputs are constant, shapes at the profile's min, opt
// and max. Layer names are not part of it: identical layers share a signature.
std::string node_signature(const ops::KernelInfo& info);
// xxh64 of the signature.
TimingCacheKey signature_key(const std::string& signature);

// The descriptor a build's measurements are valid for (device, library versions, kiln version,
// kernel-changing flags).
TimingCacheDescriptor cache_descriptor(const Device& device, const BuildConfig& config);

}  // namespace kiln::tuner
