// CUDA graphs (the seed's CudaGraph example, in kiln's API): an identity engine with a dynamic
// [-1,-1,-1] input (profile 1x1x1 / 3x4x5 / 6x8x10). The GraphRunner runs the first enqueue of a
// shape plainly and captures it; the next enqueue of that shape replays the graph. After
// set_input_shape to another shape the runner captures again (the seed: "run once, then capture
// again, then instantiate and launch"). Each result is checked (output == input).
//
// CUDA when a GPU is visible. On the CPU backend there are no CUDA graphs: the runner falls back
// to plain enqueue and logs why (a warning), and the results are checked all the same.
#include <kiln/device_memory.h>
#include <kiln/graph_runner.h>
#include <kiln/kiln.h>

#include <cstdio>
#include <numeric>
#include <vector>

using namespace kiln;

namespace {

bool run_shape(Backend backend, Context& ctx, GraphRunner& graphs, const Stream& stream,
               const Dims& shape, int launches) {
  Status s = ctx.set_input_shape("inputT0", shape);
  std::printf("shape %s: all input shapes set? %s\n", shape.to_string().c_str(),
              ctx.all_input_shapes_specified() ? "Yes" : "No");
  const size_t n = static_cast<size_t>(shape.volume());
  std::vector<float> in(n), out(n, -1.f);
  std::iota(in.begin(), in.end(), 0.f);
  auto din = DeviceMemory::allocate(backend, n * 4);
  auto dout = DeviceMemory::allocate(backend, n * 4);
  if (s.is_ok()) s = din.status();
  if (s.is_ok()) s = dout.status();
  if (s.is_ok()) s = din->copy_from_host(in.data(), n * 4);
  if (s.is_ok()) s = ctx.set_tensor_address("inputT0", din->data());
  if (s.is_ok()) s = ctx.set_tensor_address("output", dout->data());
  bool ok = s.is_ok();
  for (int i = 0; i < launches && s.is_ok(); ++i) {
    std::fill(out.begin(), out.end(), -1.f);
    s = dout->copy_from_host(out.data(), n * 4);
    if (s.is_ok()) s = graphs.enqueue(stream.handle());  // plain + capture, then replays
    if (s.is_ok()) s = stream.synchronize();
    if (s.is_ok()) s = dout->copy_to_host(out.data(), n * 4);
    bool same = s.is_ok() && out == in;
    const auto& st = graphs.stats();
    std::printf("  run %d: check result %s (captures %llu, replays %llu)\n", i,
                same ? "True" : "False", (unsigned long long)st.captures,
                (unsigned long long)st.replays);
    ok &= same;
  }
  if (!s.is_ok()) std::fprintf(stderr, "error: %s\n", s.to_string().c_str());
  return ok && s.is_ok();
}

}  // namespace

int main() {
  const Backend backend = backend_status(Backend::kCuda).is_ok() ? Backend::kCuda : Backend::kCpu;
  Builder builder;
  auto net = builder.create_network();
  Tensor* x = net->add_input("inputT0", DataType::kFloat32, {-1, -1, -1});
  Layer* identity = net->add_identity(x);
  identity->output(0)->set_name("output");
  net->mark_output(identity->output(0));
  OptimizationProfile profile;
  profile.set_shape("inputT0", {1, 1, 1}, {3, 4, 5}, {6, 8, 10});
  BuildConfig config;
  config.backend = backend;
  config.add_profile(profile);
  auto plan = builder.build_serialized_network(*net, config);
  if (!plan.is_ok()) {
    std::fprintf(stderr, "build failed: %s\n", plan.status().to_string().c_str());
    return 1;
  }
  auto engine = Runtime().deserialize(*plan);
  if (!engine.is_ok()) return 1;
  auto ctx = (*engine)->create_context();
  auto stream = Stream::create(backend);
  if (!ctx.is_ok() || !stream.is_ok()) return 1;
  std::printf("backend: %s\n", std::string(backend_name(backend)).c_str());

  GraphRunner graphs(**ctx);
  bool ok = run_shape(backend, **ctx, graphs, *stream, {3, 4, 5}, 3);
  // New shape: the runner runs it once plainly, captures it, then replays.
  ok &= run_shape(backend, **ctx, graphs, *stream, {2, 3, 4}, 3);
  const auto& st = graphs.stats();
  if (backend == Backend::kCuda) {
    // Two shapes: one capture each; the two later runs of each shape are replays.
    ok &= st.captures == 2 && st.replays == 4 && st.fallbacks == 0;
  } else {
    std::printf("no CUDA graphs on the CPU backend: %s\n", st.last_fallback_reason.c_str());
    ok &= st.fallbacks == 6 && st.replays == 0;
  }
  std::printf("graphs: %llu captured, %llu updated, %llu replays, %llu plain runs\n",
              (unsigned long long)st.captures, (unsigned long long)st.updates,
              (unsigned long long)st.replays, (unsigned long long)st.plain_runs);
  return ok ? 0 : 1;
}
