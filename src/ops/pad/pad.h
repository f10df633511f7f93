// Pad (ONNX-21 semantics, any dtype): pads (or, with negative amounts, crops) X.
// Inputs:  0 X,
//          1 pads (int64/int32 1-D: the begin amounts of every padded axis, then the end
//            amounts; a constant or a host shape value, possibly symbolic),
//          2 constant_value (optional; X's dtype, one element (an empty tensor means 0); used by
//            mode "constant"),
//          3 axes (optional; int64/int32 1-D constant; the axes that pads refer to, negative
//            counts from the back, no repeats; default all axes).
//          Without inputs 1-3, the pre-11 attributes "pads" (ints) and "value" (float) are used.
// Output:  X's dtype; extent d + begin + end on each padded axis.
// Attributes: "mode": "constant" (default; fill with constant_value), "reflect" (mirror without
//             repeating the edge), "edge" (repeat the edge), "wrap" (periodic). Pads larger than
//             the input keep reflecting / wrapping periodically (as numpy.pad).
// Negative pads crop that side first; reflect / edge / wrap then extend the cropped tensor.
// Padding an empty axis with reflect / edge / wrap is an error.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& pad_op();
std::span<const TacticDef> pad_cpu_tactics();  // cpu.cpp

enum class PadMode : uint8_t { kConstant, kReflect, kEdge, kWrap };
bool parse_pad_mode(std::string_view name, PadMode* out);

// Source index on an axis of (cropped) extent n for a padded position s (relative to the
// first kept element), or -1 where mode kConstant fills. n must be > 0 unless s is in range.
int64_t pad_source_index(PadMode mode, int64_t s, int64_t n);

}  // namespace kiln::ops
