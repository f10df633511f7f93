// Runtime concurrency benchmarks; every ratio compares runs of this process on this machine.
//
//   multistream  the seed's three conv + ReLU scenarios (H2D-bound, compute-bound, D2H-bound):
//                stage times on one stream, then end-to-end time per inference on 1 stream and
//                with the PipelinedRunner on 2 and 4 streams (and 2 streams sharing one
//                context); the ideal ratio is max(H2D, compute, D2H) / (H2D + compute + D2H)
//   graphs       CUDA graph replay vs plain enqueue at batch 1: host time of the enqueue call
//                and latency (enqueue + synchronize), for a launch-bound chain of small layers
//                and, when given, ResNet-50 and BERT-base ONNX files
//   threads      1/2/4/8 threads, each with its own context and stream on one engine:
//                inferences per second and speed-up over one thread
//
//   kiln_runtime_bench [--backend cuda|cpu] [--only multistream,graphs,threads]
//                      [--resnet50 rn50.onnx] [--bert bert.onnx --bert-seq 128] [--fp16]
// Prints markdown tables (bench/runtime_bench.py exports the ONNX models and runs everything).
#include <kiln/device_memory.h>
#include <kiln/graph_runner.h>
#include <kiln/kiln.h>
#include <kiln/onnx.h>
#include <kiln/pipeline.h>

#include "concurrency_models.h"
#include "demo_model.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <random>
#include <thread>

using namespace kiln;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  Backend backend = Backend::kCuda;
  std::string only;
  std::string resnet50, bert;
  int bert_seq = 128;
  bool fp16 = false;
  int iterations = 50;
  bool small = false;
};

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

[[noreturn]] void die(const Status& s, const std::string& where) {
  fmt::print(stderr, "kiln_runtime_bench: {}: {}\n", where, s.to_string());
  std::exit(1);
}
#define CHECK_OK(expr, where)        \
  do {                               \
    ::kiln::Status s_ = (expr);      \
    if (!s_.is_ok()) die(s_, where); \
  } while (0)

template <typename T>
T take(Result<T> r, const std::string& where) {
  if (!r.is_ok()) die(r.status(), where);
  return std::move(*r);
}

std::unique_ptr<Engine> build_engine(const Options& o, const std::function<void(Network&)>& define,
                                     const OptimizationProfile& profile, bool fp16) {
  StderrLogger logger(Severity::kError);
  Builder builder(logger);
  auto net = builder.create_network();
  define(*net);
  CHECK_OK(net->status(), "network");
  BuildConfig config;
  config.backend = o.backend;
  config.add_profile(profile);
  if (fp16) config.set_flag(BuilderFlag::kFp16);
  auto plan = take(builder.build_serialized_network(*net, config), "build");
  return take(Runtime().deserialize(plan), "load");
}

// ---- multistream ----

struct Scenario {
  const char* name;
  int64_t b, c, h, w, c_out, k;
};

void multistream(const Options& o) {
  std::vector<Scenario> scenarios =
      o.small ? std::vector<Scenario>{{"H2D-bound", 2, 16, 64, 64, 1, 3},
                                      {"compute-bound", 2, 8, 32, 32, 8, 9},
                                      {"D2H-bound", 2, 8, 32, 32, 32, 3}}
              : std::vector<Scenario>{{"H2D-bound", 8, 64, 256, 256, 1, 3},
                                      {"compute-bound", 8, 64, 128, 128, 64, 9},
                                      {"D2H-bound", 8, 64, 128, 128, 256, 3}};
  const int n = o.iterations;
  fmt::print(
      "\n### Multi-stream: conv + ReLU, {} requests per measurement, pinned host buffers\n\n", n);
  fmt::print(
      "| scenario | H2D ms | compute ms | D2H ms | ideal ratio max/sum | 1 stream ms | "
      "2 streams ms | 4 streams ms | 2 streams, 1 context ms | 2/1 | 4/1 | 2 (1 ctx)/1 |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& s : scenarios) {
    OptimizationProfile p;
    p.set_shape("inputT0", {1, s.c, s.h, s.w}, {s.b, s.c, s.h, s.w}, {2 * s.b, s.c, s.h, s.w});
    auto engine = build_engine(
        o, [&](Network& net) { examples::build_conv_relu(net, s.c, s.h, s.w, s.c_out, s.k); }, p,
        false);
    const size_t in_bytes = static_cast<size_t>(s.b * s.c * s.h * s.w) * 4;
    const size_t out_bytes = static_cast<size_t>(s.b * s.c_out * s.h * s.w) * 4;
    std::mt19937 rng(1);
    auto data = examples::uniform(in_bytes / 4, 0.f, 1.f, rng);

    // One stream: each stage alone, then all three per request.
    auto stream = take(Stream::create(o.backend), "stream");
    auto in_h = take(PinnedMemory::allocate(o.backend, in_bytes), "pinned");
    auto out_h = take(PinnedMemory::allocate(o.backend, out_bytes), "pinned");
    auto in_d = take(DeviceMemory::allocate(o.backend, in_bytes), "device");
    auto out_d = take(DeviceMemory::allocate(o.backend, out_bytes), "device");
    std::memcpy(in_h.data(), data.data(), in_bytes);
    auto ctx = take(engine->create_context(), "context");
    CHECK_OK(ctx->set_input_shape("inputT0", {s.b, s.c, s.h, s.w}), "shape");
    CHECK_OK(ctx->set_tensor_address("inputT0", in_d.data()), "address");
    CHECK_OK(ctx->set_tensor_address("output", out_d.data()), "address");
    auto h2d = [&] { return copy_async(in_d.data(), in_h.data(), in_bytes, stream); };
    auto infer = [&] { return ctx->enqueue(stream.handle()); };
    auto d2h = [&] { return copy_async(out_h.data(), out_d.data(), out_bytes, stream); };
    auto per_run = [&](const std::function<Status()>& fn) {
      for (int i = 0; i < std::max(3, n / 5); ++i) CHECK_OK(fn(), s.name);
      CHECK_OK(stream.synchronize(), s.name);
      auto t0 = Clock::now();
      for (int i = 0; i < n; ++i) CHECK_OK(fn(), s.name);
      CHECK_OK(stream.synchronize(), s.name);
      return ms_since(t0) / n;
    };
    const double t_h2d = per_run(h2d), t_inf = per_run(infer), t_d2h = per_run(d2h);
    const double t_one = per_run([&] {
      Status st = h2d();
      if (st.is_ok()) st = infer();
      if (st.is_ok()) st = d2h();
      return st;
    });
    ctx.reset();
    auto pipelined = [&](int streams, bool shared) {
      auto runner =
          take(PipelinedRunner::create(*engine, {.streams = streams, .share_context = shared}),
               "runner");
      std::vector<PinnedMemory> ins, outs;
      for (int i = 0; i < streams; ++i) {
        ins.push_back(take(PinnedMemory::allocate(o.backend, in_bytes), "pinned"));
        outs.push_back(take(PinnedMemory::allocate(o.backend, out_bytes), "pinned"));
        std::memcpy(ins.back().data(), data.data(), in_bytes);
      }
      auto submit = [&](int i) {
        HostInput in[] = {{"inputT0", ins[i % streams].data(), {s.b, s.c, s.h, s.w}}};
        HostOutput out[] = {{"output", outs[i % streams].data(), out_bytes}};
        CHECK_OK(runner->submit(in, out).status(), "submit");
      };
      for (int i = 0; i < std::max(3, n / 5); ++i) submit(i);
      CHECK_OK(runner->wait_all(), "warm-up");
      auto t0 = Clock::now();
      for (int i = 0; i < n; ++i) submit(i);
      CHECK_OK(runner->wait_all(), "wait");
      return ms_since(t0) / n;
    };
    const double t2 = pipelined(2, false), t4 = pipelined(4, false), t2s = pipelined(2, true);
    const double ideal = std::max({t_h2d, t_inf, t_d2h}) / (t_h2d + t_inf + t_d2h);
    fmt::print(
        "| {} | {:.3f} | {:.3f} | {:.3f} | {:.2f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.2f} | "
        "{:.2f} | {:.2f} |\n",
        s.name, t_h2d, t_inf, t_d2h, ideal, t_one, t2, t4, t2s, t2 / t_one, t4 / t_one,
        t2s / t_one);
    std::fflush(stdout);
  }
}

// ---- graphs ----

struct Model {
  std::string name;
  std::unique_ptr<Engine> engine;
  std::vector<std::pair<std::string, Dims>> inputs;  // name, batch-1 shape
};

std::unique_ptr<Engine> build_onnx(const Options& o, const std::string& path,
                                   const std::vector<std::pair<std::string, Dims>>& inputs) {
  OptimizationProfile p;
  for (const auto& [name, dims] : inputs) p.set_shape(name, dims, dims, dims);
  return build_engine(
      o,
      [&](Network& net) {
        StderrLogger logger(Severity::kError);
        onnx::Parser parser(net, logger);
        CHECK_OK(parser.parse_from_file(path), "onnx import of " + path);
      },
      p, o.fp16);
}

// Buffers for every I/O tensor of `ctx` at its current shapes; inputs zero (int inputs: valid
// token ids and mask values) or uniform floats.
std::vector<DeviceMemory> bind_buffers(Backend backend, const Engine& e, Context& ctx) {
  std::vector<DeviceMemory> bufs;
  for (int i = 0; i < e.num_io_tensors(); ++i) {
    const auto& name = e.io_tensor_name(i);
    size_t bytes =
        static_cast<size_t>(ctx.tensor_shape(name).volume()) * dtype_size(e.tensor_dtype(name));
    auto m = take(DeviceMemory::allocate(backend, std::max<size_t>(bytes, 1)), "buffer");
    if (e.tensor_io_mode(name) == TensorIOMode::kInput) {
      std::vector<uint8_t> host(bytes, 0);
      if (e.tensor_dtype(name) == DataType::kFloat32) {
        std::mt19937 rng(2);
        auto v = examples::uniform(bytes / 4, 0.f, 1.f, rng);
        std::memcpy(host.data(), v.data(), bytes);
      } else if (e.tensor_dtype(name) == DataType::kInt64) {
        auto* p = reinterpret_cast<int64_t*>(host.data());
        for (size_t k = 0; k < bytes / 8; ++k) p[k] = 1;  // token 1; attention mask 1
      }
      CHECK_OK(m.copy_from_host(host.data(), bytes), "upload");
    }
    CHECK_OK(ctx.set_tensor_address(name, m.data()), "address");
    bufs.push_back(std::move(m));
  }
  return bufs;
}

void graphs(const Options& o) {
  std::vector<Model> models;
  {
    Model m{"launch-bound: 64 x (FC 256 + bias + ReLU)", nullptr, {{"x", {1, 256}}}};
    OptimizationProfile p;
    p.set_shape("x", {1, 256}, {1, 256}, {1, 256});
    m.engine = build_engine(
        o, [](Network& n) { examples::build_launch_bound(n, 64, 256); }, p, false);
    models.push_back(std::move(m));
  }
  const std::string prec = o.fp16 ? "FP16" : "FP32";
  if (!o.resnet50.empty()) {
    Model m{"ResNet-50 " + prec, nullptr, {{"x", {1, 3, 224, 224}}}};
    m.engine = build_onnx(o, o.resnet50, m.inputs);
    models.push_back(std::move(m));
  }
  if (!o.bert.empty()) {
    Dims d{1, o.bert_seq};
    Model m{"BERT-base " + prec + " seq " + std::to_string(o.bert_seq),
            nullptr,
            {{"input_ids", d}, {"attention_mask", d}}};
    m.engine = build_onnx(o, o.bert, m.inputs);
    models.push_back(std::move(m));
  }
  const int n = std::max(o.iterations, 20);
  fmt::print("\n### CUDA graph vs plain enqueue, batch 1, median of {} runs\n\n", n);
  fmt::print(
      "| model | layers | enqueue CPU ms | graph launch CPU ms | CPU ratio | enqueue latency ms | "
      "graph latency ms | latency ratio | graph fallbacks |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  for (auto& m : models) {
    auto ctx = take(m.engine->create_context(), "context");
    for (const auto& [name, dims] : m.inputs) CHECK_OK(ctx->set_input_shape(name, dims), m.name);
    auto bufs = bind_buffers(o.backend, *m.engine, *ctx);
    auto stream = take(Stream::create(o.backend), "stream");
    GraphRunner plain(*ctx, {.enabled = false}), graph(*ctx);
    auto measure = [&](GraphRunner& r, double* cpu_ms, double* latency_ms) {
      for (int i = 0; i < 5; ++i) {
        CHECK_OK(r.enqueue(stream.handle()), m.name);
        CHECK_OK(stream.synchronize(), m.name);
      }
      std::vector<double> cpu, lat;
      for (int i = 0; i < n; ++i) {
        auto t0 = Clock::now();
        CHECK_OK(r.enqueue(stream.handle()), m.name);
        cpu.push_back(ms_since(t0));
        CHECK_OK(stream.synchronize(), m.name);
        lat.push_back(ms_since(t0));
      }
      *cpu_ms = median(cpu);
      *latency_ms = median(lat);
    };
    double pc = 0, pl = 0, gc = 0, gl = 0;
    measure(plain, &pc, &pl);
    measure(graph, &gc, &gl);
    fmt::print("| {} | {} | {:.4f} | {:.4f} | {:.2f} | {:.4f} | {:.4f} | {:.2f} | {}{} |\n", m.name,
               m.engine->num_layers(), pc, gc, pc / gc, pl, gl, pl / gl, graph.stats().fallbacks,
               graph.stats().last_fallback_reason.empty()
                   ? ""
                   : " (" + graph.stats().last_fallback_reason + ")");
    std::fflush(stdout);
  }
}

// ---- threads ----

void threads(const Options& o) {
  std::vector<Model> models;
  {
    Model m{"MNIST demo batch 8", nullptr, {{"x", {8, 1, 28, 28}}}};
    m.engine = build_engine(
        o, [](Network& n) { demo::build_mnist(n); }, demo::mnist_profile(1, 8, 8), false);
    models.push_back(std::move(m));
  }
  if (!o.resnet50.empty()) {
    Model m{std::string("ResNet-50 ") + (o.fp16 ? "FP16" : "FP32") + " batch 1",
            nullptr,
            {{"x", {1, 3, 224, 224}}}};
    m.engine = build_onnx(o, o.resnet50, m.inputs);
    models.push_back(std::move(m));
  }
  const int per_thread = std::max(o.iterations, 20);
  fmt::print(
      "\n### Thread scaling: each thread has its own context and stream on one engine, "
      "{} inferences per thread (enqueue + synchronize)\n\n",
      per_thread);
  fmt::print("| model | threads | inferences/s | speed-up vs 1 thread |\n|---|---|---|---|\n");
  for (auto& m : models) {
    double base = 0;
    for (int t : {1, 2, 4, 8}) {
      struct Worker {
        std::unique_ptr<Context> ctx;
        std::vector<DeviceMemory> bufs;
        Stream stream;
      };
      std::vector<Worker> workers(t);
      for (auto& w : workers) {
        w.ctx = take(m.engine->create_context(), "context");
        for (const auto& [name, dims] : m.inputs)
          CHECK_OK(w.ctx->set_input_shape(name, dims), m.name);
        w.bufs = bind_buffers(o.backend, *m.engine, *w.ctx);
        w.stream = take(Stream::create(o.backend), "stream");
        for (int i = 0; i < 3; ++i) {
          CHECK_OK(w.ctx->enqueue(w.stream.handle()), m.name);
          CHECK_OK(w.stream.synchronize(), m.name);
        }
      }
      std::atomic<int> ready{0};
      std::atomic<bool> go{false};
      std::vector<std::thread> pool;
      std::vector<Status> status(t);
      for (int i = 0; i < t; ++i) {
        pool.emplace_back([&, i] {
          ++ready;
          while (!go.load()) std::this_thread::yield();
          for (int k = 0; k < per_thread && status[i].is_ok(); ++k) {
            status[i] = workers[i].ctx->enqueue(workers[i].stream.handle());
            if (status[i].is_ok()) status[i] = workers[i].stream.synchronize();
          }
        });
      }
      while (ready.load() < t) std::this_thread::yield();
      auto t0 = Clock::now();
      go = true;
      for (auto& th : pool) th.join();
      const double seconds = ms_since(t0) / 1000;
      for (const auto& s : status) CHECK_OK(s, m.name);
      const double rate = t * per_thread / seconds;
      if (t == 1) base = rate;
      fmt::print("| {} | {} | {:.1f} | {:.2f} |\n", m.name, t, rate, rate / base);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string backend = "cuda";
  CLI::App app{"kiln runtime concurrency benchmarks"};
  app.add_option("--backend", backend, "cuda or cpu");
  app.add_option("--only", o.only, "comma-separated: multistream, graphs, threads (default all)");
  app.add_option("--resnet50", o.resnet50, "ResNet-50 ONNX file (input 'x' [N,3,224,224])");
  app.add_option("--bert", o.bert, "BERT-base ONNX file (inputs 'input_ids', 'attention_mask')");
  app.add_option("--bert-seq", o.bert_seq, "BERT sequence length");
  app.add_flag("--fp16", o.fp16, "build the ONNX models with FP16");
  app.add_option("--iterations", o.iterations, "runs per measurement");
  app.add_flag("--small", o.small, "small multi-stream shapes (CPU, smoke tests)");
  CLI11_PARSE(app, argc, argv);
  if (backend == "cpu") {
    o.backend = Backend::kCpu;
  } else if (backend != "cuda") {
    fmt::print(stderr, "unknown backend '{}'\n", backend);
    return 2;
  }
  CHECK_OK(backend_status(o.backend), "backend");
  auto wanted = [&](const char* what) {
    return o.only.empty() || o.only.find(what) != std::string::npos;
  };
  fmt::print("kiln runtime benchmarks on {}\n", backend_name(o.backend));
  if (wanted("multistream")) multistream(o);
  if (wanted("graphs")) graphs(o);
  if (wanted("threads")) threads(o);
  return 0;
}
