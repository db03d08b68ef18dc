// The syntax tree the parser builds and the renderer walks.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/value.hpp"

namespace sinkstream::text::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    literal,  // value
    name,     // name
    list,     // kids
    tuple,    // kids
    dict,     // kids: key, value, key, value, ...
    attr,     // kids[0].name
    item,     // kids[0][kids[1]]
    slice,    // kids[0][kids[1]:kids[2]:kids[3]] (null kids where omitted)
    call,     // kids[0](kids[1..], kwargs)
    filter,   // name(kids[0], kids[1..], kwargs); kids[0] null in filter blocks: the body text
    test,     // kids[0] is name(kids[1..], kwargs)
    unary,    // name in {"-", "+", "not"} kids[0]
    binary,   // kids[0] name kids[1]; name in + - * / // % ** ~ and or in "not in"
    compare,  // kids[0] ops[0] kids[1] ops[1] kids[2] ... (chained)
    cond,     // kids[1] if kids[0] else kids[2] (kids[2] null: undefined)
  };
  Kind kind;
  int line = 0;
  std::string name;
  Value value;
  std::vector<ExprPtr> kids;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct MacroParam {
  std::string name;
  ExprPtr fallback;  // null: no default
};

struct Node {
  enum class Kind {
    text,          // text
    output,        // {{ expr }}
    if_,           // branches (cond, body); else_body
    for_,          // targets in expr [if cond] body [else else_body]
    set,           // targets (or ns.attr) = expr
    set_block,     // {% set target | filters %}body{% endset %}: expr is the filter chain or null
    macro,         // name(params) body
    call_block,    // {% call(params) expr %}body{% endcall %}: expr is the call, body is caller()
    filter_block,  // {% filter f %}body{% endfilter %}: expr is the filter chain
    break_,
    continue_,
    scope,  // {% generation %}body{% endgeneration %} and similar transparent blocks
  };
  Kind kind;
  int line = 0;
  std::string text;                  // text, macro name, set attribute (ns.attr)
  std::vector<std::string> targets;  // for / set targets; set with attribute: {ns}
  ExprPtr expr;
  ExprPtr cond;  // for ... if cond
  Body body, else_body;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<MacroParam> params;
};

}  // namespace sinkstream::text::jinja
