// CPU tactics of ElementWise:
//   reference  one strided loop over the output with the op chosen per element; every dtype.
//   fast       dims collapsed to the fewest runs with one broadcast pattern, then per-op inner
//              loops specialized for contiguous / scalar operands (same-shape, scalar-broadcast
//              and row-broadcast cases become flat loops), threaded. float32/16, bfloat16, int32,
//              int64, bool.
#include "backends/cpu/half_convert.h"
#include "backends/cpu/thread_pool.h"
#include "ops/elementwise/elementwise.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace kiln::ops {

namespace {

// ---- scalar semantics (shared by both tactics). C is float for the float types. ----

template <typename C>
constexpr bool kFloat = std::is_floating_point_v<C>;

// Integer arithmetic in the unsigned type: overflow wraps instead of being undefined.
template <typename C>
C wrap(uint64_t v) {
  return static_cast<C>(v);
}
template <typename C>
uint64_t u(C v) {
  return static_cast<uint64_t>(static_cast<int64_t>(v));
}

template <typename C>
C op_sum(C a, C b) {
  if constexpr (kFloat<C>)
    return a + b;
  else
    return wrap<C>(u(a) + u(b));
}
template <typename C>
C op_sub(C a, C b) {
  if constexpr (kFloat<C>)
    return a - b;
  else
    return wrap<C>(u(a) - u(b));
}
template <typename C>
C op_prod(C a, C b) {
  if constexpr (kFloat<C>)
    return a * b;
  else
    return wrap<C>(u(a) * u(b));
}
template <typename C>
C op_div(C a, C b) {
  if constexpr (kFloat<C>) {
    return a / b;
  } else {
    if (b == 0) return 0;  // defined instead of a crash
    if constexpr (std::is_signed_v<C>) {
      if (b == -1) return wrap<C>(0 - u(a));  // INT_MIN / -1 overflows
    }
    return static_cast<C>(a / b);
  }
}
template <typename C>
C op_min(C a, C b) {
  if constexpr (kFloat<C>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  }
  return b < a ? b : a;
}
template <typename C>
C op_max(C a, C b) {
  if constexpr (kFloat<C>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  }
  return a < b ? b : a;
}
template <typename C>
C op_pow(C a, C b) {
  if constexpr (kFloat<C>) {
    return std::pow(a, b);
  } else {
    if constexpr (std::is_signed_v<C>) {
      if (b < 0) {  // truncation of 1 / a^-b
        if (a == 1) return 1;
        if (a == -1) return (b % 2 == 0) ? 1 : -1;
        return 0;
      }
    }
    uint64_t result = 1, base = u(a);
    for (uint64_t e = static_cast<uint64_t>(b); e != 0; e >>= 1) {
      if (e & 1) result *= base;
      base *= base;
    }
    return wrap<C>(result);
  }
}
template <typename C>
C op_mod(C a, C b, bool fmod) {
  if constexpr (kFloat<C>) {
    C r = std::fmod(a, b);
    if (!fmod && r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  } else {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<C>) {
      if (b == -1) return 0;  // INT_MIN % -1 overflows
    }
    C r = static_cast<C>(a % b);
    if constexpr (std::is_signed_v<C>) {
      if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
    }
    return r;
  }
}

template <typename C>
C arith(ElementWiseOp op, bool fmod, C a, C b) {
  switch (op) {
    case ElementWiseOp::kSum:
      return op_sum(a, b);
    case ElementWiseOp::kSub:
      return op_sub(a, b);
    case ElementWiseOp::kProd:
      return op_prod(a, b);
    case ElementWiseOp::kDiv:
      return op_div(a, b);
    case ElementWiseOp::kMin:
      return op_min(a, b);
    case ElementWiseOp::kMax:
      return op_max(a, b);
    case ElementWiseOp::kPow:
      return op_pow(a, b);
    case ElementWiseOp::kMod:
      return op_mod(a, b, fmod);
    default:
      return C{};
  }
}

template <typename C>
bool compare(ElementWiseOp op, C a, C b) {
  switch (op) {
    case ElementWiseOp::kEqual:
      return a == b;
    case ElementWiseOp::kLess:
      return a < b;
    case ElementWiseOp::kGreater:
      return a > b;
    case ElementWiseOp::kLessEqual:
      return a <= b;
    case ElementWiseOp::kGreaterEqual:
      return a >= b;
    default:
      return false;
  }
}

bool logic(ElementWiseOp op, bool a, bool b) {
  switch (op) {
    case ElementWiseOp::kAnd:
      return a && b;
    case ElementWiseOp::kOr:
      return a || b;
    case ElementWiseOp::kXor:
      return a != b;
    case ElementWiseOp::kEqual:
      return a == b;
    default:
      return false;
  }
}

template <typename T>
using Compute =
    std::conditional_t<std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>, float, T>;

struct Params {
  ElementWiseOp op;
  bool fmod;
};

Params read_params(const ir::Attrs& attrs) {
  Params p{};
  parse_elementwise_op(attrs.get_string("op"), &p.op);
  p.fmod = attrs.get_int("fmod", 0) != 0;
  return p;
}

// Operand strides over the output dims (0 where broadcast), right-aligned.
void broadcast_strides(const Dims& in, const Dims& out, int64_t* strides) {
  int off = out.rank() - in.rank();
  int64_t s = 1;
  for (int d = out.rank() - 1; d >= 0; --d) {
    int id = d - off;
    if (id < 0 || in[id] == 1) {
      strides[d] = 0;
    } else {
      strides[d] = s;
    }
    if (id >= 0) s *= in[id];
  }
}

Status check_shapes(const ExecArgs& args) {
  const Dims& a = args.inputs[0].shape;
  const Dims& b = args.inputs[1].shape;
  const Dims& y = args.outputs[0].shape;
  int rank = std::max(a.rank(), b.rank());
  bool ok = y.rank() == rank;
  for (int d = 0; ok && d < rank; ++d) {
    int ia = d - (rank - a.rank()), ib = d - (rank - b.rank());
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    ok = (da == db || da == 1 || db == 1) && y[d] == (da == 1 ? db : da);
  }
  if (!ok) {
    return invalid_argument("ElementWise shapes " + a.to_string() + " and " + b.to_string() +
                            " do not broadcast to " + y.to_string());
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------
// reference

template <typename T, typename Fn>
void strided_loop(const Dims& out, const int64_t* sa, const int64_t* sb, Fn&& fn) {
  int64_t n = out.volume();
  int r = out.rank();
  int64_t idx[Dims::kMaxDims] = {};
  int64_t ao = 0, bo = 0;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, ao, bo);
    for (int d = r - 1; d >= 0; --d) {
      ao += sa[d];
      bo += sb[d];
      if (++idx[d] < out[d]) break;
      ao -= sa[d] * out[d];
      bo -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

class ReferenceElementWise final : public Kernel {
 public:
  explicit ReferenceElementWise(Params p) : p_(p) {}
  Status execute(const ExecArgs& args) const override {
    KILN_RETURN_IF_ERROR(check_shapes(args));
    const TensorView& a = args.inputs[0];
    const TensorView& b = args.inputs[1];
    const TensorView& y = args.outputs[0];
    int64_t sa[Dims::kMaxDims], sb[Dims::kMaxDims];
    broadcast_strides(a.shape, y.shape, sa);
    broadcast_strides(b.shape, y.shape, sb);
    if (a.dtype == DataType::kBool) {
      const uint8_t* ap = a.as<uint8_t>();
      const uint8_t* bp = b.as<uint8_t>();
      uint8_t* yp = y.as<uint8_t>();
      strided_loop<uint8_t>(y.shape, sa, sb, [&](int64_t i, int64_t ao, int64_t bo) {
        yp[i] = logic(p_.op, ap[ao] != 0, bp[bo] != 0) ? 1 : 0;
      });
      return Status::ok();
    }
    dispatch_dtype(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      using C = Compute<T>;
      const T* ap = a.as<T>();
      const T* bp = b.as<T>();
      if (is_comparison(p_.op)) {
        uint8_t* yp = y.as<uint8_t>();
        strided_loop<T>(y.shape, sa, sb, [&](int64_t i, int64_t ao, int64_t bo) {
          yp[i] = compare(p_.op, static_cast<C>(ap[ao]), static_cast<C>(bp[bo])) ? 1 : 0;
        });
      } else {
        T* yp = y.as<T>();
        strided_loop<T>(y.shape, sa, sb, [&](int64_t i, int64_t ao, int64_t bo) {
          yp[i] = static_cast<T>(
              arith<C>(p_.op, p_.fmod, static_cast<C>(ap[ao]), static_cast<C>(bp[bo])));
        });
      }
    });
    return Status::ok();
  }

 private:
  Params p_;
};

bool supports_reference(const KernelInfo& info) {
  (void)info;
  return true;  // shape inference already checked op/dtype combinations
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ReferenceElementWise(read_params(info.attrs())));
}

// ---------------------------------------------------------------------------------------------
// fast

// Output dims with size-1 dims dropped and neighbours of one broadcast pattern merged; each
// operand is then either contiguous (stride 1 in the last dim) or broadcast (stride 0) per run.
struct Collapsed {
  int rank = 0;
  int64_t dims[Dims::kMaxDims] = {};
  int64_t sa[Dims::kMaxDims] = {}, sb[Dims::kMaxDims] = {};
};

Collapsed collapse(const Dims& a, const Dims& b, const Dims& y) {
  Collapsed c;
  bool pa[Dims::kMaxDims], pb[Dims::kMaxDims];
  int r = y.rank();
  for (int d = 0; d < r; ++d) {
    if (y[d] == 1) continue;
    int ia = d - (r - a.rank()), ib = d - (r - b.rank());
    bool has_a = ia >= 0 && a[ia] != 1, has_b = ib >= 0 && b[ib] != 1;
    if (c.rank > 0 && pa[c.rank - 1] == has_a && pb[c.rank - 1] == has_b) {
      c.dims[c.rank - 1] *= y[d];
    } else {
      c.dims[c.rank] = y[d];
      pa[c.rank] = has_a;
      pb[c.rank] = has_b;
      ++c.rank;
    }
  }
  if (c.rank == 0) {  // a single element
    c.rank = 1;
    c.dims[0] = 1;
    pa[0] = pb[0] = false;
  }
  int64_t stride_a = 1, stride_b = 1;
  for (int d = c.rank - 1; d >= 0; --d) {
    c.sa[d] = pa[d] ? stride_a : 0;
    c.sb[d] = pb[d] ? stride_b : 0;
    if (pa[d]) stride_a *= c.dims[d];
    if (pb[d]) stride_b *= c.dims[d];
  }
  return c;
}

// y[0..n) = f(a, b) with each operand contiguous (stride 1) or a broadcast scalar (stride 0).
template <typename T, typename R, typename F>
inline void inner(const T* a, int64_t sa, const T* b, int64_t sb, R* y, int64_t n, F f) {
  using C = Compute<T>;
  if (sa != 0 && sb != 0) {
    for (int64_t i = 0; i < n; ++i)
      y[i] = static_cast<R>(f(static_cast<C>(a[i]), static_cast<C>(b[i])));
  } else if (sa != 0) {
    C bv = static_cast<C>(*b);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<R>(f(static_cast<C>(a[i]), bv));
  } else if (sb != 0) {
    C av = static_cast<C>(*a);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<R>(f(av, static_cast<C>(b[i])));
  } else {
    R v = static_cast<R>(f(static_cast<C>(*a), static_cast<C>(*b)));
    for (int64_t i = 0; i < n; ++i) y[i] = v;
  }
}

template <typename T>
constexpr bool kLowPrecision = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// inner() for float16/bfloat16: converts chunks to float in bulk, computes, converts back.
template <typename T, typename R, typename F>
void inner_low_precision(const T* a, int64_t sa, const T* b, int64_t sb, R* y, int64_t n, F f) {
  constexpr int64_t kChunk = 256;
  float fa[kChunk], fb[kChunk], fy[kChunk];
  if (sa == 0) fa[0] = static_cast<float>(*a);
  if (sb == 0) fb[0] = static_cast<float>(*b);
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    int64_t len = std::min(kChunk, n - i0);
    if (sa != 0) to_float(a + i0, fa, len);
    if (sb != 0) to_float(b + i0, fb, len);
    if constexpr (std::is_same_v<R, T>) {
      inner(fa, sa, fb, sb, fy, len, f);
      from_float(fy, y + i0, len);
    } else {
      inner(fa, sa, fb, sb, y + i0, len, f);
    }
  }
}

// Runs outputs [begin, end) as runs of the last collapsed dim.
template <typename T, typename R, typename F>
void run_range(const Collapsed& c, const T* a, const T* b, R* y, int64_t begin, int64_t end, F f) {
  int r = c.rank;
  int64_t last = c.dims[r - 1];
  int64_t row = begin / last, col = begin % last;
  int64_t idx[Dims::kMaxDims] = {};
  int64_t ao = 0, bo = 0;
  for (int d = r - 2; d >= 0; --d) {
    idx[d] = row % c.dims[d];
    row /= c.dims[d];
    ao += idx[d] * c.sa[d];
    bo += idx[d] * c.sb[d];
  }
  int64_t sa = c.sa[r - 1], sb = c.sb[r - 1];
  for (int64_t pos = begin; pos < end;) {
    int64_t len = std::min(end - pos, last - col);
    if constexpr (kLowPrecision<T>) {
      inner_low_precision(a + ao + col * sa, sa, b + bo + col * sb, sb, y + pos, len, f);
    } else {
      inner(a + ao + col * sa, sa, b + bo + col * sb, sb, y + pos, len, f);
    }
    pos += len;
    col = 0;
    for (int d = r - 2; d >= 0; --d) {
      ao += c.sa[d];
      bo += c.sb[d];
      if (++idx[d] < c.dims[d]) break;
      ao -= c.sa[d] * c.dims[d];
      bo -= c.sb[d] * c.dims[d];
      idx[d] = 0;
    }
  }
}

template <typename T, typename R, typename F>
void run_fast(const ExecArgs& args, F f) {
  const TensorView& a = args.inputs[0];
  const TensorView& b = args.inputs[1];
  const TensorView& y = args.outputs[0];
  int64_t n = y.numel();
  if (n == 0) return;
  Collapsed c = collapse(a.shape, b.shape, y.shape);
  const T* ap = a.as<T>();
  const T* bp = b.as<T>();
  R* yp = y.as<R>();
  parallel_for(args.threads, n, 1 << 15,
               [&](int64_t b0, int64_t b1) { run_range(c, ap, bp, yp, b0, b1, f); });
}

template <typename T>
void fast_typed(const Params& p, const ExecArgs& args) {
  using C = Compute<T>;
  switch (p.op) {
    case ElementWiseOp::kSum:
      return run_fast<T, T>(args, [](C x, C y) { return op_sum(x, y); });
    case ElementWiseOp::kSub:
      return run_fast<T, T>(args, [](C x, C y) { return op_sub(x, y); });
    case ElementWiseOp::kProd:
      return run_fast<T, T>(args, [](C x, C y) { return op_prod(x, y); });
    case ElementWiseOp::kDiv:
      return run_fast<T, T>(args, [](C x, C y) { return op_div(x, y); });
    case ElementWiseOp::kMin:
      return run_fast<T, T>(args, [](C x, C y) { return op_min(x, y); });
    case ElementWiseOp::kMax:
      return run_fast<T, T>(args, [](C x, C y) { return op_max(x, y); });
    case ElementWiseOp::kPow:
      return run_fast<T, T>(args, [](C x, C y) { return op_pow(x, y); });
    case ElementWiseOp::kMod: {
      bool fmod = p.fmod;
      return run_fast<T, T>(args, [fmod](C x, C y) { return op_mod(x, y, fmod); });
    }
    case ElementWiseOp::kEqual:
      return run_fast<T, uint8_t>(args, [](C x, C y) { return x == y; });
    case ElementWiseOp::kLess:
      return run_fast<T, uint8_t>(args, [](C x, C y) { return x < y; });
    case ElementWiseOp::kGreater:
      return run_fast<T, uint8_t>(args, [](C x, C y) { return x > y; });
    case ElementWiseOp::kLessEqual:
      return run_fast<T, uint8_t>(args, [](C x, C y) { return x <= y; });
    case ElementWiseOp::kGreaterEqual:
      return run_fast<T, uint8_t>(args, [](C x, C y) { return x >= y; });
    default:
      return;
  }
}

void fast_bool(const Params& p, const ExecArgs& args) {
  switch (p.op) {
    case ElementWiseOp::kAnd:
      return run_fast<uint8_t, uint8_t>(args, [](uint8_t x, uint8_t y) { return x && y; });
    case ElementWiseOp::kOr:
      return run_fast<uint8_t, uint8_t>(args, [](uint8_t x, uint8_t y) { return x || y; });
    case ElementWiseOp::kXor:
      return run_fast<uint8_t, uint8_t>(args,
                                        [](uint8_t x, uint8_t y) { return (x != 0) != (y != 0); });
    case ElementWiseOp::kEqual:
      return run_fast<uint8_t, uint8_t>(args,
                                        [](uint8_t x, uint8_t y) { return (x != 0) == (y != 0); });
    default:
      return;
  }
}

class FastElementWise final : public Kernel {
 public:
  explicit FastElementWise(Params p) : p_(p) {}
  Status execute(const ExecArgs& args) const override {
    KILN_RETURN_IF_ERROR(check_shapes(args));
    switch (args.inputs[0].dtype) {
      case DataType::kFloat32:
        fast_typed<float>(p_, args);
        break;
      case DataType::kFloat16:
        fast_typed<Half>(p_, args);
        break;
      case DataType::kBFloat16:
        fast_typed<BFloat16>(p_, args);
        break;
      case DataType::kInt32:
        fast_typed<int32_t>(p_, args);
        break;
      case DataType::kInt64:
        fast_typed<int64_t>(p_, args);
        break;
      case DataType::kBool:
        fast_bool(p_, args);
        break;
      default:
        return unsupported("ElementWise fast: dtype " +
                           std::string(dtype_name(args.inputs[0].dtype)));
    }
    return Status::ok();
  }

 private:
  Params p_;
};

bool supports_fast(const KernelInfo& info) {
  switch (info.input_dtype(0)) {
    case DataType::kFloat32:
    case DataType::kFloat16:
    case DataType::kBFloat16:
    case DataType::kInt32:
    case DataType::kInt64:
    case DataType::kBool:
      return true;
    default:
      return false;
  }
}

Result<std::unique_ptr<Kernel>> create_fast(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new FastElementWise(read_params(info.attrs())));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_reference, create_reference},
    {"fast", TacticSource::kCpuOptimized, kAllDtypes - DtypeSet{DataType::kInt8, DataType::kUInt8},
     supports_fast, create_fast},
};

}  // namespace

std::span<const TacticDef> elementwise_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
