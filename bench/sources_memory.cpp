// Device memory saved by disabling a tactic source: each configuration runs in its own process
// (library handles live for the whole process), which builds and runs a ResNet-50 stage-1 layer
// (3x3 conv 64->64 at 56x56, batch 8) and a 2048x1000 fully connected layer on the CUDA backend,
// and reports the device memory the process holds afterwards (cudaMemGetInfo, relative to right
// after CUDA initialization) and the library handles it created.
//
//   bench_sources_memory                 # all sources vs -cudnn vs -cudnn,-cublas,-cublaslt
//   bench_sources_memory --child LIST    # one configuration (used by the above)
#include <kiln/kiln.h>

#include "backends/cuda/handles.h"
#include "backends/device.h"

#include <cuda_runtime_api.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace kiln;

namespace {

std::vector<float> random_vector(size_t n, float bound) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-bound, bound);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

size_t used_bytes() {
  size_t free = 0, total = 0;
  cudaMemGetInfo(&free, &total);
  return total - free;
}

int child(const std::string& sources_text) {
  if (cudaFree(nullptr) != cudaSuccess) {
    std::printf("error: no CUDA device\n");
    return 77;
  }
  const size_t base = used_bytes();
  auto sources = parse_tactic_sources(sources_text);
  if (!sources.is_ok()) {
    std::printf("error: %s\n", sources.status().to_string().c_str());
    return 2;
  }
  Builder builder;
  auto net = builder.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {8, 64, 56, 56});
  auto w = random_vector(64 * 64 * 9, 1.f / 24.f);
  Layer* conv = net->add_convolution(x, {.out_channels = 64, .kernel = {3, 3}, .padding = {1, 1}},
                                     Weights(w));
  Layer* relu = net->add_activation(conv->output(0), ActivationType::kRelu);
  Layer* pool = net->add_pooling(relu->output(0), {.type = PoolingType::kAverage, .global = true});
  Layer* flat = net->add_shuffle(pool->output(0), {.reshape = {0, 64}, .has_reshape = true});
  auto fw = random_vector(64 * 1000, 0.1f);
  Layer* fc_w = net->add_constant({64, 1000}, Weights(fw));
  Layer* fc =
      net->add_matrix_multiply(flat->output(0), MatrixOp::kNone, fc_w->output(0), MatrixOp::kNone);
  fc->output(0)->set_name("y");
  net->mark_output(fc->output(0));
  BuildConfig config;
  config.backend = Backend::kCuda;
  config.tactic_sources = *sources;
  auto plan = builder.build_serialized_network(*net, config);
  if (!plan.is_ok()) {
    std::printf("error: %s\n", plan.status().to_string().c_str());
    return 1;
  }
  Runtime runtime;
  auto engine = runtime.deserialize(*plan);
  if (!engine.is_ok()) {
    std::printf("error: %s\n", engine.status().to_string().c_str());
    return 1;
  }
  auto ctx = (*engine)->create_context();
  auto dev = get_device(Backend::kCuda);
  if (!ctx.is_ok() || !dev.is_ok()) return 1;
  auto dx = (*dev)->allocate(8 * 64 * 56 * 56 * 4);
  auto dy = (*dev)->allocate(8 * 1000 * 4);
  if (!dx.is_ok() || !dy.is_ok()) return 1;
  if (!(*ctx)->set_tensor_address("x", dx->get()).is_ok() ||
      !(*ctx)->set_tensor_address("y", dy->get()).is_ok() || !(*ctx)->execute().is_ok()) {
    std::printf("error: run failed\n");
    return 1;
  }
  cudaDeviceSynchronize();
  std::printf("used=%zu cudnn=%zu cublas=%zu cublaslt=%zu engine_sources=%s\n", used_bytes() - base,
              cuda::handles_created(TacticSource::kCudnn),
              cuda::handles_created(TacticSource::kCublas),
              cuda::handles_created(TacticSource::kCublasLt),
              tactic_sources_to_string((*engine)->tactic_sources_used()).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--child") == 0) return child(argv[2]);
  const char* configs[] = {"all", "-cudnn", "-cudnn,-cublas,-cublaslt"};
  std::printf(
      "| tactic sources | device memory held | cuDNN / cuBLAS / cuBLASLt handles | sources used "
      "|\n");
  std::printf("|---|---|---|---|\n");
  double all_mib = -1;
  for (const char* c : configs) {
    std::string cmd = std::string("\"") + argv[0] + "\" --child '" + c + "'";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return 1;
    char line[512] = {};
    std::string out;
    while (std::fgets(line, sizeof(line), p) != nullptr) out += line;
    int rc = ::pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    size_t used = 0, cudnn = 0, cublas = 0, lt = 0;
    char used_sources[256] = {};
    if (rc != 0 ||
        std::sscanf(out.c_str(),
                    "used=%zu cudnn=%zu cublas=%zu cublaslt=%zu engine_sources=%255[^\n]", &used,
                    &cudnn, &cublas, &lt, used_sources) != 5) {
      std::printf("| %s | failed: %s | | |\n", c, out.c_str());
      if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) return 77;
      continue;
    }
    const double mib = static_cast<double>(used) / (1 << 20);
    if (all_mib < 0) all_mib = mib;
    std::printf("| %s | %.1f MiB (%+.1f MiB vs all) | %zu / %zu / %zu | %s |\n", c, mib,
                mib - all_mib, cudnn, cublas, lt, used_sources);
  }
  return 0;
}
