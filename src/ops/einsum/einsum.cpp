#include "ops/einsum/einsum.h"

#include <algorithm>
#include <map>

namespace kiln::ops {

namespace {

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// One term: letters (chars) with the position of its ellipsis (-1 if none).
struct Term {
  std::string text;
  std::string letters;
  int ellipsis = -1;  // index in `letters` where the ellipsis dims go
};

Status parse_term(const std::string& eq, const std::string& text, Term* out) {
  out->text = text;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (is_letter(c)) {
      out->letters += c;
      ++i;
    } else if (c == '.') {
      if (text.compare(i, 3, "...") != 0) {
        return invalid_argument("equation '" + eq + "': a '.' that is not part of \"...\" in '" +
                                text + "'");
      }
      if (out->ellipsis >= 0) {
        return invalid_argument("equation '" + eq + "': more than one \"...\" in '" + text + "'");
      }
      out->ellipsis = static_cast<int>(out->letters.size());
      i += 3;
    } else {
      return invalid_argument("equation '" + eq + "': invalid character '" + std::string(1, c) +
                              "' in '" + text + "'");
    }
  }
  return Status::ok();
}

Status infer_einsum(InferContext& ctx) {
  if (ctx.num_inputs() < 1) return ctx.error("expects at least 1 input");
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  if (!ctx.attrs().has("equation")) return ctx.error("attribute 'equation' is required");
  const DataType dt = ctx.input_dtype(0);
  std::vector<int> ranks;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.error("input " + std::to_string(i) + " is absent");
    if (ctx.input_dtype(i) != dt) {
      return ctx.error("input " + std::to_string(i) + " has dtype " +
                       std::string(dtype_name(ctx.input_dtype(i))) + ", expected input 0's " +
                       std::string(dtype_name(dt)));
    }
    ranks.push_back(ctx.input_rank(i));
  }
  if (!is_floating(dt) && dt != DataType::kInt32 && dt != DataType::kInt64) {
    return ctx.error("Einsum supports float32, float16, bfloat16, int32 and int64, got " +
                     std::string(dtype_name(dt)));
  }
  auto spec = parse_einsum(ctx.attrs().get_string("equation"), ranks);
  if (!spec.is_ok()) return ctx.error(spec.status().message());
  // Label sizes: equal where known, 1 broadcasts.
  std::vector<std::optional<ir::SymExpr>> size(spec->num_labels);
  for (size_t i = 0; i < spec->inputs.size(); ++i) {
    const ir::SymShape& shape = ctx.input_shape(static_cast<int>(i));
    for (size_t d = 0; d < shape.size(); ++d) {
      const int l = spec->inputs[i][d];
      const ir::SymExpr& e = shape[d];
      if (!size[l]) {
        size[l] = e;
        continue;
      }
      const ir::SymExpr& s = *size[l];
      if (s.same_as(e) || (e.is_const() && e.value() == 1)) continue;
      if (s.is_const() && s.value() == 1) {
        size[l] = e;
      } else if (s.is_const() && e.is_const()) {
        return ctx.error("equation '" + ctx.attrs().get_string("equation") + "': label '" +
                         spec->label_names[l] + "' has sizes " + std::to_string(s.value()) +
                         " and " + std::to_string(e.value()) + " (input " + std::to_string(i) +
                         " dim " + std::to_string(d) + ")");
      } else {
        size[l] = ir::broadcast_dim(s, e);
      }
    }
  }
  ir::SymShape out;
  for (int l : spec->output) out.push_back(*size[l]);
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = std::move(out);
  return Status::ok();
}

}  // namespace

Result<EinsumSpec> parse_einsum(const std::string& equation, const std::vector<int>& ranks) {
  std::string eq;
  for (char c : equation) {
    if (c != ' ') eq += c;
  }
  if (eq.empty()) return invalid_argument("the equation is empty");
  const size_t arrow = eq.find("->");
  if (arrow != std::string::npos && eq.find("->", arrow + 2) != std::string::npos) {
    return invalid_argument("equation '" + equation + "' has more than one \"->\"");
  }
  const std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    Term t;
    KILN_RETURN_IF_ERROR(parse_term(equation, lhs.substr(start, comma - start), &t));
    terms.push_back(std::move(t));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ranks.size()) {
    return invalid_argument("equation '" + equation + "' has " + std::to_string(terms.size()) +
                            " operand terms, the node has " + std::to_string(ranks.size()) +
                            " inputs");
  }
  EinsumSpec spec;
  std::map<char, int> letter_id;
  std::map<char, int> count;
  int ell = 0;  // ellipsis dims
  for (size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    const int n = static_cast<int>(t.letters.size());
    if (t.ellipsis < 0 ? n != ranks[i] : n > ranks[i]) {
      return invalid_argument("equation '" + equation + "': term '" + t.text + "' has " +
                              std::to_string(n) + " labels" +
                              (t.ellipsis >= 0 ? " and \"...\"" : "") + " but input " +
                              std::to_string(i) + " has rank " + std::to_string(ranks[i]));
    }
    if (t.ellipsis >= 0) ell = std::max(ell, ranks[i] - n);
    for (char c : t.letters) {
      ++count[c];
      if (!letter_id.count(c)) {
        letter_id[c] = static_cast<int>(spec.label_names.size());
        spec.label_names.push_back(std::string(1, c));
      }
    }
  }
  const int num_letters = static_cast<int>(spec.label_names.size());
  for (int e = 0; e < ell; ++e) spec.label_names.push_back("..." + std::to_string(e));
  spec.num_labels = num_letters + ell;
  // Operand dims.
  for (size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    std::vector<int> labels;
    const int ne = t.ellipsis < 0 ? 0 : ranks[i] - static_cast<int>(t.letters.size());
    for (int j = 0; j <= static_cast<int>(t.letters.size()); ++j) {
      if (j == t.ellipsis) {
        for (int e = ell - ne; e < ell; ++e) labels.push_back(num_letters + e);
      }
      if (j < static_cast<int>(t.letters.size())) labels.push_back(letter_id[t.letters[j]]);
    }
    spec.inputs.push_back(std::move(labels));
  }
  // Output.
  if (arrow != std::string::npos) {
    Term out;
    KILN_RETURN_IF_ERROR(parse_term(equation, eq.substr(arrow + 2), &out));
    std::map<char, int> seen;
    for (int j = 0; j <= static_cast<int>(out.letters.size()); ++j) {
      if (j == out.ellipsis) {
        for (int e = 0; e < ell; ++e) spec.output.push_back(num_letters + e);
      }
      if (j == static_cast<int>(out.letters.size())) break;
      const char c = out.letters[j];
      if (!letter_id.count(c)) {
        return invalid_argument("equation '" + equation + "': output label '" + std::string(1, c) +
                                "' does not occur in the inputs");
      }
      if (seen[c]++) {
        return invalid_argument("equation '" + equation + "': output label '" + std::string(1, c) +
                                "' is repeated");
      }
      spec.output.push_back(letter_id[c]);
    }
  } else {
    for (int e = 0; e < ell; ++e) spec.output.push_back(num_letters + e);
    for (const auto& [c, k] : count) {  // std::map: ASCII order
      if (k == 1) spec.output.push_back(letter_id[c]);
    }
  }
  if (spec.output.size() > static_cast<size_t>(Dims::kMaxDims)) {
    return invalid_argument("equation '" + equation + "': the output would have rank " +
                            std::to_string(spec.output.size()) + ", more than " +
                            std::to_string(Dims::kMaxDims));
  }
  return spec;
}

const OpDef& einsum_op() {
  static const OpDef def{"Einsum", infer_einsum, einsum_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
