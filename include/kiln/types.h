// kiln — basic value types of the public API: DataType, Dims, Weights, Backend.
// Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

enum class DataType : uint8_t {
  kFloat32 = 0,
  kFloat16 = 1,
  kBFloat16 = 2,
  kInt8 = 3,
  kUInt8 = 4,
  kInt32 = 5,
  kInt64 = 6,
  kBool = 7,
};
inline constexpr int kNumDataTypes = 8;

// Bytes per element (bool is one byte).
size_t dtype_size(DataType type);
// "float32", "float16", ...
std::string_view dtype_name(DataType type);
bool dtype_from_name(std::string_view name, DataType* out);
bool is_floating(DataType type);
bool is_integer(DataType type);  // int8/uint8/int32/int64 (not bool)

// A shape: up to kMaxDims extents. -1 marks a dynamic dimension in network definitions.
class Dims {
 public:
  static constexpr int kMaxDims = 8;

  Dims() = default;
  Dims(std::initializer_list<int64_t> dims);
  explicit Dims(std::span<const int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  const int64_t* begin() const { return d_; }
  const int64_t* end() const { return d_ + rank_; }
  std::span<const int64_t> span() const { return {d_, static_cast<size_t>(rank_)}; }
  std::vector<int64_t> to_vector() const { return {begin(), end()}; }

  // Product of the extents (1 for rank 0); INT64_MAX if it overflows. Meaningless if any
  // extent is -1.
  int64_t volume() const;
  bool has_dynamic() const;  // any extent < 0
  std::string to_string() const;  // "[1,3,224,224]"

  friend bool operator==(const Dims& a, const Dims& b);

 private:
  int rank_ = 0;
  int64_t d_[kMaxDims] = {};
};

// Weights handed to the network API: a typed view of host memory. The network copies the data
// when the layer is added, so the caller may free its buffer afterwards.
struct Weights {
  DataType type = DataType::kFloat32;
  const void* values = nullptr;
  int64_t count = 0;

  Weights() = default;
  Weights(DataType t, const void* v, int64_t n) : type(t), values(v), count(n) {}
  explicit Weights(std::span<const float> v)
      : type(DataType::kFloat32), values(v.data()), count(static_cast<int64_t>(v.size())) {}
  bool empty() const { return count == 0; }
};

// Where an engine runs.
enum class Backend : uint8_t { kCpu = 0, kCuda = 1 };
std::string_view backend_name(Backend backend);

}  // namespace kiln
