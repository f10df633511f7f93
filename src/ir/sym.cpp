#include "ir/sym.h"

#include <algorithm>
#include <limits>

namespace kiln::ir {

namespace {

int64_t floor_div_int(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Folds constants; returns false if the op cannot be folded (division by zero, int64 overflow,
// incompatible broadcast). Never overflows: expressions may come from untrusted plan files.
bool fold(SymExpr::Kind kind, int64_t a, int64_t b, int64_t* out) {
  using K = SymExpr::Kind;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  switch (kind) {
    case K::kAdd: return !__builtin_add_overflow(a, b, out);
    case K::kSub: return !__builtin_sub_overflow(a, b, out);
    case K::kMul: return !__builtin_mul_overflow(a, b, out);
    case K::kFloorDiv:
      if (b == 0 || (a == kMin && b == -1)) return false;
      *out = floor_div_int(a, b);
      return true;
    case K::kCeilDiv:
      if (b == 0 || a == kMin) return false;
      *out = -floor_div_int(-a, b);
      return true;
    case K::kMod: {
      if (b == 0) return false;
      if (b == -1) {
        *out = 0;
        return true;
      }
      int64_t r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) r += b;  // result takes the divisor's sign
      *out = r;
      return true;
    }
    case K::kMin: *out = std::min(a, b); return true;
    case K::kMax: *out = std::max(a, b); return true;
    case K::kBroadcast:
      if (a == b || b == 1) {
        *out = a;
        return true;
      }
      if (a == 1) {
        *out = b;
        return true;
      }
      return false;
    default: return false;
  }
}

const char* op_text(SymExpr::Kind kind) {
  using K = SymExpr::Kind;
  switch (kind) {
    case K::kAdd: return "+";
    case K::kSub: return "-";
    case K::kMul: return "*";
    case K::kFloorDiv: return "/";
    case K::kCeilDiv: return "/^";
    case K::kMod: return "%";
    default: return "?";
  }
}

}  // namespace

SymExpr::SymExpr(int64_t value)
    : node_(std::make_shared<const Node>(Node{Kind::kConst, value, nullptr, nullptr})) {}

SymExpr SymExpr::symbol(int id) {
  return SymExpr(std::make_shared<const Node>(Node{Kind::kSymbol, id, nullptr, nullptr}));
}

SymExpr SymExpr::binary(Kind kind, const SymExpr& a, const SymExpr& b) {
  int64_t folded;
  if (a.is_const() && b.is_const() && fold(kind, a.value(), b.value(), &folded)) return folded;
  // Algebraic identities that keep shapes readable.
  switch (kind) {
    case Kind::kAdd:
      if (b.is_const() && b.value() == 0) return a;
      if (a.is_const() && a.value() == 0) return b;
      break;
    case Kind::kSub:
      if (b.is_const() && b.value() == 0) return a;
      if (a.same_as(b)) return int64_t{0};
      break;
    case Kind::kMul:
      if (b.is_const() && b.value() == 1) return a;
      if (a.is_const() && a.value() == 1) return b;
      if ((b.is_const() && b.value() == 0) || (a.is_const() && a.value() == 0)) return int64_t{0};
      break;
    case Kind::kFloorDiv:
    case Kind::kCeilDiv:
      if (b.is_const() && b.value() == 1) return a;
      if (a.same_as(b)) return int64_t{1};
      break;
    case Kind::kMin:
    case Kind::kMax:
      if (a.same_as(b)) return a;
      break;
    case Kind::kBroadcast:
      if (a.same_as(b)) return a;
      if (b.is_const() && b.value() == 1) return a;
      if (a.is_const() && a.value() == 1) return b;
      break;
    default: break;
  }
  return SymExpr(std::make_shared<const Node>(
      Node{kind, 0, std::make_shared<const SymExpr>(a), std::make_shared<const SymExpr>(b)}));
}

Result<int64_t> SymExpr::eval(std::span<const int64_t> symbols) const {
  switch (kind()) {
    case Kind::kConst: return value();
    case Kind::kSymbol:
      if (symbol_id() < 0 || static_cast<size_t>(symbol_id()) >= symbols.size()) {
        return internal_error("symbol s" + std::to_string(symbol_id()) + " is not bound");
      }
      return symbols[symbol_id()];
    default: break;
  }
  KILN_ASSIGN_OR_RETURN(int64_t a, lhs().eval(symbols));
  KILN_ASSIGN_OR_RETURN(int64_t b, rhs().eval(symbols));
  int64_t out;
  if (!fold(kind(), a, b, &out)) {
    if (kind() == Kind::kBroadcast) {
      return invalid_argument("extents " + std::to_string(a) + " and " + std::to_string(b) +
                              " cannot be broadcast together");
    }
    return invalid_argument("division by zero or int64 overflow while evaluating " + to_string());
  }
  return out;
}

bool SymExpr::same_as(const SymExpr& o) const {
  if (node_ == o.node_) return true;
  if (kind() != o.kind()) return false;
  if (kind() == Kind::kConst || kind() == Kind::kSymbol) return node_->value == o.node_->value;
  return lhs().same_as(o.lhs()) && rhs().same_as(o.rhs());
}

std::string SymExpr::to_string(std::span<const std::string> names) const {
  switch (kind()) {
    case Kind::kConst: return std::to_string(value());
    case Kind::kSymbol:
      if (static_cast<size_t>(symbol_id()) < names.size()) return names[symbol_id()];
      return "s" + std::to_string(symbol_id());
    case Kind::kMin: return "min(" + lhs().to_string(names) + "," + rhs().to_string(names) + ")";
    case Kind::kMax: return "max(" + lhs().to_string(names) + "," + rhs().to_string(names) + ")";
    case Kind::kBroadcast:
      return "bcast(" + lhs().to_string(names) + "," + rhs().to_string(names) + ")";
    default:
      return "(" + lhs().to_string(names) + op_text(kind()) + rhs().to_string(names) + ")";
  }
}

int SymExpr::max_symbol() const {
  switch (kind()) {
    case Kind::kConst: return -1;
    case Kind::kSymbol: return symbol_id();
    default: return std::max(lhs().max_symbol(), rhs().max_symbol());
  }
}

void SymExpr::append_postfix(std::vector<int64_t>& out) const {
  if (kind() != Kind::kConst && kind() != Kind::kSymbol) {
    lhs().append_postfix(out);
    rhs().append_postfix(out);
  }
  out.push_back(static_cast<int64_t>(kind()));
  out.push_back(kind() == Kind::kConst || kind() == Kind::kSymbol ? node_->value : 0);
}

Result<SymExpr> SymExpr::from_postfix(std::span<const int64_t> tokens, int num_symbols) {
  if (tokens.empty() || tokens.size() % 2 != 0) {
    return corrupt_data("symbolic expression has " + std::to_string(tokens.size()) +
                        " tokens (expected a non-zero even count)");
  }
  std::vector<SymExpr> stack;
  for (size_t i = 0; i < tokens.size(); i += 2) {
    int64_t k = tokens[i], v = tokens[i + 1];
    if (k < 0 || k >= kNumKinds) {
      return corrupt_data("symbolic expression has unknown operation " + std::to_string(k));
    }
    auto kind = static_cast<Kind>(k);
    if (kind == Kind::kConst) {
      stack.emplace_back(v);
    } else if (kind == Kind::kSymbol) {
      if (v < 0 || v >= num_symbols) {
        return corrupt_data("symbolic expression uses symbol " + std::to_string(v) + " of " +
                            std::to_string(num_symbols));
      }
      stack.push_back(symbol(static_cast<int>(v)));
    } else {
      if (stack.size() < 2) return corrupt_data("symbolic expression is malformed (stack underflow)");
      SymExpr b = stack.back();
      stack.pop_back();
      SymExpr a = stack.back();
      stack.pop_back();
      stack.push_back(binary(kind, a, b));
    }
    if (stack.size() > 4096) return corrupt_data("symbolic expression is too deep");
  }
  if (stack.size() != 1) return corrupt_data("symbolic expression is malformed (leftover operands)");
  return stack.back();
}

SymExpr operator+(const SymExpr& a, const SymExpr& b) {
  return SymExpr::binary(SymExpr::Kind::kAdd, a, b);
}
SymExpr operator-(const SymExpr& a, const SymExpr& b) {
  return SymExpr::binary(SymExpr::Kind::kSub, a, b);
}
SymExpr operator*(const SymExpr& a, const SymExpr& b) {
  return SymExpr::binary(SymExpr::Kind::kMul, a, b);
}
SymExpr floor_div(const SymExpr& a, const SymExpr& b) {
  return SymExpr::binary(SymExpr::Kind::kFloorDiv, a, b);
}
SymExpr ceil_div(const SymExpr& a, const SymExpr& b) {
  return SymExpr::binary(SymExpr::Kind::kCeilDiv, a, b);
}
SymExpr sym_mod(const SymExpr& a, const SymExpr& b) {
  return SymExpr::binary(SymExpr::Kind::kMod, a, b);
}
SymExpr sym_min(const SymExpr& a, const SymExpr& b) {
  return SymExpr::binary(SymExpr::Kind::kMin, a, b);
}
SymExpr sym_max(const SymExpr& a, const SymExpr& b) {
  return SymExpr::binary(SymExpr::Kind::kMax, a, b);
}
SymExpr broadcast_dim(const SymExpr& a, const SymExpr& b) {
  return SymExpr::binary(SymExpr::Kind::kBroadcast, a, b);
}

SymExpr sym_volume(const SymShape& shape) {
  SymExpr v = int64_t{1};
  for (const auto& d : shape) v = v * d;
  return v;
}

std::string shape_to_string(const SymShape& shape, std::span<const std::string> names) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i].to_string(names);
  }
  return s + "]";
}

Result<std::vector<int64_t>> eval_shape(const SymShape& shape, std::span<const int64_t> symbols) {
  std::vector<int64_t> out(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(out[i], shape[i].eval(symbols));
  }
  return out;
}

bool is_static(const SymShape& shape) {
  return std::all_of(shape.begin(), shape.end(), [](const SymExpr& d) { return d.is_const(); });
}

}  // namespace kiln::ir
