// Tactic selector: see what the tuner chose for every layer (report), ban that choice for one
// layer and rebuild (another tactic, same results), and do the same with a rule file as the
// CLI's --tactic-rules does. Self-checking: exits non-zero on any failure. CPU backend (the
// CUDA version of this check is tests/gpu/tuner_cuda_test.cpp, on a ResNet-50 layer).
#include <kiln/kiln.h>
#include <kiln/tactic_selector.h>

#include "demo_model.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <string>

using namespace kiln;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

// Records the final choice of every layer; optionally bans one tactic for one layer.
class BanningSelector final : public TacticSelector {
 public:
  BanningSelector(std::string layer, std::string tactic)
      : layer_(std::move(layer)), tactic_(std::move(tactic)) {}

  Result<std::vector<int>> select(const LayerContext& layer,
                                  std::span<const TacticCandidate> candidates) override {
    std::vector<int> keep;  // empty: the default choice (the fastest)
    if (layer.name != layer_) return keep;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].id != tactic_) keep.push_back(static_cast<int>(i));
    }
    return keep;
  }
  void report(const LayerContext& layer, const TacticCandidate& chosen) override {
    chosen_[layer.name] = chosen.id;
    std::printf("  %-16s %-34s %s\n", layer.name.c_str(), chosen.id.c_str(),
                chosen.timed() ? (std::to_string(chosen.time_ms) + " ms").c_str() : "(not timed)");
  }
  const std::map<std::string, std::string>& chosen() const { return chosen_; }

 private:
  std::string layer_, tactic_;
  std::map<std::string, std::string> chosen_;
};

Result<std::vector<uint8_t>> build(Backend backend, std::shared_ptr<TacticSelector> selector) {
  Builder builder;
  auto net = builder.create_network();
  demo::build_mnist(*net);
  BuildConfig config;
  config.backend = backend;
  config.add_profile(demo::mnist_profile(1, 2, 4));
  config.tactic_selector = std::move(selector);
  return builder.build_serialized_network(*net, config);
}

Result<std::vector<float>> run(const std::vector<uint8_t>& plan) {
  Runtime runtime;
  KILN_ASSIGN_OR_RETURN(auto engine, runtime.deserialize(plan));
  KILN_ASSIGN_OR_RETURN(auto ctx, engine->create_context());
  auto images = demo::demo_images(2);
  std::vector<float> prob(2);
  std::vector<int64_t> label(2);
  KILN_RETURN_IF_ERROR(ctx->set_input_shape("x", {2, 1, 28, 28}));
  KILN_RETURN_IF_ERROR(ctx->set_tensor_address("x", images.data()));
  KILN_RETURN_IF_ERROR(ctx->set_tensor_address("prob", prob.data()));
  KILN_RETURN_IF_ERROR(ctx->set_tensor_address("label", label.data()));
  KILN_RETURN_IF_ERROR(ctx->execute());
  return prob;
}

bool close(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::fabs(a[i] - b[i]) > 1e-3f) return false;
  }
  return true;
}

}  // namespace

int main() {
  const Backend backend = Backend::kCpu;
  const std::string layer = "stage2.conv";

  std::printf("default choice:\n");
  auto watcher = std::make_shared<BanningSelector>("", "");
  auto plan = build(backend, watcher);
  check(plan.is_ok(), "default build");
  if (!plan.is_ok()) return 1;
  const std::string first = watcher->chosen().at(layer);

  std::printf("with '%s' banned for %s:\n", first.c_str(), layer.c_str());
  auto banning = std::make_shared<BanningSelector>(layer, first);
  auto banned = build(backend, banning);
  check(banned.is_ok(), "build with a banned tactic");
  if (!banned.is_ok()) return 1;
  check(banning->chosen().at(layer) != first,
        layer + " got another tactic: " + banning->chosen().at(layer));

  auto want = run(*plan);
  auto got = run(*banned);
  check(want.is_ok() && got.is_ok() && close(*want, *got), "both engines give the same outputs");

  // The same ban as a rule file (kiln build --tactic-rules rules.json).
  const std::string rules_json = R"({"rules": [{"layer": ")" + layer +
                                 R"(", "action": "ban", "tactic": ")" + first + R"("}]})";
  auto rules = parse_tactic_rules(rules_json);
  check(rules.is_ok(), "rules parse: " + rules_json);
  if (!rules.is_ok()) return 1;
  auto by_rules = build(backend, *rules);
  check(by_rules.is_ok(), "build with the rule file");
  if (by_rules.is_ok()) {
    auto r = run(*by_rules);
    check(r.is_ok() && close(*want, *r), "the rule-built engine gives the same outputs");
  }
  std::printf("%s\n", failures == 0 ? "tactic_selector example: all checks passed"
                                    : "tactic_selector example: FAILED");
  return failures == 0 ? 0 : 1;
}
