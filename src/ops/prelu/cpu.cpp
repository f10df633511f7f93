// CPU tactics of PRelu:
//   reference  per element: unravel the index, find the broadcast slope element
//   threaded   chunks in parallel; each chunk unravels its first index once, then walks an
//              odometer, with a fast inner loop along X's last dim
#include "backends/cpu/thread_pool.h"
#include "ops/prelu/prelu.h"

#include <array>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int kMaxRank = Dims::kMaxDims;

// X's dims and the slope's strides aligned to them (0 on broadcast dims).
struct Geometry {
  int rank = 0;
  std::array<int64_t, kMaxRank> dims{}, sstride{};
};

Status make_geometry(const Dims& x, const Dims& s, Geometry* g) {
  if (s.rank() > x.rank()) {
    return invalid_argument("PRelu: slope " + s.to_string() + " has a higher rank than X " +
                            x.to_string());
  }
  g->rank = x.rank();
  int64_t stride = 1;
  for (int i = x.rank() - 1; i >= 0; --i) {
    g->dims[i] = x[i];
    const int si = i - (x.rank() - s.rank());
    if (si < 0 || s[si] == 1) {
      g->sstride[i] = 0;
    } else if (s[si] == x[i]) {
      g->sstride[i] = stride;
    } else {
      return invalid_argument("PRelu: slope " + s.to_string() + " does not broadcast to X " +
                              x.to_string());
    }
    // Overflow only past a 0 extent further left: X is empty then and the strides unused.
    if (si >= 0 && __builtin_mul_overflow(stride, s[si], &stride)) stride = 0;
  }
  return Status::ok();
}

template <typename T>
T prelu_one(T x, T slope) {
  if constexpr (std::is_integral_v<T>) {
    if (x >= 0) return x;
    return static_cast<T>(static_cast<uint64_t>(x) * static_cast<uint64_t>(slope));
  } else {
    const float v = static_cast<float>(x);
    return v < 0.f ? static_cast<T>(static_cast<float>(slope) * v) : x;
  }
}

template <typename T>
void prelu_reference(const Geometry& g, const T* x, const T* s, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t so = 0, rem = i;
    for (int d = g.rank - 1; d >= 0; --d) {
      so += (rem % g.dims[d]) * g.sstride[d];
      rem /= g.dims[d];
    }
    y[i] = prelu_one(x[i], s[so]);
  }
}

template <typename T>
void prelu_chunk(const Geometry& g, const T* x, const T* s, T* y, int64_t begin, int64_t end) {
  if (g.rank == 0) {
    for (int64_t i = begin; i < end; ++i) y[i] = prelu_one(x[i], s[0]);
    return;
  }
  std::array<int64_t, kMaxRank> idx{};
  int64_t rem = begin, so = 0;
  for (int d = g.rank - 1; d >= 0; --d) {
    idx[d] = rem % g.dims[d];
    rem /= g.dims[d];
    so += idx[d] * g.sstride[d];
  }
  const int last = g.rank - 1;
  const int64_t inner = g.dims[last], istride = g.sstride[last];
  int64_t i = begin;
  while (i < end) {
    // The rest of the current innermost row.
    const int64_t run = std::min(end - i, inner - idx[last]);
    const T* sp = s + so;
    if (istride == 0) {
      const T sv = *sp;
      for (int64_t j = 0; j < run; ++j) y[i + j] = prelu_one(x[i + j], sv);
    } else {
      for (int64_t j = 0; j < run; ++j) y[i + j] = prelu_one(x[i + j], sp[j]);
    }
    i += run;
    so += run * istride;
    idx[last] += run;
    // Carry into the outer dims.
    for (int d = last; d > 0 && idx[d] == g.dims[d]; --d) {
      so -= idx[d] * g.sstride[d];
      idx[d] = 0;
      ++idx[d - 1];
      so += g.sstride[d - 1];
    }
  }
}

class PreluKernel final : public Kernel {
 public:
  explicit PreluKernel(bool threaded) : threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& s = args.inputs[1];
    const TensorView& y = args.outputs[0];
    Geometry g;
    KILN_RETURN_IF_ERROR(make_geometry(x.shape, s.shape, &g));
    const int64_t n = x.numel();
    if (n == 0) return Status::ok();
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.as<const T>();
      const T* sp = s.as<const T>();
      T* yp = y.as<T>();
      if (threaded_) {
        parallel_for(args.threads, n, 1 << 14,
                     [&](int64_t b, int64_t e) { prelu_chunk(g, xp, sp, yp, b, e); });
      } else {
        prelu_reference(g, xp, sp, yp, n);
      }
    };
    switch (x.dtype) {
      case DataType::kFloat32:
        run(float{});
        break;
      case DataType::kFloat16:
        run(Half{});
        break;
      case DataType::kBFloat16:
        run(BFloat16{});
        break;
      case DataType::kInt32:
        run(int32_t{});
        break;
      case DataType::kInt64:
        run(int64_t{});
        break;
      default:
        return unsupported("PRelu: unsupported dtype " + std::string(dtype_name(x.dtype)));
    }
    return Status::ok();
  }

 private:
  bool threaded_;
};

bool supports(const KernelInfo& info) {
  const DataType t = info.input_dtype(0);
  return (is_floating(t) || t == DataType::kInt32 || t == DataType::kInt64) &&
         info.input_dtype(1) == t;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo&) {
  return std::unique_ptr<Kernel>(new PreluKernel(false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo&) {
  return std::unique_ptr<Kernel>(new PreluKernel(true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> prelu_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
