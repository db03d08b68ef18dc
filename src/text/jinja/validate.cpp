// Compile-time checks jinja2 makes before rendering anything: unknown filters
// and tests fail the whole template unless they sit directly inside an `if`
// or an inline if-expression (jinja2's "soft" frames, where they fail only
// when reached), and `break`/`continue` must be inside a loop.
#include "text/jinja/parser.hpp"
#include "text/jinja/render.hpp"

namespace sinkstream::text::jinja {
namespace {

void check_expr(const Expr& e, bool soft) {
  if (e.kind == Expr::Kind::cond) soft = true;
  if (!soft && e.kind == Expr::Kind::filter && !known_filter(e.name))
    throw SyntaxError("line " + std::to_string(e.line) + ": No filter named '" + e.name + "'.");
  if (!soft && e.kind == Expr::Kind::test && !known_test(e.name))
    throw SyntaxError("line " + std::to_string(e.line) + ": No test named '" + e.name + "'.");
  for (const auto& k : e.kids)
    if (k) check_expr(*k, soft);
  for (const auto& [name, k] : e.kwargs) check_expr(*k, soft);
}

void check_body(const Body& body, bool soft, bool in_loop) {
  for (const auto& n : body) {
    if ((n->kind == Node::Kind::break_ || n->kind == Node::Kind::continue_) && !in_loop)
      throw SyntaxError("line " + std::to_string(n->line) + ": '" +
                        (n->kind == Node::Kind::break_ ? "break" : "continue") + "' outside loop");
    switch (n->kind) {
      case Node::Kind::if_:
        for (const auto& [cond, b] : n->branches) {
          check_expr(*cond, true);
          check_body(b, true, in_loop);
        }
        check_body(n->else_body, true, in_loop);
        break;
      case Node::Kind::for_:
        check_expr(*n->expr, soft);
        if (n->cond) check_expr(*n->cond, false);
        check_body(n->body, false, true);
        check_body(n->else_body, false, in_loop);
        break;
      case Node::Kind::call_block:
        check_expr(*n->expr, soft);
        [[fallthrough]];
      case Node::Kind::macro:
        for (const auto& p : n->params)
          if (p.fallback) check_expr(*p.fallback, false);
        check_body(n->body, false, false);
        break;
      case Node::Kind::set_block:
      case Node::Kind::filter_block:
        if (n->expr) check_expr(*n->expr, soft);
        check_body(n->body, false, in_loop);
        break;
      default:
        if (n->expr) check_expr(*n->expr, soft);
        check_body(n->body, soft, in_loop);
    }
  }
}

}  // namespace

void validate(const Body& body) {
  check_body(body, false, false);
}

}  // namespace sinkstream::text::jinja
