// Attribute-reading helpers shared by several ops (Conv, ConvTranspose, pooling, Transpose).
// Only logic that was identical in those ops lives here; each op still validates its own
// op-specific attributes.
#pragma once

#include "ops/activation/activation.h"
#include "ops/op.h"

#include <string>
#include <vector>

namespace kiln::ops {

// "[1,2,3]": an int list for error messages.
std::string ints_to_string(const std::vector<int64_t>& v);

// Reads an int-list attribute that must have `count` entries, each >= `min`. When absent it is
// `count` copies of `fallback`, or an error if `required`. Errors name the attribute.
Status read_int_list(const ir::Attrs& attrs, const char* name, size_t count, int64_t fallback,
                     int64_t min, bool required, std::vector<int64_t>* out);

// Reads the window attributes of a conv-like op with `spatial` spatial dims, in this order:
// "strides" (>= 1, default 1), "pads" (2 * spatial, begins then ends, >= 0, default 0) and
// "dilations" (>= 1, default 1).
Status read_strides_pads_dilations(const ir::Attrs& attrs, int spatial,
                                   std::vector<int64_t>* strides, std::vector<int64_t>* pads,
                                   std::vector<int64_t>* dilations);

// Reads "group" (int >= 1, default 1).
Status read_group(const ir::Attrs& attrs, int64_t* group);

// The optional fused activation of Conv-like ops: "activation" (a parse_activation name; absent
// leaves *has false), "activation_alpha" / "activation_beta" (defaults: activation_defaults).
Status read_fused_activation(const ir::Attrs& attrs, bool* has, ActivationKind* kind, float* alpha,
                             float* beta);

}  // namespace kiln::ops
