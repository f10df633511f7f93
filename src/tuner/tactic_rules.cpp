// Rule files for the tactic selector (the CLI's --tactic-rules): ban or force tactics by
// layer-name pattern and tactic id/name pattern or source. Format in <kiln/tactic_selector.h>.
#include <kiln/tactic_selector.h>

#include <nlohmann/json.hpp>

#include <fnmatch.h>

#include <fstream>
#include <sstream>

namespace kiln {

namespace {

struct Rule {
  std::string layer;   // glob
  bool force = false;  // else ban
  std::string tactic;  // glob over id and name; empty: any
  std::optional<TacticSource> source;
  std::string text;  // for messages: "rule 2 (ban tactic '*winograd*' in layers 'conv*')"
};

bool glob(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

bool layer_matches(const Rule& r, const LayerContext& layer) {
  if (glob(r.layer, layer.name)) return true;
  for (const auto& part : layer.fused) {
    if (glob(r.layer, part)) return true;
  }
  return false;
}

bool tactic_matches(const Rule& r, const TacticCandidate& c) {
  if (r.source && *r.source != c.source) return false;
  if (!r.tactic.empty() && !glob(r.tactic, c.id) && !glob(r.tactic, c.name)) return false;
  return true;
}

class RuleSelector final : public TacticSelector {
 public:
  explicit RuleSelector(std::vector<Rule> rules) : rules_(std::move(rules)) {}

  Result<std::vector<int>> select(const LayerContext& layer,
                                  std::span<const TacticCandidate> candidates) override {
    std::vector<int> kept(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) kept[i] = static_cast<int>(i);
    bool any_rule = false;
    for (const Rule& r : rules_) {
      if (!layer_matches(r, layer)) continue;
      any_rule = true;
      std::vector<int> next;
      for (int i : kept) {
        if (tactic_matches(r, candidates[i]) == r.force) next.push_back(i);
      }
      if (next.empty()) {
        std::string ids;
        for (int i : kept) ids += (ids.empty() ? "" : ", ") + candidates[i].id;
        return invalid_argument(r.text + " leaves layer '" + layer.name +
                                "' without a tactic (candidates before the rule: " +
                                (ids.empty() ? std::string("none") : ids) + ")");
      }
      kept = std::move(next);
    }
    if (!any_rule) return std::vector<int>{};
    return kept;
  }

 private:
  std::vector<Rule> rules_;
};

}  // namespace

Result<std::shared_ptr<TacticSelector>> parse_tactic_rules(std::string_view json_text) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return invalid_argument("tactic rules are not valid JSON");
  if (!doc.is_object() || !doc.contains("rules") || !doc["rules"].is_array()) {
    return invalid_argument("tactic rules: expected an object with a \"rules\" array");
  }
  for (const auto& kv : doc.items()) {
    if (kv.key() != "rules") {
      return invalid_argument("tactic rules: unknown top-level field \"" + kv.key() + "\"");
    }
  }
  std::vector<Rule> rules;
  int index = 0;
  for (const auto& j : doc["rules"]) {
    const std::string where = "tactic rule " + std::to_string(index++);
    if (!j.is_object()) return invalid_argument("expected an object").with_context(where);
    Rule r;
    for (const auto& kv : j.items()) {
      const std::string& k = kv.key();
      if (k != "layer" && k != "action" && k != "tactic" && k != "source") {
        return invalid_argument("unknown field \"" + k +
                                "\" (fields: layer, action, tactic, source)")
            .with_context(where);
      }
      if (!kv.value().is_string()) {
        return invalid_argument("field \"" + k + "\" must be a string").with_context(where);
      }
    }
    if (!j.contains("action")) {
      return invalid_argument("missing \"action\" (\"ban\" or \"force\")").with_context(where);
    }
    const std::string action = j["action"].get<std::string>();
    if (action != "ban" && action != "force") {
      return invalid_argument("action \"" + action + "\" is neither \"ban\" nor \"force\"")
          .with_context(where);
    }
    r.force = action == "force";
    r.layer = j.value("layer", std::string("*"));
    r.tactic = j.value("tactic", std::string());
    if (j.contains("source")) {
      TacticSource s;
      const std::string name = j["source"].get<std::string>();
      if (!tactic_source_from_name(name, &s)) {
        return invalid_argument("unknown tactic source \"" + name +
                                "\" (valid: " + tactic_sources_to_string(kAllTacticSources) + ")")
            .with_context(where);
      }
      r.source = s;
    }
    if (r.tactic.empty() && !r.source) {
      return invalid_argument("needs \"tactic\" or \"source\"").with_context(where);
    }
    if (r.layer.empty()) return invalid_argument("\"layer\" is empty").with_context(where);
    std::ostringstream text;
    text << where << " (" << action;
    if (!r.tactic.empty()) text << " tactic '" << r.tactic << "'";
    if (r.source) text << " source " << tactic_source_name(*r.source);
    text << " in layers '" << r.layer << "')";
    r.text = text.str();
    rules.push_back(std::move(r));
  }
  return std::shared_ptr<TacticSelector>(std::make_shared<RuleSelector>(std::move(rules)));
}

Result<std::shared_ptr<TacticSelector>> load_tactic_rules(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open tactic rules '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  if (!f && !f.eof()) return io_error("cannot read tactic rules '" + path + "'");
  auto r = parse_tactic_rules(ss.str());
  if (!r.is_ok()) return r.status().with_context("tactic rules '" + path + "'");
  return r;
}

}  // namespace kiln
