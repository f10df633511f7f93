// CPU tactics of TopK: a reference that partial-sorts an index array per slice (workspace: one
// slice of indices), and a threaded one that keeps a k-element heap directly in the output slots
// of each slice (no scratch), slices in parallel.
#include "backends/cpu/thread_pool.h"
#include "ops/topk/topk.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kiln::ops {

namespace {

struct Params {
  int axis = 0;
  bool largest = true;
  bool sorted = true;
};

Params read_params(const KernelInfo& info) {
  Params p;
  int64_t axis = info.attrs().get_int("axis", -1);
  int64_t rank = static_cast<int64_t>(info.input(0).shape.size());
  p.axis = static_cast<int>(axis < 0 ? axis + rank : axis);
  p.largest = info.attrs().get_int("largest", 1) != 0;
  p.sorted = info.attrs().get_int("sorted", 1) != 0;
  return p;
}

struct Geometry {
  int64_t outer = 1, n = 1, inner = 1, k = 0;
};

Result<Geometry> geometry(const ExecArgs& args, int axis) {
  Geometry g;
  const Dims& s = args.inputs[0].shape;
  for (int i = 0; i < s.rank(); ++i) {
    if (i < axis)
      g.outer *= s[i];
    else if (i == axis)
      g.n = s[i];
    else
      g.inner *= s[i];
  }
  g.k = args.outputs[0].shape[axis];
  if (g.k < 0 || g.k > g.n) {
    return out_of_range("TopK: k " + std::to_string(g.k) + " is outside [0, " +
                        std::to_string(g.n) + "] (the extent of axis " + std::to_string(axis) +
                        ")");
  }
  return g;
}

// Comparison key: floats compare as float, integers as int64 (exact).
template <typename T>
using Key = std::conditional_t<std::is_same_v<T, float> || std::is_same_v<T, Half> ||
                                   std::is_same_v<T, BFloat16>,
                               float, int64_t>;

template <typename K>
bool is_nan(K v) {
  if constexpr (std::is_same_v<K, float>) return std::isnan(v);
  return false;
}

// Whether (a, ia) ranks before (b, ib): by value (NaN above all numbers), then lower index.
template <typename K>
bool better(bool largest, K a, int64_t ia, K b, int64_t ib) {
  bool na = is_nan(a), nb = is_nan(b);
  if (na || nb) {
    if (na && nb) return ia < ib;
    return largest ? na : nb;
  }
  if (a != b) return largest ? a > b : a < b;
  return ia < ib;
}

// ---- reference ----

class TopKReference final : public Kernel {
 public:
  explicit TopKReference(Params p) : p_(p) {}
  size_t workspace_size(const NodeShapes& shapes) const override {
    return static_cast<size_t>(std::max<int64_t>(shapes.inputs[0][p_.axis], 1)) * sizeof(int64_t);
  }
  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(Geometry g, geometry(args, p_.axis));
    if (g.k == 0 || args.outputs[0].numel() == 0) return Status::ok();
    if (args.workspace_size < static_cast<size_t>(g.n) * sizeof(int64_t)) {
      return resource_exhausted("TopK: workspace too small");
    }
    int64_t* idx = static_cast<int64_t*>(args.workspace);
    dispatch_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      using K = Key<T>;
      const T* x = args.inputs[0].as<T>();
      T* vals = args.outputs[0].as<T>();
      int64_t* inds = args.outputs[1].as<int64_t>();
      bool largest = p_.largest;
      for (int64_t o = 0; o < g.outer; ++o) {
        for (int64_t i = 0; i < g.inner; ++i) {
          const T* xs = x + o * g.n * g.inner + i;
          auto key = [&](int64_t a) { return static_cast<K>(xs[a * g.inner]); };
          std::iota(idx, idx + g.n, int64_t{0});
          std::partial_sort(idx, idx + g.k, idx + g.n, [&](int64_t a, int64_t b) {
            return better<K>(largest, key(a), a, key(b), b);
          });
          for (int64_t j = 0; j < g.k; ++j) {
            int64_t out = (o * g.k + j) * g.inner + i;
            vals[out] = xs[idx[j] * g.inner];
            inds[out] = idx[j];
          }
        }
      }
    });
    return Status::ok();
  }

 private:
  Params p_;
};

// ---- heap (threaded) ----

// A binary heap of (value, index) pairs stored at stride `stride` in the output slices; the root
// is the worst kept element, so a candidate only enters if it beats the root.
template <typename T>
class SliceHeap {
 public:
  using K = Key<T>;
  SliceHeap(T* vals, int64_t* inds, int64_t stride, bool largest)
      : v_(vals), ix_(inds), stride_(stride), largest_(largest) {}

  // True if slot a must sit above slot b (a is worse).
  bool worse(int64_t a, int64_t b) const {
    return better<K>(largest_, key(b), ix_[b * stride_], key(a), ix_[a * stride_]);
  }
  K key(int64_t slot) const { return static_cast<K>(v_[slot * stride_]); }
  void swap_slots(int64_t a, int64_t b) {
    std::swap(v_[a * stride_], v_[b * stride_]);
    std::swap(ix_[a * stride_], ix_[b * stride_]);
  }
  void sift_up(int64_t c) {
    while (c > 0) {
      int64_t parent = (c - 1) / 2;
      if (!worse(c, parent)) break;
      swap_slots(c, parent);
      c = parent;
    }
  }
  void sift_down(int64_t c, int64_t size) {
    for (;;) {
      int64_t l = 2 * c + 1, r = l + 1, w = c;
      if (l < size && worse(l, w)) w = l;
      if (r < size && worse(r, w)) w = r;
      if (w == c) return;
      swap_slots(c, w);
      c = w;
    }
  }
  void run(const T* x, int64_t x_stride, int64_t n, int64_t k, bool sorted) {
    int64_t size = 0;
    for (int64_t a = 0; a < n; ++a) {
      T v = x[a * x_stride];
      if (size < k) {
        v_[size * stride_] = v;
        ix_[size * stride_] = a;
        sift_up(size++);
      } else if (better<K>(largest_, static_cast<K>(v), a, key(0), ix_[0])) {
        v_[0] = v;
        ix_[0] = a;
        sift_down(0, size);
      }
    }
    if (!sorted) return;
    // Heap sort: move the worst to the back until the slots are in best-first order.
    for (int64_t end = size - 1; end > 0; --end) {
      swap_slots(0, end);
      sift_down(0, end);
    }
  }

 private:
  T* v_;
  int64_t* ix_;
  int64_t stride_;
  bool largest_;
};

class TopKHeap final : public Kernel {
 public:
  explicit TopKHeap(Params p) : p_(p) {}
  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(Geometry g, geometry(args, p_.axis));
    if (g.k == 0 || args.outputs[0].numel() == 0) return Status::ok();
    dispatch_dtype(args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* x = args.inputs[0].as<T>();
      T* vals = args.outputs[0].as<T>();
      int64_t* inds = args.outputs[1].as<int64_t>();
      int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(g.n, 1));
      parallel_for(args.threads, g.outer * g.inner, grain, [&](int64_t b, int64_t e) {
        for (int64_t s = b; s < e; ++s) {
          int64_t o = s / g.inner, i = s % g.inner;
          SliceHeap<T> heap(vals + o * g.k * g.inner + i, inds + o * g.k * g.inner + i, g.inner,
                            p_.largest);
          heap.run(x + o * g.n * g.inner + i, g.inner, g.n, g.k, p_.sorted);
        }
      });
    });
    return Status::ok();
  }

 private:
  Params p_;
};

bool supports(const KernelInfo& info) {
  return info.input_dtype(0) != DataType::kBool &&
         (!info.has_input(1) || info.input_dtype(1) == DataType::kInt64);
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new TopKReference(read_params(info)));
}
Result<std::unique_ptr<Kernel>> create_heap(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new TopKHeap(read_params(info)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kNumericDtypes, supports, create_reference},
    {"heap", TacticSource::kCpuOptimized, kNumericDtypes, supports, create_heap},
};

}  // namespace

std::span<const TacticDef> topk_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
