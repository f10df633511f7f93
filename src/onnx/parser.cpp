// kiln::onnx::Parser: reads the protobuf (with size limits), runs the importer, and reports
// every error it collected.
#include <kiln/onnx.h>

#include "onnx/importer.h"

#include <google/protobuf/io/coded_stream.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

namespace kiln::onnx {

namespace {

// A read-only private mapping of a whole file; data() is null where it cannot be mapped (empty
// or special files: the caller reads them instead). Like any mapping (ONNX Runtime maps external
// data the same way), it assumes nobody truncates the file while it is being parsed.
class MappedFile {
 public:
  MappedFile(const std::string& path, size_t size) : size_(size) {
    if (size == 0) return;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);  // the mapping keeps the file
    if (p != MAP_FAILED) data_ = static_cast<const uint8_t*>(p);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_;
};

}  // namespace

std::string ParserError::to_string() const {
  if (node_index < 0 && op_type.empty()) return message;
  std::string s =
      node_name.empty() ? "node #" + std::to_string(node_index) : "node '" + node_name + "'";
  s += " (" + op_type;
  if (opset > 0) s += ", opset " + std::to_string(opset);
  s += "): " + message;
  return s;
}

struct Parser::Impl {
  Impl(Network& n, Logger& l, ParserOptions o) : network(n), logger(l), options(std::move(o)) {}
  Network& network;
  Logger& logger;
  ParserOptions options;
  std::vector<ParserError> errors;

  Status fail(Status s) {
    ParserError e;
    e.code = s.code();
    e.message = s.to_string();
    errors.push_back(e);
    logger.log(Severity::kError, s.to_string());
    auto& net = network.state();
    if (net.first_error.is_ok()) net.first_error = s;
    return s;
  }

  Status summary() const {
    if (errors.empty()) return Status::ok();
    const ParserError& first = errors.front();
    if (errors.size() == 1) return Status(first.code, first.to_string());
    return Status(first.code,
                  std::to_string(errors.size()) +
                      " errors while importing the ONNX model; the first: " + first.to_string());
  }
};

Parser::Parser(Network& network, Logger& logger, ParserOptions options)
    : impl_(std::make_unique<Impl>(network, logger, std::move(options))) {}
Parser::~Parser() = default;

const std::vector<ParserError>& Parser::errors() const {
  return impl_->errors;
}

bool Parser::supports_operator(std::string_view op_type, int64_t opset) const {
  if (opset < onnx_import::kMinOpset || opset > onnx_import::kMaxOpset) return false;
  const auto* t = onnx_import::find_translator(op_type);
  return t != nullptr && opset >= t->since;
}

Status Parser::parse_from_file(const std::string& path) {
  impl_->errors.clear();
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return impl_->fail(io_error("cannot open ONNX model '" + path + "': " + ec.message()));
  if (static_cast<int64_t>(size) > impl_->options.max_model_bytes) {
    return impl_->fail(resource_exhausted("ONNX model '" + path + "' has " + std::to_string(size) +
                                          " bytes, more than the limit of " +
                                          std::to_string(impl_->options.max_model_bytes)));
  }
  std::string dir = impl_->options.external_data_dir;
  if (dir.empty()) dir = std::filesystem::path(path).parent_path().string();
  // Mapped, not read into a buffer: the parser copies the weights out of the page cache once
  // (a model's file is mostly weights: BERT-base 440 MB).
  if (MappedFile mapped(path, size); mapped.data() != nullptr) {
    return parse(std::span<const uint8_t>(mapped.data(), size), dir);
  }
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> bytes(size);
  if (size > 0) f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!f) return impl_->fail(io_error("cannot read ONNX model '" + path + "'"));
  return parse(bytes, dir);
}

Status Parser::parse(std::span<const uint8_t> bytes, const std::string& base_dir) {
  impl_->errors.clear();
  const int64_t limit =
      std::min<int64_t>(impl_->options.max_model_bytes, std::numeric_limits<int>::max());
  if (static_cast<int64_t>(bytes.size()) > limit) {
    return impl_->fail(resource_exhausted(
        "the ONNX model has " + std::to_string(bytes.size()) + " bytes, more than the limit of " +
        std::to_string(limit) + " (protobuf cannot parse more than 2 GiB; use external data)"));
  }
  if (bytes.empty()) return impl_->fail(corrupt_data("the ONNX model is empty (0 bytes)"));
  ::onnx::ModelProto model;
  {
    google::protobuf::io::CodedInputStream in(bytes.data(), static_cast<int>(bytes.size()));
    in.SetTotalBytesLimit(static_cast<int>(limit));
    in.SetRecursionLimit(64);
    if (!model.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
      return impl_->fail(corrupt_data(
          "not a valid ONNX model: the protobuf could not be parsed (truncated or not an .onnx "
          "file)"));
    }
  }
  if (!model.has_graph() && model.opset_import_size() == 0) {
    return impl_->fail(corrupt_data("not an ONNX model: no graph and no opset_import"));
  }
  std::string dir = base_dir.empty() ? impl_->options.external_data_dir : base_dir;
  onnx_import::Importer importer(impl_->network.state(), impl_->logger, impl_->options,
                                 &impl_->errors);
  importer.import_model(model, dir);
  return impl_->summary();
}

}  // namespace kiln::onnx
