// Tactic source names and the CLI's source lists.
#include <kiln/builder.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace kiln {

std::string_view tactic_source_name(TacticSource source) {
  switch (source) {
    case TacticSource::kCpuReference:
      return "cpu-ref";
    case TacticSource::kCpuBlas:
      return "cpu-blas";
    case TacticSource::kCpuOptimized:
      return "cpu-opt";
    case TacticSource::kKilnCuda:
      return "kiln-cuda";
    case TacticSource::kCublas:
      return "cublas";
    case TacticSource::kCublasLt:
      return "cublaslt";
    case TacticSource::kCudnn:
      return "cudnn";
  }
  return "unknown";
}

bool tactic_source_from_name(std::string_view name, TacticSource* out) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (TacticSource s : kAllTacticSourceList) {
    if (tactic_source_name(s) == lower) {
      *out = s;
      return true;
    }
  }
  return false;
}

std::string tactic_sources_to_string(TacticSources sources) {
  std::string out;
  for (TacticSource s : kAllTacticSourceList) {
    if ((sources & static_cast<TacticSources>(s)) == 0) continue;
    if (!out.empty()) out += ", ";
    out += tactic_source_name(s);
  }
  return out.empty() ? "none" : out;
}

Result<TacticSources> parse_tactic_sources(std::string_view text) {
  std::string valid;
  for (TacticSource s : kAllTacticSourceList)
    valid += std::string(valid.empty() ? "" : ", ") + std::string(tactic_source_name(s));
  TacticSources exact = 0, add = 0, remove = 0;
  bool has_exact = false, has_delta = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
      item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
      item.remove_suffix(1);
    pos = comma + 1;
    if (item.empty()) {
      if (comma == text.size() && text.empty()) break;
      return invalid_argument("tactic source list '" + std::string(text) + "' has an empty entry");
    }
    char sign = 0;
    if (item.front() == '+' || item.front() == '-') {
      sign = item.front();
      item.remove_prefix(1);
    }
    TacticSources bits = 0;
    std::string lower(item);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "all") {
      bits = kAllTacticSources;
    } else if (lower == "none" && sign == 0) {
      bits = 0;
    } else {
      TacticSource s;
      if (!tactic_source_from_name(lower, &s)) {
        return invalid_argument("unknown tactic source '" + std::string(item) +
                                "' (valid: " + valid + ", all, none)");
      }
      bits = static_cast<TacticSources>(s);
    }
    if (sign == 0) {
      has_exact = true;
      exact |= bits;
    } else {
      has_delta = true;
      (sign == '+' ? add : remove) |= bits;
    }
  }
  if (has_exact && has_delta) {
    return invalid_argument("tactic source list '" + std::string(text) +
                            "' mixes plain names with +/- entries; use one form");
  }
  if (has_exact) return exact;
  if (!has_delta) return invalid_argument("empty tactic source list");
  return (kAllTacticSources | add) & ~remove;
}

}  // namespace kiln
