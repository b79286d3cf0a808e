"""Measure how the corpus-level stages grow with the corpus: time, peak memory and log-log slope per stage.

For each corpus (`bench/scale_copies.py` makes them: the first N passages of an extracted corpus, then
renamed copies), every stage runs in a fresh process, on a store and index built from scratch:

- ``store``: `KnowledgeGraphDir.store()` as ``kgbuild extract`` runs it after the documents: the bulk load,
  then `resolve_store`'s steps (node records, same-name merges, alias merges with the base encoder, the IRI
  rewrite, the domain/range re-check);
- ``summary``: what ``kgbuild extract`` prints at its end (`graph_summary`, `top_triples`);
- ``index``: `kgsearch.index.build_index` (the encoder is the deterministic ``hashing-384`` double: the
  BERT encoder costs the same per text at any corpus size, and its rate is in bench/results.md);
- ``query``: `Searcher.search` over a fixed set of questions after `warm_up`, one torch thread.

Peak memory is the process's peak resident set (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so each
stage's figure is its own process's peak; inside a stage, each step's figure is the peak so far. CPU
seconds are ``time.process_time()``: on a shared machine they move less than wall time. The stages import
the package from this checkout (``PYTHONPATH``), not from wherever it is installed.

    python bench/scale_curve.py --data /tmp/scale-data --sizes 2000 4000 8000 --json bench/scale_curve.json
    python bench/scale_curve.py --plot bench/scale_curve.json --out bench/scale_curve.png
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

STAGES = ("store", "summary", "index", "query")
BUILD = ("store", "summary", "index")  # build+index: what a corpus costs before its first question
ENCODER = "hashing-384"


def peak_mb() -> float:
    """Return this process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Steps:
    """Time named steps of one stage, with the process's peak memory after each."""

    def __init__(self) -> None:
        self.figures: dict[str, dict[str, float]] = {}
        self.counts: dict[str, int] = {}

    def wrap(self, module: Any, name: str, step: str | None = None) -> None:
        """Replace `module.name` by a timed call of it (the callers look it up in the module at call time)."""
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(step or name, time.perf_counter() - start, time.process_time() - cpu)

        setattr(module, name, timed)

    def add(self, step: str, seconds: float, cpu: float | None = None) -> None:
        figure = self.figures.setdefault(step, {"s": 0.0, "calls": 0})
        figure["s"] += seconds
        if cpu is not None:
            figure["cpu_s"] = figure.get("cpu_s", 0.0) + cpu
        figure["calls"] += 1
        figure["peak_mb"] = round(peak_mb(), 1)


def _store(kg_dir: Path, steps: Steps) -> None:
    import kgbuild.rdf.sameas as sameas
    from kgbuild import KnowledgeGraphDir

    shutil.rmtree(kg_dir / "store", ignore_errors=True)
    (kg_dir / "store.stamp").unlink(missing_ok=True)
    original_alias = sameas.alias_merges

    def alias_merges(records: Any, merges: Any, encode: Callable[[list[str]], Any], threshold: float) -> Any:
        def counted(names: list[str]) -> Any:
            start, cpu = time.perf_counter(), time.process_time()
            vectors = encode(names)
            steps.add("alias_encoder", time.perf_counter() - start, time.process_time() - cpu)
            steps.counts["alias_names_encoded"] = len(names)
            return vectors

        found = original_alias(records, merges, counted, threshold)
        steps.counts["alias_merges"] = len(found)
        return found

    sameas.alias_merges = alias_merges
    for name in ("node_records", "corpus_merges", "alias_merges", "_drop_violations", "resolve_store"):
        steps.wrap(sameas, name)
    kg_dir_handle = KnowledgeGraphDir(kg_dir)
    start, cpu = time.perf_counter(), time.process_time()
    store = kg_dir_handle.store()
    total, cpu_total = time.perf_counter() - start, time.process_time() - cpu
    resolve = steps.figures["resolve_store"]["s"]
    parts = sum(steps.figures[s]["s"] for s in ("node_records", "corpus_merges", "alias_merges", "_drop_violations"))
    cpu_resolve = steps.figures["resolve_store"]["cpu_s"]
    cpu_parts = sum(
        steps.figures[s]["cpu_s"] for s in ("node_records", "corpus_merges", "alias_merges", "_drop_violations")
    )
    steps.figures["bulk_load"] = {"s": total - resolve, "cpu_s": cpu_total - cpu_resolve, "calls": 1}
    steps.figures["rewrite"] = {"s": resolve - parts, "cpu_s": cpu_resolve - cpu_parts, "calls": 1}
    for key in ("s", "cpu_s"):  # the encoder's share is its own step
        steps.figures["alias_merges"][key] -= steps.figures.get("alias_encoder", {}).get(key, 0.0)
    steps.counts["quads"] = len(store)


def _summary(kg_dir: Path, steps: Steps) -> None:
    import kgbuild.rdf.graph as graph
    from kgbuild import KnowledgeGraphDir

    steps.wrap(graph, "graph_summary")
    steps.wrap(graph, "top_triples")
    dataset = KnowledgeGraphDir(kg_dir).dataset()
    summary = graph.graph_summary(dataset)
    graph.top_triples(dataset, 15)
    steps.counts |= {key: int(value) for key, value in asdict(summary).items() if isinstance(value, int)}


def _index(kg_dir: Path, steps: Steps) -> None:
    import kgsearch.index as index
    from kgsearch.encoder import load_encoder

    steps.wrap(index, "read_facts")
    steps.wrap(index, "read_passages")
    for name, step in (("graph_edges", "_graph"), ("node_names", "_names"), ("name_edges", "_name_edges")):
        steps.wrap(index, name, step)  # the steps keep the names the figures of 2026-12-05 were taken under
    steps.wrap(index, "alias_edges", "_alias_edges")
    encoder = load_encoder(ENCODER)
    start = time.perf_counter()
    manifest = index.build_index(kg_dir, kg_dir / "corpus.jsonl", encoder, ENCODER)
    total = time.perf_counter() - start
    timings = manifest.timings
    for name in ("passage_vectors_s", "name_vectors_s", "bm25_s"):
        steps.figures[name[:-2]] = {"s": timings[name], "calls": 1}
    steps.figures["build_index"] = {"s": total, "calls": 1}
    steps.counts |= {"entities": manifest.entities, **{f"{k}_edges": v for k, v in manifest.edges.items()}}


def _query(kg_dir: Path, steps: Steps, questions: Path, limit: int) -> None:
    from kgsearch import Searcher

    rows = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
    start, cpu = time.perf_counter(), time.process_time()
    searcher = Searcher.open(kg_dir, threads=1)
    searcher.warm_up()
    steps.add("open", time.perf_counter() - start, time.process_time() - cpu)
    times, cpu = [], time.process_time()
    for row in rows:
        start = time.perf_counter()
        searcher.search(row["question"], k=10)
        times.append(time.perf_counter() - start)
    steps.add("questions", sum(times), time.process_time() - cpu)
    steps.counts["questions"] = len(times)
    steps.figures["questions"] |= {
        "p50_ms": round(1000 * statistics.median(times), 2),
        "p90_ms": round(1000 * statistics.quantiles(times, n=10)[-1], 2),
    }


def run_stage(stage: str, kg_dir: Path, questions: Path, limit: int) -> dict[str, Any]:
    """Run one stage in this process; return its wall time, peak memory, steps and counts."""
    steps = Steps()
    baseline = peak_mb()
    start, cpu = time.perf_counter(), time.process_time()
    if stage == "store":
        _store(kg_dir, steps)
    elif stage == "summary":
        _summary(kg_dir, steps)
    elif stage == "index":
        _index(kg_dir, steps)
    else:
        _query(kg_dir, steps, questions, limit)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    for figure in steps.figures.values():
        for key in ("s", "cpu_s"):
            if key in figure:
                figure[key] = round(figure[key], 3)
    return {
        "s": round(seconds, 3),
        "cpu_s": round(cpu, 3),
        "peak_mb": round(peak_mb(), 1),
        "start_mb": round(baseline, 1),
        "steps": steps.figures,
        "counts": steps.counts,
    }


def slope(sizes: list[int], values: list[float]) -> float:
    """Least-squares slope of log(value) against log(size): 1 is linear, 2 quadratic."""
    xs, ys = [math.log(s) for s in sizes], [math.log(max(v, 1e-9)) for v in values]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def series(figures: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    """Per stage and step (``stage.step``): wall seconds, CPU seconds and peak MB at each size, sizes ascending.

    A list is empty where a step has no such figure (the index's own timings are wall time only).
    """
    sizes = sorted(figures, key=int)
    out: dict[str, dict[str, list[float]]] = {}
    for stage in STAGES:
        rows = [figures[n][stage] for n in sizes]
        out[stage] = {
            "s": [r["s"] for r in rows],
            "cpu": [r["cpu_s"] for r in rows],
            "mb": [r["peak_mb"] for r in rows],
        }
        for step in rows[0]["steps"]:
            if all(step in r["steps"] for r in rows):
                steps = [r["steps"][step] for r in rows]
                out[f"{stage}.{step}"] = {
                    key: [x[name] for x in steps] if all(name in x for x in steps) else []
                    for key, name in (("s", "s"), ("cpu", "cpu_s"), ("mb", "peak_mb"))
                }
    out["build+index"] = {
        "s": [sum(figures[n][stage]["s"] for stage in BUILD) for n in sizes],
        "cpu": [sum(figures[n][stage]["cpu_s"] for stage in BUILD) for n in sizes],
        "mb": [max(figures[n][stage]["peak_mb"] for stage in BUILD) for n in sizes],
    }
    p50 = [figures[n]["query"]["steps"]["questions"]["p50_ms"] for n in sizes]
    out["query p50 (ms)"] = {"s": p50, "cpu": [], "mb": []}
    return out


def table(figures: dict[str, Any]) -> str:
    """Markdown table: each stage and step's wall seconds, CPU seconds and peak MB per size, with their slopes."""
    numbers = sorted(int(n) for n in figures)
    head = " / ".join(f"{n:,}" for n in numbers)
    lines = [
        f"| stage.step | wall s at {head} | slope | CPU s | slope | peak MB | slope |",
        "| --- | --- | ---: | --- | ---: | --- | ---: |",
    ]
    for name, values in series(figures).items():
        cells = [name]
        for key, form in (("s", "{:.2f}"), ("cpu", "{:.2f}"), ("mb", "{:,.0f}")):
            found = values[key]
            cells += [" / ".join(form.format(v) for v in found), f"{slope(numbers, found):.2f}"] if found else ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(figures: dict[str, Any], out: Path) -> None:
    """Draw time and peak memory against passages, log-log, one line per stage, with a linear guide."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [int(n) for n in sorted(figures, key=int)]
    data = series(figures)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    names = [*STAGES[:3], "store.alias_merges", "store._drop_violations", "index._alias_edges", "build+index"]
    for name in [n for n in names if n in data]:
        left.plot(sizes, data[name]["s"], marker="o", label=f"{name} ({slope(sizes, data[name]['s']):.2f})")
    left.plot(sizes, data["query p50 (ms)"]["s"], marker="s", ls="--", label="query p50, ms")
    guide = [data["build+index"]["s"][0] * n / sizes[0] for n in sizes]
    left.plot(sizes, guide, color="grey", ls=":", label="linear")
    for stage in STAGES:
        right.plot(sizes, data[stage]["mb"], marker="o", label=f"{stage} ({slope(sizes, data[stage]['mb']):.2f})")
    for axis, label in ((left, "seconds (query: ms)"), (right, "peak resident MB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("passages")
        axis.set_ylabel(label)
        axis.legend(fontsize=8)
        axis.grid(True, which="both", alpha=0.3)
    left.set_title("time per stage (log-log slope)")
    right.set_title("peak memory per stage's process")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="what bench/scale_copies.py wrote (n<SIZE>/ folders)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000, 8000, 16000])
    parser.add_argument("--questions", type=Path, default=Path("../shared/data/2wiki/questions.jsonl"))
    parser.add_argument("--limit", type=int, default=50, help="questions timed per size")
    parser.add_argument("--json", type=Path, help="add the figures to this JSON file (sizes measured again replace)")
    parser.add_argument("--plot", type=Path, help="draw this JSON file's figures instead of measuring")
    parser.add_argument("--out", type=Path, default=Path("bench/scale_curve.png"))
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES), help="measure only these again")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)  # one stage, in a child process
    parser.add_argument("--kg", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(run_stage(args.stage, args.kg, args.questions, args.limit)))
        return
    if args.plot:
        figures = json.loads(args.plot.read_text(encoding="utf-8"))["sizes"]
        plot(figures, args.out)
        print(table(figures))
        return
    if args.data is None:
        parser.error("--data is required to measure")
    stored = json.loads(args.json.read_text(encoding="utf-8")) if args.json and args.json.is_file() else {"sizes": {}}
    checkout = str(Path(__file__).resolve().parents[1])  # measure this checkout's code, not an installed copy
    environment = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))}
    for size in args.sizes:
        kg_dir = args.data / f"n{size}"
        figures = stored["sizes"].get(str(size), {})
        for stage in args.stages:  # a stage measured again replaces its figures, the others stay
            command = [
                sys.executable,
                __file__,
                "--stage",
                stage,
                "--kg",
                str(kg_dir),
                "--questions",
                str(args.questions),
            ]
            done = subprocess.run(
                [*command, "--limit", str(args.limit)], capture_output=True, text=True, check=False, env=environment
            )
            if done.returncode:
                raise SystemExit(f"{stage} at {size}: exit {done.returncode}\n{done.stderr[-3000:]}")
            figures[stage] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{size} {stage}: {figures[stage]['s']:.1f} s, {figures[stage]['peak_mb']:.0f} MB", flush=True)
        stored["sizes"][str(size)] = figures
        if args.json:
            args.json.write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")
    if len(stored["sizes"]) > 1:
        print(table(stored["sizes"]))


if __name__ == "__main__":
    main()
