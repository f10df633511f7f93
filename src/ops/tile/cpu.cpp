// CPU tactics of Tile (any dtype; repeats follow from the output shape, so the repeats input is
// never read):
//   reference  walks the output and reads X at (i_k mod d_k) per axis;
//   memcpy     copies each innermost row of X once, then duplicates finished blocks with memcpy,
//              innermost axis first (each output byte is written once).
#include "ops/tile/tile.h"

#include <cstring>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

Status check_shapes(const TensorView& x, const TensorView& y) {
  bool ok = x.shape.rank() == y.shape.rank() && x.dtype == y.dtype && x.shape.rank() > 0;
  for (int d = 0; ok && d < x.shape.rank(); ++d) {
    ok = x.shape[d] == 0 ? y.shape[d] == 0 : y.shape[d] % x.shape[d] == 0;
  }
  if (!ok) {
    return invalid_argument("tile output " + y.shape.to_string() +
                            " is not a whole tiling of input " + x.shape.to_string());
  }
  return Status::ok();
}

class TileReference final : public Kernel {
 public:
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    KILN_RETURN_IF_ERROR(check_shapes(x, y));
    if (y.numel() == 0) return Status::ok();
    const int r = x.shape.rank();
    const size_t es = dtype_size(x.dtype);
    int64_t idx[kMax] = {};
    const char* src = static_cast<const char*>(x.data);
    char* dst = static_cast<char*>(y.data);
    const int64_t n = y.numel();
    for (int64_t o = 0; o < n; ++o) {
      int64_t s = 0;
      for (int d = 0; d < r; ++d) s = s * x.shape[d] + idx[d] % x.shape[d];
      std::memcpy(dst + o * es, src + s * es, es);
      for (int d = r - 1; d >= 0; --d) {
        if (++idx[d] < y.shape[d]) break;
        idx[d] = 0;
      }
    }
    return Status::ok();
  }
};

class TileMemcpy final : public Kernel {
 public:
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    KILN_RETURN_IF_ERROR(check_shapes(x, y));
    if (y.numel() == 0) return Status::ok();
    const int r = x.shape.rank();
    const size_t es = dtype_size(x.dtype);
    // Bytes of one input / output block below axis d.
    size_t in_block[kMax + 1], out_block[kMax + 1];
    in_block[r] = out_block[r] = es;
    for (int d = r - 1; d >= 0; --d) {
      in_block[d] = in_block[d + 1] * x.shape[d];
      out_block[d] = out_block[d + 1] * y.shape[d];
    }
    fill(0, r, static_cast<const char*>(x.data), static_cast<char*>(y.data), x.shape, y.shape,
         in_block, out_block);
    return Status::ok();
  }

 private:
  // Writes the output block of axis d (out_block[d] bytes) from the input block at src.
  static void fill(int d, int r, const char* src, char* dst, const Dims& xs, const Dims& ys,
                   const size_t* in_block, const size_t* out_block) {
    const int64_t n = xs[d];
    const size_t one = out_block[d + 1] * n;  // one copy of the input along axis d
    if (d == r - 1) {
      std::memcpy(dst, src, one);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        fill(d + 1, r, src + i * in_block[d + 1], dst + i * out_block[d + 1], xs, ys, in_block,
             out_block);
      }
    }
    const int64_t reps = ys[d] / n;
    for (int64_t k = 1; k < reps; ++k) std::memcpy(dst + k * one, dst, one);
  }
};

bool supports_any(const KernelInfo& info) {
  (void)info;
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  (void)info;
  return std::unique_ptr<Kernel>(new TileReference());
}

Result<std::unique_ptr<Kernel>> create_memcpy(const KernelInfo& info) {
  (void)info;
  return std::unique_ptr<Kernel>(new TileMemcpy());
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
    {"memcpy", TacticSource::kCpuOptimized, kAllDtypes, supports_any, create_memcpy},
};

}  // namespace

std::span<const TacticDef> tile_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
