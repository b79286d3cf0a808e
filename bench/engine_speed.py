"""Documents/s of the local engine (one process, N torch threads) and the process engine (N processes of 1 thread).

Both build a knowledge-graph directory from the same first ``--limit`` documents with the same model, in the
same run, alternating (``--rounds`` times each, local first); each figure is the median. Wall time covers the
per-document stage only (`build_knowledge_graph` with the store build left out): model loads in the workers
included, the parent's model load not. The load average is printed beside each run.

    python bench/engine_speed.py --corpus ../shared/data/2wiki/corpus.jsonl --limit 512 --model wikidata-all --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT / "data/sample/corpus.jsonl"))
    parser.add_argument("--limit", type=int, default=256)
    parser.add_argument("--model", default="wikidata")
    parser.add_argument(
        "--cores", type=int, default=2, help="local engine's torch threads; the process engine's processes"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from kgbuild import KnowledgeGraphDir, SpacyParser, build_knowledge_graph, read_corpus
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.process_engine import ProcessEngine
    from kgbuild.settings import resolve_model_dir

    torch.set_num_threads(args.cores)
    documents = list(islice(read_corpus(args.corpus), args.limit))
    model_dir = resolve_model_dir(args.model)
    extractor = RelationExtractor.load(model_dir)
    spacy = SpacyParser()
    engines = {
        "local": None,
        "processes": ProcessEngine(str(model_dir.resolve()), processes=args.cores, batch_size=args.batch_size),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in engines}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):
            for name, engine in engines.items():
                kg = KnowledgeGraphDir(Path(scratch) / f"{name}-{round_}", create=True)
                load = os.getloadavg()[0]
                started = time.monotonic()
                report = build_knowledge_graph(
                    documents, kg, extractor, spacy, "bench", extractor.version, batch_size=args.batch_size,
                    engine=engine,
                )  # fmt: skip
                seconds = time.monotonic() - started
                runs[name].append({"seconds": round(seconds, 2), "load": round(load, 2), "triples": report.triples})
                print(
                    f"{name} round {round_ + 1}: {seconds:.1f} s, load {load:.1f}, {report.triples} triples", flush=True
                )
    medians = {name: statistics.median(r["seconds"] for r in rows) for name, rows in runs.items()}
    result = {
        "documents": len(documents),
        "cores": args.cores,
        "runs": runs,
        "documents_per_second": {name: round(len(documents) / s, 3) for name, s in medians.items()},
        "speedup_processes_over_local": round(medians["local"] / medians["processes"], 3),
    }
    print(json.dumps(result, indent=2) if args.json else result)


if __name__ == "__main__":
    main()
