// CPU tactics of Reduce: a reference that walks the reduced sub-box of every output element with
// double (or int64) accumulators, and a threaded one with float fast paths for the two layouts
// that dominate models -- reducing a contiguous inner run ([O, R]) and reducing a middle axis
// ([O, R, I], vectorized across I) -- falling back to the reference walk in parallel otherwise.
#include "backends/cpu/thread_pool.h"
#include "ops/common/dtype_traits.h"
#include "ops/reduce/reduce.h"

#include <bit>
#include <cmath>
#include <limits>

namespace kiln::ops {

namespace {

constexpr int64_t kGrainElems = 1 << 14;

// X's dims split into kept (output order) and reduced dims, with input strides.
struct Layout {
  int nkept = 0, nred = 0;
  int64_t kept_ext[Dims::kMaxDims], kept_stride[Dims::kMaxDims];
  int64_t red_ext[Dims::kMaxDims], red_stride[Dims::kMaxDims];
  int64_t out_numel = 1, R = 1;
};

Layout make_layout(const Dims& shape, const std::vector<bool>& reduced) {
  Layout l;
  std::vector<int64_t> strides = contiguous_strides(shape);
  for (int i = 0; i < shape.rank(); ++i) {
    if (reduced[i]) {
      l.red_ext[l.nred] = shape[i];
      l.red_stride[l.nred++] = strides[i];
      l.R *= shape[i];
    } else {
      l.kept_ext[l.nkept] = shape[i];
      l.kept_stride[l.nkept++] = strides[i];
      l.out_numel *= shape[i];
    }
  }
  return l;
}

int64_t base_offset(const Layout& l, int64_t q) {
  int64_t off = 0;
  for (int d = l.nkept - 1; d >= 0; --d) {
    off += (q % l.kept_ext[d]) * l.kept_stride[d];
    q /= l.kept_ext[d];
  }
  return off;
}

// Calls f(offset) for every element of the reduced sub-box starting at `base`.
template <typename F>
void for_each_reduced(const Layout& l, int64_t base, F&& f) {
  int64_t idx[Dims::kMaxDims] = {};
  int64_t off = base;
  for (int64_t r = 0; r < l.R; ++r) {
    f(off);
    for (int d = l.nred - 1; d >= 0; --d) {
      if (++idx[d] < l.red_ext[d]) {
        off += l.red_stride[d];
        break;
      }
      off -= (l.red_ext[d] - 1) * l.red_stride[d];
      idx[d] = 0;
    }
  }
}

// The reference walk over outputs [q0, q1): double accumulators for floats, int64 (wrapping)
// for integers.
template <typename T>
void reduce_generic(ReduceOp op, const Layout& l, const T* x, T* y, int64_t q0, int64_t q1) {
  for (int64_t q = q0; q < q1; ++q) {
    int64_t base = base_offset(l, q);
    if constexpr (kIsFloatType<T>) {
      auto ld = [&](int64_t off) { return static_cast<double>(static_cast<float>(x[off])); };
      double acc = 0;
      switch (op) {
        case ReduceOp::kSum:
        case ReduceOp::kMean:
          for_each_reduced(l, base, [&](int64_t o) { acc += ld(o); });
          if (op == ReduceOp::kMean) acc /= static_cast<double>(l.R);
          break;
        case ReduceOp::kMax:
        case ReduceOp::kLogSumExp:
          acc = -INFINITY;
          for_each_reduced(l, base, [&](int64_t o) {
            double v = ld(o);
            if (std::isnan(v) || v > acc) acc = std::isnan(acc) ? acc : v;
          });
          if (op == ReduceOp::kLogSumExp && std::isfinite(acc)) {
            double m = acc, s = 0;
            for_each_reduced(l, base, [&](int64_t o) { s += std::exp(ld(o) - m); });
            acc = m + std::log(s);
          }
          break;
        case ReduceOp::kMin:
          acc = INFINITY;
          for_each_reduced(l, base, [&](int64_t o) {
            double v = ld(o);
            if (std::isnan(v) || v < acc) acc = std::isnan(acc) ? acc : v;
          });
          break;
        case ReduceOp::kProd:
          acc = 1;
          for_each_reduced(l, base, [&](int64_t o) { acc *= ld(o); });
          break;
        case ReduceOp::kSumSquare:
        case ReduceOp::kL2:
          for_each_reduced(l, base, [&](int64_t o) { acc += ld(o) * ld(o); });
          if (op == ReduceOp::kL2) acc = std::sqrt(acc);
          break;
        case ReduceOp::kL1:
          for_each_reduced(l, base, [&](int64_t o) { acc += std::fabs(ld(o)); });
          break;
      }
      y[q] = T(static_cast<float>(acc));
    } else {
      uint64_t acc = 0;  // unsigned: integer sums and products wrap without UB
      T best =
          op == ReduceOp::kMin ? std::numeric_limits<T>::max() : std::numeric_limits<T>::lowest();
      switch (op) {
        case ReduceOp::kSum:
          for_each_reduced(l, base, [&](int64_t o) { acc += static_cast<uint64_t>(x[o]); });
          y[q] = static_cast<T>(acc);
          break;
        case ReduceOp::kProd:
          acc = 1;
          for_each_reduced(l, base, [&](int64_t o) { acc *= static_cast<uint64_t>(x[o]); });
          y[q] = static_cast<T>(acc);
          break;
        case ReduceOp::kMax:
          for_each_reduced(l, base, [&](int64_t o) { best = std::max(best, x[o]); });
          y[q] = best;
          break;
        case ReduceOp::kMin:
          for_each_reduced(l, base, [&](int64_t o) { best = std::min(best, x[o]); });
          y[q] = best;
          break;
        default:
          y[q] = 0;
          break;  // rejected by infer/supports
      }
    }
  }
}

struct Params {
  ReduceOp op = ReduceOp::kSum;
  std::vector<bool> reduced;
};

Result<Params> read_params(const KernelInfo& info) {
  Params p;
  parse_reduce_op(info.attrs().get_string("op"), &p.op);
  KILN_ASSIGN_OR_RETURN(p.reduced, reduce_axes(*info.graph, *info.node));
  return p;
}

bool supports(const KernelInfo& info) {
  ReduceOp op;
  if (!parse_reduce_op(info.attrs().get_string("op"), &op)) return false;
  DataType dt = info.input_dtype(0);
  if (is_floating(dt)) return true;
  return (dt == DataType::kInt32 || dt == DataType::kInt64) &&
         (op == ReduceOp::kSum || op == ReduceOp::kMax || op == ReduceOp::kMin ||
          op == ReduceOp::kProd);
}

template <typename Fn>
void dispatch_reduce_dtype(DataType dt, Fn&& fn) {
  switch (dt) {
    case DataType::kFloat32:
      fn(float{});
      break;
    case DataType::kFloat16:
      fn(Half{});
      break;
    case DataType::kBFloat16:
      fn(BFloat16{});
      break;
    case DataType::kInt32:
      fn(int32_t{});
      break;
    case DataType::kInt64:
      fn(int64_t{});
      break;
    default:
      break;
  }
}

class ReduceReference final : public Kernel {
 public:
  explicit ReduceReference(Params p) : p_(std::move(p)) {}
  Status execute(const ExecArgs& args) const override {
    Layout l = make_layout(args.inputs[0].shape, p_.reduced);
    dispatch_reduce_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      reduce_generic(p_.op, l, args.inputs[0].as<T>(), args.outputs[0].as<T>(), 0, l.out_numel);
    });
    return Status::ok();
  }

 private:
  Params p_;
};

// ---- threaded float fast paths ----

// Per-element accumulation steps; each is its own loop so it vectorizes.
enum class Step : uint8_t { kAdd, kAddSquare, kAddAbs, kMax, kMin, kMul, kAddExp };

Step first_step(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kMean:
      return Step::kAdd;
    case ReduceOp::kSumSquare:
    case ReduceOp::kL2:
      return Step::kAddSquare;
    case ReduceOp::kL1:
      return Step::kAddAbs;
    case ReduceOp::kMax:
    case ReduceOp::kLogSumExp:
      return Step::kMax;  // log_sum_exp: then kAddExp
    case ReduceOp::kMin:
      return Step::kMin;
    case ReduceOp::kProd:
      return Step::kMul;
  }
  return Step::kAdd;
}

float step_init(Step s) {
  switch (s) {
    case Step::kMax:
      return -INFINITY;
    case Step::kMin:
      return INFINITY;
    case Step::kMul:
      return 1.f;
    default:
      return 0.f;
  }
}

// c ? a : b through bit masks: GCC (with the default -ftrapping-math) does not vectorize a float
// ?: here, but it does vectorize this.
inline float select(bool c, float a, float b) {
  uint32_t m = 0u - static_cast<uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & m) | (std::bit_cast<uint32_t>(b) & ~m));
}

// acc[j] (op)= x[j] for j < n; `shift` is used by kAddExp only (exp(x - shift[j])).
inline void accumulate(Step s, const float* x, int64_t n, const float* shift, float* acc) {
  switch (s) {
    case Step::kAdd:
      for (int64_t j = 0; j < n; ++j) acc[j] += x[j];
      break;
    case Step::kAddSquare:
      for (int64_t j = 0; j < n; ++j) acc[j] += x[j] * x[j];
      break;
    case Step::kAddAbs:
      for (int64_t j = 0; j < n; ++j) acc[j] += std::fabs(x[j]);
      break;
    case Step::kMax:  // NaN propagates: a NaN accumulator stays, a NaN input is taken
      for (int64_t j = 0; j < n; ++j) {
        acc[j] = select((acc[j] != acc[j]) | (acc[j] > x[j]), acc[j], x[j]);
      }
      break;
    case Step::kMin:
      for (int64_t j = 0; j < n; ++j) {
        acc[j] = select((acc[j] != acc[j]) | (acc[j] < x[j]), acc[j], x[j]);
      }
      break;
    case Step::kMul:
      for (int64_t j = 0; j < n; ++j) acc[j] *= x[j];
      break;
    case Step::kAddExp:
      for (int64_t j = 0; j < n; ++j) acc[j] += std::exp(x[j] - shift[j]);
      break;
  }
}

// Value of the op from the first step's result (and the kAddExp sum for log_sum_exp).
float finish(ReduceOp op, float v, float sum_exp, int64_t R) {
  switch (op) {
    case ReduceOp::kMean:
      return v / static_cast<float>(R);
    case ReduceOp::kL2:
      return std::sqrt(v);
    case ReduceOp::kLogSumExp:
      return std::isfinite(v) ? v + std::log(sum_exp) : v;
    default:
      return v;
  }
}

constexpr int kLanes = 16;
constexpr int64_t kChunk = 256;  // elements converted to float at a time

// Applies step s over a row of n elements into kLanes partial accumulators.
template <typename T>
void row_step(Step s, const T* x, int64_t n, float shift, float* lanes) {
  float shifts[kLanes];
  for (float& v : shifts) v = shift;
  float buf[kChunk];
  for (int64_t c = 0; c < n; c += kChunk) {
    int64_t cnt = std::min(kChunk, n - c);
    const float* src;
    if constexpr (std::is_same_v<T, float>) {
      src = x + c;
    } else {
      for (int64_t j = 0; j < cnt; ++j) buf[j] = static_cast<float>(x[c + j]);
      src = buf;
    }
    int64_t i = 0;
    for (; i + kLanes <= cnt; i += kLanes) accumulate(s, src + i, kLanes, shifts, lanes);
    accumulate(s, src + i, cnt - i, shifts, lanes);
  }
}

// Merges partial accumulators: partial sums add, max/min/mul combine with themselves.
float combine_lanes(Step s, const float* lanes) {
  Step merge = (s == Step::kMax || s == Step::kMin || s == Step::kMul) ? s : Step::kAdd;
  float v = lanes[0];
  for (int j = 1; j < kLanes; ++j) accumulate(merge, lanes + j, 1, nullptr, &v);
  return v;
}

template <typename T>
float reduce_row(ReduceOp op, const T* x, int64_t n) {
  Step s = first_step(op);
  float lanes[kLanes];
  for (float& v : lanes) v = step_init(s);
  row_step(s, x, n, 0.f, lanes);
  float v = combine_lanes(s, lanes);
  float sum_exp = 0;
  if (op == ReduceOp::kLogSumExp && std::isfinite(v)) {
    for (float& l : lanes) l = 0.f;
    row_step(Step::kAddExp, x, n, v, lanes);
    sum_exp = combine_lanes(Step::kAddExp, lanes);
  }
  return finish(op, v, sum_exp, n);
}

constexpr int64_t kColBlock = 64;

// Reduces over R rows (stride I) for cnt <= kColBlock adjacent columns.
template <typename T>
void reduce_columns(ReduceOp op, const T* x, T* y, int64_t R, int64_t I, int64_t cnt) {
  float acc[kColBlock], sum_exp[kColBlock], buf[kColBlock];
  auto row = [&](int64_t r) -> const float* {
    if constexpr (std::is_same_v<T, float>) {
      return x + r * I;
    } else {
      for (int64_t j = 0; j < cnt; ++j) buf[j] = static_cast<float>(x[r * I + j]);
      return buf;
    }
  };
  Step s = first_step(op);
  for (int64_t j = 0; j < cnt; ++j) acc[j] = step_init(s);
  for (int64_t r = 0; r < R; ++r) accumulate(s, row(r), cnt, nullptr, acc);
  if (op == ReduceOp::kLogSumExp) {
    for (int64_t j = 0; j < cnt; ++j) sum_exp[j] = 0.f;
    for (int64_t r = 0; r < R; ++r) accumulate(Step::kAddExp, row(r), cnt, acc, sum_exp);
  }
  for (int64_t j = 0; j < cnt; ++j) {
    y[j] = T(finish(op, acc[j], op == ReduceOp::kLogSumExp ? sum_exp[j] : 0.f, R));
  }
}

class ReduceThreaded final : public Kernel {
 public:
  explicit ReduceThreaded(Params p) : p_(std::move(p)) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    Layout l = make_layout(x.shape, p_.reduced);
    // Merge adjacent dims of the same kind, dropping size-1 dims: [O, R] or [O, R, I] are fast.
    int64_t ext[Dims::kMaxDims];
    bool red[Dims::kMaxDims];
    int n = 0;
    for (int i = 0; i < x.shape.rank(); ++i) {
      if (x.shape[i] == 1) continue;
      if (n > 0 && red[n - 1] == p_.reduced[i]) {
        ext[n - 1] *= x.shape[i];
      } else {
        ext[n] = x.shape[i];
        red[n++] = p_.reduced[i];
      }
    }
    int64_t O = 1, R = 0, I = 1;
    bool fast = x.numel() > 0;
    if (fast && n == 1 && red[0]) {
      R = ext[0];
    } else if (fast && n == 2 && red[1]) {
      O = ext[0];
      R = ext[1];
    } else if (fast && n == 2 && red[0]) {
      R = ext[0];
      I = ext[1];
    } else if (fast && n == 3 && red[1]) {
      O = ext[0];
      R = ext[1];
      I = ext[2];
    } else {
      fast = false;
    }
    dispatch_reduce_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.as<T>();
      T* yp = args.outputs[0].as<T>();
      if constexpr (kIsFloatType<T>) {
        if (fast && I == 1) {
          int64_t grain = std::max<int64_t>(1, kGrainElems / R);
          parallel_for(args.threads, O, grain, [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) yp[o] = T(reduce_row(p_.op, xp + o * R, R));
          });
          return;
        }
        if (fast) {
          int64_t blocks = (I + kColBlock - 1) / kColBlock;
          int64_t grain = std::max<int64_t>(1, kGrainElems / (R * std::min(I, kColBlock)));
          parallel_for(args.threads, O * blocks, grain, [&](int64_t b, int64_t e) {
            for (int64_t w = b; w < e; ++w) {
              int64_t o = w / blocks, i0 = (w % blocks) * kColBlock;
              reduce_columns(p_.op, xp + o * R * I + i0, yp + o * I + i0, R, I,
                             std::min(kColBlock, I - i0));
            }
          });
          return;
        }
      }
      int64_t grain = std::max<int64_t>(1, kGrainElems / std::max<int64_t>(l.R, 1));
      parallel_for(args.threads, l.out_numel, grain,
                   [&](int64_t b, int64_t e) { reduce_generic(p_.op, l, xp, yp, b, e); });
    });
    return Status::ok();
  }

 private:
  Params p_;
};

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(Params p, read_params(info));
  return std::unique_ptr<Kernel>(new ReduceReference(std::move(p)));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(Params p, read_params(info));
  return std::unique_ptr<Kernel>(new ReduceThreaded(std::move(p)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> reduce_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
