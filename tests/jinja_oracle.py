#!/usr/bin/env python3
"""Renders chat templates the way Hugging Face transformers' apply_chat_template
does (the reference the C++ Jinja engine is tested against): jinja2's
ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loop
controls, raise_exception, strftime_now, and a tojson that is json.dumps with
ensure_ascii off. Needs only python3-jinja2 (no transformers).

  jinja_oracle.py --template-file T.jinja --messages M.json [--tools TOOLS.json]
                  [--add-generation-prompt] [--bos-token S] [--eos-token S] [--date YYYY-MM-DD]
      prints the rendered text; a template that raises exits 1 with its message.
  jinja_oracle.py --batch < cases.json > results.json
      cases: [{"template", "messages", "tools", "add_generation_prompt",
               "bos_token", "eos_token", "date", "extra"}, ...]
      results: [{"ok": true, "text": ...} or {"ok": false, "error": ...}, ...]
"""
import argparse
import datetime
import json
import sys

import jinja2
import jinja2.ext
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


class Generation(jinja2.ext.Extension):
    """transformers' {% generation %} tag (assistant masks); renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.Scope(body).set_lineno(lineno)


def make_env(date):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        now = datetime.datetime.strptime(date, "%Y-%m-%d") if date else datetime.datetime.now()
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(case):
    env = make_env(case.get("date"))
    template = env.from_string(case["template"])
    variables = dict(messages=case["messages"], tools=case.get("tools"), documents=None,
                     add_generation_prompt=bool(case.get("add_generation_prompt")),
                     bos_token=case.get("bos_token", ""), eos_token=case.get("eos_token", ""))
    variables.update(case.get("extra") or {})
    return template.render(**variables)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", action="store_true")
    ap.add_argument("--template-file")
    ap.add_argument("--messages")
    ap.add_argument("--tools")
    ap.add_argument("--add-generation-prompt", action="store_true")
    ap.add_argument("--bos-token", default="")
    ap.add_argument("--eos-token", default="")
    ap.add_argument("--date")
    args = ap.parse_args()
    if args.batch:
        results = []
        for case in json.load(sys.stdin):
            try:
                results.append({"ok": True, "text": render(case)})
            except Exception as e:  # every template failure is an expected outcome here
                results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
        json.dump(results, sys.stdout, ensure_ascii=False)
        return 0
    with open(args.template_file, encoding="utf-8") as f:
        case = {"template": f.read()}
    with open(args.messages, encoding="utf-8") as f:
        case["messages"] = json.load(f)
    if args.tools:
        with open(args.tools, encoding="utf-8") as f:
            case["tools"] = json.load(f)
    case.update(add_generation_prompt=args.add_generation_prompt, bos_token=args.bos_token,
                eos_token=args.eos_token, date=args.date)
    try:
        sys.stdout.write(render(case))
    except Exception as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
