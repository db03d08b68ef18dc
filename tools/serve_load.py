#!/usr/bin/env python3
"""Aggregate tokens/s of `sinkstream serve` through its HTTP API, for N
concurrent streaming clients (Python 3 standard library only: runs on a
machine without network or packages).

  python3 tools/serve_load.py --url http://127.0.0.1:8080 --clients 1,8,32 --seconds 60

Each client sends streamed chat completions one after another (a new
conversation each time unless --continue), reads every server-sent event, and
counts tokens from the usage chunk. Per client count it prints the aggregate
generated tokens/s, requests, time to first token (median, p95) and each
stream's decode speed (median). --json prints one JSON object per client count.
"""
import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def one_request(url, body, api_key, timeout, extra_headers=None):
    """Sends one streamed request; returns (tokens, seconds to first token, seconds total, text, cached prompt tokens)."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    headers.update(extra_headers or {})
    t0 = time.monotonic()
    conn.request("POST", u.path.rstrip("/") + "/v1/chat/completions", json.dumps(body), headers)
    res = conn.getresponse()
    if res.status != 200:
        raise RuntimeError(f"HTTP {res.status}: {res.read()[:300]!r}")
    first = None
    tokens = None
    cached = 0
    text = []
    done = False
    while True:
        line = res.readline()
        if not line:
            break
        line = line.decode("utf-8").rstrip("\r\n")
        if not line.startswith("data: "):
            continue
        data = line[6:]
        if data == "[DONE]":
            done = True
            break
        chunk = json.loads(data)
        if chunk.get("usage"):
            tokens = chunk["usage"]["completion_tokens"]
            cached = chunk["usage"].get("prompt_tokens_details", {}).get("cached_tokens", 0)
        for c in chunk.get("choices", []):
            piece = c.get("delta", {}).get("content")
            if piece:
                if first is None:
                    first = time.monotonic() - t0
                text.append(piece)
    conn.close()
    if not done or tokens is None:
        raise RuntimeError("the stream ended without its usage chunk and [DONE]")
    return tokens, first if first is not None else time.monotonic() - t0, time.monotonic() - t0, "".join(text), cached


def run(args, clients):
    deadline = time.monotonic() + args.seconds
    lock = threading.Lock()
    stats = {"tokens": 0, "requests": 0, "errors": 0, "cached": 0, "ttft": [], "decode": []}

    def client(k):
        messages = [{"role": "user", "content": f"{args.prompt} (story {k})"}]
        # A header naming the conversation: what a load balancer's session affinity can hash.
        conversation = 0
        headers = lambda: {args.conversation_header: f"{k}-{conversation}"} if args.conversation_header else {}
        while time.monotonic() < deadline:
            body = {"messages": messages, "max_tokens": args.max_tokens, "stream": True,
                    "stream_options": {"include_usage": True}, "temperature": args.temperature}
            if args.model:
                body["model"] = args.model
            try:
                tokens, ttft, total, text, cached = one_request(args.url, body, args.api_key, args.timeout, headers())
            except Exception as e:  # counted and reported (the first few), the run goes on
                with lock:
                    stats["errors"] += 1
                    first = stats["errors"] <= 5
                if first:
                    print(f"client {k}: {e}", file=sys.stderr)
                time.sleep(0.5)
                continue
            with lock:
                stats["tokens"] += tokens
                stats["requests"] += 1
                stats["cached"] += cached
                stats["ttft"].append(ttft)
                if tokens > 1 and total > ttft:
                    stats["decode"].append((tokens - 1) / (total - ttft))
            if args.continue_:
                messages += [{"role": "assistant", "content": text}, {"role": "user", "content": "And then?"}]
            else:
                messages = messages[:1]
                conversation += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": stats["requests"],
        "errors": stats["errors"],
        "tokens": stats["tokens"],
        "tokens_per_s": round(stats["tokens"] / elapsed, 2),
        "cached_prompt_tokens": stats["cached"],
        "ttft_median_s": round(statistics.median(stats["ttft"]), 4) if stats["ttft"] else None,
        "ttft_p95_s": round(percentile(stats["ttft"], 95), 4) if stats["ttft"] else None,
        "stream_decode_median_tokens_per_s": round(statistics.median(stats["decode"]), 2) if stats["decode"] else None,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--clients", default="1,8,32", help="comma-separated client counts, run one after another")
    p.add_argument("--seconds", type=float, default=60, help="per client count")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--prompt", default="Tell me a story about a dragon who learns to paint.")
    p.add_argument("--model", default="")
    p.add_argument("--api-key", default="")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--continue", dest="continue_", action="store_true",
                   help="each client continues its conversation (exercises stream reuse)")
    p.add_argument("--conversation-header", default="",
                   help="send this header (e.g. X-Conversation-Id) naming each conversation, for session affinity")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    for n in [int(x) for x in args.clients.split(",") if x]:
        r = run(args, n)
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print(f"{n:4d} clients: {r['tokens_per_s']:10.1f} tokens/s aggregate, {r['requests']} requests "
                  f"({r['errors']} failed) in {r['seconds']} s; first token median {r['ttft_median_s']} s, "
                  f"p95 {r['ttft_p95_s']} s; per-stream decode median {r['stream_decode_median_tokens_per_s']} "
                  f"tokens/s; {r['cached_prompt_tokens']} prompt tokens already in streams", flush=True)


if __name__ == "__main__":
    main()
