#include "text/jinja/parser.hpp"

#include "text/jinja/parser_impl.hpp"

namespace sinkstream::text::jinja {
namespace detail {

Body Parser::subparse(std::initializer_list<const char*> ends) {
  Nest nest(*this);
  Body body;
  for (;;) {
    const Token& t = cur();
    if (t.type == Tok::text) {
      auto n = std::make_unique<Node>();
      n->kind = Node::Kind::text;
      n->text = t.value;
      body.push_back(std::move(n));
      next();
    } else if (t.type == Tok::var_begin) {
      next();
      auto n = std::make_unique<Node>();
      n->kind = Node::Kind::output;
      n->line = cur().line;
      n->expr = parse_tuple();
      expect(Tok::var_end, "end of print statement");
      body.push_back(std::move(n));
    } else if (t.type == Tok::block_begin) {
      next();
      for (const char* e : ends)
        if (is_name(e)) return body;
      body.push_back(statement());
    } else if (t.type == Tok::eof) {
      if (ends.size() == 0) return body;
      fail(std::string("unexpected end of template, expected '") + *ends.begin() + "'");
    } else {
      fail("unexpected " + describe());
    }
  }
}

void Parser::finish(const char* end_name) {
  if (!is_name(end_name)) fail(std::string("expected '") + end_name + "', got " + describe());
  next();
  end_block();
}

NodePtr Parser::statement() {
  const int line = cur().line;
  if (cur().type != Tok::name) fail("expected a tag name, got " + describe());
  const std::string tag = cur().value;
  next();
  if (tag == "for") return parse_for(line);
  if (tag == "if") return parse_if(line);
  if (tag == "set") return parse_set(line);
  if (tag == "macro") return parse_macro(line);
  if (tag == "call") return parse_call_block(line);
  auto n = std::make_unique<Node>();
  n->line = line;
  if (tag == "break" || tag == "continue") {
    n->kind = tag == "break" ? Node::Kind::break_ : Node::Kind::continue_;
    end_block();
  } else if (tag == "filter") {
    n->kind = Node::Kind::filter_block;
    n->expr = parse_filter(nullptr, true);
    end_block();
    n->body = subparse({"endfilter"});
    finish("endfilter");
  } else if (tag == "generation") {  // Hugging Face's assistant-mask extension: renders its body
    n->kind = Node::Kind::scope;
    end_block();
    n->body = subparse({"endgeneration"});
    finish("endgeneration");
  } else {
    throw SyntaxError("line " + std::to_string(line) + ": unknown or unsupported tag '" + tag +
                      "'");
  }
  return n;
}

NodePtr Parser::parse_for(int line) {
  auto n = std::make_unique<Node>();
  n->kind = Node::Kind::for_;
  n->line = line;
  do {
    n->targets.push_back(expect_name());
  } while (is_op(",") && (next(), true));
  if (!is_name("in")) fail("expected 'in', got " + describe());
  next();
  n->expr = parse_tuple(false);
  if (is_name("if")) {
    next();
    n->cond = parse_expression();
  }
  if (is_name("recursive")) fail("recursive loops are not supported");
  end_block();
  n->body = subparse({"endfor", "else"});
  if (is_name("else")) {
    next();
    end_block();
    n->else_body = subparse({"endfor"});
  }
  finish("endfor");
  return n;
}

NodePtr Parser::parse_if(int line) {
  auto n = std::make_unique<Node>();
  n->kind = Node::Kind::if_;
  n->line = line;
  for (;;) {
    ExprPtr cond = parse_tuple(false);
    end_block();
    Body body = subparse({"elif", "else", "endif"});
    n->branches.emplace_back(std::move(cond), std::move(body));
    if (is_name("elif")) {
      next();
      continue;
    }
    if (is_name("else")) {
      next();
      end_block();
      n->else_body = subparse({"endif"});
    }
    break;
  }
  finish("endif");
  return n;
}

NodePtr Parser::parse_set(int line) {
  auto n = std::make_unique<Node>();
  n->line = line;
  n->targets.push_back(expect_name());
  if (is_op(".")) {  // {% set ns.attr = ... %}
    next();
    n->text = expect_name();
  } else {
    while (is_op(",")) {
      next();
      n->targets.push_back(expect_name());
    }
  }
  if (is_op("=")) {
    next();
    n->kind = Node::Kind::set;
    n->expr = parse_tuple();
    end_block();
    return n;
  }
  if (n->targets.size() != 1 || !n->text.empty()) fail("a block set takes one plain name");
  n->kind = Node::Kind::set_block;
  if (is_op("|")) n->expr = parse_filter(nullptr, false);
  end_block();
  n->body = subparse({"endset"});
  finish("endset");
  return n;
}

void Parser::parse_params(Node& n) {
  expect_op("(");
  while (!is_op(")")) {
    if (!n.params.empty()) expect_op(",");
    if (is_op(")")) break;
    MacroParam p;
    p.name = expect_name();
    if (is_op("=")) {
      next();
      p.fallback = parse_expression();
    } else if (!n.params.empty() && n.params.back().fallback) {
      fail("non-default argument follows default argument");
    }
    n.params.push_back(std::move(p));
  }
  next();
}

NodePtr Parser::parse_macro(int line) {
  auto n = std::make_unique<Node>();
  n->kind = Node::Kind::macro;
  n->line = line;
  n->text = expect_name();
  parse_params(*n);
  end_block();
  n->body = subparse({"endmacro"});
  finish("endmacro");
  return n;
}

NodePtr Parser::parse_call_block(int line) {
  auto n = std::make_unique<Node>();
  n->kind = Node::Kind::call_block;
  n->line = line;
  n->text = "caller";
  if (is_op("(")) parse_params(*n);  // the parameters caller() takes
  n->expr = parse_expression();
  if (n->expr->kind != Expr::Kind::call) fail("expected a macro call after 'call'");
  end_block();
  n->body = subparse({"endcall"});
  finish("endcall");
  return n;
}

}  // namespace detail

Body parse(std::string_view source, int max_depth) {
  return detail::Parser(lex(source), max_depth).parse_all();
}

}  // namespace sinkstream::text::jinja
