"""Documents/s per core of the local and Ray engines on the same documents, same run, and whether their graphs match.

Each engine builds its own knowledge-graph directory from the first ``--limit`` documents of the corpus with the
same model and settings. Wall time covers the whole `build_knowledge_graph` call (the Ray figure includes the
actors' start and model loads; `ray.init` is timed apart); the steady rate counts from the first document
written to the last. Then the document files are compared byte for byte and the stores (runs' own graphs aside)
quad for quad.

    python bench/ray_speed.py --limit 200 --model wikidata --json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT / "data/sample/corpus.jsonl"))
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--model", default="wikidata")
    parser.add_argument("--cores", type=int, default=2, help="torch threads of the local engine; Ray's CPUs")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--actor-cpus", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import ray
    import torch

    from kgbuild import KnowledgeGraphDir, RayEngine, SpacyParser, build_knowledge_graph, read_corpus
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.settings import resolve_model_dir

    documents = list(islice(read_corpus(args.corpus), args.limit))
    directory = resolve_model_dir(args.model)
    torch.set_num_threads(args.cores)
    extractor = RelationExtractor.load(directory)
    threads = max(1, args.cores // args.actors)
    results: dict[str, object] = {"documents": len(documents), "cores": args.cores, "load": os.getloadavg()}
    with tempfile.TemporaryDirectory() as scratch:
        paths = {}
        for name in ("local", "ray"):
            engine = None
            if name == "ray":
                started = time.monotonic()
                ray.init(num_cpus=args.cores, include_dashboard=False, logging_level="warning", log_to_driver=False)
                results["ray_init_s"] = round(time.monotonic() - started, 2)
                engine = RayEngine(str(directory), None, args.actors, args.batch_size, args.actor_cpus, threads)
            paths[name] = Path(scratch) / name
            kg = KnowledgeGraphDir(paths[name], create=True)
            arrivals: list[float] = []
            started = time.monotonic()

            def arrived(*_: object, seen: list[float] = arrivals) -> None:
                seen.append(time.monotonic())

            report = build_knowledge_graph(
                documents, kg, extractor, SpacyParser(), extractor.config.name or directory.name, extractor.version,
                batch_size=args.batch_size, engine=engine, on_document=arrived,
            )  # fmt: skip
            wall = time.monotonic() - started
            steady = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
            results[name] = {
                "wall_s": round(wall, 1),
                "first_document_s": round(arrivals[0] - started, 1) if arrivals else None,
                "documents_per_s": round(report.documents / wall, 3),
                "documents_per_s_per_core": round(report.documents / wall / args.cores, 3),
                "steady_documents_per_s": round(steady, 3),
                "triples": report.triples,
            }
            if name == "ray":
                ray.shutdown()
        files = {name: _document_files(path) for name, path in paths.items()}
        results["same_document_files"] = files["local"] == files["ray"]
        results["differing_files"] = sorted(n for n in files["local"] if files["local"][n] != files["ray"].get(n))
        quads = {name: _store_quads(KnowledgeGraphDir(path)) for name, path in paths.items()}
        results["same_store"] = quads["local"] == quads["ray"]
        results["store_quads"] = len(quads["local"])
    print(json.dumps(results, indent=None if args.json else 2))


def _document_files(path: Path) -> dict[str, str]:
    return {file.name: file.read_text(encoding="utf-8") for file in (path / "documents").glob("*.nq")}


def _store_quads(kg: object) -> set[str]:
    return {str(quad) for quad in kg.store() if "/run/" not in str(quad.graph_name)}  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
