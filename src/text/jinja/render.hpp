// The tree-walking renderer (internal to the jinja module). Scoping follows
// jinja2: a for loop's body gets a fresh scope every iteration, `if` gets
// none, and a macro sees its own arguments and the template's top level.
#pragma once
#include <ctime>
#include <string>
#include <vector>

#include "text/jinja/ast.hpp"
#include "text/jinja/jinja.hpp"

namespace sinkstream::text::jinja {

class Renderer {
 public:
  explicit Renderer(const RenderOptions& opt);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  std::string run(const Body& body, DictData variables);

  Value eval(const Expr& e);
  Value call(const Value& fn, Args& args);
  Value filter(const std::string& name, Value v, Args& args);
  bool test(const std::string& name, const Value& v, Args& args);
  void step();
  // Throws when a string of `bytes` would pass the output limit.
  void check_size(size_t bytes) const;
  const Limits& limits() const { return opt_.limits; }
  const std::tm& now() const { return now_; }
  Value new_namespace(DictData attrs);

 private:
  enum class Flow { normal, brk, cont };
  static constexpr size_t kNoLink = static_cast<size_t>(-1);
  struct Frame {
    std::vector<std::pair<std::string, Value>> vars;
    // Where lookups continue after this frame: the previous one (kNoLink), the
    // top level (macros) or the frame of a call block's site (caller()).
    size_t link = kNoLink;
  };

  RenderOptions opt_;
  std::tm now_{};
  uint64_t steps_ = 0;
  int call_depth_ = 0;
  std::vector<Frame> frames_;
  DictData globals_;
  std::vector<NamespacePtr> namespaces_;  // cleared at the end: breaks reference cycles
  std::vector<const Value*> block_text_;  // the body text a filter block filters

  Flow exec(const Body& body, std::string& out);
  Flow exec_node(const Node& n, std::string& out);
  Flow exec_for(const Node& n, std::string& out);
  void exec_set(const Node& n, Value v);
  std::string capture(const Body& body);
  Value apply_chain(const Expr* chain, Value text);
  Value make_macro(const Node& n);
  // Runs a macro's (or a call block's caller's) body in a frame linked to `link`.
  Value call_macro(const Node& n, Args& args, size_t link);
  Value exec_call_block(const Node& n);
  void append(std::string& out, const std::string& s) const;

  Value lookup(const std::string& name) const;
  void assign(const std::string& name, Value v);
  void install_globals();

  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_filter(const Expr& e);
  Value eval_slice(const Expr& e);
  Args eval_args(const Expr& e, size_t first);
};

// Operators and lookups with Python's semantics (expr.cpp).
Value arith(Renderer& r, const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
Value slice(Renderer& r, const Value& obj, const Value& start, const Value& stop,
            const Value& step);
std::vector<Value> iterate(const Value& v);  // what `for` walks: list items, dict keys, characters
// Python's str % args (%s %r %d %i %f %x %%).
std::string percent_format(const std::string& fmt, const Value& args);

// Filters, tests and methods (builtins.cpp, filters.cpp).
Value call_filter(Renderer& r, const std::string& name, Value v, Args& args);
bool call_test(Renderer& r, const std::string& name, const Value& v, Args& args);
Value bound_method(const Value& obj, const std::string& name);  // Undefined when none
bool known_filter(const std::string& name);
bool known_test(const std::string& name);
// Python's json.dumps(v, ensure_ascii=False, indent, separators, sort_keys) (json.cpp).
std::string to_json(const Value& v, const Value& indent, const Value& separators, bool sort_keys);

}  // namespace sinkstream::text::jinja
