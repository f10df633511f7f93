// ONNX TensorProto <-> kiln tensors: dtype mapping, raw and typed data fields, external data.
// Used by the importer (initializers, Constant nodes, attributes) and by the conformance runner
// (test_data_set_*/*.pb files). Never trusts its input: sizes are checked against the data that
// is actually present before anything is allocated.
#pragma once

#include <kiln/status.h>
#include <kiln/types.h>

#include "core/tensor.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>
#include <string_view>

namespace kiln::onnx_import {

namespace pb = ::onnx;

// "FLOAT", "INT64", ... for messages.
std::string_view onnx_dtype_name(int32_t elem_type);

// Maps an ONNX element type onto a kiln dtype. DOUBLE maps to float32 with *converted = true (the
// caller warns); types kiln has no dtype for (uint16, int16, uint32, uint64, string, complex,
// float8...) give kUnsupported naming the type and `what`.
Result<DataType> map_dtype(int32_t elem_type, std::string_view what, bool* converted = nullptr);

struct TensorReadOptions {
  // Directory that external-data locations are relative to (empty: the current directory).
  std::string base_dir;
  // Upper bound of one tensor's size in bytes.
  int64_t max_bytes = int64_t{1} << 34;
};

// Reads a TensorProto into a host tensor of the mapped dtype (float64 data is converted to
// float32 and *converted set). Errors name the tensor and, for external data, the file.
Result<HostTensor> read_tensor(const pb::TensorProto& t, const TensorReadOptions& options,
                               bool* converted = nullptr);
// The same, but a raw_data buffer that already holds the tensor's bytes (any type but float64,
// at least 4 KiB) is moved into the tensor instead of copied: `t` is left without its raw_data.
Result<HostTensor> take_tensor(pb::TensorProto& t, const TensorReadOptions& options,
                               bool* converted = nullptr);

}  // namespace kiln::onnx_import
