// CUDA tactic of Identity ("copy": cudaMemcpyAsync device to device, skipped when input and output
// alias), shared with Reshape, Squeeze and Unsqueeze; and the device copy helpers of cuda_copy.h
// used by the other data-movement ops.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/identity/cuda_copy.h"
#include "ops/identity/identity.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace kiln::ops {

namespace cuda_copy {

namespace {

constexpr int kMax = Dims::kMaxDims;

// Index arithmetic in 32 bits where every output index and input offset fits (integer division
// is much cheaper than in 64 bits), else 64.
template <typename U, typename S>
struct Params {
  int rank;
  U dims[kMax];
  S strides[kMax];
  S offset;
};

template <typename W, typename U, typename S>
__global__ void strided_copy_kernel(const W* __restrict__ in, W* __restrict__ out, U n,
                                    Params<U, S> p) {
  const U step = static_cast<U>(gridDim.x) * blockDim.x;
  for (U o = static_cast<U>(blockIdx.x) * blockDim.x + threadIdx.x; o < n; o += step) {
    U rem = o;
    S off = p.offset;
    for (int d = p.rank - 1; d > 0; --d) {
      const U q = rem / p.dims[d];
      off += static_cast<S>(rem - q * p.dims[d]) * p.strides[d];
      rem = q;
    }
    if (p.rank > 0) off += static_cast<S>(rem) * p.strides[0];
    out[o] = in[off];
  }
}

template <typename W>
__global__ void fill_kernel(W* __restrict__ out, int64_t n, W value) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    out[i] = value;
  }
}

template <typename W, typename U, typename S>
Status launch_strided(const void* in, void* out, int64_t n, const StridedCopy& c, int sms,
                      cudaStream_t stream) {
  Params<U, S> p{};
  p.rank = c.rank;
  for (int d = 0; d < c.rank; ++d) {
    p.dims[d] = static_cast<U>(c.dims[d]);
    p.strides[d] = static_cast<S>(c.strides[d]);
  }
  p.offset = static_cast<S>(c.offset);
  strided_copy_kernel<W, U, S><<<cuda::grid_size(n, sms), cuda::kElementwiseThreads, 0, stream>>>(
      static_cast<const W*>(in), static_cast<W*>(out), static_cast<U>(n), p);
  return cuda::check_launch("strided_copy_kernel");
}

template <typename W>
Status launch_strided_word(const void* in, void* out, int64_t n, const StridedCopy& c, bool small,
                           int sms, cudaStream_t stream) {
  if (small) return launch_strided<W, uint32_t, int32_t>(in, out, n, c, sms, stream);
  return launch_strided<W, uint64_t, int64_t>(in, out, n, c, sms, stream);
}

int64_t volume(const StridedCopy& c) {
  int64_t n = 1;
  for (int d = 0; d < c.rank; ++d) n *= c.dims[d];
  return n;
}

}  // namespace

StridedCopy simplify(const StridedCopy& copy) {
  StridedCopy s;
  s.offset = copy.offset;
  for (int d = 0; d < copy.rank; ++d) {
    if (copy.dims[d] == 0) {  // nothing to copy: keep one empty dim
      StridedCopy empty;
      empty.rank = 1;
      empty.dims[0] = 0;
      empty.strides[0] = 1;
      return empty;
    }
  }
  for (int d = 0; d < copy.rank; ++d) {
    if (copy.dims[d] == 1) continue;
    // Merge into the previous kept dim when stepping the previous dim once equals stepping this
    // one through all of its extent (row-major adjacency in the input).
    if (s.rank > 0 && s.strides[s.rank - 1] == copy.strides[d] * copy.dims[d]) {
      s.dims[s.rank - 1] *= copy.dims[d];
      s.strides[s.rank - 1] = copy.strides[d];
      continue;
    }
    s.dims[s.rank] = copy.dims[d];
    s.strides[s.rank] = copy.strides[d];
    ++s.rank;
  }
  return s;
}

Status strided_copy(const void* in, void* out, size_t elem_size, const StridedCopy& copy,
                    int multiprocessors, void* stream_ptr) {
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  StridedCopy c = simplify(copy);
  const int64_t n = volume(c);
  if (n == 0) return Status::ok();
  const char* src = static_cast<const char*>(in);
  // One contiguous run (or a single element): a plain copy.
  if (c.rank == 0 || (c.rank == 1 && c.strides[0] == 1)) {
    return copy_bytes(src + c.offset * static_cast<int64_t>(elem_size), out,
                      static_cast<size_t>(n) * elem_size, stream);
  }
  // Widen elements to words of up to 16 bytes when the innermost dim is contiguous and every
  // stride, the offset, the innermost extent and both addresses are multiples of the word.
  size_t word = elem_size;
  if (c.strides[c.rank - 1] == 1) {
    for (size_t w : {size_t{16}, size_t{8}, size_t{4}, size_t{2}}) {
      if (w <= elem_size) break;
      const int64_t k = static_cast<int64_t>(w / elem_size);
      bool ok = c.dims[c.rank - 1] % k == 0 && c.offset % k == 0 && cuda::is_aligned(in, w) &&
                cuda::is_aligned(out, w);
      for (int d = 0; ok && d < c.rank - 1; ++d) ok = c.strides[d] % k == 0;
      if (!ok) continue;
      c.dims[c.rank - 1] /= k;
      for (int d = 0; d < c.rank - 1; ++d) c.strides[d] /= k;
      c.offset /= k;
      word = w;
      break;
    }
  }
  const int64_t words = volume(c);
  // 32-bit indexing when every output index and every input offset fits in int32.
  int64_t lo = c.offset, hi = c.offset;
  for (int d = 0; d < c.rank; ++d) {
    const int64_t span = (c.dims[d] - 1) * c.strides[d];
    (span < 0 ? lo : hi) += span;
  }
  const bool small = words < (int64_t{1} << 31) && lo >= 0 && hi < (int64_t{1} << 31);
  switch (word) {
    case 1:
      return launch_strided_word<uint8_t>(in, out, words, c, small, multiprocessors, stream);
    case 2:
      return launch_strided_word<uint16_t>(in, out, words, c, small, multiprocessors, stream);
    case 4:
      return launch_strided_word<uint32_t>(in, out, words, c, small, multiprocessors, stream);
    case 8:
      return launch_strided_word<uint2>(in, out, words, c, small, multiprocessors, stream);
    case 16:
      return launch_strided_word<uint4>(in, out, words, c, small, multiprocessors, stream);
    default:
      return invalid_argument("strided copy: element size " + std::to_string(elem_size));
  }
}

Status copy_bytes(const void* in, void* out, size_t bytes, void* stream) {
  if (bytes == 0 || in == out) return Status::ok();
  return cuda::cuda_status(
      cudaMemcpyAsync(out, in, bytes, cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(stream)),
      "cudaMemcpyAsync(" + std::to_string(bytes) + " bytes, device to device)");
}

Status fill(void* out, int64_t count, size_t elem_size, const void* pattern, int multiprocessors,
            void* stream_ptr) {
  if (count <= 0) return Status::ok();
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  if (elem_size != 1 && elem_size != 2 && elem_size != 4 && elem_size != 8) {
    return invalid_argument("fill: element size " + std::to_string(elem_size));
  }
  const size_t bytes = static_cast<size_t>(count) * elem_size;
  const auto* p = static_cast<const unsigned char*>(pattern);
  if (std::all_of(p, p + elem_size, [&](unsigned char b) { return b == p[0]; })) {
    return cuda::cuda_status(cudaMemsetAsync(out, p[0], bytes, stream),
                             "cudaMemsetAsync(" + std::to_string(bytes) + " bytes)");
  }
  // The pattern repeated over 16 bytes; written in the widest word that divides the size and
  // the address.
  alignas(16) unsigned char rep[16];
  for (size_t i = 0; i < 16; ++i) rep[i] = p[i % elem_size];
  size_t word = elem_size;
  for (size_t w : {size_t{16}, size_t{8}, size_t{4}, size_t{2}}) {
    if (w <= elem_size) break;
    if (bytes % w == 0 && cuda::is_aligned(out, w)) {
      word = w;
      break;
    }
  }
  const int64_t n = static_cast<int64_t>(bytes / word);
  const unsigned int grid = cuda::grid_size(n, multiprocessors);
  const int threads = cuda::kElementwiseThreads;
  switch (word) {
    case 1: {
      uint8_t v;
      std::memcpy(&v, rep, 1);
      fill_kernel<<<grid, threads, 0, stream>>>(static_cast<uint8_t*>(out), n, v);
      break;
    }
    case 2: {
      uint16_t v;
      std::memcpy(&v, rep, 2);
      fill_kernel<<<grid, threads, 0, stream>>>(static_cast<uint16_t*>(out), n, v);
      break;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, rep, 4);
      fill_kernel<<<grid, threads, 0, stream>>>(static_cast<uint32_t*>(out), n, v);
      break;
    }
    case 8: {
      uint2 v;
      std::memcpy(&v, rep, 8);
      fill_kernel<<<grid, threads, 0, stream>>>(static_cast<uint2*>(out), n, v);
      break;
    }
    default: {
      uint4 v;
      std::memcpy(&v, rep, 16);
      fill_kernel<<<grid, threads, 0, stream>>>(static_cast<uint4*>(out), n, v);
      break;
    }
  }
  return cuda::check_launch("fill_kernel");
}

}  // namespace cuda_copy

namespace {

class CudaCopyKernel final : public Kernel {
 public:
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (x.nbytes() != y.nbytes() || x.dtype != y.dtype) {
      return invalid_argument("input " + x.shape.to_string() + " and output " +
                              y.shape.to_string() + " differ in size");
    }
    return cuda_copy::copy_bytes(x.data, y.data, x.nbytes(), args.stream);
  }
};

bool supports_any(const KernelInfo& info) {
  return info.num_inputs() >= 1 && info.has_input(0) && info.input_dtype(0) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_copy(const KernelInfo& info) {
  return make_cuda_copy_kernel();
}

const TacticDef kCudaTactics[] = {
    {"copy", TacticSource::kKilnCuda, kAllDtypes, supports_any, create_copy},
};

}  // namespace

std::unique_ptr<Kernel> make_cuda_copy_kernel() {
  return std::make_unique<CudaCopyKernel>();
}

std::span<const TacticDef> identity_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
