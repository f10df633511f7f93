// Overlapping copies and compute with several streams (the seed's MultiStream example, in
// kiln's API): a convolution + ReLU engine in three scenarios — host-to-device bound, compute
// bound, device-to-host bound. With one stream it times H2D, the inference and D2H separately
// and end to end; then the PipelinedRunner runs the same requests over 2 streams (each request:
// H2D, inference, D2H on its own stream with page-locked buffers), so the copies of one request
// overlap another's compute. Checks the outputs against a direct host computation (sampled) and
// the pipelined outputs against the single-stream ones.
//
//   multi_stream [h2d|compute|d2h]...   (default: all three)
// CUDA when a GPU is visible (the seed's sizes), else the CPU backend with small sizes (no
// copies there: the runner's lanes are threads).
#include <kiln/device_memory.h>
#include <kiln/kiln.h>
#include <kiln/pipeline.h>

#include "concurrency_models.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace kiln;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kWarmUp = 10, kTest = 30;

struct Scenario {
  const char* name;
  int64_t b, c, h, w, c_out, k;
};

double ms_per_run(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / kTest;
}

bool check(Status s) {
  if (!s.is_ok()) std::fprintf(stderr, "error: %s\n", s.to_string().c_str());
  return s.is_ok();
}

// Output element (n, o, y, x) of conv + bias + ReLU computed on the host in double, and the sum
// of |terms| (its rounding scale: TF32 products are good to ~2^-11 relative).
std::pair<double, double> conv_at(const Scenario& s, const std::vector<float>& x,
                                  const std::vector<float>& wt, const std::vector<float>& bias,
                                  int64_t n, int64_t o, int64_t y, int64_t xx) {
  double acc = bias[o], scale = std::fabs(bias[o]);
  const int64_t p = s.k / 2;
  for (int64_t ci = 0; ci < s.c; ++ci) {
    for (int64_t ky = 0; ky < s.k; ++ky) {
      for (int64_t kx = 0; kx < s.k; ++kx) {
        int64_t iy = y + ky - p, ix = xx + kx - p;
        if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
        double term = static_cast<double>(x[((n * s.c + ci) * s.h + iy) * s.w + ix]) *
                      wt[((o * s.c + ci) * s.k + ky) * s.k + kx];
        acc += term;
        scale += std::fabs(term);
      }
    }
  }
  return {acc > 0 ? acc : 0.0, scale};
}

bool run_scenario(Backend backend, const Scenario& s) {
  std::printf("== %s: input [%lld,%lld,%lld,%lld], conv %lldx%lld -> %lld channels (%s) ==\n",
              s.name, (long long)s.b, (long long)s.c, (long long)s.h, (long long)s.w,
              (long long)s.k, (long long)s.k, (long long)s.c_out,
              std::string(backend_name(backend)).c_str());
  Builder builder;
  auto net = builder.create_network();
  examples::build_conv_relu(*net, s.c, s.h, s.w, s.c_out, s.k);
  BuildConfig config;
  config.backend = backend;
  OptimizationProfile profile;
  profile.set_shape("inputT0", {1, s.c, s.h, s.w}, {s.b, s.c, s.h, s.w}, {2 * s.b, s.c, s.h, s.w});
  config.add_profile(profile);
  config.optimization_level = backend == Backend::kCuda ? 3 : 0;
  auto plan = builder.build_serialized_network(*net, config);
  if (!check(plan.status())) return false;
  auto engine = Runtime().deserialize(*plan);
  if (!check(engine.status())) return false;

  const size_t in_bytes = static_cast<size_t>(s.b * s.c * s.h * s.w) * 4;
  const size_t out_bytes = static_cast<size_t>(s.b * s.c_out * s.h * s.w) * 4;
  std::mt19937 rng(31193);
  auto data = examples::uniform(in_bytes / 4, 0.f, 1.f, rng);

  // ---- one stream: pinned host buffers, device buffers, one context ----
  auto stream = Stream::create(backend);
  auto in_h = PinnedMemory::allocate(backend, in_bytes);
  auto out_h = PinnedMemory::allocate(backend, out_bytes);
  auto in_d = DeviceMemory::allocate(backend, in_bytes);
  auto out_d = DeviceMemory::allocate(backend, out_bytes);
  auto ctx = (*engine)->create_context();
  if (!check(stream.status()) || !check(in_h.status()) || !check(out_h.status()) ||
      !check(in_d.status()) || !check(out_d.status()) || !check(ctx.status())) {
    return false;
  }
  std::memcpy(in_h->data(), data.data(), in_bytes);
  Context& c = **ctx;
  if (!check(c.set_input_shape("inputT0", {s.b, s.c, s.h, s.w})) ||
      !check(c.set_tensor_address("inputT0", in_d->data())) ||
      !check(c.set_tensor_address("output", out_d->data()))) {
    return false;
  }
  auto h2d = [&] { return copy_async(in_d->data(), in_h->data(), in_bytes, *stream); };
  auto d2h = [&] { return copy_async(out_h->data(), out_d->data(), out_bytes, *stream); };
  auto infer = [&] { return c.enqueue(stream->handle()); };
  // A complete inference first.
  if (!check(h2d()) || !check(infer()) || !check(d2h()) || !check(stream->synchronize()))
    return false;
  auto time_it = [&](const char* what, auto&& fn) -> double {
    for (int i = 0; i < kWarmUp; ++i) {
      if (!check(fn())) return -1;
    }
    if (!check(stream->synchronize())) return -1;
    auto t0 = Clock::now();
    for (int i = 0; i < kTest; ++i) {
      if (!check(fn())) return -1;
    }
    if (!check(stream->synchronize())) return -1;
    double ms = ms_per_run(t0);
    std::printf("%8.3f ms - 1 stream, %s\n", ms, what);
    return ms;
  };
  double t_h2d = time_it("DataCopyHtoD", h2d);
  double t_inf = time_it("Inference", infer);
  double t_d2h = time_it("DataCopyDtoH", d2h);
  double t_all = time_it("DataCopy + Inference", [&] {
    Status st = h2d();
    if (st.is_ok()) st = infer();
    if (st.is_ok()) st = d2h();
    return st;
  });
  if (t_h2d < 0 || t_inf < 0 || t_d2h < 0 || t_all < 0) return false;
  std::vector<float> single(out_bytes / 4);
  std::memcpy(single.data(), out_h->data(), out_bytes);

  // ---- two streams through the pipelined runner ----
  auto runner = PipelinedRunner::create(**engine, {.streams = 2});
  if (!check(runner.status())) return false;
  // Page-locked buffers of each in-flight request: copies go straight to and from them.
  std::vector<PinnedMemory> in_bufs, out_bufs;
  for (int i = 0; i < 2; ++i) {
    auto a = PinnedMemory::allocate(backend, in_bytes);
    auto b = PinnedMemory::allocate(backend, out_bytes);
    if (!check(a.status()) || !check(b.status())) return false;
    std::memcpy(a->data(), data.data(), in_bytes);
    in_bufs.push_back(std::move(*a));
    out_bufs.push_back(std::move(*b));
  }
  auto submit = [&](int i) -> Status {
    HostInput in[] = {{"inputT0", in_bufs[i % 2].data(), {s.b, s.c, s.h, s.w}}};
    HostOutput out[] = {{"output", out_bufs[i % 2].data(), out_bytes}};
    auto t = (*runner)->submit(in, out);  // waits for request i-2 (same buffers) first
    return t.status();
  };
  for (int i = 0; i < kWarmUp; ++i) {
    if (!check(submit(i))) return false;
  }
  if (!check((*runner)->wait_all())) return false;
  auto t0 = Clock::now();
  for (int i = 0; i < kTest; ++i) {
    if (!check(submit(i))) return false;
  }
  if (!check((*runner)->wait_all())) return false;
  double t_two = ms_per_run(t0);
  std::printf("%8.3f ms - 2 streams (PipelinedRunner), DataCopy + Inference\n", t_two);
  const double ideal = std::max({t_h2d, t_inf, t_d2h}) / (t_h2d + t_inf + t_d2h);
  std::printf("   2 streams / 1 stream = %.2f (max/sum of the stages = %.2f is the limit)\n",
              t_two / t_all, ideal);

  // ---- checks ----
  bool ok = true;
  for (int i = 0; i < 2; ++i) {
    const float* got = static_cast<const float*>(out_bufs[i].data());
    for (size_t j = 0; j < single.size(); ++j) {
      if (std::fabs(got[j] - single[j]) > 1e-5f * (1.f + std::fabs(single[j]))) {
        std::printf("pipelined output differs at %zu: %g vs %g\n", j, got[j], single[j]);
        ok = false;
        break;
      }
    }
  }
  // The weights, regenerated exactly as build_conv_relu made them.
  std::mt19937 wrng(31193);
  auto wt = examples::uniform(static_cast<size_t>(s.c_out * s.c * s.k * s.k), -1.f, 1.f, wrng);
  auto bias = examples::uniform(static_cast<size_t>(s.c_out), -1.f, 1.f, wrng);
  std::mt19937 pick(1);
  int bad = 0;
  for (int t = 0; t < 500; ++t) {
    int64_t n = pick() % s.b, o = pick() % s.c_out, y = pick() % s.h, x = pick() % s.w;
    auto [want, scale] = conv_at(s, data, wt, bias, n, o, y, x);
    float got = single[((n * s.c_out + o) * s.h + y) * s.w + x];
    if (std::fabs(got - want) > 2e-3 * scale + 1e-5) ++bad;
  }
  std::printf("check result: %s\n", ok && bad == 0 ? "True" : "False");
  if (bad) std::printf("  %d of 500 sampled outputs differ from the host computation\n", bad);
  return ok && bad == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Backend backend = backend_status(Backend::kCuda).is_ok() ? Backend::kCuda : Backend::kCpu;
  // The seed's sizes on the GPU; small ones on the CPU (same shapes of problem).
  std::vector<Scenario> all;
  if (backend == Backend::kCuda) {
    all = {{"h2d", 8, 64, 256, 256, 1, 3},
           {"compute", 8, 64, 128, 128, 64, 9},
           {"d2h", 8, 64, 128, 128, 256, 3}};
  } else {
    all = {{"h2d", 2, 16, 32, 32, 1, 3},
           {"compute", 2, 8, 16, 16, 8, 5},
           {"d2h", 2, 4, 16, 16, 32, 3}};
  }
  bool ok = true;
  int ran = 0;
  for (const auto& s : all) {
    bool wanted = argc < 2;
    for (int i = 1; i < argc; ++i) wanted |= std::string(argv[i]) == s.name;
    if (!wanted) continue;
    ok &= run_scenario(backend, s);
    ++ran;
  }
  if (ran == 0) {
    std::fprintf(stderr, "usage: multi_stream [h2d|compute|d2h]...\n");
    return 2;
  }
  return ok ? 0 : 1;
}
