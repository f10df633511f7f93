// kiln — ONNX import: parse an .onnx model (opsets 13-21) into a kiln Network.
//
//   Builder builder;
//   auto net = builder.create_network();
//   onnx::Parser parser(*net);
//   Status s = parser.parse_from_file("model.onnx");
//   if (!s.is_ok()) for (const auto& e : parser.errors()) std::puts(e.to_string().c_str());
//
// Initializers become named constant weights (the names refit uses); graph inputs that are not
// initializers become network inputs (symbolic dims from dim_param / unknown dims become -1);
// graph outputs are marked as network outputs. Every failing node is reported, not only the
// first. Thread-safety: a Parser fills one Network from one thread; separate parsers may run
// on separate threads.
#pragma once

#include <kiln/logger.h>
#include <kiln/network.h>
#include <kiln/status.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::onnx {

// One problem found while importing.
struct ParserError {
  StatusCode code = StatusCode::kInvalidArgument;
  int node_index = -1;    // -1 when not about a node (model-level problems)
  std::string node_name;  // may be empty in the model; then "node #<index>" is shown
  std::string op_type;
  int64_t opset = 0;      // opset of the node's domain
  std::string message;
  // "node 'Conv_3' (Conv, opset 17): unsupported attribute auto_pad=SAME_LOWER"
  std::string to_string() const;
};

struct ParserOptions {
  // Directory for external-data tensors; empty: the model file's directory.
  std::string external_data_dir;
  // Models larger than this are refused (protobuf's own limit is 2 GiB).
  int64_t max_model_bytes = int64_t{2} << 30;
};

class Parser {
 public:
  explicit Parser(Network& network, Logger& logger = default_logger(), ParserOptions options = {});
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  Status parse_from_file(const std::string& path);
  // `base_dir` locates external data when the model is given as bytes.
  Status parse(std::span<const uint8_t> model_bytes, const std::string& base_dir = "");

  // Every error of the last parse (empty after a success).
  const std::vector<ParserError>& errors() const;
  // Whether an op type of the default domain is supported at this opset.
  bool supports_operator(std::string_view op_type, int64_t opset) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::onnx
