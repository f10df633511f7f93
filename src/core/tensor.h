// TensorView (non-owning, contiguous row-major) and HostTensor (owning host memory, 64-byte
// aligned unless adopted), plus dtype dispatch helpers for kernels.
#pragma once

#include <kiln/status.h>
#include <kiln/types.h>

#include "core/half.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace kiln {

struct TensorView {
  void* data = nullptr;
  DataType dtype = DataType::kFloat32;
  Dims shape;

  int64_t numel() const { return shape.volume(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
};

// C++ element type of a DataType (bool is stored as uint8_t).
template <DataType D> struct DTypeTraits;
template <> struct DTypeTraits<DataType::kFloat32> { using type = float; };
template <> struct DTypeTraits<DataType::kFloat16> { using type = Half; };
template <> struct DTypeTraits<DataType::kBFloat16> { using type = BFloat16; };
template <> struct DTypeTraits<DataType::kInt8> { using type = int8_t; };
template <> struct DTypeTraits<DataType::kUInt8> { using type = uint8_t; };
template <> struct DTypeTraits<DataType::kInt32> { using type = int32_t; };
template <> struct DTypeTraits<DataType::kInt64> { using type = int64_t; };
template <> struct DTypeTraits<DataType::kBool> { using type = uint8_t; };

// Calls fn(T{}) with T the element type of `dtype`. Usage:
//   dispatch_dtype(t, [&](auto tag) { using T = decltype(tag); ... });
template <typename Fn>
decltype(auto) dispatch_dtype(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kFloat32: return fn(float{});
    case DataType::kFloat16: return fn(Half{});
    case DataType::kBFloat16: return fn(BFloat16{});
    case DataType::kInt8: return fn(int8_t{});
    case DataType::kUInt8: return fn(uint8_t{});
    case DataType::kInt32: return fn(int32_t{});
    case DataType::kInt64: return fn(int64_t{});
    case DataType::kBool: return fn(uint8_t{});
  }
  return fn(float{});
}

// Owning host buffer, 64-byte aligned (adopted buffers: aligned for the dtype), zero-initialized
// unless made uninitialized. Copies share the buffer (constants are immutable once built: a pass
// that changes one makes a new tensor).
class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(DataType dtype, Dims shape);
  // Not zero-filled: for producers that write every byte (weights of hundreds of MB would
  // otherwise be written twice).
  static HostTensor uninitialized(DataType dtype, Dims shape);
  static HostTensor from_bytes(DataType dtype, Dims shape, const void* bytes);
  // Takes over bytes that someone else allocated (no copy): `data` points at the tensor's
  // numel * dtype_size bytes and keeps them alive. The bytes need only be aligned for the
  // dtype (not to 64; nothing reads past the end). For importers that already hold a buffer of
  // exactly the tensor's bytes (an ONNX initializer's raw_data). Error if misaligned or null.
  static Result<HostTensor> adopt(DataType dtype, Dims shape, std::shared_ptr<void> data);

  TensorView view() const { return {data_.get(), dtype_, shape_}; }
  void* data() const { return data_.get(); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_.get());
  }
  DataType dtype() const { return dtype_; }
  const Dims& shape() const { return shape_; }
  int64_t numel() const { return shape_.volume(); }
  size_t nbytes() const { return nbytes_; }
  bool empty() const { return data_ == nullptr; }
  // Reads element i as double / int64 whatever the dtype (for shape tensors and tests).
  double get_double(int64_t i) const;
  int64_t get_int(int64_t i) const;

 private:
  HostTensor(DataType dtype, Dims shape, bool zero);
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  DataType dtype_ = DataType::kFloat32;
  Dims shape_;
  size_t nbytes_ = 0;
  std::shared_ptr<void> data_;  // shared: constants are immutable and shared by copies
};

// Element of any dtype as double / int64.
double load_as_double(const void* data, DataType dtype, int64_t index);
int64_t load_as_int(const void* data, DataType dtype, int64_t index);
void store_from_double(void* data, DataType dtype, int64_t index, double value);

// 64-byte aligned allocation helpers.
void* aligned_alloc_bytes(size_t bytes, size_t alignment = 64);

// Row-major strides of a shape (in elements).
std::vector<int64_t> contiguous_strides(const Dims& shape);

}  // namespace kiln
