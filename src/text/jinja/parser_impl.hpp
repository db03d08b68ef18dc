// The parser's class, shared by its two halves: parser.cpp (statements)
// and parse_expr.cpp (expressions). Internal to the jinja module.
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

#include "text/jinja/ast.hpp"
#include "text/jinja/lexer.hpp"

namespace sinkstream::text::jinja::detail {

inline ExprPtr make(Expr::Kind k, int line, std::string name = {}) {
  auto e = std::make_unique<Expr>();
  e->kind = k;
  e->line = line;
  e->name = std::move(name);
  return e;
}

inline ExprPtr literal(Value v, int line) {
  auto e = make(Expr::Kind::literal, line);
  e->value = std::move(v);
  return e;
}

class Parser {
 public:
  Parser(std::vector<Token> toks, int max_depth) : t_(std::move(toks)), max_depth_(max_depth) {}
  Body parse_all() { return subparse({}); }

 private:
  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0, max_depth_;

  // Counts nesting on the way down; the destructor undoes it.
  struct Nest {
    Parser& p;
    explicit Nest(Parser& parser) : p(parser) {
      if (++p.depth_ > p.max_depth_) p.fail("template nested too deeply");
    }
    ~Nest() { --p.depth_; }
  };

  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t n = 1) const { return t_[std::min(i_ + n, t_.size() - 1)]; }
  void next() {
    if (i_ + 1 < t_.size()) ++i_;
  }
  bool is_op(const char* o) const { return cur().type == Tok::op && cur().value == o; }
  bool is_name(const char* n) const { return cur().type == Tok::name && cur().value == n; }
  [[noreturn]] void fail(const std::string& msg) const {
    throw SyntaxError("line " + std::to_string(cur().line) + ": " + msg);
  }
  std::string describe() const {
    switch (cur().type) {
      case Tok::eof:
        return "end of template";
      case Tok::block_end:
        return "end of statement block";
      case Tok::var_end:
        return "end of print statement";
      case Tok::text:
        return "template text";
      default:
        return "'" + cur().value + "'";
    }
  }
  void expect_op(const char* o) {
    if (!is_op(o)) fail(std::string("expected '") + o + "', got " + describe());
    next();
  }
  std::string expect_name() {
    if (cur().type != Tok::name) fail("expected a name, got " + describe());
    std::string n = cur().value;
    next();
    return n;
  }
  void expect(Tok t, const char* what) {
    if (cur().type != t) fail(std::string("expected ") + what + ", got " + describe());
    next();
  }
  void end_block() { expect(Tok::block_end, "end of statement block"); }

  Body subparse(std::initializer_list<const char*> ends);
  NodePtr statement();
  NodePtr parse_for(int line);
  NodePtr parse_if(int line);
  NodePtr parse_set(int line);
  NodePtr parse_macro(int line);
  NodePtr parse_call_block(int line);
  void parse_params(Node& n);
  void finish(const char* end_name);

  ExprPtr parse_tuple(bool with_condexpr = true, bool explicit_parens = false);
  ExprPtr parse_expression(bool with_condexpr = true) {
    return with_condexpr ? parse_condexpr() : parse_or();
  }
  ExprPtr parse_condexpr();
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_binary(int level);
  ExprPtr parse_unary(bool with_filter = true);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_subscribed();
  void parse_call_args(Expr& into);
  ExprPtr parse_filter(ExprPtr node, bool start_inline);
  ExprPtr parse_test(ExprPtr node);
  ExprPtr parse_bracketed(Expr::Kind kind, const char* close);
};

}  // namespace sinkstream::text::jinja::detail
