#include "core/tensor.h"

#include <cmath>
#include <new>

namespace kiln {

void* aligned_alloc_bytes(size_t bytes, size_t alignment) {
  size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  if (rounded == 0) rounded = alignment;
  return std::aligned_alloc(alignment, rounded);
}

HostTensor::HostTensor(DataType dtype, Dims shape) : HostTensor(dtype, shape, /*zero=*/true) {}

HostTensor::HostTensor(DataType dtype, Dims shape, bool zero) : dtype_(dtype), shape_(shape) {
  int64_t n = shape.has_dynamic() ? 0 : shape.volume();
  nbytes_ = static_cast<size_t>(n) * dtype_size(dtype);
  const size_t rounded = nbytes_ == 0 ? 64 : (nbytes_ + 63) / 64 * 64;
  void* p = aligned_alloc_bytes(nbytes_);
  if (p == nullptr) throw std::bad_alloc();
  // Uninitialized: only the padding after the data is zeroed (the caller writes the rest).
  const size_t from = zero ? 0 : nbytes_;
  std::memset(static_cast<char*>(p) + from, 0, rounded - from);
  data_ = std::shared_ptr<void>(p, Free{});
}

HostTensor HostTensor::uninitialized(DataType dtype, Dims shape) {
  return HostTensor(dtype, shape, /*zero=*/false);
}

HostTensor HostTensor::from_bytes(DataType dtype, Dims shape, const void* bytes) {
  if (bytes == nullptr) return HostTensor(dtype, shape);
  HostTensor t = uninitialized(dtype, shape);
  if (t.nbytes_ > 0) std::memcpy(t.data(), bytes, t.nbytes_);
  return t;
}

Result<HostTensor> HostTensor::adopt(DataType dtype, Dims shape, std::shared_ptr<void> data) {
  if (shape.has_dynamic()) return invalid_argument("cannot adopt a tensor of dynamic shape");
  if (data == nullptr) return invalid_argument("cannot adopt null tensor data");
  if (reinterpret_cast<uintptr_t>(data.get()) % dtype_size(dtype) != 0) {
    return invalid_argument("cannot adopt tensor data at a misaligned address for " +
                            std::string(dtype_name(dtype)));
  }
  HostTensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.nbytes_ = static_cast<size_t>(shape.volume()) * dtype_size(dtype);
  t.data_ = std::move(data);
  return t;
}

double HostTensor::get_double(int64_t i) const { return load_as_double(data(), dtype_, i); }
int64_t HostTensor::get_int(int64_t i) const { return load_as_int(data(), dtype_, i); }

double load_as_double(const void* data, DataType dtype, int64_t index) {
  return dispatch_dtype(dtype, [&](auto tag) -> double {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      return static_cast<float>(static_cast<const T*>(data)[index]);
    } else {
      return static_cast<double>(static_cast<const T*>(data)[index]);
    }
  });
}

int64_t load_as_int(const void* data, DataType dtype, int64_t index) {
  return dispatch_dtype(dtype, [&](auto tag) -> int64_t {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      return static_cast<int64_t>(static_cast<float>(static_cast<const T*>(data)[index]));
    } else {
      return static_cast<int64_t>(static_cast<const T*>(data)[index]);
    }
  });
}

void store_from_double(void* data, DataType dtype, int64_t index, double value) {
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (dtype == DataType::kBool) {
      static_cast<uint8_t*>(data)[index] = value != 0.0 ? 1 : 0;
    } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      static_cast<T*>(data)[index] = T(static_cast<float>(value));
    } else {
      static_cast<T*>(data)[index] = static_cast<T>(value);
    }
  });
}

std::vector<int64_t> contiguous_strides(const Dims& shape) {
  std::vector<int64_t> s(shape.rank());
  int64_t acc = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

}  // namespace kiln
