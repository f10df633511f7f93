#include <kiln/types.h>

#include <algorithm>
#include <cassert>
#include <limits>

namespace kiln {

size_t dtype_size(DataType type) {
  switch (type) {
    case DataType::kFloat32: return 4;
    case DataType::kFloat16: return 2;
    case DataType::kBFloat16: return 2;
    case DataType::kInt8: return 1;
    case DataType::kUInt8: return 1;
    case DataType::kInt32: return 4;
    case DataType::kInt64: return 8;
    case DataType::kBool: return 1;
  }
  return 0;
}

std::string_view dtype_name(DataType type) {
  switch (type) {
    case DataType::kFloat32: return "float32";
    case DataType::kFloat16: return "float16";
    case DataType::kBFloat16: return "bfloat16";
    case DataType::kInt8: return "int8";
    case DataType::kUInt8: return "uint8";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kBool: return "bool";
  }
  return "invalid";
}

bool dtype_from_name(std::string_view name, DataType* out) {
  for (int i = 0; i < kNumDataTypes; ++i) {
    auto t = static_cast<DataType>(i);
    if (dtype_name(t) == name) {
      *out = t;
      return true;
    }
  }
  return false;
}

bool is_floating(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}
bool is_integer(DataType t) {
  return t == DataType::kInt8 || t == DataType::kUInt8 || t == DataType::kInt32 ||
         t == DataType::kInt64;
}

std::string_view backend_name(Backend backend) {
  switch (backend) {
    case Backend::kCpu: return "cpu";
    case Backend::kCuda: return "cuda";
  }
  return "invalid";
}

Dims::Dims(std::initializer_list<int64_t> dims) : Dims(std::span<const int64_t>(dims.begin(), dims.size())) {}

Dims::Dims(std::span<const int64_t> dims) {
  assert(dims.size() <= kMaxDims);
  rank_ = static_cast<int>(std::min<size_t>(dims.size(), kMaxDims));
  std::copy_n(dims.begin(), rank_, d_);
}

int64_t Dims::volume() const {
  int64_t v = 1;
  for (int i = 0; i < rank_; ++i) {
    // Saturate instead of overflowing (undefined behaviour) on absurd extents.
    if (__builtin_mul_overflow(v, d_[i], &v)) return std::numeric_limits<int64_t>::max();
  }
  return v;
}

bool Dims::has_dynamic() const {
  return std::any_of(begin(), end(), [](int64_t d) { return d < 0; });
}

std::string Dims::to_string() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ",";
    s += std::to_string(d_[i]);
  }
  return s + "]";
}

bool operator==(const Dims& a, const Dims& b) {
  return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace kiln
