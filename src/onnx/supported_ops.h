// The ONNX op types the importer translates, without the protobuf headers (for `kiln ops`).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace kiln::onnx_import {

struct OnnxOpSupport {
  std::string_view op_type;  // default domain
  int64_t since;             // lowest opset the translator implements
};

// Every translated op type, sorted by name (translators/registry.cpp).
std::vector<OnnxOpSupport> supported_onnx_ops();

}  // namespace kiln::onnx_import
