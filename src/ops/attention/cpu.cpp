// CPU tactics of Attention: the reference is the unfused math in double precision (scores, mask,
// softmax, weighted sum of V, one query row at a time); "threaded" is the same in float with the
// query rows in parallel.
#include "backends/cpu/thread_pool.h"
#include "ops/attention/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace kiln::ops {

namespace {

struct Offsets {
  int64_t q = 0, k = 0, v = 0, y = 0, m = 0;
};

// Offsets of lead index l (row-major over the lead dims) in every tensor.
Offsets lead_offsets(const AttentionGeometry& g, int64_t l) {
  Offsets o{g.q_offset, g.k_offset, g.v_offset, 0, 0};
  for (int i = g.lead_rank - 1; i >= 0; --i) {
    const int64_t c = l % g.lead[i];
    l /= g.lead[i];
    o.q += c * g.q.lead[i];
    o.k += c * g.k.lead[i];
    o.v += c * g.v.lead[i];
    o.y += c * g.y.lead[i];
    o.m += c * g.mask.lead[i];
  }
  return o;
}

// The additive value of a mask element: a float as is; bool true is 0, false `fill`.
template <typename Acc>
Acc mask_value(const TensorView& m, int64_t off, float fill) {
  if (m.dtype == DataType::kBool)
    return m.as<const uint8_t>()[off] ? Acc(0) : static_cast<Acc>(fill);
  return static_cast<Acc>(load_as_double(m.data, m.dtype, off));
}

// One query row (lead index l, row i) in accumulation type Acc. z: scratch of sk entries.
template <typename T, typename Acc>
void attention_row(const AttentionGeometry& g, const T* q, const T* k, const T* v, T* y,
                   const TensorView* mask, int64_t l, int64_t i, Acc* z) {
  const Offsets o = lead_offsets(g, l);
  const T* qr = q + o.q + i * g.q.s;
  Acc m = -std::numeric_limits<Acc>::infinity();
  for (int64_t j = 0; j < g.sk; ++j) {
    const T* kr = k + o.k + j * g.k.s;
    Acc dot = 0;
    for (int64_t d = 0; d < g.d; ++d) {
      dot += static_cast<Acc>(static_cast<float>(qr[d * g.q.d])) *
             static_cast<Acc>(static_cast<float>(kr[d * g.k.d]));
    }
    Acc zj = static_cast<Acc>(g.scale) * dot;
    if (mask != nullptr) {
      zj += mask_value<Acc>(*mask, o.m + i * g.mask.s + j * g.mask.d, g.mask_fill);
    }
    z[j] = zj;
    m = std::max(m, zj);
  }
  Acc sum = 0;
  for (int64_t j = 0; j < g.sk; ++j) sum += std::exp(z[j] - m);
  for (int64_t j = 0; j < g.sk; ++j) {
    Acc p = std::exp(z[j] - m) / sum;
    if (g.nan_to_zero && std::isnan(p)) p = 0;
    z[j] = p;
  }
  T* yr = y + o.y + i * g.y.s;
  for (int64_t e = 0; e < g.dv; ++e) {
    Acc acc = 0;
    for (int64_t j = 0; j < g.sk; ++j) {
      acc += z[j] * static_cast<Acc>(static_cast<float>(v[o.v + j * g.v.s + e * g.v.d]));
    }
    yr[e * g.y.d] = T(static_cast<float>(acc));
  }
}

class AttentionKernel final : public Kernel {
 public:
  AttentionKernel(AttentionConfig c, bool threaded) : c_(c), threaded_(threaded) {}

  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(AttentionGeometry g, attention_geometry(c_, args));
    const TensorView* mask = g.has_mask ? &args.inputs[3] : nullptr;
    const int64_t rows = g.batch * g.sq;
    if (rows == 0 || g.dv == 0) return Status::ok();
    return dispatch_float_dtype_status(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* q = args.inputs[0].as<const T>();
      const T* k = args.inputs[1].as<const T>();
      const T* v = args.inputs[2].as<const T>();
      T* y = args.outputs[0].as<T>();
      if (!threaded_) {
        std::vector<double> z(static_cast<size_t>(g.sk));
        for (int64_t r = 0; r < rows; ++r) {
          attention_row<T, double>(g, q, k, v, y, mask, r / g.sq, r % g.sq, z.data());
        }
        return;
      }
      const int64_t work = std::max<int64_t>(1, g.sk * (g.d + g.dv));
      parallel_for(args.threads, rows, std::max<int64_t>(1, (1 << 15) / work),
                   [&](int64_t b, int64_t e) {
                     std::vector<float> z(static_cast<size_t>(g.sk));
                     for (int64_t r = b; r < e; ++r) {
                       attention_row<T, float>(g, q, k, v, y, mask, r / g.sq, r % g.sq, z.data());
                     }
                   });
    });
  }

 private:
  // Calls fn(T{}) for the float dtypes; others are an error.
  template <typename Fn>
  static Status dispatch_float_dtype_status(DataType dt, Fn&& fn) {
    switch (dt) {
      case DataType::kFloat32:
        fn(float{});
        return Status::ok();
      case DataType::kFloat16:
        fn(Half{});
        return Status::ok();
      case DataType::kBFloat16:
        fn(BFloat16{});
        return Status::ok();
      default:
        return unsupported("Attention: dtype " + std::string(dtype_name(dt)));
    }
  }

  AttentionConfig c_;
  bool threaded_;
};

bool supports(const KernelInfo& info) {
  return is_floating(info.input_dtype(0)) && attention_config(info.attrs()).is_ok();
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(AttentionConfig c, attention_config(info.attrs()));
  return std::unique_ptr<Kernel>(new AttentionKernel(c, false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(AttentionConfig c, attention_config(info.attrs()));
  return std::unique_ptr<Kernel>(new AttentionKernel(c, true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> attention_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
