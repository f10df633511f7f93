// CPU tactics of Transpose. Both move elements as opaque 1/2/4/8-byte words, so every dtype is
// served by four instantiations.
//   reference: one odometer over the output, reading the input through permuted strides.
//   blocked:   drops extent-1 dims and merges dims that stay adjacent, then either copies whole
//              rows (the innermost dim is unchanged) or transposes 32x32 tiles between the
//              input's and the output's innermost dims; threaded over rows / tiles.
#include "backends/cpu/thread_pool.h"
#include "ops/common/word_dispatch.h"
#include "ops/transpose/transpose.h"

#include <algorithm>
#include <cstring>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

Status check_shapes(const TensorView& x, const TensorView& y, const std::vector<int64_t>& perm) {
  bool ok = x.shape.rank() == static_cast<int>(perm.size()) && y.shape.rank() == x.shape.rank() &&
            x.dtype == y.dtype;
  for (int j = 0; ok && j < y.shape.rank(); ++j)
    ok = y.shape[j] == x.shape[static_cast<int>(perm[j])];
  if (!ok) {
    return invalid_argument("output " + y.shape.to_string() + " is not input " +
                            x.shape.to_string() + " transposed");
  }
  return Status::ok();
}

// ---- reference ----

template <typename T>
void transpose_reference(const T* in, T* out, const Dims& in_shape,
                         const std::vector<int64_t>& perm) {
  const int r = in_shape.rank();
  int64_t in_stride[kMax], out_dims[kMax], stride[kMax], idx[kMax] = {};
  int64_t acc = 1;
  for (int i = r - 1; i >= 0; --i) {
    in_stride[i] = acc;
    acc *= in_shape[i];
  }
  for (int j = 0; j < r; ++j) {
    out_dims[j] = in_shape[static_cast<int>(perm[j])];
    stride[j] = in_stride[perm[j]];
  }
  const int64_t n = in_shape.volume();
  int64_t off = 0;
  for (int64_t o = 0; o < n; ++o) {
    out[o] = in[off];
    for (int j = r - 1; j >= 0; --j) {
      off += stride[j];
      if (++idx[j] < out_dims[j]) break;
      off -= stride[j] * out_dims[j];
      idx[j] = 0;
    }
  }
}

class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(std::vector<int64_t> perm) : perm_(std::move(perm)) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    KILN_RETURN_IF_ERROR(check_shapes(x, y, perm_));
    dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using T = decltype(tag);
      transpose_reference(x.as<const T>(), y.as<T>(), x.shape, perm_);
    });
    return Status::ok();
  }

 private:
  std::vector<int64_t> perm_;
};

// ---- blocked ----

// The transpose with extent-1 dims dropped and adjacent runs merged.
struct Reduced {
  int rank = 0;
  int64_t dims[kMax];  // input dims
  int64_t perm[kMax];  // output dim j is input dim perm[j]
};

Reduced reduce(const Dims& in, const std::vector<int64_t>& perm) {
  const int r = in.rank();
  int map[kMax];
  int64_t d2[kMax];
  int nd = 0;
  for (int i = 0; i < r; ++i) {
    map[i] = in[i] == 1 ? -1 : nd;
    if (in[i] != 1) d2[nd++] = in[i];
  }
  int64_t p2[kMax];
  int np = 0;
  for (int j = 0; j < r; ++j) {
    if (map[perm[j]] >= 0) p2[np++] = map[perm[j]];
  }
  // Groups of output dims whose input dims are consecutive.
  int64_t first[kMax], extent[kMax];
  int ng = 0;
  for (int j = 0; j < np; ++j) {
    if (j > 0 && p2[j] == p2[j - 1] + 1) {
      extent[ng - 1] *= d2[p2[j]];
    } else {
      first[ng] = p2[j];
      extent[ng] = d2[p2[j]];
      ++ng;
    }
  }
  Reduced red;
  red.rank = ng;
  for (int g = 0; g < ng; ++g) {
    int64_t pos = 0;  // the group's position in input order
    for (int h = 0; h < ng; ++h) pos += first[h] < first[g];
    red.dims[pos] = extent[g];
    red.perm[g] = pos;
  }
  return red;
}

constexpr int64_t kTile = 32;

template <typename T>
void transpose_blocked(const T* in, T* out, const Reduced& red, ThreadPool* threads) {
  const int r = red.rank;
  int64_t total = 1;
  for (int i = 0; i < r; ++i) total *= red.dims[i];
  if (total == 0) return;
  bool identity = true;
  for (int j = 0; j < r; ++j) identity = identity && red.perm[j] == j;
  if (identity) {
    parallel_for(threads, total, int64_t{1} << 16, [&](int64_t b, int64_t e) {
      std::memcpy(out + b, in + b, static_cast<size_t>(e - b) * sizeof(T));
    });
    return;
  }
  int64_t in_stride[kMax], out_dims[kMax], out_stride[kMax], src_stride[kMax];
  int64_t acc = 1;
  for (int i = r - 1; i >= 0; --i) {
    in_stride[i] = acc;
    acc *= red.dims[i];
  }
  for (int j = 0; j < r; ++j) {
    out_dims[j] = red.dims[red.perm[j]];
    src_stride[j] = in_stride[red.perm[j]];
  }
  acc = 1;
  for (int j = r - 1; j >= 0; --j) {
    out_stride[j] = acc;
    acc *= out_dims[j];
  }

  if (red.perm[r - 1] == r - 1) {
    // The innermost dim is kept: copy contiguous rows.
    const int64_t len = out_dims[r - 1];
    const int64_t rows = total / len;
    const int64_t grain = std::max<int64_t>(1, 16384 / len);
    parallel_for(threads, rows, grain, [&](int64_t b, int64_t e) {
      int64_t idx[kMax] = {}, off = 0, rem = b;
      for (int j = r - 2; j >= 0; --j) {
        idx[j] = rem % out_dims[j];
        rem /= out_dims[j];
        off += idx[j] * src_stride[j];
      }
      for (int64_t row = b; row < e; ++row) {
        std::memcpy(out + row * len, in + off, static_cast<size_t>(len) * sizeof(T));
        for (int j = r - 2; j >= 0; --j) {
          off += src_stride[j];
          if (++idx[j] < out_dims[j]) break;
          off -= src_stride[j] * out_dims[j];
          idx[j] = 0;
        }
      }
    });
    return;
  }

  // Tiles between input dim a (innermost in the output) and input dim r-1 (innermost in the
  // input, at output position jb); every other output dim is an outer loop.
  const int64_t a = red.perm[r - 1];
  int jb = 0;
  while (red.perm[jb] != r - 1) ++jb;
  const int64_t da = red.dims[a], db = red.dims[r - 1];
  const int64_t sa = in_stride[a], so_b = out_stride[jb];
  int outer_pos[kMax], n_outer = 0;
  for (int j = 0; j < r - 1; ++j) {
    if (j != jb) outer_pos[n_outer++] = j;
  }
  const int64_t tiles_a = (da + kTile - 1) / kTile, tiles_b = (db + kTile - 1) / kTile;
  const int64_t items = total / (da * db) * tiles_a * tiles_b;
  const int64_t grain = std::max<int64_t>(1, 16384 / (kTile * kTile));
  parallel_for(threads, items, grain, [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      int64_t rem = item;
      const int64_t tb = rem % tiles_b;
      rem /= tiles_b;
      const int64_t ta = rem % tiles_a;
      rem /= tiles_a;
      int64_t ib = 0, ob = 0;
      for (int k = n_outer - 1; k >= 0; --k) {
        const int j = outer_pos[k];
        const int64_t v = rem % out_dims[j];
        rem /= out_dims[j];
        ib += v * src_stride[j];
        ob += v * out_stride[j];
      }
      const int64_t a0 = ta * kTile, a1 = std::min(da, a0 + kTile);
      const int64_t b0 = tb * kTile, b1 = std::min(db, b0 + kTile);
      for (int64_t i = a0; i < a1; ++i) {
        const T* src = in + ib + i * sa;
        T* dst = out + ob + i;
        for (int64_t k = b0; k < b1; ++k) dst[k * so_b] = src[k];
      }
    }
  });
}

class BlockedKernel final : public Kernel {
 public:
  explicit BlockedKernel(std::vector<int64_t> perm) : perm_(std::move(perm)) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    KILN_RETURN_IF_ERROR(check_shapes(x, y, perm_));
    const Reduced red = reduce(x.shape, perm_);
    dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using T = decltype(tag);
      transpose_blocked(x.as<const T>(), y.as<T>(), red, args.threads);
    });
    return Status::ok();
  }

 private:
  std::vector<int64_t> perm_;
};

bool supports_any(const KernelInfo& info) {
  return true;
}

std::vector<int64_t> perm_of(const KernelInfo& info) {
  return transpose_perm(info.attrs(), static_cast<int64_t>(info.input(0).shape.size()));
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ReferenceKernel(perm_of(info)));
}
Result<std::unique_ptr<Kernel>> create_blocked(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new BlockedKernel(perm_of(info)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
    {"blocked", TacticSource::kCpuOptimized, kAllDtypes, supports_any, create_blocked},
};

}  // namespace

std::span<const TacticDef> transpose_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
