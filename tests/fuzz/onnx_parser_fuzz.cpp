// libFuzzer target: the ONNX parser on arbitrary bytes (built with -DKILN_FUZZ=ON and clang).
//   build-fuzz/bin/onnx_parser_fuzz -max_total_time=60 corpus_dir
// Every input must either import or give errors; crashes, leaks, UB and huge allocations are
// bugs. Inputs that import cleanly are also built (small static networks), so the builder sees
// the odd graphs the importer lets through.
#include <kiln/kiln.h>
#include <kiln/onnx.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace {

class NullLogger final : public kiln::Logger {
 public:
  void log(kiln::Severity, std::string_view) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static NullLogger logger;
  kiln::Builder builder(logger);
  auto net = builder.create_network();
  kiln::onnx::ParserOptions options;
  options.max_model_bytes = 1 << 20;
  kiln::onnx::Parser parser(*net, logger, options);
  kiln::Status s = parser.parse(std::span<const uint8_t>(data, size), "/nonexistent-kiln-fuzz");
  if (s.is_ok() != parser.errors().empty()) std::abort();  // the report must match the status
  if (!s.is_ok()) return 0;
  for (int i = 0; i < net->num_inputs(); ++i) {
    kiln::Dims d = net->input(i)->dims();
    if (d.has_dynamic() || d.volume() > (1 << 14)) return 0;
  }
  kiln::BuildConfig config;
  config.optimization_level = 0;
  config.cpu_threads = 1;
  (void)builder.build_serialized_network(*net, config);
  return 0;
}
