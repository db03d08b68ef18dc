// The values a Jinja template computes with, modelled on the Python objects
// jinja2 hands around: undefined, None, bool, int, float, str, list/tuple,
// dict (insertion-ordered, string keys), namespace() and callables (macros,
// built-ins, bound methods). Lists and dicts are immutable once built, as in
// the ImmutableSandboxedEnvironment Hugging Face renders with; only a
// namespace's attributes can change, so it is shared by reference.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sinkstream::text::jinja {

// Every failure: syntax errors, type errors, undefined values used, limits.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class SyntaxError : public Error {
 public:
  using Error::Error;
};
// raise_exception(message) from the template; what() is the message verbatim.
class RaisedError : public Error {
 public:
  using Error::Error;
};

struct Value;
struct ListData {
  std::vector<Value> items;
  bool tuple = false;          // prints as (a, b) instead of [a, b]
  bool generator = false;      // what select/map/... return: always true, no len(), no [i]
  const char* view = nullptr;  // "dict_items", "dict_keys", "dict_values": print as such, no [i]
  uint32_t depth = 1;  // nesting, bounded so that printing and freeing cannot overflow the stack
};
struct DictData {
  std::vector<std::pair<std::string, Value>> items;  // insertion order
  uint32_t depth = 1;
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
};
struct Namespace {
  DictData attrs;
};
struct Args;
struct Function {
  std::string name;
  std::function<Value(Args&)> call;
};
struct Undefined {
  std::string hint;  // why it is undefined, for the error when it is used
};
struct None {};

using ListPtr = std::shared_ptr<const ListData>;
using DictPtr = std::shared_ptr<const DictData>;
using NamespacePtr = std::shared_ptr<Namespace>;
using FunctionPtr = std::shared_ptr<const Function>;

struct Value {
  std::variant<Undefined, None, bool, int64_t, double, std::string, ListPtr, DictPtr, NamespacePtr,
               FunctionPtr>
      v;
  // markupsafe.Markup: what |safe and |escape return. `+` and `%` with a plain
  // str HTML-escape that str (autoescape is off, but Markup's operators are not).
  bool markup = false;

  Value() : v(Undefined{}) {}
  Value(None n) : v(n) {}
  Value(bool b) : v(b) {}
  Value(int64_t i) : v(i) {}
  Value(int i) : v(static_cast<int64_t>(i)) {}
  Value(double d) : v(d) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(const char* s) : v(std::string(s)) {}
  Value(Undefined u) : v(std::move(u)) {}
  Value(ListPtr l) : v(std::move(l)) {}
  Value(DictPtr d) : v(std::move(d)) {}
  Value(NamespacePtr n) : v(std::move(n)) {}
  Value(FunctionPtr f) : v(std::move(f)) {}

  bool is_undefined() const { return std::holds_alternative<Undefined>(v); }
  bool is_none() const { return std::holds_alternative<None>(v); }
  bool is_bool() const { return std::holds_alternative<bool>(v); }
  bool is_int() const { return std::holds_alternative<int64_t>(v); }
  bool is_float() const { return std::holds_alternative<double>(v); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return std::holds_alternative<std::string>(v); }
  bool is_list() const { return std::holds_alternative<ListPtr>(v); }
  bool is_dict() const { return std::holds_alternative<DictPtr>(v); }
  bool is_namespace() const { return std::holds_alternative<NamespacePtr>(v); }
  bool is_function() const { return std::holds_alternative<FunctionPtr>(v); }

  const std::string& str() const { return std::get<std::string>(v); }
  const ListData& list() const { return *std::get<ListPtr>(v); }
  const DictData& dict() const { return *std::get<DictPtr>(v); }
  Namespace& ns() const { return *std::get<NamespacePtr>(v); }
  const Function& fn() const { return *std::get<FunctionPtr>(v); }
};

// Positional and keyword arguments of a call.
struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  // The argument at `index` or named `name`, else `fallback`; taken out of
  // the lists so that leftovers can be reported.
  Value take(size_t index, const std::string& name, Value fallback = Value());
  bool has(size_t index, const std::string& name) const;
  void expect_done(const std::string& fn) const;  // throws on unused arguments
 private:
  size_t taken_ = 0;
};

// Containers nest at most kMaxNesting deep (Error beyond).
constexpr uint32_t kMaxNesting = 256;
Value make_list(std::vector<Value> items, bool tuple = false);
Value make_dict(DictData d);
Value make_generator(std::vector<Value> items);
Value make_markup(std::string s);
std::string html_escape(const std::string& s);  // markupsafe.escape
Value make_function(std::string name, std::function<Value(Args&)> fn);

// Python semantics.
bool truthy(const Value& v);
std::string type_name(const Value& v);  // "str", "int", "list", ... as Python says
std::string to_str(const Value& v);     // str(v); undefined raises? no: ""
std::string repr(const Value& v);       // repr(v)
std::string float_repr(double d);       // repr(float), shortest round trip
bool equal(const Value& a, const Value& b);
// a < b as Python compares; throws Error for unorderable types.
bool less(const Value& a, const Value& b);
double as_double(const Value& v);  // bool, int or float
// Bounds the recursion of printing and comparing values (namespaces can
// nest without a container depth); throws Error past kMaxNesting * 2 levels.
struct RecursionGuard {
  RecursionGuard();
  ~RecursionGuard();
  RecursionGuard(const RecursionGuard&) = delete;
  RecursionGuard& operator=(const RecursionGuard&) = delete;
};
// Throws Error saying that an undefined value was used (jinja2's UndefinedError).
[[noreturn]] void undefined_error(const Value& v);

}  // namespace sinkstream::text::jinja
