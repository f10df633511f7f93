// Decoding guard shared by the plan and timing-cache readers: charges every FlatBuffers table,
// vector and string decoded from a verified buffer against the buffer's size. A file written by
// kiln shares nothing, so the total never exceeds the size; a crafted one that points many
// offsets at one large table or vector (legal for FlatBuffers) would otherwise make a reader
// allocate far more than the file holds. Also checks the element alignment of vectors, which
// flatbuffers::Verifier does not (it checks only the 4-byte length prefix).
#pragma once

#include <kiln/status.h>

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::plan {

class DecodeBudget {
 public:
  // `what` starts error messages ("plan metadata", "timing cache").
  explicit DecodeBudget(size_t bytes, std::string what = "plan metadata")
      : left_(bytes), what_(std::move(what)) {}
  bool table() { return take(4); }
  template <typename T>
  bool vec(const flatbuffers::Vector<T>* v) {
    if (v == nullptr) return true;
    // (Empty vectors are not aligned by the FlatBuffers builder; nothing is read from them.)
    if (v->size() > 0 && reinterpret_cast<uintptr_t>(v->data()) % alignof(T) != 0) {
      error_ = "has a misaligned vector";
      return false;
    }
    return take(4 + static_cast<size_t>(v->size()) * sizeof(T));
  }
  bool string(const flatbuffers::String* s) { return s == nullptr || take(4 + s->size() + 1); }
  Status error() const { return corrupt_data(what_ + " " + error_); }

 private:
  bool take(size_t n) {
    if (n > left_) {
      left_ = 0;
      error_ = "refers to more data than it contains (shared or overlapping tables)";
      return false;
    }
    left_ -= n;
    return true;
  }
  size_t left_;
  std::string what_;
  std::string error_;
};

}  // namespace kiln::plan

// Charges `expr` to the `budget` in scope; returns its error if the charge fails.
#define KILN_CHARGE(expr)               \
  do {                                  \
    if (!(expr)) return budget.error(); \
  } while (0)
