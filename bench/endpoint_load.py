"""Load on `kgbuild serve`: N clients send simple queries for D seconds, then again with slow clients beside them.

    python bench/endpoint_load.py /tmp/sparql-kg --clients 16 --seconds 60 --slow-clients 2

The server runs as its own process (`python -m kgbuild serve`); each client is an asyncio task with one
keep-alive connection that sends the next query as soon as the last is answered. Simple queries are
label look-ups, ASKs, one entity's triples and a page of the union graph; one request in 30 (--count-share) is instead
a COUNT of the whole union graph (about 90k quads on the sample graph: tens of milliseconds), reported
apart. The slow query joins the graph with itself three times (it runs until the time limit stops it).
Reported per phase: throughput, p50/p95/p99 of the simple queries answered, the share answered, errors
by kind, the same for the COUNTs, the server's RSS and threads (server and its workers together) before
and after, and the machine's load average.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from pathlib import Path

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def simple_queries(port: int) -> list[str]:
    """Simple queries over the graph's own labels, read from it once."""
    labels = _post(port, "SELECT ?e ?l WHERE { ?e <http://www.w3.org/2000/01/rdf-schema#label> ?l } LIMIT 200")
    rows = [(b["e"]["value"], b["l"]["value"]) for b in json.loads(labels)["results"]["bindings"]]
    queries = []
    for entity, label in rows:
        literal = json.dumps(label)
        queries += [
            f"SELECT ?e WHERE {{ ?e <http://www.w3.org/2000/01/rdf-schema#label> {literal} }}",
            f"ASK {{ <{entity}> ?p ?o }}",
            f"SELECT ?p ?o WHERE {{ <{entity}> ?p ?o }} LIMIT 50",
        ]
    queries += ["SELECT * WHERE { ?s ?p ?o } LIMIT 10"] * 20
    return queries


def _post(port: int, query: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", "/sparql", query.encode(), {"Content-Type": "application/sparql-query"})
    return connection.getresponse().read()


def cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the server process itself and of its workers, the stopped ones included."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    seconds = []
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        seconds.append((int(fields[11]) + int(fields[12])) / tick)
        if each == pid:  # workers already stopped and waited for
            seconds.append((int(fields[13]) + int(fields[14])) / tick)
    return seconds[0], sum(seconds[1:])


def tree(pid: int) -> tuple[float, int]:
    """RSS (MB) and threads of a process and its children, from /proc."""
    pids = [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    rss = threads = 0
    for each in pids:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except FileNotFoundError:
            continue
        rss += int(status.split("VmRSS:")[1].split()[0])
        threads += int(status.split("Threads:")[1].split()[0])
    return round(rss / 1024, 1), threads


async def client(
    port: int,
    queries: list[str],
    until: float,
    record: list[tuple[str, float, str]],
    kind: str,
    seed: int,
    share: float,
) -> None:
    """Send queries back to back on one keep-alive connection until `until`; record (kind, seconds, outcome)."""
    chooser = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.monotonic() < until:
        sent = "count" if kind == "simple" and chooser.random() < share else kind
        query = COUNT if sent == "count" else chooser.choice(queries)
        body = urllib.parse.urlencode({"query": query}).encode()
        head = (
            f"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        started = time.monotonic()
        try:
            writer.write(head.encode() + body)
            status_line = await reader.readline()
            headers = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            length = int(headers.split("content-length:")[1].split("\r\n")[0])
            await reader.readexactly(length)
            outcome, closed = status_line.split()[1].decode(), "connection: close" in headers
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
            outcome, closed = type(error).__name__, True
        if closed:
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        record.append((sent, time.monotonic() - started, outcome))
    writer.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def phase(
    port: int, pid: int, queries: list[str], clients: int, slow: int, seconds: float, share: float
) -> dict[str, object]:
    before, cpu_before = tree(pid), cpu(pid)
    print(f"phase: {clients} clients, {slow} slow, load average {os.getloadavg()}", file=sys.stderr)
    record: list[tuple[str, float, str]] = []
    until = time.monotonic() + seconds

    async def everyone() -> None:
        tasks = [client(port, queries, until, record, "simple", seed, share) for seed in range(clients)]
        tasks += [client(port, [SLOW], until, record, "slow", clients + seed, 0.0) for seed in range(slow)]
        await asyncio.gather(*tasks)

    asyncio.run(everyone())
    simple = [r for r in record if r[0] == "simple"]
    answered = [seconds for _, seconds, outcome in simple if outcome == "200"]
    counts = [r for r in record if r[0] == "count"]
    counted = [seconds for _, seconds, outcome in counts if outcome == "200"]
    return {
        "clients": clients,
        "slow_clients": slow,
        "seconds": seconds,
        "simple_requests": len(simple),
        "simple_answered_share": round(len(answered) / max(1, len(simple)), 4),
        "throughput_per_s": round(len(answered) / seconds, 1),
        "p50_ms": round(1000 * percentile(answered, 0.50), 1),
        "p95_ms": round(1000 * percentile(answered, 0.95), 1),
        "p99_ms": round(1000 * percentile(answered, 0.99), 1),
        "simple_errors": dict(Counter(o for _, _, o in simple if o != "200")),
        "count_requests": len(counts),
        "count_p50_p99_ms": (round(1000 * percentile(counted, 0.5), 1), round(1000 * percentile(counted, 0.99), 1)),
        "count_errors": dict(Counter(o for _, _, o in counts if o != "200")),
        "load_average_after": os.getloadavg(),
        "slow_outcomes": dict(Counter(o for kind, _, o in record if kind == "slow")),
        "server_cpu_s_main_workers": tuple(round(a - b, 1) for a, b in zip(cpu(pid), cpu_before, strict=True)),
        "server_rss_mb_threads_before": before,
        "server_rss_mb_threads_after": tree(pid),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kg_dir")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--slow-clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--count-share", type=float, default=1 / 30, help="share of requests that COUNT the graph")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "kgbuild", "serve", args.kg_dir, "--port", str(port)]
    command += ["--workers", str(args.workers), "--timeout", str(args.timeout)]
    server = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        print(server.stdout.readline().strip(), file=sys.stderr)  # the endpoint's URL: it is up
        queries = simple_queries(port)
        results = {"plain": phase(port, server.pid, queries, args.clients, 0, args.seconds, args.count_share)}
        if args.slow_clients:
            results["with_slow"] = phase(
                port, server.pid, queries, args.clients, args.slow_clients, args.seconds, args.count_share
            )
            time.sleep(args.timeout + 2)  # the last slow queries reach their limit and their workers are replaced
            results["with_slow"]["server_rss_mb_threads_settled"] = tree(server.pid)
        print(json.dumps(results, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
