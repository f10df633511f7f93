// kiln — the command-line tool (in the manner of trtexec).
//   kiln build   --model demo --profile x:1x1x28x28,8x1x28x28,32x1x28x28 --save demo.plan
//   kiln build   --onnx model.onnx --profile input:1x3x224x224,8x3x224x224,32x3x224x224
//   kiln run     --plan demo.plan --shape x:8x1x28x28 --iterations 100
//   kiln run     --plan demo.plan --cuda-graph --streams 2   (graph replay; pipelined throughput)
//   kiln inspect --plan demo.plan
//   kiln build   --onnx model.onnx --timing-cache model.cache --tactic-rules rules.json
//   kiln build   --onnx bert.onnx --fp16 --layer-precisions '*LayerNorm*:fp32,*Softmax*:fp32'
//   kiln cache   --file model.cache [--pin KEY=TACTIC] [--delete KEY] [--combine OTHER]
#include <kiln/device_memory.h>
#include <kiln/graph_runner.h>
#include <kiln/kiln.h>
#include <kiln/onnx.h>
#include <kiln/pipeline.h>
#include <kiln/tactic_selector.h>
#include <kiln/timing_cache.h>

#include "backends/device.h"
#include "core/phase_timer.h"
#include "demo_model.h"
#include "onnx/supported_ops.h"
#include "ops/op.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

bool parse_dims(const std::string& text, kiln::Dims* out) {
  std::vector<int64_t> d;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, 'x')) {
    if (part.empty()) return false;
    char* end = nullptr;
    long long v = std::strtoll(part.c_str(), &end, 10);
    if (*end != '\0') return false;
    d.push_back(v);
  }
  if (d.size() > static_cast<size_t>(kiln::Dims::kMaxDims)) return false;
  *out = kiln::Dims(std::span<const int64_t>(d));
  return true;
}

// "name:dims" -> (name, dims)
bool parse_named(const std::string& text, std::string* name, std::string* rest) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *name = text.substr(0, colon);
  *rest = text.substr(colon + 1);
  return true;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3) {
    b /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", b, units[u]);
}

int fail(const kiln::Status& s) {
  std::fprintf(stderr, "kiln: error: %s\n", s.to_string().c_str());
  return 1;
}

struct BuildOptions {
  std::string model = "demo";
  std::string onnx;  // an ONNX file to import instead of a bundled model
  std::vector<std::string> profiles;
  std::string save = "model.plan";
  std::string backend = "cpu";
  std::string layouts = "auto";
  int opt_level = 3;
  int threads = 0;
  bool fp16 = false, bf16 = false, no_tf32 = false;
  int verbose = 0;  // --verbose: info; twice: also verbose (each layer's choice, phase times)
  std::string timing_cache;  // file to read (if present) and update
  bool ignore_cache_mismatch = false;
  std::string tactic_rules;    // JSON rule file
  std::string tactic_sources;  // "-cudnn", "cublas,kiln-cuda", ...
  std::string tactic_policy = "fastest";
  std::string progress = "auto";  // auto (a terminal), on, off
  // Per-layer precision: "PATTERN:TYPE,..." (Network::set_layer_precisions), output types
  // "PATTERN:TYPE[+TYPE...],...", and obey / prefer / none (default: prefer if either is given).
  std::string layer_precisions, layer_output_types, precision_constraints;
};

// One line redrawn in place: "[#######.....]  31/53 layers  cache 20 hit, 11 tuned  4.1 s  conv3".
class ProgressBar {
 public:
  void update(const kiln::BuildProgress& p) {
    constexpr int kWidth = 30;
    const int total = std::max(p.layers_total, 1);
    const int filled = kWidth * std::min(p.layers_done, total) / total;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::string layer = p.layer.size() > 40 ? p.layer.substr(0, 37) + "..." : p.layer;
    std::string line = fmt::format("[{}] {:>4}/{} layers  cache {} hit, {} tuned  {:.1f} s  {}",
                                   bar, p.layers_done, p.layers_total, p.cache_hits, p.cache_misses,
                                   p.elapsed_ms / 1000.0, layer);
    fmt::print("\r{:<{}}", line, width_);
    width_ = std::max(width_, line.size());
    std::fflush(stdout);
  }
  void finish() {
    if (width_ > 0) fmt::print("\r{:<{}}\r", "", width_);
    std::fflush(stdout);
  }

 private:
  size_t width_ = 0;
};

// Passes log lines on, except errors (the CLI prints the parser's errors itself).
class OnnxLogger final : public kiln::Logger {
 public:
  explicit OnnxLogger(kiln::Logger& next) : next_(next) {}
  void log(kiln::Severity s, std::string_view m) override {
    if (s != kiln::Severity::kError) next_.log(s, m);
  }

 private:
  kiln::Logger& next_;
};

// Writes the plan to a file as the builder streams it out (no copy of the whole plan in memory).
// The file is created at the first byte, so a build that fails leaves an existing file alone.
// Times its writes: the "plan file write" phase.
class PlanFileWriter : public kiln::StreamWriter {
 public:
  explicit PlanFileWriter(std::string path) : path_(std::move(path)) {}
  kiln::Status write(const void* data, size_t size) override {
    const auto t0 = Clock::now();
    if (!f_.is_open()) f_.open(path_, std::ios::binary | std::ios::trunc);
    f_.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    ms_ += ms_since(t0);
    return f_ ? kiln::Status::ok() : kiln::io_error("cannot write '" + path_ + "'");
  }
  kiln::Status close() {
    const auto t0 = Clock::now();
    f_.close();
    ms_ += ms_since(t0);
    return f_ ? kiln::Status::ok() : kiln::io_error("cannot write '" + path_ + "'");
  }
  double ms() const { return ms_; }

 private:
  std::string path_;
  std::ofstream f_;
  double ms_ = 0;
};

int run_build(const BuildOptions& o) {
  const std::string& model = o.model;
  const std::vector<std::string>& profile_args = o.profiles;
  const std::string& save = o.save;
  const int opt_level = o.opt_level, threads = o.threads;
  kiln::StderrLogger logger(o.verbose >= 2   ? kiln::Severity::kVerbose
                            : o.verbose == 1 ? kiln::Severity::kInfo
                                             : kiln::Severity::kWarning);
  kiln::PhaseTimer phases;  // the whole command (verbose log)
  // The CUDA device (context, memory pool, copy stream: about 0.2 s on an H100) is made on
  // another thread while the model is imported; the build finds it ready (it is made once, by
  // whichever thread asks first, and every thread may use it). Joined on return.
  std::jthread device_setup;
  if (o.backend == "cuda") {
    device_setup = std::jthread([] { (void)kiln::get_device(kiln::Backend::kCuda); });
  }
  kiln::Builder builder(logger);
  auto net = builder.create_network();
  const std::string model_name = o.onnx.empty() ? model : o.onnx;
  if (!o.onnx.empty()) {
    // The parser's errors are printed once each, one per line, below.
    OnnxLogger parser_logger(logger);
    kiln::onnx::Parser parser(*net, parser_logger);
    kiln::Status s = parser.parse_from_file(o.onnx);
    if (!s.is_ok()) {
      for (const auto& e : parser.errors()) {
        std::fprintf(stderr, "kiln: onnx: %s\n", e.to_string().c_str());
      }
      std::fprintf(stderr, "kiln: error: cannot import '%s' (%zu error%s)\n", o.onnx.c_str(),
                   parser.errors().size(), parser.errors().size() == 1 ? "" : "s");
      return 1;
    }
  } else if (model == "demo") {
    kiln::demo::build_mnist(*net);
  } else {
    std::fprintf(stderr, "kiln: error: unknown model '%s' (available: demo; or --onnx FILE)\n",
                 model.c_str());
    return 2;
  }
  if (!o.layer_precisions.empty()) {
    auto n = net->set_layer_precisions(o.layer_precisions);
    if (!n.is_ok()) return fail(n.status());  // "layer precisions: ..."
    fmt::print("--layer-precisions: {} layer(s) constrained\n", *n);
  }
  if (!o.layer_output_types.empty()) {
    auto n = net->set_layer_output_types(o.layer_output_types);
    if (!n.is_ok()) return fail(n.status());
    fmt::print("--layer-output-types: {} layer(s) constrained\n", *n);
  }
  phases.lap("model import");
  kiln::BuildConfig config;
  config.optimization_level = opt_level;
  config.cpu_threads = threads;
  if (o.backend == "cuda") {
    config.backend = kiln::Backend::kCuda;
  } else if (o.backend != "cpu") {
    std::fprintf(stderr, "kiln: error: unknown backend '%s' (cpu or cuda)\n", o.backend.c_str());
    return 2;
  }
  if (o.layouts == "nchw") {
    config.layouts = kiln::LayoutPolicy::kNchw;
  } else if (o.layouts == "nhwc") {
    config.layouts = kiln::LayoutPolicy::kNhwc;
  } else if (o.layouts != "auto") {
    std::fprintf(stderr, "kiln: error: unknown --layouts '%s' (auto, nchw or nhwc)\n",
                 o.layouts.c_str());
    return 2;
  }
  if (!o.tactic_sources.empty()) {
    auto sources = kiln::parse_tactic_sources(o.tactic_sources);
    if (!sources.is_ok()) return fail(sources.status().with_context("--tactic-sources"));
    config.tactic_sources = *sources;
  }
  if (o.tactic_policy == "smallest-workspace") {
    config.tactic_selector = kiln::make_smallest_workspace_selector();
  } else if (o.tactic_policy != "fastest") {
    std::fprintf(stderr,
                 "kiln: error: unknown --tactic-policy '%s' (fastest or smallest-workspace)\n",
                 o.tactic_policy.c_str());
    return 2;
  }
  if (!o.tactic_rules.empty()) {
    if (o.tactic_policy != "fastest") {
      std::fprintf(stderr, "kiln: error: --tactic-rules and --tactic-policy cannot be combined\n");
      return 2;
    }
    auto rules = kiln::load_tactic_rules(o.tactic_rules);
    if (!rules.is_ok()) return fail(rules.status());
    config.tactic_selector = *rules;
  }
  std::shared_ptr<kiln::TimingCache> cache;
  bool cache_file_read = false;  // an existing, valid file: a build that times nothing keeps it
  if (!o.timing_cache.empty()) {
    std::error_code exists_error;
    const bool existed = std::filesystem::exists(o.timing_cache, exists_error);
    auto loaded = kiln::TimingCache::load_or_create(o.timing_cache);
    if (loaded.is_ok()) {
      cache = *loaded;
      cache_file_read = existed;
    } else {
      // A corrupt cache must not stop the build: go on without it (it is replaced when saved).
      std::fprintf(stderr, "kiln: warning: %s; building without it\n",
                   loaded.status().to_string().c_str());
      cache = kiln::TimingCache::create();
    }
    config.timing_cache = cache;
    config.ignore_timing_cache_mismatch = o.ignore_cache_mismatch;
    phases.lap("timing cache load");
  }
  const bool show_progress =
      o.progress == "on" || (o.progress == "auto" && ::isatty(STDOUT_FILENO) == 1);
  ProgressBar bar;
  kiln::BuildProgress last_progress;
  config.progress = [&](const kiln::BuildProgress& p) {
    last_progress = p;
    if (show_progress) bar.update(p);
  };
  if (o.fp16) config.set_flag(kiln::BuilderFlag::kFp16);
  if (o.bf16) config.set_flag(kiln::BuilderFlag::kBf16);
  if (o.no_tf32) config.clear_flag(kiln::BuilderFlag::kTf32);
  std::string constraints = o.precision_constraints;
  if (constraints.empty()) {
    const bool any = !o.layer_precisions.empty() || !o.layer_output_types.empty();
    constraints = any ? "prefer" : "none";
  }
  if (constraints == "obey") config.set_flag(kiln::BuilderFlag::kObeyPrecisionConstraints);
  if (constraints == "prefer") config.set_flag(kiln::BuilderFlag::kPreferPrecisionConstraints);
  // "--profile [K@]NAME:MIN,OPT,MAX": K is the profile index (default 0); repeat the option for
  // every input of every profile. Indices must be 0..P-1 without gaps.
  std::map<int, kiln::OptimizationProfile> profiles;
  for (const auto& full_arg : profile_args) {
    int index = 0;
    std::string arg = full_arg;
    if (size_t at = arg.find('@'); at != std::string::npos) {
      char* end = nullptr;
      long k = std::strtol(arg.c_str(), &end, 10);
      if (end != arg.c_str() + at || k < 0 || k > 1024) {
        std::fprintf(stderr,
                     "kiln: error: --profile '%s': the profile index before '@' is not a number in "
                     "0..1024\n",
                     full_arg.c_str());
        return 2;
      }
      index = static_cast<int>(k);
      arg = arg.substr(at + 1);
    }
    std::string name, rest;
    if (!parse_named(arg, &name, &rest)) {
      std::fprintf(stderr, "kiln: error: --profile '%s' is not [K@]NAME:MIN,OPT,MAX\n",
                   full_arg.c_str());
      return 2;
    }
    std::vector<std::string> parts;
    std::stringstream ss(rest);
    std::string p;
    while (std::getline(ss, p, ',')) parts.push_back(p);
    kiln::Dims dims[3];
    if (parts.size() != 3 || !parse_dims(parts[0], &dims[0]) || !parse_dims(parts[1], &dims[1]) ||
        !parse_dims(parts[2], &dims[2])) {
      std::fprintf(
          stderr,
          "kiln: error: --profile '%s' is not [K@]NAME:MIN,OPT,MAX (dims like 1x3x224x224)\n",
          full_arg.c_str());
      return 2;
    }
    profiles[index].set_shape(name, dims[0], dims[1], dims[2]);
  }
  for (auto& [index, prof] : profiles) {
    if (index != static_cast<int>(config.profiles.size())) {
      std::fprintf(
          stderr,
          "kiln: error: --profile indices must be 0, 1, ... without gaps (profile %d is missing)\n",
          static_cast<int>(config.profiles.size()));
      return 2;
    }
    config.add_profile(std::move(prof));
  }
  if (config.profiles.empty() && o.onnx.empty() && model == "demo") {
    config.add_profile(kiln::demo::mnist_profile(1, 8, 32));
  }
  phases.lap("options");
  auto t0 = Clock::now();
  PlanFileWriter file(save);
  auto plan_size = builder.build_serialized_network_to_stream(*net, config, file);
  if (show_progress) bar.finish();
  if (!plan_size.is_ok()) return fail(plan_size.status());
  if (auto s = file.close(); !s.is_ok()) return fail(s);
  // The build's time without the file writes (which happened as the plan was serialized).
  double build_ms = ms_since(t0) - file.ms();
  phases.lap("build");
  phases.transfer("build", "plan file write", file.ms());
  if (cache && (last_progress.cache_misses > 0 || !cache_file_read)) {
    // Merge: builds of other models saving the same file at the same time keep their entries.
    if (auto s = cache->save(o.timing_cache, kiln::TimingCache::SaveMode::kMerge); !s.is_ok()) {
      return fail(s);
    }
    fmt::print("timing cache '{}': {} layers from the cache, {} tuned; {} entries saved\n",
               o.timing_cache, last_progress.cache_hits, last_progress.cache_misses, cache->size());
    phases.lap("timing cache save");
  } else if (cache) {
    // Every layer came from the file: the build added nothing, so the file is left as it is
    // (a save rewrites and fsyncs it, which right after the plan's write also waits for the
    // plan's data to reach the disk).
    fmt::print("timing cache '{}': {} layers from the cache, {} tuned; unchanged, not saved\n",
               o.timing_cache, last_progress.cache_hits, last_progress.cache_misses);
  }
  logger.log(kiln::Severity::kVerbose, "kiln build phases: " + phases.summary());
  fmt::print(
      "built '{}' for {} in {:.1f} ms: {} profile(s), engine size {} ({} bytes), saved to {}\n",
      model_name, o.backend, build_ms, config.profiles.size(),
      human_bytes(static_cast<double>(*plan_size)), *plan_size, save);
  return 0;
}

// Raw little-endian tensor files "<dir>/<tensor name>.bin" for --load-inputs / --save-outputs.
std::string tensor_file(const std::string& dir, const std::string& name) {
  std::string safe = name;
  for (char& c : safe) {
    if (c == '/' || c == ':' || c == ' ') c = '_';
  }
  return dir + "/" + safe + ".bin";
}

struct RunOptions {
  bool cuda_graph = false;    // time replays of a CUDA graph (GraphRunner) instead of plain enqueue
  int streams = 0;            // > 0: also measure throughput with a PipelinedRunner of that many
  bool dump_profile = false;  // per-layer times (a Profiler: synchronizes after every layer)
};

// Throughput of `iterations` requests (host inputs -> H2D -> inference -> D2H -> host outputs)
// kept in flight over `streams` lanes.
int run_pipelined(const kiln::Engine& engine, const kiln::Context& ctx, int profile,
                  const std::vector<std::vector<uint8_t>>& buffers, int iterations, int warmup,
                  const RunOptions& ro) {
  auto runner = kiln::PipelinedRunner::create(
      engine, {.streams = ro.streams, .profile = profile, .cuda_graphs = ro.cuda_graph});
  if (!runner.is_ok()) return fail(runner.status());
  // Each lane gets its own output buffers (several requests are in flight at once).
  std::vector<std::vector<std::vector<uint8_t>>> outputs(ro.streams, buffers);
  auto submit = [&](int i) -> kiln::Status {
    std::vector<kiln::HostInput> in;
    std::vector<kiln::HostOutput> out;
    auto& lane_out = outputs[i % ro.streams];
    for (int k = 0; k < engine.num_io_tensors(); ++k) {
      const auto& name = engine.io_tensor_name(k);
      if (engine.tensor_io_mode(name) == kiln::TensorIOMode::kInput) {
        in.push_back({name, buffers[k].data(), ctx.tensor_shape(name)});
      } else {
        out.push_back({name, lane_out[k].data(), lane_out[k].size()});
      }
    }
    return (*runner)->submit(in, out).status();
  };
  for (int i = 0; i < std::max(warmup, ro.streams); ++i) {
    if (auto s = submit(i); !s.is_ok()) return fail(s);
  }
  if (auto s = (*runner)->wait_all(); !s.is_ok()) return fail(s);
  auto t0 = Clock::now();
  for (int i = 0; i < std::max(iterations, 1); ++i) {
    if (auto s = submit(i); !s.is_ok()) return fail(s);
  }
  if (auto s = (*runner)->wait_all(); !s.is_ok()) return fail(s);
  double ms = ms_since(t0);
  int n = std::max(iterations, 1);
  fmt::print(
      "pipelined over {} stream(s){}: {} requests (copies included) in {:.1f} ms: {:.3f} ms "
      "per request, {:.1f} requests/s\n",
      ro.streams, ro.cuda_graph ? " with CUDA graphs" : "", n, ms, ms / n, 1000.0 * n / ms);
  return 0;
}

// Collects per-layer times over several runs for `kiln run --dump-profile` (what trtexec's
// --dumpProfile shows): the median per layer, in execution order, and its share of the sum.
class LayerTimes final : public kiln::Profiler {
 public:
  void report_layer_time(std::string_view layer_name, float milliseconds) override {
    auto [it, inserted] = index_.try_emplace(std::string(layer_name), names_.size());
    if (inserted) {
      names_.emplace_back(layer_name);
      times_.emplace_back();
    }
    times_[it->second].push_back(milliseconds);
  }
  void print() const {
    std::vector<double> medians;
    double total = 0;
    for (auto t : times_) {
      std::sort(t.begin(), t.end());
      medians.push_back(t[t.size() / 2]);
      total += medians.back();
    }
    fmt::print("per-layer profile (median of {} runs, synchronized after every layer):\n",
               times_.empty() ? 0 : times_.front().size());
    fmt::print("  {:>9} {:>6}  {}\n", "ms", "%", "layer");
    for (size_t i = 0; i < names_.size(); ++i) {
      fmt::print("  {:9.4f} {:6.2f}  {}\n", medians[i],
                 total > 0 ? 100.0 * medians[i] / total : 0.0, names_[i]);
    }
    fmt::print("  {:9.4f} {:6.2f}  (sum of {} layers)\n", total, 100.0, names_.size());
  }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::string> names_;
  std::vector<std::vector<float>> times_;
};

int run_plan(const std::string& path, const std::vector<std::string>& shape_args, int profile,
             int iterations, int warmup, int print_count, const std::string& load_dir,
             const std::string& save_dir, const RunOptions& ro) {
  kiln::Runtime runtime;
  auto t0 = Clock::now();
  auto engine_r = runtime.deserialize_file(path);
  if (!engine_r.is_ok()) return fail(engine_r.status());
  auto& engine = **engine_r;
  double load_ms = ms_since(t0);
  auto ctx_r = engine.create_context();
  if (!ctx_r.is_ok()) return fail(ctx_r.status());
  auto& ctx = **ctx_r;
  if (auto s = ctx.set_optimization_profile(profile); !s.is_ok()) return fail(s);

  for (const auto& arg : shape_args) {
    std::string name, rest;
    kiln::Dims d;
    if (!parse_named(arg, &name, &rest) || !parse_dims(rest, &d)) {
      std::fprintf(stderr, "kiln: error: --shape '%s' is not NAME:DIMS (like x:8x1x28x28)\n",
                   arg.c_str());
      return 2;
    }
    if (auto s = ctx.set_input_shape(name, d); !s.is_ok()) return fail(s);
  }
  // Inputs without a --shape take the profile's opt shape.
  for (int i = 0; i < engine.num_io_tensors(); ++i) {
    const auto& name = engine.io_tensor_name(i);
    if (engine.tensor_io_mode(name) != kiln::TensorIOMode::kInput) continue;
    if (ctx.tensor_shape(name).has_dynamic()) {
      auto r = engine.profile_shape(name, profile);
      if (!r.is_ok()) return fail(r.status());
      if (auto s = ctx.set_input_shape(name, r->opt); !s.is_ok()) return fail(s);
    }
  }
  // Buffers: host staging plus device memory (the same memory on the CPU backend); inputs get
  // deterministic data.
  auto device_r = kiln::get_device(engine.backend());
  if (!device_r.is_ok()) return fail(device_r.status());
  kiln::Device* device = *device_r;
  std::vector<std::vector<uint8_t>> buffers(engine.num_io_tensors());
  std::vector<kiln::DeviceBuffer> device_buffers(engine.num_io_tensors());
  std::mt19937 rng(7);
  for (int i = 0; i < engine.num_io_tensors(); ++i) {
    const auto& name = engine.io_tensor_name(i);
    kiln::Dims shape = ctx.tensor_shape(name);
    size_t bytes =
        static_cast<size_t>(shape.volume()) * kiln::dtype_size(engine.tensor_dtype(name));
    buffers[i].assign(std::max<size_t>(bytes, 1), 0);
    if (engine.tensor_io_mode(name) == kiln::TensorIOMode::kInput &&
        engine.tensor_dtype(name) == kiln::DataType::kFloat32) {
      auto* p = reinterpret_cast<float*>(buffers[i].data());
      std::uniform_real_distribution<float> dist(0.f, 1.f);
      for (int64_t k = 0; k < shape.volume(); ++k) p[k] = dist(rng);
    }
    if (!load_dir.empty() && engine.tensor_io_mode(name) == kiln::TensorIOMode::kInput) {
      std::ifstream in(tensor_file(load_dir, name), std::ios::binary);
      if (!in) return fail(kiln::io_error("cannot read " + tensor_file(load_dir, name)));
      in.read(reinterpret_cast<char*>(buffers[i].data()), static_cast<std::streamsize>(bytes));
      if (static_cast<size_t>(in.gcount()) != bytes) {
        return fail(kiln::invalid_argument(tensor_file(load_dir, name) + " holds fewer than " +
                                           std::to_string(bytes) + " bytes"));
      }
    }
    auto buf = device->allocate(buffers[i].size());
    if (!buf.is_ok()) return fail(buf.status());
    device_buffers[i] = std::move(*buf);
    if (auto s = device->upload(device_buffers[i].get(), buffers[i].data(), buffers[i].size());
        !s.is_ok()) {
      return fail(s);
    }
    if (auto s = ctx.set_tensor_address(name, device_buffers[i].get()); !s.is_ok()) return fail(s);
  }
  // Each run: enqueue on a stream, then wait for it (plain, or a CUDA graph replay).
  auto stream = kiln::Stream::create(engine.backend());
  if (!stream.is_ok()) return fail(stream.status());
  kiln::GraphRunner graphs(ctx, {.enabled = ro.cuda_graph});
  auto run_once = [&]() -> kiln::Status {
    KILN_RETURN_IF_ERROR(graphs.enqueue(stream->handle()));
    return stream->synchronize();
  };
  for (int i = 0; i < warmup; ++i) {
    if (auto s = run_once(); !s.is_ok()) return fail(s);
  }
  std::vector<double> times;
  for (int i = 0; i < std::max(iterations, 1); ++i) {
    auto t = Clock::now();
    if (auto s = run_once(); !s.is_ok()) return fail(s);
    times.push_back(ms_since(t));
  }
  for (int i = 0; i < engine.num_io_tensors(); ++i) {
    if (engine.tensor_io_mode(engine.io_tensor_name(i)) != kiln::TensorIOMode::kOutput) continue;
    if (auto s = device->download(buffers[i].data(), device_buffers[i].get(), buffers[i].size());
        !s.is_ok()) {
      return fail(s);
    }
  }
  if (!save_dir.empty()) {
    for (int i = 0; i < engine.num_io_tensors(); ++i) {
      const auto& name = engine.io_tensor_name(i);
      if (engine.tensor_io_mode(name) != kiln::TensorIOMode::kOutput) continue;
      size_t bytes = static_cast<size_t>(ctx.tensor_shape(name).volume()) *
                     kiln::dtype_size(engine.tensor_dtype(name));
      std::ofstream out(tensor_file(save_dir, name), std::ios::binary);
      out.write(reinterpret_cast<const char*>(buffers[i].data()),
                static_cast<std::streamsize>(bytes));
      if (!out) return fail(kiln::io_error("cannot write " + tensor_file(save_dir, name)));
    }
  }
  std::sort(times.begin(), times.end());
  double mean = 0;
  for (double t : times) mean += t;
  mean /= static_cast<double>(times.size());

  fmt::print("loaded '{}' ({}, {} of weights) in {:.1f} ms\n", path,
             kiln::backend_name(engine.backend()),
             human_bytes(static_cast<double>(engine.weights_size())), load_ms);
  for (int i = 0; i < engine.num_io_tensors(); ++i) {
    const auto& name = engine.io_tensor_name(i);
    kiln::Dims shape = ctx.tensor_shape(name);
    bool is_out = engine.tensor_io_mode(name) == kiln::TensorIOMode::kOutput;
    fmt::print("  {} {} {} {}", is_out ? "output" : "input ", name,
               kiln::dtype_name(engine.tensor_dtype(name)), shape.to_string());
    if (is_out) {
      fmt::print(" =");
      int64_t n = std::min<int64_t>(shape.volume(), print_count);
      for (int64_t k = 0; k < n; ++k) {
        if (engine.tensor_dtype(name) == kiln::DataType::kInt64) {
          fmt::print(" {}", reinterpret_cast<const int64_t*>(buffers[i].data())[k]);
        } else if (engine.tensor_dtype(name) == kiln::DataType::kFloat32) {
          fmt::print(" {:.4f}", reinterpret_cast<const float*>(buffers[i].data())[k]);
        }
      }
      if (shape.volume() > n) fmt::print(" ...");
    }
    fmt::print("\n");
  }
  fmt::print(
      "latency over {} runs: mean {:.3f} ms, median {:.3f} ms, min {:.3f} ms, p99 {:.3f} ms\n",
      times.size(), mean, times[times.size() / 2], times.front(),
      times[std::min(times.size() - 1, times.size() * 99 / 100)]);
  if (ro.cuda_graph) {
    const auto& st = graphs.stats();
    fmt::print(
        "CUDA graph: {} replays, {} captures, {} updates, {} plain runs{}\n", st.replays,
        st.captures, st.updates, st.plain_runs,
        st.last_fallback_reason.empty() ? "" : " (fallback: " + st.last_fallback_reason + ")");
  }
  if (ro.dump_profile) {
    LayerTimes layer_times;
    ctx.set_profiler(&layer_times);
    for (int i = 0; i < std::max(iterations, 1); ++i) {
      if (auto s = ctx.enqueue(stream->handle()); !s.is_ok()) return fail(s);
      if (auto s = stream->synchronize(); !s.is_ok()) return fail(s);
    }
    ctx.set_profiler(nullptr);
    layer_times.print();
  }
  if (ro.streams > 0) return run_pipelined(engine, ctx, profile, buffers, iterations, warmup, ro);
  return 0;
}

// The ops support matrix: ops x backends x dtypes, and the ONNX op types the importer takes
// (scripts/gen-ops-doc.sh writes docs/ops.md from this).
int run_ops() {
  using kiln::ops::DtypeSet;
  using kiln::ops::TacticDef;
  auto short_name = [](kiln::DataType t) -> std::string_view {
    switch (t) {
      case kiln::DataType::kFloat32:
        return "f32";
      case kiln::DataType::kFloat16:
        return "f16";
      case kiln::DataType::kBFloat16:
        return "bf16";
      case kiln::DataType::kInt8:
        return "i8";
      case kiln::DataType::kUInt8:
        return "u8";
      case kiln::DataType::kInt32:
        return "i32";
      case kiln::DataType::kInt64:
        return "i64";
      case kiln::DataType::kBool:
        return "bool";
    }
    return "?";
  };
  auto dtypes = [&](DtypeSet set) {
    if (set == kiln::ops::kAllDtypes) return std::string("all");
    std::string s;
    for (kiln::DataType t : set.to_vector())
      s += (s.empty() ? "" : " ") + std::string(short_name(t));
    return s.empty() ? std::string("—") : s;
  };
  auto all_of = [](std::span<const TacticDef> tactics) {
    DtypeSet u;
    for (const TacticDef& t : tactics) u = u | t.dtypes;
    return u;
  };
  // Each tactic, with its dtypes where they are fewer than the backend's (the union).
  auto list = [&](std::span<const TacticDef> tactics, DtypeSet backend) {
    std::string s;
    for (const TacticDef& t : tactics) {
      if (!s.empty()) s += ", ";
      s += "`" + std::string(t.name) + "` (" + std::string(kiln::tactic_source_name(t.source));
      if (!(t.dtypes == backend)) s += ": " + dtypes(t.dtypes);
      s += ")";
    }
    return s.empty() ? std::string("—") : s;
  };
  fmt::print(
      "| op | dtypes of | CPU dtypes | CPU tactics | CUDA dtypes | CUDA tactics |\n"
      "|---|---|---|---|---|---|\n");
  for (const kiln::ops::OpDef* op : kiln::ops::all_ops()) {
    const auto cuda = kiln::ops::cuda_tactics(op->name);
    const DtypeSet cpu_set = all_of(op->cpu_tactics), cuda_set = all_of(cuda);
    const std::string of = op->dtype_input == kiln::ops::kDtypeOfOutput
                               ? std::string("output 0")
                               : "input " + std::to_string(op->dtype_input);
    fmt::print("| {} | {} | {} | {} | {} | {} |\n", op->name, of, dtypes(cpu_set),
               list(op->cpu_tactics, cpu_set), dtypes(cuda_set), list(cuda, cuda_set));
  }
  fmt::print(
      "\n## ONNX operators\n\n"
      "The importer's translators (default domain), each with the lowest opset it "
      "implements (docs/onnx.md says which kiln ops each becomes):\n\n");
  std::string line;
  for (const auto& op : kiln::onnx_import::supported_onnx_ops()) {
    line += (line.empty() ? "" : ", ") + fmt::format("{} ({})", op.op_type, op.since);
  }
  fmt::print("{}\n", line);
  return 0;
}

int run_inspect(const std::string& path) {
  kiln::Runtime runtime;
  auto engine = runtime.deserialize_file(path);
  if (!engine.is_ok()) return fail(engine.status());
  fmt::print("{}\n", (*engine)->inspect_json());
  return 0;
}

struct CacheOptions {
  std::string file;
  bool list = false, reset = false;
  std::vector<std::string> pins, deletes, combine;
};

// Shows and edits a timing cache file; edits are saved atomically (replacing the file).
int run_cache(const CacheOptions& o) {
  auto loaded = o.combine.empty() ? kiln::TimingCache::load(o.file)
                                  : kiln::TimingCache::load_or_create(o.file);
  if (!loaded.is_ok()) return fail(loaded.status());
  kiln::TimingCache& cache = **loaded;
  bool edited = false;
  for (const auto& other_path : o.combine) {
    auto other = kiln::TimingCache::load(other_path);
    if (!other.is_ok()) return fail(other.status());
    if (auto s = cache.combine(**other); !s.is_ok())
      return fail(s.with_context("'" + other_path + "'"));
    edited = true;
  }
  for (const auto& text : o.deletes) {
    kiln::TimingCacheKey key;
    if (!kiln::timing_cache_key_from_string(text, &key) || !cache.query(key)) {
      return fail(kiln::not_found("--delete: no entry '" + text + "'"));
    }
    if (auto s = cache.update(key, std::nullopt); !s.is_ok()) return fail(s);
    edited = true;
  }
  for (const auto& text : o.pins) {
    auto eq = text.find('=');
    kiln::TimingCacheKey key;
    if (eq == std::string::npos || !kiln::timing_cache_key_from_string(text.substr(0, eq), &key)) {
      return fail(kiln::invalid_argument("--pin '" + text + "' is not KEY=TACTIC_ID"));
    }
    if (auto s = cache.pin(key, text.substr(eq + 1)); !s.is_ok()) return fail(s);
    edited = true;
  }
  if (o.reset) {
    cache.reset();
    edited = true;
  }
  if (edited) {
    if (auto s = cache.save(o.file); !s.is_ok()) return fail(s);
  }
  auto desc = cache.descriptor();
  fmt::print("timing cache '{}': {} entries, {}\n", o.file, cache.size(),
             desc ? "for " + desc->to_string() : std::string("not used by a build yet"));
  if (o.list) {
    for (kiln::TimingCacheKey key : cache.query_keys()) {
      auto v = cache.query(key);
      if (!v) continue;
      fmt::print("{}  {}\n", kiln::timing_cache_key_to_string(key), v->signature);
      if (!v->pinned_tactic.empty()) fmt::print("    pinned: {}\n", v->pinned_tactic);
      for (const auto& t : v->tactics) {
        if (!t.supported) {
          fmt::print("    {:<48} {:>13}\n", t.tactic_id, "(not applicable)");
        } else if (t.timed()) {
          fmt::print("    {:<48} {:>10.4f} ms  workspace {}  rank {}\n", t.tactic_id, t.time_ms,
                     t.workspace, t.heuristic_rank);
        } else {
          fmt::print("    {:<48} {:>13}  workspace {}  rank {}\n", t.tactic_id, "(not timed)",
                     t.workspace, t.heuristic_rank);
        }
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kiln: build, run and inspect inference engines"};
  app.require_subcommand(1);

  BuildOptions bo;
  std::string plan_path;
  std::vector<std::string> shapes;
  int profile = 0, iterations = 20, warmup = 2, print_count = 8;

  auto* build = app.add_subcommand("build", "build an engine and save its plan");
  build->add_option("--model", bo.model, "model to build (bundled: demo)");
  build->add_option("--onnx", bo.onnx, "ONNX model file to import and build (opsets 13-21)");
  build->add_option("--profile", bo.profiles,
                    "optimization profile range [K@]NAME:MIN,OPT,MAX: K = profile index (default "
                    "0); repeat for every input of every profile");
  build->add_option("--save", bo.save, "plan file to write");
  build->add_option("--backend", bo.backend, "cpu or cuda");
  build->add_flag("--fp16", bo.fp16, "run eligible layers in float16");
  build->add_flag("--bf16", bo.bf16, "run eligible layers in bfloat16");
  build->add_flag("--no-tf32", bo.no_tf32, "no TF32 tensor cores for float32 (CUDA)");
  build->add_option("--layouts", bo.layouts,
                    "CUDA activation layouts: auto (tuned NCHW/NHWC), nchw or nhwc");
  build->add_option("--opt-level", bo.opt_level, "builder optimization level 0-5")
      ->check(CLI::Range(0, 5));
  build->add_option("--threads", bo.threads, "CPU threads for tuning (0 = all)");
  build->add_flag("--verbose", bo.verbose,
                  "log the build (twice: also each layer's tactic and the time of every phase)");
  build->add_option(
      "--timing-cache", bo.timing_cache,
      "timing cache file: read if present, updated after a build that timed something");
  build->add_flag("--ignore-cache-mismatch", bo.ignore_cache_mismatch,
                  "a timing cache of another device/version: warn and build without it");
  build->add_option("--tactic-rules", bo.tactic_rules,
                    "JSON rules that ban or force tactics by layer pattern (docs/builder.md)");
  build->add_option("--tactic-sources", bo.tactic_sources,
                    "tactic sources, e.g. -cudnn,-cublas or cublaslt,kiln-cuda (cpu-ref, cpu-blas, "
                    "cpu-opt, kiln-cuda, cublas, cublaslt, cudnn)");
  build->add_option("--tactic-policy", bo.tactic_policy, "fastest (default) or smallest-workspace");
  build->add_option("--progress", bo.progress, "progress bar: auto (on a terminal), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  build->add_option("--layer-precisions", bo.layer_precisions,
                    "per-layer compute precision PATTERN:TYPE,... (glob over layer names; fp32, "
                    "fp16, bf16; the last matching entry wins), e.g. '*LayerNorm*:fp32'");
  build->add_option("--layer-output-types", bo.layer_output_types,
                    "per-layer output types PATTERN:TYPE[+TYPE...],... (one type per output with "
                    "'+')");
  auto* constraints = build->add_option(
      "--precision-constraints", bo.precision_constraints,
      "obey (error where a constraint has no tactic), prefer (warn and fall back) or none "
      "(ignore); default: prefer when layer precisions or output types are given");
  constraints->check(CLI::IsMember({"obey", "prefer", "none"}));

  auto* run = app.add_subcommand("run", "load a plan, run it and time it");
  run->add_option("--plan", plan_path, "plan file")->required();
  run->add_option("--shape", shapes, "input shape NAME:DIMS (default: the profile's opt)");
  run->add_option("--profile-index", profile, "optimization profile to use");
  run->add_option("--iterations", iterations, "timed runs");
  run->add_option("--warmup", warmup, "untimed runs first");
  run->add_option("--print", print_count, "output values to print per tensor");
  std::string load_dir, save_dir;
  run->add_option("--load-inputs", load_dir, "read inputs from DIR/<name>.bin (raw, row-major)");
  run->add_option("--save-outputs", save_dir, "write outputs to DIR/<name>.bin (raw, row-major)");
  RunOptions ro;
  run->add_flag("--cuda-graph", ro.cuda_graph,
                "replay the inference as a CUDA graph (captured per shape; CPU: plain, says why)");
  run->add_option("--streams", ro.streams,
                  "also measure throughput with N requests in flight (PipelinedRunner: H2D, "
                  "inference and D2H of different requests overlap)")
      ->check(CLI::Range(1, 64));
  run->add_flag("--dump-profile", ro.dump_profile,
                "after the timed runs, print every layer's median time (a profiler that "
                "synchronizes after each layer)");

  auto* inspect =
      app.add_subcommand("inspect", "print an engine's layers, tactics and memory as JSON");
  inspect->add_option("--plan", plan_path, "plan file")->required();

  auto* ops = app.add_subcommand("ops",
                                 "print the ops with their tactics and dtypes, and the ONNX ops "
                                 "the importer takes (markdown)");

  CacheOptions co;
  auto* cache = app.add_subcommand("cache", "show and edit a timing cache file");
  cache->add_option("--file", co.file, "timing cache file")->required();
  cache->add_flag("--list", co.list, "print every entry: key, signature, measured tactics");
  cache->add_option("--pin", co.pins,
                    "KEY=TACTIC_ID: builds use this tactic for the key (empty: unpin)");
  cache->add_option("--delete", co.deletes, "KEY: remove an entry");
  cache->add_option("--combine", co.combine, "merge these cache files into --file");
  cache->add_flag("--reset", co.reset, "remove every entry");

  CLI11_PARSE(app, argc, argv);
  if (ops->parsed()) return run_ops();
  if (cache->parsed()) return run_cache(co);
  if (build->parsed()) return run_build(bo);
  if (run->parsed())
    return run_plan(plan_path, shapes, profile, iterations, warmup, print_count, load_dir, save_dir,
                    ro);
  if (inspect->parsed()) return run_inspect(plan_path);
  return 0;
}
