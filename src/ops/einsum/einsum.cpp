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

Result<EinsumSpec> einsum_spec(const KernelInfo& info) {
  std::vector<int> ranks;
  for (int i = 0; i < info.num_inputs(); ++i) {
    ranks.push_back(info.has_input(i) ? static_cast<int>(info.input(i).shape.size()) : 0);
  }
  return parse_einsum(info.attrs().get_string("equation"), ranks);
}

Status einsum_label_sizes(const EinsumSpec& spec, std::span<const TensorView> inputs,
                          std::vector<int64_t>* size) {
  size->assign(spec.num_labels, -1);
  if (inputs.size() != spec.inputs.size()) return internal_error("Einsum: wrong input count");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Dims& d = inputs[i].shape;
    if (d.rank() != static_cast<int>(spec.inputs[i].size())) {
      return invalid_argument("Einsum: input " + std::to_string(i) + " " + d.to_string() +
                              " does not have the rank of its term");
    }
    for (int j = 0; j < d.rank(); ++j) {
      int64_t& s = (*size)[spec.inputs[i][j]];
      const int64_t e = d[j];
      if (s == -1 || s == 1) {
        s = e;  // first occurrence, or a broadcast 1 taking the other size
      } else if (e != 1 && e != s) {
        return invalid_argument("Einsum: label '" + spec.label_names[spec.inputs[i][j]] +
                                "' has sizes " + std::to_string(s) + " and " + std::to_string(e) +
                                " (input " + std::to_string(i) + " " + d.to_string() + ")");
      }
    }
  }
  return Status::ok();
}

std::vector<int64_t> einsum_label_strides(const EinsumSpec& spec, size_t input, const Dims& d) {
  std::vector<int64_t> st(spec.num_labels, 0);
  int64_t s = 1;
  for (int j = d.rank() - 1; j >= 0; --j) {
    if (d[j] != 1) st[spec.inputs[input][j]] += s;
    s *= d[j];
  }
  return st;
}

namespace {

std::vector<int> concat(std::initializer_list<const std::vector<int>*> parts) {
  std::vector<int> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// The roles and layouts, or false if the equation is not a matrix product up to permutation.
bool make_gemm_plan(EinsumGemm* plan) {
  const EinsumSpec& spec = plan->spec;
  if (spec.inputs.size() != 2) return false;
  const auto& a = spec.inputs[0];
  const auto& b = spec.inputs[1];
  auto has = [](const std::vector<int>& v, int l) { return std::count(v.begin(), v.end(), l); };
  for (const auto* v : {&a, &b}) {
    for (int l : *v) {
      if (has(*v, l) != 1) return false;  // diagonal
    }
  }
  for (int l : spec.output) {
    const bool ia = has(a, l), ib = has(b, l);
    if (ia && ib) {
      plan->batch.push_back(l);
    } else if (ia) {
      plan->m.push_back(l);
    } else {
      plan->n.push_back(l);
    }
  }
  for (int l : a) {
    if (has(spec.output, l)) continue;
    if (!has(b, l)) return false;  // summed over A alone
    plan->k.push_back(l);
  }
  for (int l : b) {
    if (!has(spec.output, l) && !has(a, l)) return false;  // summed over B alone
  }
  if (a == plan->a_order()) {
    plan->a_trans = false;
  } else if (a == concat({&plan->batch, &plan->k, &plan->m})) {
    plan->a_trans = true;
  } else {
    plan->a_copy = true;
  }
  if (b == plan->b_order()) {
    plan->b_trans = false;
  } else if (b == concat({&plan->batch, &plan->n, &plan->k})) {
    plan->b_trans = true;
  } else {
    plan->b_copy = true;
  }
  plan->c_copy = spec.output != plan->c_order();
  return true;
}

}  // namespace

std::vector<int> EinsumGemm::a_order() const {
  return concat({&batch, &m, &k});
}
std::vector<int> EinsumGemm::b_order() const {
  return concat({&batch, &k, &n});
}
std::vector<int> EinsumGemm::c_order() const {
  return concat({&batch, &m, &n});
}

Result<EinsumGemm> einsum_gemm(const KernelInfo& info) {
  EinsumGemm plan;
  KILN_ASSIGN_OR_RETURN(plan.spec, einsum_spec(info));
  if (!make_gemm_plan(&plan)) return unsupported("Einsum: the equation is not a matrix product");
  // Every label must have one size over the whole shape range: occurrences symbolically equal.
  const EinsumSpec& spec = plan.spec;
  std::vector<const ir::SymExpr*> size(spec.num_labels, nullptr);
  for (int i = 0; i < 2; ++i) {
    const ir::SymShape& shape = info.input(i).shape;
    for (size_t j = 0; j < shape.size(); ++j) {
      const ir::SymExpr*& s = size[spec.inputs[i][j]];
      if (s == nullptr) {
        s = &shape[j];
      } else if (!s->same_as(shape[j]) &&
                 !(s->is_const() && shape[j].is_const() && s->value() == shape[j].value())) {
        return unsupported("Einsum: label '" + spec.label_names[spec.inputs[i][j]] +
                           "' may broadcast");
      }
    }
  }
  return plan;
}

const OpDef& einsum_op() {
  static const OpDef def{"Einsum", infer_einsum, einsum_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
