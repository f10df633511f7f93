// Several optimization profiles (the seed's MultiProfile example, in kiln's API): one engine,
// two profiles over different shape ranges; the context selects each in turn, binds inputs of
// that profile's shapes, runs, and checks inputT0 + inputT1.
#include <kiln/kiln.h>

#include <cstdio>
#include <numeric>
#include <vector>

int main() {
  using namespace kiln;
  const Dims shape{2, 3, 4, 5};
  const int num_profiles = 2;

  Builder builder;
  auto net = builder.create_network();
  Tensor* t0 = net->add_input("inputT0", DataType::kFloat32, {-1, -1, -1, -1});
  Tensor* t1 = net->add_input("inputT1", DataType::kFloat32, {-1, -1, -1, -1});
  Layer* sum = net->add_elementwise(t0, t1, ElementWiseOp::kSum);
  net->mark_output(sum->output(0));

  BuildConfig config;
  for (int p = 0; p < num_profiles; ++p) {
    // Profile p covers (p+1)*shape .. 2*(p+1)*shape.
    Dims lo = shape, hi = shape;
    for (int d = 0; d < shape.rank(); ++d) {
      lo[d] = shape[d] * (p + 1);
      hi[d] = shape[d] * (p + 1) * 2;
    }
    OptimizationProfile profile;
    profile.set_shape("inputT0", lo, lo, hi);
    profile.set_shape("inputT1", lo, lo, hi);
    config.add_profile(profile);
  }
  auto plan = builder.build_serialized_network(*net, config);
  if (!plan.is_ok()) {
    std::fprintf(stderr, "build failed: %s\n", plan.status().to_string().c_str());
    return 1;
  }
  Runtime runtime;
  auto engine = runtime.deserialize(*plan);
  if (!engine.is_ok()) {
    std::fprintf(stderr, "load failed: %s\n", engine.status().to_string().c_str());
    return 1;
  }
  auto context = (*engine)->create_context();
  if (!context.is_ok()) return 1;
  Context& ctx = **context;
  const std::string out_name = (*engine)->io_tensor_name(2);

  bool all_ok = true;
  for (int p = 0; p < num_profiles; ++p) {
    std::printf("Use profile %d\n", p);
    Dims in_shape = shape;
    for (int d = 0; d < shape.rank(); ++d) in_shape[d] = shape[d] * (p + 1);
    Status s = ctx.set_optimization_profile(p);
    if (s.is_ok()) s = ctx.set_input_shape("inputT0", in_shape);
    if (s.is_ok()) s = ctx.set_input_shape("inputT1", in_shape);
    if (!s.is_ok()) {
      std::fprintf(stderr, "%s\n", s.to_string().c_str());
      return 1;
    }
    std::vector<float> a(static_cast<size_t>(in_shape.volume())), b(a.size()), out(a.size());
    std::iota(a.begin(), a.end(), 0.f);
    std::iota(b.begin(), b.end(), 0.f);
    for (int i = 0; i < (*engine)->num_io_tensors(); ++i) {
      const auto& name = (*engine)->io_tensor_name(i);
      std::printf("  [%d] %s %s %s\n", i,
                  (*engine)->tensor_io_mode(name) == TensorIOMode::kInput ? "input " : "output",
                  ctx.tensor_shape(name).to_string().c_str(), name.c_str());
    }
    ctx.set_tensor_address("inputT0", a.data()).ignore();
    ctx.set_tensor_address("inputT1", b.data()).ignore();
    ctx.set_tensor_address(out_name, out.data()).ignore();
    s = ctx.execute();
    if (!s.is_ok()) {
      std::fprintf(stderr, "%s\n", s.to_string().c_str());
      return 1;
    }
    bool ok = true;
    for (size_t i = 0; i < out.size(); ++i) ok &= out[i] == a[i] + b[i];
    std::printf("check result of optimization profile %d: %s\n", p, ok ? "True" : "False");
    all_ok &= ok;
  }
  return all_ok ? 0 : 1;
}
