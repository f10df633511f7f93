// Symbolic integer expressions for tensor dims: constants, symbols (dynamic input dims such as
// batch or sequence length) and arithmetic over them. Shape inference builds them once at build
// time; the runtime evaluates them when input shapes are set. Immutable and cheap to copy.
#pragma once

#include <kiln/status.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace kiln::ir {

class SymExpr {
 public:
  enum class Kind : uint8_t {
    kConst = 0,
    kSymbol = 1,
    kAdd = 2,
    kSub = 3,
    kMul = 4,
    kFloorDiv = 5,
    kCeilDiv = 6,
    kMod = 7,
    kMin = 8,
    kMax = 9,
    kBroadcast = 10,  // numpy broadcast of two extents; evaluating incompatible ones is an error
  };
  static constexpr int kNumKinds = 11;

  SymExpr() : SymExpr(int64_t{0}) {}
  SymExpr(int64_t value);  // NOLINT(implicit): constants convert
  SymExpr(int value) : SymExpr(static_cast<int64_t>(value)) {}  // NOLINT(implicit)
  static SymExpr symbol(int id);
  static SymExpr binary(Kind kind, const SymExpr& a, const SymExpr& b);

  Kind kind() const { return node_->kind; }
  bool is_const() const { return node_->kind == Kind::kConst; }
  // Constant value (valid when is_const()).
  int64_t value() const { return node_->value; }
  int symbol_id() const { return static_cast<int>(node_->value); }
  const SymExpr& lhs() const { return *node_->a; }
  const SymExpr& rhs() const { return *node_->b; }

  // Evaluates with symbol i bound to symbol_values[i].
  Result<int64_t> eval(std::span<const int64_t> symbol_values) const;
  // True if both are the same expression (structurally).
  bool same_as(const SymExpr& other) const;
  // "s0", "(s0*12)", "((s1+2)/2)"; names[i] replaces "s<i>" when given.
  std::string to_string(std::span<const std::string> names = {}) const;
  // Highest symbol id used, -1 for none.
  int max_symbol() const;

  // Postfix encoding for plan files: pairs (kind, value).
  void append_postfix(std::vector<int64_t>& out) const;
  // Decodes one expression from `tokens` (the whole span); checks kinds, symbol ids < num_symbols
  // and the stack discipline. Never trusts its input.
  static Result<SymExpr> from_postfix(std::span<const int64_t> tokens, int num_symbols);

 private:
  struct Node {
    Kind kind;
    int64_t value;  // constant or symbol id
    std::shared_ptr<const SymExpr> a, b;
  };
  explicit SymExpr(std::shared_ptr<const Node> node) : node_(std::move(node)) {}
  std::shared_ptr<const Node> node_;
};

SymExpr operator+(const SymExpr& a, const SymExpr& b);
SymExpr operator-(const SymExpr& a, const SymExpr& b);
SymExpr operator*(const SymExpr& a, const SymExpr& b);
SymExpr floor_div(const SymExpr& a, const SymExpr& b);
SymExpr ceil_div(const SymExpr& a, const SymExpr& b);
SymExpr sym_mod(const SymExpr& a, const SymExpr& b);
SymExpr sym_min(const SymExpr& a, const SymExpr& b);
SymExpr sym_max(const SymExpr& a, const SymExpr& b);
SymExpr broadcast_dim(const SymExpr& a, const SymExpr& b);

using SymShape = std::vector<SymExpr>;

// Product of the dims.
SymExpr sym_volume(const SymShape& shape);
// "[s0,3,224,224]"
std::string shape_to_string(const SymShape& shape, std::span<const std::string> names = {});
// Evaluates every dim into concrete extents.
Result<std::vector<int64_t>> eval_shape(const SymShape& shape, std::span<const int64_t> symbols);
// All dims constant?
bool is_static(const SymShape& shape);

}  // namespace kiln::ir
