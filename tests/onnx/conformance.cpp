// kiln_onnx_conformance: runs the ONNX backend test data (Debian's libonnx-testdata) through
// kiln — parse model.onnx, build an engine with a profile fixed at the test's input shapes, run
// every test_data_set_*, compare with the expected outputs (rtol 1e-3, atol 1e-7, NaN == NaN) —
// and checks each outcome against a list of expected failures.
//
//   kiln_onnx_conformance [--device cpu|cuda] [--tf32] [--data DIR] [--suite node|
//                          pytorch-converted|pytorch-operator|simple|all] [--filter SUBSTR]
//                          [--expected-failures FILE] [--update-list] [--verbose]
//
// --device cuda builds every model for the CUDA backend (inputs uploaded to device memory,
// outputs downloaded after the run) and exits 77 (ctest's skip code) when no CUDA device is
// visible. Float32 runs without TF32 unless --tf32 is given: TF32's 10-bit mantissa cannot meet
// the comparison's rtol of 1e-3 on long dot products, and conformance is about semantics.
//
// Outcomes: pass; unsupported (parse or build error whose code is kUnsupported); fail
// (anything else: a wrong result, another error). Exit status 1 when an outcome differs from the
// list ("<suite>/<test> <outcome> # reason" per line): a test that passes but is listed must be
// moved off the list, a test that fails but is not listed is a regression.
//
// Parameter inputs: kiln, like TensorRT, needs the tensors that give shapes or op parameters
// (Reshape's shape, Slice's starts, TopK's K, ...) when it builds. When a test feeds such a
// tensor as a graph input, the runner turns that input into an initializer holding the test's
// value (as a TensorRT profile fixes a shape-tensor input's value) and reports how many tests
// it did this for (--no-freeze turns it off).
#include <kiln/kiln.h>
#include <kiln/onnx.h>

#include "backends/device.h"
#include "core/tensor.h"
#include "onnx/tensor_proto.h"

#include <google/protobuf/io/coded_stream.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace pb = ::onnx;
using kiln::DataType;
using kiln::Dims;
using kiln::HostTensor;
using kiln::Status;
using kiln::StatusCode;

namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

enum class Outcome { kPass, kFail, kUnsupported };

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kFail:
      return "fail";
    case Outcome::kUnsupported:
      return "unsupported";
  }
  return "?";
}

bool parse_outcome(const std::string& s, Outcome* o) {
  if (s == "pass")
    *o = Outcome::kPass;
  else if (s == "fail")
    *o = Outcome::kFail;
  else if (s == "unsupported")
    *o = Outcome::kUnsupported;
  else
    return false;
  return true;
}

struct Result {
  Outcome outcome = Outcome::kPass;
  std::string detail;  // the error or the first mismatch
  bool froze = false;  // parameter inputs were turned into initializers
};

// Collects log messages instead of printing them.
class QuietLogger final : public kiln::Logger {
 public:
  explicit QuietLogger(bool verbose) : verbose_(verbose) {}
  void log(kiln::Severity s, std::string_view m) override {
    if (verbose_ && s <= kiln::Severity::kWarning)
      std::fprintf(stderr, "    log: %.*s\n", int(m.size()), m.data());
  }

 private:
  bool verbose_;
};

bool read_file(const fs::path& p, std::string* out) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return static_cast<bool>(f) || f.eof();
}

template <typename Msg>
bool parse_proto(const std::string& bytes, Msg* msg) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(std::numeric_limits<int>::max());
  return msg->ParseFromCodedStream(&in);
}

// Input positions that carry shapes or op parameters, per op type.
const std::map<std::string, std::vector<int>>& parameter_inputs() {
  static const std::map<std::string, std::vector<int>> m = {
      {"Reshape", {1}},
      {"Expand", {1}},
      {"Slice", {1, 2, 3, 4}},
      {"Squeeze", {1}},
      {"Unsqueeze", {1}},
      {"ConstantOfShape", {0}},
      {"TopK", {1}},
      {"Tile", {1}},
      {"Resize", {1, 2, 3}},
      {"Upsample", {1}},
      {"Pad", {1, 2, 3}},
      {"Range", {0, 1, 2}},
      {"ReduceSum", {1}},
      {"ReduceMean", {1}},
      {"ReduceMax", {1}},
      {"ReduceMin", {1}},
      {"ReduceProd", {1}},
      {"ReduceL1", {1}},
      {"ReduceL2", {1}},
      {"ReduceLogSum", {1}},
      {"ReduceLogSumExp", {1}},
      {"ReduceSumSquare", {1}},
      {"Split", {1}},
      {"OneHot", {1}},
      {"CumSum", {1}},
      {"Trilu", {1}},
      {"Dropout", {1, 2}},
      {"CenterCropPad", {1}},
      {"Col2Im", {1, 2}},
      {"DFT", {1}},
      {"MaxUnpool", {2}},
      {"HannWindow", {0}},
      {"HammingWindow", {0}},
      {"BlackmanWindow", {0}},
  };
  return m;
}

// Graph inputs (not initializers) that feed only parameter positions.
std::set<std::string> freezable_inputs(const pb::GraphProto& g) {
  std::set<std::string> inits;
  for (const auto& t : g.initializer()) inits.insert(t.name());
  std::map<std::string, bool> only_params;
  for (const auto& in : g.input()) {
    if (inits.count(in.name())) continue;
    only_params[in.name()] = false;
  }
  std::map<std::string, int> uses, param_uses;
  for (const auto& n : g.node()) {
    auto it = parameter_inputs().find(n.op_type());
    for (int i = 0; i < n.input_size(); ++i) {
      const std::string& name = n.input(i);
      if (!only_params.count(name)) continue;
      ++uses[name];
      if (it != parameter_inputs().end() &&
          std::find(it->second.begin(), it->second.end(), i) != it->second.end()) {
        ++param_uses[name];
      }
    }
  }
  std::set<std::string> out;
  for (const auto& [name, _] : only_params) {
    if (uses[name] > 0 && uses[name] == param_uses[name]) out.insert(name);
  }
  return out;
}

struct DataSet {
  std::vector<pb::TensorProto> inputs, outputs;
};

bool load_data_set(const fs::path& dir, DataSet* ds, std::string* err) {
  for (int kind = 0; kind < 2; ++kind) {
    for (int i = 0;; ++i) {
      fs::path p = dir / ((kind == 0 ? "input_" : "output_") + std::to_string(i) + ".pb");
      if (!fs::exists(p)) break;
      std::string bytes;
      pb::TensorProto t;
      if (!read_file(p, &bytes) || !parse_proto(bytes, &t)) {
        *err = "cannot read " + p.string();
        return false;
      }
      (kind == 0 ? ds->inputs : ds->outputs).push_back(std::move(t));
    }
  }
  return true;
}

Outcome error_outcome(const Status& s) {
  return s.code() == StatusCode::kUnsupported ? Outcome::kUnsupported : Outcome::kFail;
}

std::string shape_str(const Dims& d) {
  return d.to_string();
}

// Compares one output; empty string when it matches.
std::string compare(const std::string& name, const HostTensor& got, const HostTensor& want) {
  if (!(got.shape() == want.shape())) {
    return "output '" + name + "' has shape " + shape_str(got.shape()) + ", expected " +
           shape_str(want.shape());
  }
  if (got.dtype() != want.dtype()) {
    return "output '" + name + "' has dtype " + std::string(kiln::dtype_name(got.dtype())) +
           ", expected " + std::string(kiln::dtype_name(want.dtype()));
  }
  const bool exact = !kiln::is_floating(want.dtype());
  int64_t bad = 0;
  std::string first;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.get_double(i), w = want.get_double(i);
    bool ok;
    if (exact) {
      ok = got.get_int(i) == want.get_int(i);
    } else if (std::isnan(w) || std::isnan(g)) {
      ok = std::isnan(w) && std::isnan(g);
    } else if (std::isinf(w) || std::isinf(g)) {
      ok = g == w;
    } else {
      ok = std::fabs(g - w) <= kAtol + kRtol * std::fabs(w);
    }
    if (!ok && bad++ == 0) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "output '%s'[%lld] = %.9g, expected %.9g", name.c_str(),
                    static_cast<long long>(i), g, w);
      first = buf;
    }
  }
  if (bad == 0) return {};
  return first + " (" + std::to_string(bad) + " of " + std::to_string(want.numel()) + " differ)";
}

// How the engines of a run are built and fed.
struct RunConfig {
  kiln::Backend backend = kiln::Backend::kCpu;
  kiln::Device* device = nullptr;  // the CUDA device (inputs and outputs live in its memory)
  bool tf32 = false;
  bool freeze = true;
  bool verbose = false;
};

// Device memory for a tensor of `bytes` bytes (at least one byte, so empty tensors get an
// address), optionally filled from `host`.
kiln::Result<kiln::DeviceBuffer> device_copy(kiln::Device* device, const void* host, size_t bytes) {
  KILN_ASSIGN_OR_RETURN(kiln::DeviceBuffer buf, device->allocate(std::max<size_t>(bytes, 1)));
  if (host != nullptr && bytes > 0) KILN_RETURN_IF_ERROR(device->upload(buf.get(), host, bytes));
  return buf;
}

Result run_test(const fs::path& dir, const RunConfig& rc) {
  const bool freeze = rc.freeze, verbose = rc.verbose;
  Result r;
  std::string model_bytes;
  if (!read_file(dir / "model.onnx", &model_bytes)) {
    return {Outcome::kFail, "cannot read model.onnx"};
  }
  std::vector<DataSet> sets;
  std::vector<fs::path> set_dirs;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) {
      set_dirs.push_back(e.path());
    }
  }
  std::sort(set_dirs.begin(), set_dirs.end());
  for (const auto& d : set_dirs) {
    DataSet ds;
    std::string err;
    if (!load_data_set(d, &ds, &err)) return {Outcome::kUnsupported, err};
    sets.push_back(std::move(ds));
  }
  if (sets.empty()) return {Outcome::kFail, "no test_data_set_*"};

  pb::ModelProto model;
  if (!parse_proto(model_bytes, &model)) return {Outcome::kFail, "model.onnx is not a ModelProto"};
  // Graph inputs fed by the data sets: those that are not initializers, in order.
  std::set<std::string> inits;
  for (const auto& t : model.graph().initializer()) inits.insert(t.name());
  std::vector<std::string> fed;
  for (const auto& in : model.graph().input()) {
    if (!inits.count(in.name())) fed.push_back(in.name());
  }
  std::set<std::string> frozen = freeze ? freezable_inputs(model.graph()) : std::set<std::string>{};

  kiln::onnx_import::TensorReadOptions topts;
  for (size_t s = 0; s < sets.size(); ++s) {
    const DataSet& ds = sets[s];
    if (ds.inputs.size() > fed.size()) {
      return {Outcome::kFail, "data set has " + std::to_string(ds.inputs.size()) +
                                  " inputs, the model " + std::to_string(fed.size())};
    }
    // The model for this data set (parameter inputs become initializers).
    std::string bytes = model_bytes;
    std::set<std::string> frozen_now;
    if (!frozen.empty()) {
      pb::ModelProto m = model;
      auto* g = m.mutable_graph();
      for (size_t i = 0; i < ds.inputs.size(); ++i) {
        if (!frozen.count(fed[i])) continue;
        int64_t n = 1;
        for (int64_t d : ds.inputs[i].dims()) n *= d;
        if (n > 64) continue;  // parameters are small; a large tensor stays an input
        pb::TensorProto t = ds.inputs[i];
        t.set_name(fed[i]);
        *g->add_initializer() = t;
        frozen_now.insert(fed[i]);
        r.froze = true;
      }
      bytes = m.SerializeAsString();
    }
    QuietLogger logger(verbose);
    kiln::Builder builder(logger);
    auto net = builder.create_network();
    kiln::onnx::Parser parser(*net, logger);
    Status ps = parser.parse(
        std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), dir.string());
    if (!ps.is_ok()) {
      bool all_unsupported = true;
      for (const auto& e : parser.errors()) all_unsupported &= e.code == StatusCode::kUnsupported;
      return {all_unsupported ? Outcome::kUnsupported : Outcome::kFail, ps.message(), r.froze};
    }
    // Inputs: read, converted to the network's dtypes.
    std::map<std::string, HostTensor> inputs;
    for (size_t i = 0; i < ds.inputs.size(); ++i) {
      if (frozen_now.count(fed[i])) continue;
      auto t = kiln::onnx_import::read_tensor(ds.inputs[i], topts);
      if (!t.is_ok())
        return {error_outcome(t.status()), "input " + fed[i] + ": " + t.status().to_string()};
      kiln::Tensor* nt = net->find_tensor(fed[i]);
      if (nt == nullptr || !nt->is_input()) {
        return {Outcome::kFail, "input '" + fed[i] + "' is not a network input"};
      }
      HostTensor conv = *t;
      if (t->dtype() != nt->dtype()) {
        conv = HostTensor(nt->dtype(), t->shape());
        for (int64_t k = 0; k < t->numel(); ++k) {
          kiln::store_from_double(conv.data(), nt->dtype(), k, t->get_double(k));
        }
      }
      inputs[fed[i]] = std::move(conv);
    }
    kiln::BuildConfig config;
    config.optimization_level = 0;
    config.cpu_threads = 1;
    config.backend = rc.backend;
    if (!rc.tf32) config.clear_flag(kiln::BuilderFlag::kTf32);
    kiln::OptimizationProfile profile;
    bool dynamic = false;
    for (int i = 0; i < net->num_inputs(); ++i) {
      kiln::Tensor* in = net->input(i);
      auto it = inputs.find(in->name());
      if (it == inputs.end()) {
        return {Outcome::kFail, "no data for input '" + in->name() + "'", r.froze};
      }
      if (in->dims().has_dynamic()) {
        dynamic = true;
        profile.set_shape(in->name(), it->second.shape(), it->second.shape(), it->second.shape());
      }
    }
    if (dynamic) config.add_profile(profile);
    auto plan = builder.build_serialized_network(*net, config);
    if (!plan.is_ok()) return {error_outcome(plan.status()), plan.status().to_string(), r.froze};
    kiln::Runtime runtime(logger);
    auto engine = runtime.deserialize(*plan);
    if (!engine.is_ok()) return {Outcome::kFail, engine.status().to_string(), r.froze};
    auto ctx = (*engine)->create_context();
    if (!ctx.is_ok()) return {Outcome::kFail, ctx.status().to_string(), r.froze};
    // On CUDA every input and output has a device copy; on the CPU the host tensors serve.
    std::vector<kiln::DeviceBuffer> device_buffers;
    auto address_of = [&](const HostTensor& t, bool upload) -> kiln::Result<void*> {
      if (rc.device == nullptr) return t.data();
      KILN_ASSIGN_OR_RETURN(kiln::DeviceBuffer buf,
                            device_copy(rc.device, upload ? t.data() : nullptr, t.nbytes()));
      device_buffers.push_back(std::move(buf));
      return device_buffers.back().get();
    };
    for (auto& [name, t] : inputs) {
      Status s = (*ctx)->set_input_shape(name, t.shape());
      if (s.is_ok()) {
        auto addr = address_of(t, true);
        s = addr.is_ok() ? (*ctx)->set_tensor_address(name, *addr) : addr.status();
      }
      if (!s.is_ok()) return {error_outcome(s), s.to_string(), r.froze};
    }
    const auto& outs = model.graph().output();
    if (static_cast<int>(ds.outputs.size()) != outs.size()) {
      return {Outcome::kFail,
              "data set has " + std::to_string(ds.outputs.size()) + " outputs, the model " +
                  std::to_string(outs.size()),
              r.froze};
    }
    std::vector<HostTensor> results;
    for (const auto& o : outs) {
      Dims shape = (*ctx)->tensor_shape(o.name());
      if (shape.has_dynamic())
        return {Outcome::kFail, "output '" + o.name() + "' has no shape", r.froze};
      results.emplace_back((*engine)->tensor_dtype(o.name()), shape);
      auto addr = address_of(results.back(), false);
      Status s = addr.is_ok() ? (*ctx)->set_tensor_address(o.name(), *addr) : addr.status();
      if (!s.is_ok()) return {Outcome::kFail, s.to_string(), r.froze};
    }
    Status es = (*ctx)->execute();
    if (!es.is_ok()) return {error_outcome(es), es.to_string(), r.froze};
    if (rc.device != nullptr) {
      for (int j = 0; j < outs.size(); ++j) {
        Status ds = rc.device->download(results[j].data(), (*ctx)->tensor_address(outs[j].name()),
                                        results[j].nbytes());
        if (!ds.is_ok()) return {Outcome::kFail, ds.to_string(), r.froze};
      }
    }
    for (int j = 0; j < outs.size(); ++j) {
      auto want = kiln::onnx_import::read_tensor(ds.outputs[j], topts);
      if (!want.is_ok()) {
        return {error_outcome(want.status()), "expected output: " + want.status().to_string(),
                r.froze};
      }
      std::string diff = compare(outs[j].name(), results[j], *want);
      if (!diff.empty()) {
        return {Outcome::kFail, "data set " + std::to_string(s) + ": " + diff, r.froze};
      }
    }
  }
  return r;
}

struct Expected {
  Outcome outcome;
  std::string reason;
};

std::map<std::string, Expected> load_list(const std::string& path, bool* ok) {
  std::map<std::string, Expected> m;
  *ok = true;
  std::ifstream f(path);
  if (!f) {
    *ok = false;
    return m;
  }
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    auto hash = line.find('#');
    std::string reason = hash == std::string::npos ? "" : line.substr(hash + 1);
    std::string body = line.substr(0, hash);
    std::istringstream ss(body);
    std::string test, outcome;
    if (!(ss >> test)) continue;
    Expected e{Outcome::kFail, reason};
    while (!e.reason.empty() && e.reason.front() == ' ') e.reason.erase(0, 1);
    if (!(ss >> outcome) || !parse_outcome(outcome, &e.outcome) || e.outcome == Outcome::kPass) {
      std::fprintf(stderr, "%s:%d: expected '<suite>/<test> fail|unsupported # reason'\n",
                   path.c_str(), n);
      *ok = false;
      continue;
    }
    m[test] = e;
  }
  return m;
}

const std::set<std::string>& training_ops() {
  static const std::set<std::string> s = {"Adagrad", "Adam", "Momentum", "Gradient"};
  return s;
}

// A reason for a new list entry, from the error.
std::string categorize(const std::string& test, const Result& r) {
  const std::string& d = r.detail;
  auto has = [&](const char* s) { return d.find(s) != std::string::npos; };
  auto op_after = [&](const char* key) {
    auto p = d.find(key);
    if (p == std::string::npos) return std::string();
    p += std::strlen(key);
    auto e = d.find_first_of(" (:", p);
    return d.substr(p, e - p);
  };
  if (has("sequence type") || has("optional type") || has("a map type") || has("type STRING") ||
      has("Sequence") || has("Optional")) {
    return "sequence/optional/string type";
  }
  std::string op = op_after("unsupported op ");
  if (!op.empty()) {
    if (training_ops().count(op) || has("ai.onnx.preview.training"))
      return "training-only op " + op;
    if (op == "Bernoulli" || op == "RandomUniformLike" || op == "RandomNormalLike" ||
        op == "RandomUniform" || op == "RandomNormal") {
      return "random op " + op + " (no reproducible expected output)";
    }
    if (op == "NonZero" || op == "Unique" || op == "Compress" || op == "NonMaxSuppression") {
      return "data-dependent shape (" + op + ")";
    }
    if (op == "Loop" || op == "If" || op == "Scan") return "control flow (" + op + ")";
    return "op not implemented yet: " + op;
  }
  if (test.find("BFLOAT16") != std::string::npos && has("UINT16")) {
    return "the test data stores bfloat16 tensors as UINT16";
  }
  for (const char* t : {"UINT16", "INT16", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128"}) {
    if (has((std::string("type ") + t).c_str())) {
      return std::string("element type ") + t + " (kiln has no such dtype)";
    }
  }
  if (has("data-dependent") || has("depends on tensor data") || has("must be known when")) {
    return "data-dependent shape";
  }
  if (has("training")) return "training mode (random dropout)";
  if (has("(Indices)")) return "MaxPool's Indices output is not implemented";
  if (r.outcome == Outcome::kFail) return "wrong result or error: " + d.substr(0, 160);
  return d.substr(0, 160);
}

// Reasons categorize() writes; they are refreshed by --update-list (hand-written ones stay).
bool is_auto_reason(const std::string& r) {
  for (const char* p :
       {"op not implemented yet", "sequence/optional/string type", "element type",
        "data-dependent shape", "control flow", "training", "random op", "the test data stores",
        "wrong result or error", "node ", "MaxPool's Indices", "unsupported element type"}) {
    if (r.rfind(p, 0) == 0) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kiln ONNX backend-test conformance runner"};
  std::string device = "cpu", data = "/usr/include/onnx/backend/test/data", suite = "all", filter,
              list_path;
  bool update = false, verbose = false, no_freeze = false, tf32 = false;
  app.add_option("--device", device, "backend: cpu or cuda");
  app.add_flag("--tf32", tf32, "cuda: let float32 GEMMs and convolutions use TF32");
  app.add_option("--data", data, "ONNX backend test data directory");
  app.add_option("--suite", suite, "node | pytorch-converted | pytorch-operator | simple | all");
  app.add_option("--filter", filter, "only tests whose name contains this");
  app.add_option("--expected-failures", list_path, "expected-failures list to check against");
  app.add_flag("--update-list", update, "rewrite the expected-failures list from this run");
  app.add_flag("--verbose", verbose, "print every test's outcome and error");
  app.add_flag("--no-freeze", no_freeze, "do not turn parameter inputs into initializers");
  CLI11_PARSE(app, argc, argv);
  RunConfig rc;
  rc.freeze = !no_freeze;
  rc.verbose = verbose;
  rc.tf32 = tf32;
  if (device == "cuda") {
    rc.backend = kiln::Backend::kCuda;
    auto dev = kiln::get_device(kiln::Backend::kCuda);
    if (!dev.is_ok()) {
      // 77: ctest's SKIP_RETURN_CODE (no GPU here, or kiln built without CUDA).
      std::fprintf(stderr, "kiln_onnx_conformance: device 'cuda' is not available: %s\n",
                   dev.status().to_string().c_str());
      return 77;
    }
    rc.device = *dev;
    std::printf("onnx-conformance device: cuda (%s)%s\n", rc.device->info().name.c_str(),
                tf32 ? ", TF32 on" : "");
  } else if (device != "cpu") {
    std::fprintf(stderr, "kiln_onnx_conformance: unknown device '%s' (cpu or cuda)\n",
                 device.c_str());
    return 2;
  }
  std::vector<std::string> suites;
  if (suite == "all") {
    suites = {"node", "pytorch-converted", "pytorch-operator", "simple"};
  } else {
    suites = {suite};
  }

  std::map<std::string, Expected> expected;
  if (!list_path.empty()) {
    bool ok = true;
    expected = load_list(list_path, &ok);
    if (!ok && !update) {
      std::fprintf(stderr, "kiln_onnx_conformance: cannot read expected-failures list '%s'\n",
                   list_path.c_str());
      return 2;
    }
  }

  auto start = std::chrono::steady_clock::now();
  std::map<std::string, Result> results;
  int total[3] = {0, 0, 0};
  int frozen_tests = 0;
  for (const auto& s : suites) {
    fs::path sdir = fs::path(data) / s;
    if (!fs::is_directory(sdir)) {
      // 77: ctest's SKIP_RETURN_CODE (the test data package is not installed).
      std::fprintf(stderr,
                   "kiln_onnx_conformance: no suite directory %s (install libonnx-testdata)\n",
                   sdir.string().c_str());
      return 77;
    }
    std::vector<fs::path> tests;
    for (const auto& e : fs::directory_iterator(sdir)) {
      if (e.is_directory() && fs::exists(e.path() / "model.onnx")) tests.push_back(e.path());
    }
    std::sort(tests.begin(), tests.end());
    int count[3] = {0, 0, 0};
    for (const auto& t : tests) {
      std::string name = s + "/" + t.filename().string();
      if (!filter.empty() && name.find(filter) == std::string::npos) continue;
      Result r = run_test(t, rc);
      ++count[static_cast<int>(r.outcome)];
      frozen_tests += r.froze ? 1 : 0;
      if (verbose) {
        std::printf("%s %s%s%s\n", name.c_str(), outcome_name(r.outcome),
                    r.detail.empty() ? "" : ": ", r.detail.c_str());
      }
      results[name] = std::move(r);
    }
    std::printf("onnx-conformance %s: %d passed, %d failed, %d unsupported\n", s.c_str(), count[0],
                count[1], count[2]);
    for (int i = 0; i < 3; ++i) total[i] += count[i];
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("onnx-conformance total: %d passed, %d failed, %d unsupported\n", total[0], total[1],
              total[2]);
  std::printf("(%d tests ran with parameter inputs frozen to their test values; %.1f s)\n",
              frozen_tests, secs);

  if (update) {
    if (list_path.empty()) {
      std::fprintf(stderr, "--update-list needs --expected-failures FILE\n");
      return 2;
    }
    // Entries of tests not run this time stay; run tests are rewritten.
    std::map<std::string, Expected> next;
    for (const auto& [name, e] : expected) {
      if (!results.count(name)) next[name] = e;
    }
    for (const auto& [name, r] : results) {
      if (r.outcome == Outcome::kPass) continue;
      auto it = expected.find(name);
      std::string reason = it != expected.end() && it->second.outcome == r.outcome &&
                                   !is_auto_reason(it->second.reason)
                               ? it->second.reason
                               : categorize(name, r);
      for (char& ch : reason) {
        if (ch == '\n') ch = ' ';
      }
      next[name] = {r.outcome, reason};
    }
    std::ofstream f(list_path);
    const bool cuda = rc.backend == kiln::Backend::kCuda;
    f << "# ONNX backend tests that kiln" << (cuda ? "'s CUDA backend" : "")
      << " is not expected to pass: <suite>/<test> <outcome> # reason\n"
      << "# Checked by the " << (cuda ? "gpu.onnx_conformance" : "onnx.conformance")
      << " test; regenerate with kiln_onnx_conformance" << (cuda ? " --device cuda" : "")
      << " --update-list.\n";
    for (const auto& [name, e] : next) {
      f << name << " " << outcome_name(e.outcome) << " # " << e.reason << "\n";
    }
    std::printf("wrote %zu entries to %s\n", next.size(), list_path.c_str());
    return 0;
  }

  if (list_path.empty()) return 0;
  int mismatches = 0;
  for (const auto& [name, r] : results) {
    auto it = expected.find(name);
    if (r.outcome == Outcome::kPass) {
      if (it != expected.end()) {
        std::printf("NEW PASS: %s passes; move it off the list\n", name.c_str());
        ++mismatches;
      }
    } else if (it == expected.end()) {
      std::printf("REGRESSION: %s: %s: %s\n", name.c_str(), outcome_name(r.outcome),
                  r.detail.c_str());
      ++mismatches;
    } else if (it->second.outcome != r.outcome) {
      std::printf("CHANGED: %s is %s, the list says %s: %s\n", name.c_str(),
                  outcome_name(r.outcome), outcome_name(it->second.outcome), r.detail.c_str());
      ++mismatches;
    }
  }
  if (mismatches > 0) {
    std::printf("onnx-conformance: %d outcome(s) differ from %s\n", mismatches, list_path.c_str());
    return 1;
  }
  std::printf("onnx-conformance: every outcome matches %s\n", list_path.c_str());
  return 0;
}
