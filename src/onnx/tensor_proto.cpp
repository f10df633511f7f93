#include "onnx/tensor_proto.h"

#include "core/half.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

namespace kiln::onnx_import {

namespace {

// Bytes per element in ONNX raw_data (0: not a fixed-size type).
int64_t onnx_elem_size(int32_t t) {
  switch (t) {
    case pb::TensorProto::FLOAT:
      return 4;
    case pb::TensorProto::UINT8:
      return 1;
    case pb::TensorProto::INT8:
      return 1;
    case pb::TensorProto::UINT16:
      return 2;
    case pb::TensorProto::INT16:
      return 2;
    case pb::TensorProto::INT32:
      return 4;
    case pb::TensorProto::INT64:
      return 8;
    case pb::TensorProto::BOOL:
      return 1;
    case pb::TensorProto::FLOAT16:
      return 2;
    case pb::TensorProto::DOUBLE:
      return 8;
    case pb::TensorProto::UINT32:
      return 4;
    case pb::TensorProto::UINT64:
      return 8;
    case pb::TensorProto::BFLOAT16:
      return 2;
    default:
      return 0;
  }
}

std::string tensor_label(const pb::TensorProto& t) {
  return t.name().empty() ? std::string("tensor") : "tensor '" + t.name() + "'";
}

// Where an external-data tensor's bytes are: `length` bytes at `offset` of `path`.
struct ExternalRange {
  std::filesystem::path path;
  int64_t offset = 0;
  int64_t length = 0;
};

// Checks the external-data fields and that the file holds the tensor's bytes (before anything
// is allocated: a corrupt model may claim huge tensors).
Result<ExternalRange> locate_external(const pb::TensorProto& t, const TensorReadOptions& o,
                                      int64_t expected_bytes) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(kv.value().c_str(), &end, 10);
      if (kv.value().empty() || *end != '\0' || errno != 0 || v < 0) {
        return corrupt_data(tensor_label(t) + ": external data " + kv.key() + " '" + kv.value() +
                            "' is not a non-negative integer");
      }
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty()) {
    return corrupt_data(tensor_label(t) + ": external data without a 'location'");
  }
  std::filesystem::path rel(location);
  if (rel.is_absolute()) {
    return invalid_argument(tensor_label(t) + ": external data location '" + location +
                            "' is absolute; it must be relative to the model's directory");
  }
  for (const auto& part : rel) {
    if (part == "..") {
      return invalid_argument(tensor_label(t) + ": external data location '" + location +
                              "' leaves the model's directory");
    }
  }
  std::filesystem::path path = o.base_dir.empty() ? rel : std::filesystem::path(o.base_dir) / rel;
  std::error_code ec;
  auto file_size = std::filesystem::file_size(path, ec);
  if (ec) {
    return io_error(tensor_label(t) + ": cannot open external data file '" + path.string() +
                    "': " + ec.message());
  }
  if (length < 0) length = static_cast<int64_t>(file_size) - offset;
  if (offset > static_cast<int64_t>(file_size) ||
      length > static_cast<int64_t>(file_size) - offset) {
    return corrupt_data(tensor_label(t) + ": external data range [" + std::to_string(offset) +
                        ", " + std::to_string(offset + length) + ") is outside '" + path.string() +
                        "' (" + std::to_string(file_size) + " bytes)");
  }
  if (length != expected_bytes) {
    return corrupt_data(tensor_label(t) + ": external data in '" + path.string() + "' has " +
                        std::to_string(length) + " bytes, the tensor needs " +
                        std::to_string(expected_bytes));
  }
  return ExternalRange{path, offset, length};
}

// Reads the range into `dst` (straight into the tensor: no intermediate buffer). Not mapped:
// the tensor outlives the parse, and a mapping would see (or fault on) later changes to the file.
Status read_external(const pb::TensorProto& t, const ExternalRange& r, void* dst) {
  std::ifstream f(r.path, std::ios::binary);
  f.seekg(r.offset);
  if (r.length > 0) f.read(static_cast<char*>(dst), r.length);
  if (!f) {
    return io_error(tensor_label(t) + ": cannot read external data file '" + r.path.string() + "'");
  }
  return Status::ok();
}

// Initializers at least this large take over their raw_data buffer instead of copying it.
constexpr int64_t kAdoptMinBytes = 4096;

// read_tensor and take_tensor: `owner` (the same message, mutable) lets raw_data be taken over.
Result<HostTensor> read_tensor_impl(const pb::TensorProto& t, pb::TensorProto* owner,
                                    const TensorReadOptions& o, bool* converted);

}  // namespace

std::string_view onnx_dtype_name(int32_t t) {
  switch (t) {
    case pb::TensorProto::UNDEFINED:
      return "UNDEFINED";
    case pb::TensorProto::FLOAT:
      return "FLOAT";
    case pb::TensorProto::UINT8:
      return "UINT8";
    case pb::TensorProto::INT8:
      return "INT8";
    case pb::TensorProto::UINT16:
      return "UINT16";
    case pb::TensorProto::INT16:
      return "INT16";
    case pb::TensorProto::INT32:
      return "INT32";
    case pb::TensorProto::INT64:
      return "INT64";
    case pb::TensorProto::STRING:
      return "STRING";
    case pb::TensorProto::BOOL:
      return "BOOL";
    case pb::TensorProto::FLOAT16:
      return "FLOAT16";
    case pb::TensorProto::DOUBLE:
      return "DOUBLE";
    case pb::TensorProto::UINT32:
      return "UINT32";
    case pb::TensorProto::UINT64:
      return "UINT64";
    case pb::TensorProto::COMPLEX64:
      return "COMPLEX64";
    case pb::TensorProto::COMPLEX128:
      return "COMPLEX128";
    case pb::TensorProto::BFLOAT16:
      return "BFLOAT16";
    default:
      return "unknown";
  }
}

Result<DataType> map_dtype(int32_t t, std::string_view what, bool* converted) {
  if (converted) *converted = false;
  switch (t) {
    case pb::TensorProto::FLOAT:
      return DataType::kFloat32;
    case pb::TensorProto::FLOAT16:
      return DataType::kFloat16;
    case pb::TensorProto::BFLOAT16:
      return DataType::kBFloat16;
    case pb::TensorProto::INT8:
      return DataType::kInt8;
    case pb::TensorProto::UINT8:
      return DataType::kUInt8;
    case pb::TensorProto::INT32:
      return DataType::kInt32;
    case pb::TensorProto::INT64:
      return DataType::kInt64;
    case pb::TensorProto::BOOL:
      return DataType::kBool;
    case pb::TensorProto::DOUBLE:
      if (converted) *converted = true;
      return DataType::kFloat32;
    case pb::TensorProto::UNDEFINED:
      return invalid_argument(std::string(what) + " has no element type");
    default:
      break;
  }
  std::string name(onnx_dtype_name(t));
  if (name == "unknown") name = "element type " + std::to_string(t);
  return unsupported(std::string(what) + " has type " + name +
                     ", which kiln does not support (float32, float16, bfloat16, float64 as "
                     "float32, int8, uint8, int32, int64, bool)");
}

Result<HostTensor> read_tensor(const pb::TensorProto& t, const TensorReadOptions& o,
                               bool* converted) {
  return read_tensor_impl(t, nullptr, o, converted);
}

Result<HostTensor> take_tensor(pb::TensorProto& t, const TensorReadOptions& o, bool* converted) {
  return read_tensor_impl(t, &t, o, converted);
}

namespace {

Result<HostTensor> read_tensor_impl(const pb::TensorProto& t, pb::TensorProto* owner,
                                    const TensorReadOptions& o, bool* converted) {
  const std::string label = tensor_label(t);
  if (t.has_segment()) return unsupported(label + ": segmented tensors are not supported");
  bool conv = false;
  KILN_ASSIGN_OR_RETURN(DataType dtype, map_dtype(t.data_type(), label, &conv));
  if (converted) *converted = conv;
  if (t.dims_size() > Dims::kMaxDims) {
    return unsupported(label + " has rank " + std::to_string(t.dims_size()) +
                       ", kiln supports up to " + std::to_string(Dims::kMaxDims));
  }
  std::vector<int64_t> dims;
  int64_t numel = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) return corrupt_data(label + " has a negative dim " + std::to_string(d));
    if (d > 0 && numel > std::numeric_limits<int64_t>::max() / d) {
      return corrupt_data(label + " has too many elements");
    }
    numel *= d;
    dims.push_back(d);
  }
  const int64_t src_size = onnx_elem_size(t.data_type());
  if (numel > o.max_bytes / std::max<int64_t>(src_size, 1)) {
    return resource_exhausted(label + " is larger than the limit of " +
                              std::to_string(o.max_bytes) + " bytes");
  }
  const int64_t src_bytes = numel * src_size;
  Dims shape{std::span<const int64_t>(dims)};

  // Source bytes in ONNX's little-endian layout, from raw_data or external data.
  std::optional<ExternalRange> external;
  const uint8_t* raw = nullptr;
  if (t.data_location() == pb::TensorProto::EXTERNAL) {
    KILN_ASSIGN_OR_RETURN(external, locate_external(t, o, src_bytes));
  } else if (t.has_raw_data()) {
    raw = reinterpret_cast<const uint8_t*>(t.raw_data().data());
    const auto raw_size = static_cast<int64_t>(t.raw_data().size());
    if (raw_size != src_bytes) {
      return corrupt_data(label + ": raw_data has " + std::to_string(raw_size) + " bytes, shape " +
                          shape.to_string() + " of " + std::string(onnx_dtype_name(t.data_type())) +
                          " needs " + std::to_string(src_bytes));
    }
    // The message's raw_data already is the tensor's bytes: take the buffer over instead of
    // copying it (a model's weights are most of its file: BERT-base 440 MB).
    // (A moved string keeps its heap buffer, so the alignment checked here is the adopted one.)
    if (owner != nullptr && t.data_type() != pb::TensorProto::DOUBLE &&
        src_bytes >= kAdoptMinBytes && reinterpret_cast<uintptr_t>(raw) % dtype_size(dtype) == 0) {
      auto bytes = std::make_shared<std::string>(std::move(*owner->mutable_raw_data()));
      if (t.data_type() == pb::TensorProto::BOOL) {
        for (char& c : *bytes) c = c != 0 ? 1 : 0;
      }
      void* data = bytes->data();
      auto adopted = HostTensor::adopt(dtype, shape, std::shared_ptr<void>(std::move(bytes), data));
      if (!adopted.is_ok()) return adopted.status().with_context(label);
      return adopted;
    }
  }

  auto count_error = [&](int64_t have, const char* field) {
    return corrupt_data(label + ": " + field + " has " + std::to_string(have) + " values, shape " +
                        shape.to_string() + " needs " + std::to_string(numel));
  };
  // Check the typed field's count before allocating (a corrupt file may claim huge dims).
  if (raw == nullptr && !external) {
    switch (t.data_type()) {
      case pb::TensorProto::FLOAT:
        if (t.float_data_size() != numel) return count_error(t.float_data_size(), "float_data");
        break;
      case pb::TensorProto::DOUBLE:
        if (t.double_data_size() != numel) return count_error(t.double_data_size(), "double_data");
        break;
      case pb::TensorProto::INT64:
        if (t.int64_data_size() != numel) return count_error(t.int64_data_size(), "int64_data");
        break;
      default:
        if (t.int32_data_size() != numel) return count_error(t.int32_data_size(), "int32_data");
        break;
    }
  }

  // Every path below writes every element (no zero fill of hundreds of MB of weights first).
  HostTensor out = HostTensor::uninitialized(dtype, shape);
  std::vector<uint8_t> doubles;  // float64 external data, converted below
  if (external) {
    void* dst = out.data();
    if (t.data_type() == pb::TensorProto::DOUBLE) {
      doubles.resize(static_cast<size_t>(src_bytes));
      dst = doubles.data();
    }
    KILN_RETURN_IF_ERROR(read_external(t, *external, dst));
    if (doubles.empty()) {
      if (t.data_type() == pb::TensorProto::BOOL) {
        for (int64_t i = 0; i < numel; ++i) out.as<uint8_t>()[i] = out.as<uint8_t>()[i] != 0;
      }
      return out;
    }
    raw = doubles.data();
  }
  if (raw != nullptr) {
    if (t.data_type() == pb::TensorProto::DOUBLE) {
      for (int64_t i = 0; i < numel; ++i) {
        double v;
        std::memcpy(&v, raw + i * 8, 8);
        out.as<float>()[i] = static_cast<float>(v);
      }
    } else if (numel > 0) {
      std::memcpy(out.data(), raw, static_cast<size_t>(src_bytes));
      if (t.data_type() == pb::TensorProto::BOOL) {
        for (int64_t i = 0; i < numel; ++i) out.as<uint8_t>()[i] = out.as<uint8_t>()[i] != 0;
      }
    }
    return out;
  }

  switch (t.data_type()) {
    case pb::TensorProto::FLOAT:
      for (int64_t i = 0; i < numel; ++i) out.as<float>()[i] = t.float_data(static_cast<int>(i));
      break;
    case pb::TensorProto::DOUBLE:
      for (int64_t i = 0; i < numel; ++i) {
        out.as<float>()[i] = static_cast<float>(t.double_data(static_cast<int>(i)));
      }
      break;
    case pb::TensorProto::INT64:
      for (int64_t i = 0; i < numel; ++i) out.as<int64_t>()[i] = t.int64_data(static_cast<int>(i));
      break;
    case pb::TensorProto::FLOAT16:
    case pb::TensorProto::BFLOAT16:
      for (int64_t i = 0; i < numel; ++i) {
        out.as<uint16_t>()[i] = static_cast<uint16_t>(t.int32_data(static_cast<int>(i)));
      }
      break;
    default:  // int32_data carries int32, int8, uint8, bool
      for (int64_t i = 0; i < numel; ++i) {
        int32_t v = t.int32_data(static_cast<int>(i));
        switch (dtype) {
          case DataType::kInt32:
            out.as<int32_t>()[i] = v;
            break;
          case DataType::kInt8:
            out.as<int8_t>()[i] = static_cast<int8_t>(v);
            break;
          case DataType::kUInt8:
            out.as<uint8_t>()[i] = static_cast<uint8_t>(v);
            break;
          case DataType::kBool:
            out.as<uint8_t>()[i] = v != 0;
            break;
          default:
            return internal_error(label + ": unexpected dtype");
        }
      }
      break;
  }
  return out;
}

}  // namespace

}  // namespace kiln::onnx_import
