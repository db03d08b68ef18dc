#include "text/jinja/render.hpp"

#include <cstdio>
#include <ctime>

#include "text/jinja/parser.hpp"

namespace sinkstream::text::jinja {

Renderer::Renderer(const RenderOptions& opt) : opt_(opt) {
  if (opt.date) {
    int y = 0, m = 0, d = 0;
    char tail = 0;
    if (std::sscanf(opt.date->c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 ||
        m > 12 || d < 1 || d > 31)
      throw Error("date '" + *opt.date + "' is not YYYY-MM-DD");
    now_.tm_year = y - 1900;
    now_.tm_mon = m - 1;
    now_.tm_mday = d;
    now_.tm_isdst = -1;
    std::tm copy = now_;
    if (timegm(&copy) == -1) throw Error("date '" + *opt.date + "' is out of range");
    now_ = copy;  // timegm fills in the weekday and the day of the year
  } else {
    const std::time_t t = std::time(nullptr);
    localtime_r(&t, &now_);  // Python's datetime.now() is local time
  }
  install_globals();
}

Renderer::~Renderer() {
  for (auto& ns : namespaces_) ns->attrs.items.clear();
}

std::string Renderer::run(const Body& body, DictData variables) {
  frames_.clear();
  frames_.push_back(Frame{std::move(variables.items), false});
  std::string out;
  exec(body, out);
  return out;
}

void Renderer::step() {
  if (++steps_ > opt_.limits.max_steps)
    throw Error("template did too much work (more than " + std::to_string(opt_.limits.max_steps) +
                " steps)");
}

void Renderer::check_size(size_t bytes) const {
  if (bytes > opt_.limits.max_output_bytes)
    throw Error("template output passes the limit of " +
                std::to_string(opt_.limits.max_output_bytes) + " bytes");
}

void Renderer::append(std::string& out, const std::string& s) const {
  check_size(out.size() + s.size());
  out += s;
}

Value Renderer::new_namespace(DictData attrs) {
  auto ns = std::make_shared<Namespace>();
  ns->attrs = std::move(attrs);
  namespaces_.push_back(ns);
  return Value(ns);
}

Value Renderer::lookup(const std::string& name) const {
  for (size_t i = frames_.size(); i-- > 0;) {
    for (auto it = frames_[i].vars.rbegin(); it != frames_[i].vars.rend(); ++it)
      if (it->first == name) return it->second;
    if (frames_[i].link < i) i = frames_[i].link + 1;  // continue at the linked frame
  }
  if (const Value* g = globals_.find(name)) return *g;
  return Value(Undefined{"'" + name + "' is undefined"});
}

void Renderer::assign(const std::string& name, Value v) {
  auto& vars = frames_.back().vars;
  for (auto& [k, old] : vars)
    if (k == name) {
      old = std::move(v);
      return;
    }
  vars.emplace_back(name, std::move(v));
}

Renderer::Flow Renderer::exec(const Body& body, std::string& out) {
  for (const auto& n : body) {
    const Flow f = exec_node(*n, out);
    if (f != Flow::normal) return f;
  }
  return Flow::normal;
}

std::string Renderer::capture(const Body& body) {
  std::string s;
  exec(body, s);
  return s;
}

Value Renderer::apply_chain(const Expr* chain, Value text) {
  if (!chain) return text;
  block_text_.push_back(&text);
  Value v;
  try {
    v = eval(*chain);
  } catch (...) {
    block_text_.pop_back();
    throw;
  }
  block_text_.pop_back();
  return v;
}

Renderer::Flow Renderer::exec_node(const Node& n, std::string& out) {
  step();
  switch (n.kind) {
    case Node::Kind::text:
      append(out, n.text);
      break;
    case Node::Kind::output:
      append(out, to_str(eval(*n.expr)));
      break;
    case Node::Kind::if_:
      for (const auto& [cond, body] : n.branches)
        if (truthy(eval(*cond))) return exec(body, out);
      return exec(n.else_body, out);
    case Node::Kind::for_:
      return exec_for(n, out);
    case Node::Kind::set:
      exec_set(n, eval(*n.expr));
      break;
    case Node::Kind::set_block:
      exec_set(n, apply_chain(n.expr.get(), Value(capture(n.body))));
      break;
    case Node::Kind::macro:
      assign(n.text, make_macro(n));
      break;
    case Node::Kind::call_block:
      append(out, to_str(exec_call_block(n)));
      break;
    case Node::Kind::filter_block:
      append(out, to_str(apply_chain(n.expr.get(), Value(capture(n.body)))));
      break;
    case Node::Kind::break_:
      return Flow::brk;
    case Node::Kind::continue_:
      return Flow::cont;
    case Node::Kind::scope: {  // a CallBlock in transformers: assignments inside stay inside
      frames_.push_back(Frame{});
      Flow f;
      try {
        f = exec(n.body, out);
      } catch (...) {
        frames_.pop_back();
        throw;
      }
      frames_.pop_back();
      return f;
    }
  }
  return Flow::normal;
}

namespace {

// Binds `targets` to `v`, unpacking it when there are several.
void bind_targets(const std::vector<std::string>& targets, const Value& v,
                  const std::function<void(const std::string&, Value)>& set) {
  if (targets.size() == 1) {
    set(targets[0], v);
    return;
  }
  if (v.is_undefined()) undefined_error(v);
  std::vector<Value> items;
  if (v.is_list() || v.is_string() || v.is_dict())
    items = iterate(v);
  else
    throw Error("cannot unpack non-iterable " + type_name(v) + " object");
  if (items.size() != targets.size())
    throw Error("cannot unpack " + std::to_string(items.size()) + " values into " +
                std::to_string(targets.size()) + " names");
  for (size_t i = 0; i < items.size(); ++i) set(targets[i], items[i]);
}

DictData loop_object(const std::vector<Value>& items, size_t i) {
  const auto n = static_cast<int64_t>(items.size()), k = static_cast<int64_t>(i);
  DictData d;
  d.items = {{"index", Value(k + 1)},    {"index0", Value(k)},
             {"revindex", Value(n - k)}, {"revindex0", Value(n - k - 1)},
             {"first", Value(k == 0)},   {"last", Value(k == n - 1)},
             {"length", Value(n)},       {"depth", Value(1)},
             {"depth0", Value(0)}};
  if (i > 0) d.items.emplace_back("previtem", items[i - 1]);
  if (i + 1 < items.size()) d.items.emplace_back("nextitem", items[i + 1]);
  const auto at = static_cast<size_t>(k);
  d.items.emplace_back("cycle", make_function("cycle", [at](Args& a) -> Value {
                         if (a.pos.empty()) throw Error("no items for cycling given");
                         return a.pos[at % a.pos.size()];
                       }));
  return d;
}

}  // namespace

Renderer::Flow Renderer::exec_for(const Node& n, std::string& out) {
  const Value seq = eval(*n.expr);
  std::vector<Value> all = iterate(seq), items;
  auto set = [this](const std::string& k, Value v) { assign(k, std::move(v)); };
  if (n.cond) {
    for (const auto& v : all) {
      frames_.push_back(Frame{});
      try {
        bind_targets(n.targets, v, set);
        const bool keep = truthy(eval(*n.cond));
        frames_.pop_back();
        if (keep) items.push_back(v);
      } catch (...) {
        frames_.pop_back();
        throw;
      }
    }
  } else {
    items = std::move(all);
  }
  if (items.empty()) return exec(n.else_body, out);
  for (size_t i = 0; i < items.size(); ++i) {
    step();  // an empty body still costs work per iteration
    frames_.push_back(Frame{});
    Flow f;
    try {
      bind_targets(n.targets, items[i], set);
      assign("loop", make_dict(loop_object(items, i)));
      f = exec(n.body, out);
    } catch (...) {
      frames_.pop_back();
      throw;
    }
    frames_.pop_back();
    if (f == Flow::brk) break;
  }
  return Flow::normal;
}

void Renderer::exec_set(const Node& n, Value v) {
  if (n.text.empty()) {
    bind_targets(n.targets, v, [this](const std::string& k, Value x) { assign(k, std::move(x)); });
    return;
  }
  const Value ns = lookup(n.targets[0]);
  if (!ns.is_namespace()) throw Error("cannot assign attribute on non-namespace object");
  ns.ns().attrs.set(n.text, std::move(v));
}

Value Renderer::make_macro(const Node& n) {
  const Node* node = &n;
  return make_function(n.text, [this, node](Args& args) { return call_macro(*node, args, 0); });
}

Value Renderer::exec_call_block(const Node& n) {
  const size_t site = frames_.size() - 1;
  const Node* node = &n;
  Value caller = make_function("caller", [this, node, site](Args& args) {
    if (site >= frames_.size()) throw Error("caller() used outside its call block");
    return call_macro(*node, args, site);
  });
  Value fn = eval(*n.expr->kids[0]);
  Args args = eval_args(*n.expr, 1);
  args.kw.emplace_back("caller", std::move(caller));
  return call(fn, args);
}

Value Renderer::call_macro(const Node& n, Args& args, size_t link) {
  if (++call_depth_ > opt_.limits.max_depth) {
    --call_depth_;
    throw Error("macro calls nested too deeply (more than " +
                std::to_string(opt_.limits.max_depth) + ")");
  }
  frames_.push_back(Frame{{}, link});
  std::string out;
  try {
    if (args.has(static_cast<size_t>(-1), "caller"))
      assign("caller", args.take(static_cast<size_t>(-1), "caller"));
    for (size_t i = 0; i < n.params.size(); ++i) {
      const auto& p = n.params[i];
      const bool given = args.has(i, p.name);
      Value v = args.take(i, p.name);
      if (!given)
        v = p.fallback ? eval(*p.fallback)
                       : Value(Undefined{"parameter '" + p.name + "' was not provided"});
      assign(p.name, std::move(v));
    }
    std::vector<Value> extra(
        args.pos.begin() + static_cast<std::ptrdiff_t>(std::min(args.pos.size(), n.params.size())),
        args.pos.end());
    assign("varargs", make_list(std::move(extra), true));
    DictData kw;
    for (auto& [k, v] : args.kw) kw.set(k, v);
    assign("kwargs", make_dict(std::move(kw)));
    exec(n.body, out);
  } catch (...) {
    frames_.pop_back();
    --call_depth_;
    throw;
  }
  frames_.pop_back();
  --call_depth_;
  return Value(std::move(out));
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value(None{});
    case nlohmann::ordered_json::value_t::boolean:
      return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      for (const auto& x : j) items.push_back(from_json(x));
      return make_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      DictData d;
      for (const auto& [k, v] : j.items()) d.set(k, from_json(v));
      return make_dict(std::move(d));
    }
    default:
      throw Error("unsupported JSON value");
  }
}

Template::Template(std::string_view source, const Limits& limits)
    : body_(std::make_shared<const Body>(parse(source, limits.max_depth * 4))) {
  validate(*body_);
}

std::string Template::render(const nlohmann::ordered_json& variables,
                             const RenderOptions& opt) const {
  if (!variables.is_object()) throw Error("template variables must be a JSON object");
  const Value vars = from_json(variables);
  Renderer r(opt);
  return r.run(*body_, vars.dict());
}

std::string render_chat(const Template& t, const ChatInputs& in, const RenderOptions& opt) {
  nlohmann::ordered_json vars = nlohmann::ordered_json::object();
  vars["messages"] = in.messages;
  vars["tools"] = in.tools;
  vars["documents"] = nullptr;
  vars["add_generation_prompt"] = in.add_generation_prompt;
  vars["bos_token"] = in.bos_token;
  vars["eos_token"] = in.eos_token;
  for (const auto& [k, v] : in.extra.items()) vars[k] = v;
  return t.render(vars, opt);
}

}  // namespace sinkstream::text::jinja
