"""Push throughput to a real Oxigraph server, against `oxigraph load` of the exported N-Quads (the limit).

Each figure starts from an empty server or store. ``--copies N`` copies the graph's quads N times into
renamed graphs (``...-copyK``), bulk-loaded into a local store first, to measure at a larger size.

    python bench/push_speed.py KG_DIR [--copies 10] [--chunk-size 50000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

OXIGRAPH = shutil.which("oxigraph", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`oxigraph serve` over a fresh location on a free port of 127.0.0.1."""

    def __init__(self, location: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(OXIGRAPH), "serve", "--location", str(location), "--bind", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(200):
            try:
                urllib.request.urlopen(self.base + "/query?query=ASK%7B%7D", timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("oxigraph did not start")

    def count(self) -> int:
        query = urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"})
        request = urllib.request.Request(f"{self.base}/query?{query}", headers={"Accept": "text/csv"})
        with urllib.request.urlopen(request, timeout=600) as response:
            return int(response.read().decode().split()[-1])

    def post(self, file: Path, parameters: str = "") -> None:
        request = urllib.request.Request(
            f"{self.base}/store{parameters}", data=file.read_bytes(), headers={"Content-Type": "application/n-quads"}
        )
        with urllib.request.urlopen(request, timeout=3600) as response:
            response.read()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def copies_file(export: Path, copies: int, out: Path) -> None:
    """Write the export's quads `copies` times, the graph of copy K renamed ``<IRI-copyK>``."""
    with export.open("rb") as source, out.open("wb") as target:
        lines = source.read().split(b"\n")
        for k in range(copies):
            suffix = f"-copy{k}>".encode()
            for line in lines:
                if line:
                    head, graph = line[:-2].rstrip().rsplit(b" ", 1)
                    target.write(head + b" " + (graph[:-1] + suffix if k else graph) + b" .\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kg", type=Path)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--no-full", action="store_true", help="skip push --full (one PUT per graph)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import pyoxigraph

    from kgbuild.rdf.remote import push
    from kgbuild.rdf.store import KnowledgeGraphDir

    result: dict[str, object] = {"kg": str(args.kg), "copies": args.copies, "chunk_size": args.chunk_size}
    with tempfile.TemporaryDirectory(prefix="push-speed-") as scratch:
        root = Path(scratch)
        source = KnowledgeGraphDir(args.kg).store()
        export = root / "export.nq"
        start = time.perf_counter()
        source.dump(str(export), format=pyoxigraph.RdfFormat.N_QUADS)
        result["export_s"] = round(time.perf_counter() - start, 2)
        if args.copies > 1:
            copies_file(export, args.copies, root / "copies.nq")
            export = root / "copies.nq"
        result["quads"] = quads = sum(1 for _ in export.open("rb"))
        result["export_mb"] = round(export.stat().st_size / 1e6, 1)

        # Store.bulk_load into a fresh on-disk store: how KnowledgeGraphDir.store() builds the local store.
        start = time.perf_counter()
        local = pyoxigraph.Store(str(root / "local"))
        local.bulk_load(path=str(export), format=pyoxigraph.RdfFormat.N_QUADS)
        local.flush()
        result["local_bulk_load_s"] = round(time.perf_counter() - start, 2)
        assert len(local) == quads, (len(local), quads)
        if args.copies > 1:
            source = local  # push the copies

        # The limit: the server's own loader reading the exported file from disk.
        start = time.perf_counter()
        subprocess.run(
            [str(OXIGRAPH), "load", "--location", str(root / "limit"), "--file", str(export)],
            check=True, capture_output=True,
        )  # fmt: skip
        result["oxigraph_load_s"] = round(time.perf_counter() - start, 2)

        # One HTTP request of the whole file, in a transaction and with Oxigraph's bulk loader.
        for name, parameters in (("one_post", ""), ("one_post_no_transaction", "?no_transaction")):
            server = Server(root / name)
            try:
                start = time.perf_counter()
                server.post(export, parameters)
                result[f"{name}_s"] = round(time.perf_counter() - start, 2)
                assert server.count() == quads
            finally:
                server.stop()

        server = Server(root / "pushed")
        try:
            target = server.base + "/store"
            checkpoint = root / "checkpoint.json"
            runs = [("push", False, False), ("push_again", False, False), ("push_full", True, False)]
            for name, full, bulk in runs[: 2 if args.no_full else 3]:
                report = push(source, target, checkpoint, chunk_size=args.chunk_size, full=full, no_transaction=bulk)
                result[f"{name}_s"] = round(report.seconds, 2)
                result[f"{name}_requests"] = report.requests
                result[f"{name}_quads_sent"] = report.quads
            assert server.count() == quads, (server.count(), quads)
        finally:
            server.stop()
        server = Server(root / "pushed-no-transaction")
        try:
            report = push(source, server.base + "/store", None, chunk_size=args.chunk_size, no_transaction=True)
            result["push_no_transaction_s"] = round(report.seconds, 2)
            assert server.count() == quads
        finally:
            server.stop()
    timed = ["oxigraph_load", "local_bulk_load", "one_post", "one_post_no_transaction", "push", "push_no_transaction"]
    for name in [*timed, *([] if args.no_full else ["push_full"])]:
        result[f"{name}_quads_per_s"] = round(quads / max(float(result[f"{name}_s"]), 1e-9))  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>34}: {value}")


if __name__ == "__main__":
    main()
