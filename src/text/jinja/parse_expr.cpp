// Expressions, with jinja2's precedence climbing.
#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "text/jinja/parser_impl.hpp"

namespace sinkstream::text::jinja::detail {

ExprPtr Parser::parse_tuple(bool with_condexpr, bool explicit_parens) {
  const int line = cur().line;
  std::vector<ExprPtr> args;
  bool is_tuple = false;
  for (;;) {
    if (!args.empty()) expect_op(",");
    const Tok t = cur().type;
    if (t == Tok::var_end || t == Tok::block_end || t == Tok::eof || is_op(")")) break;
    args.push_back(parse_expression(with_condexpr));
    if (!is_op(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (!args.empty()) return std::move(args[0]);
    if (!explicit_parens) fail("expected an expression, got " + describe());
  }
  auto e = make(Expr::Kind::tuple, line);
  e->kids = std::move(args);
  return e;
}

ExprPtr Parser::parse_condexpr() {
  Nest nest(*this);
  ExprPtr expr1 = parse_or();
  while (is_name("if")) {
    const int line = cur().line;
    next();
    ExprPtr expr2 = parse_or();
    ExprPtr expr3;
    if (is_name("else")) {
      next();
      expr3 = parse_condexpr();
    }
    auto c = make(Expr::Kind::cond, line);
    c->kids.push_back(std::move(expr2));
    c->kids.push_back(std::move(expr1));
    c->kids.push_back(std::move(expr3));
    expr1 = std::move(c);
  }
  return expr1;
}

ExprPtr Parser::parse_or() {
  ExprPtr left = parse_and();
  while (is_name("or")) {
    auto b = make(Expr::Kind::binary, cur().line, "or");
    next();
    b->kids.push_back(std::move(left));
    b->kids.push_back(parse_and());
    left = std::move(b);
  }
  return left;
}

ExprPtr Parser::parse_and() {
  ExprPtr left = parse_not();
  while (is_name("and")) {
    auto b = make(Expr::Kind::binary, cur().line, "and");
    next();
    b->kids.push_back(std::move(left));
    b->kids.push_back(parse_not());
    left = std::move(b);
  }
  return left;
}

ExprPtr Parser::parse_not() {
  if (!is_name("not")) return parse_compare();
  Nest nest(*this);
  auto u = make(Expr::Kind::unary, cur().line, "not");
  next();
  u->kids.push_back(parse_not());
  return u;
}

ExprPtr Parser::parse_compare() {
  const int line = cur().line;
  ExprPtr first = parse_binary(0);
  auto c = make(Expr::Kind::compare, line);
  c->kids.push_back(std::move(first));
  for (;;) {
    const Token& t = cur();
    if (t.type == Tok::op && (t.value == "==" || t.value == "!=" || t.value == "<" ||
                              t.value == "<=" || t.value == ">" || t.value == ">=")) {
      c->ops.push_back(t.value);
      next();
    } else if (is_name("in")) {
      c->ops.push_back("in");
      next();
    } else if (is_name("not") && peek().type == Tok::name && peek().value == "in") {
      c->ops.push_back("not in");
      next();
      next();
    } else {
      break;
    }
    c->kids.push_back(parse_binary(0));
  }
  if (c->ops.empty()) return std::move(c->kids[0]);
  return c;
}

// Levels 0..3: + -, ~, * / // %, **; each left-associative as in jinja2.
ExprPtr Parser::parse_binary(int level) {
  static const std::vector<std::vector<std::string>> ops = {
      {"+", "-"}, {"~"}, {"*", "/", "//", "%"}, {"**"}};
  auto sub = [&] { return level == 3 ? parse_unary() : parse_binary(level + 1); };
  ExprPtr left = sub();
  for (;;) {
    const Token& t = cur();
    const auto& mine = ops[static_cast<size_t>(level)];
    if (t.type != Tok::op || std::find(mine.begin(), mine.end(), t.value) == mine.end()) break;
    auto b = make(Expr::Kind::binary, t.line, t.value);
    next();
    b->kids.push_back(std::move(left));
    b->kids.push_back(sub());
    left = std::move(b);
  }
  return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
  Nest nest(*this);
  ExprPtr node;
  if (is_op("-") || is_op("+")) {
    node = make(Expr::Kind::unary, cur().line, cur().value);
    next();
    node->kids.push_back(parse_unary(false));
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_expr(std::move(node));
  return node;
}

ExprPtr Parser::parse_primary() {
  const Token& t = cur();
  const int line = t.line;
  if (t.type == Tok::name) {
    const std::string n = t.value;
    next();
    if (n == "true" || n == "True") return literal(Value(true), line);
    if (n == "false" || n == "False") return literal(Value(false), line);
    if (n == "none" || n == "None") return literal(Value(None{}), line);
    return make(Expr::Kind::name, line, n);
  }
  if (t.type == Tok::string) {
    std::string s;
    while (cur().type == Tok::string) {  // adjacent literals concatenate
      s += cur().value;
      next();
    }
    return literal(Value(std::move(s)), line);
  }
  if (t.type == Tok::integer) {
    errno = 0;
    const long long v = std::strtoll(t.value.c_str(), nullptr, 10);
    if (errno == ERANGE) fail("integer literal too large");
    next();
    return literal(Value(static_cast<int64_t>(v)), line);
  }
  if (t.type == Tok::real) {
    const double d = std::strtod(t.value.c_str(), nullptr);
    next();
    return literal(Value(d), line);
  }
  if (is_op("(")) {
    next();
    ExprPtr e = parse_tuple(true, true);
    expect_op(")");
    return e;
  }
  if (is_op("[")) return parse_bracketed(Expr::Kind::list, "]");
  if (is_op("{")) return parse_bracketed(Expr::Kind::dict, "}");
  fail("unexpected " + describe());
}

ExprPtr Parser::parse_bracketed(Expr::Kind kind, const char* close) {
  auto e = make(kind, cur().line);
  next();
  while (!is_op(close)) {
    if (!e->kids.empty()) expect_op(",");
    if (is_op(close)) break;
    e->kids.push_back(parse_expression());
    if (kind == Expr::Kind::dict) {
      expect_op(":");
      e->kids.push_back(parse_expression());
    }
  }
  next();
  return e;
}

ExprPtr Parser::parse_postfix(ExprPtr node) {
  for (;;) {
    if (is_op(".") || is_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (is_op("(")) {
      auto c = make(Expr::Kind::call, cur().line);
      c->kids.push_back(std::move(node));
      parse_call_args(*c);
      node = std::move(c);
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
  for (;;) {
    if (is_op("|")) {
      node = parse_filter(std::move(node), false);
    } else if (is_name("is")) {
      node = parse_test(std::move(node));
    } else if (is_op("(")) {
      auto c = make(Expr::Kind::call, cur().line);
      c->kids.push_back(std::move(node));
      parse_call_args(*c);
      node = std::move(c);
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_subscript(ExprPtr node) {
  const int line = cur().line;
  if (is_op(".")) {
    next();
    if (cur().type == Tok::name) {
      auto a = make(Expr::Kind::attr, line, cur().value);
      next();
      a->kids.push_back(std::move(node));
      return a;
    }
    if (cur().type != Tok::integer) fail("expected a name or number after '.', got " + describe());
    auto it = make(Expr::Kind::item, line);
    it->kids.push_back(std::move(node));
    it->kids.push_back(
        literal(Value(static_cast<int64_t>(std::strtoll(cur().value.c_str(), nullptr, 10))), line));
    next();
    return it;
  }
  next();  // '['
  std::vector<ExprPtr> args;
  while (!is_op("]")) {
    if (!args.empty()) expect_op(",");
    args.push_back(parse_subscribed());
  }
  next();
  if (args.empty()) fail("empty subscript");
  ExprPtr key;
  if (args.size() == 1) {
    key = std::move(args[0]);
  } else {
    key = make(Expr::Kind::tuple, line);
    key->kids = std::move(args);
  }
  if (key->kind == Expr::Kind::slice) {  // slice nodes come back with no object yet
    key->kids.insert(key->kids.begin(), std::move(node));
    return key;
  }
  auto it = make(Expr::Kind::item, line);
  it->kids.push_back(std::move(node));
  it->kids.push_back(std::move(key));
  return it;
}

ExprPtr Parser::parse_subscribed() {
  const int line = cur().line;
  std::vector<ExprPtr> parts;
  if (is_op(":")) {
    parts.emplace_back();
  } else {
    ExprPtr e = parse_expression();
    if (!is_op(":")) return e;
    parts.push_back(std::move(e));
  }
  next();  // first ':'
  auto bound = [&] {
    return is_op("]") || is_op(",") || is_op(":") ? ExprPtr() : parse_expression();
  };
  parts.push_back(bound());
  if (is_op(":")) {
    next();
    parts.push_back(bound());
  } else {
    parts.emplace_back();
  }
  auto s = make(Expr::Kind::slice, line);
  s->kids = std::move(parts);
  return s;
}

void Parser::parse_call_args(Expr& into) {
  expect_op("(");
  bool first = true;
  while (!is_op(")")) {
    if (!first) expect_op(",");
    first = false;
    if (is_op(")")) break;
    if (is_op("*") || is_op("**")) fail("*args and **kwargs in calls are not supported");
    if (cur().type == Tok::name && peek().type == Tok::op && peek().value == "=") {
      std::string key = cur().value;
      next();
      next();
      into.kwargs.emplace_back(std::move(key), parse_expression());
    } else {
      if (!into.kwargs.empty()) fail("positional argument follows keyword argument");
      into.kids.push_back(parse_expression());
    }
  }
  next();
}

ExprPtr Parser::parse_filter(ExprPtr node, bool start_inline) {
  while (is_op("|") || start_inline) {
    if (!start_inline) next();
    start_inline = false;
    auto f = make(Expr::Kind::filter, cur().line, expect_name());
    while (is_op(".")) {
      next();
      f->name += '.';
      f->name += expect_name();
    }
    f->kids.push_back(std::move(node));  // null in filter blocks: the body's text
    if (is_op("(")) parse_call_args(*f);
    node = std::move(f);
  }
  return node;
}

ExprPtr Parser::parse_test(ExprPtr node) {
  const int line = cur().line;
  next();  // 'is'
  bool negated = false;
  if (is_name("not")) {
    next();
    negated = true;
  }
  auto t = make(Expr::Kind::test, line, expect_name());
  while (is_op(".")) {
    next();
    t->name += '.';
    t->name += expect_name();
  }
  t->kids.push_back(std::move(node));
  const Tok k = cur().type;
  if (is_op("(")) {
    parse_call_args(*t);
  } else if ((k == Tok::name || k == Tok::string || k == Tok::integer || k == Tok::real ||
              is_op("[") || is_op("{")) &&
             !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) fail("you cannot chain multiple tests with 'is'");
    t->kids.push_back(parse_postfix(parse_primary()));
  }
  if (!negated) return t;
  auto n = make(Expr::Kind::unary, line, "not");
  n->kids.push_back(std::move(t));
  return n;
}

}  // namespace sinkstream::text::jinja::detail
