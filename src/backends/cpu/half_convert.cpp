#include "backends/cpu/half_convert.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#include <cstdint>
#define KILN_HALF_X86 1
#endif

namespace kiln {

namespace {

#ifdef KILN_HALF_X86
// CPUID leaf 1: ECX bit 29 = F16C, bit 28 = AVX, bit 27 = OSXSAVE (clang 14's
// __builtin_cpu_supports does not know "f16c").
bool has_f16c() {
  static const bool yes = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    if ((c & (1u << 29)) == 0 || (c & (1u << 28)) == 0 || (c & (1u << 27)) == 0) return false;
    unsigned lo = 0, hi = 0;  // XGETBV(0): the OS saves the XMM and YMM state
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6u) == 6u;
  }();
  return yes;
}

__attribute__((target("avx,f16c"))) void to_float_f16c(const Half* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) out[i] = static_cast<float>(in[i]);
}

__attribute__((target("avx,f16c"))) void from_float_f16c(const float* in, Half* out, int64_t n) {
  // VCVTPS2PH keeps a NaN's payload; the scalar conversion writes the canonical quiet NaN
  // (sign | 0x7e00). NaNs become the float quiet NaN of their sign first, which converts to
  // exactly that, so both paths give the same bits (plans built with either are identical).
  const __m256 sign_mask = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN));
  const __m256 quiet_nan = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fc00000));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(in + i);
    const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    // Select with and / andnot / or, not blendv: GCC 12 lowers _mm256_blendv_ps in a function
    // with target("avx") to per-lane branches, 3x slower than the memory traffic (the cast of
    // BERT-base's weights: 160 ms against 60 ms on one core).
    const __m256 canonical = _mm256_or_ps(_mm256_and_ps(x, sign_mask), quiet_nan);
    x = _mm256_or_ps(_mm256_andnot_ps(nan, x), _mm256_and_ps(nan, canonical));
    __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = Half(in[i]);
}
#endif

}  // namespace

void to_float(const Half* in, float* out, int64_t n) {
#ifdef KILN_HALF_X86
  if (has_f16c()) return to_float_f16c(in, out, n);
#endif
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
}

void from_float(const float* in, Half* out, int64_t n) {
#ifdef KILN_HALF_X86
  if (has_f16c()) return from_float_f16c(in, out, n);
#endif
  for (int64_t i = 0; i < n; ++i) out[i] = Half(in[i]);
}

void to_float(const BFloat16* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_bits_to_float(in[i].bits);
}

void from_float(const float* in, BFloat16* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i].bits = float_to_bf16_bits(in[i]);
}

}  // namespace kiln
