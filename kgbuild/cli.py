"""The ``kgbuild`` command line: thin Typer wrappers over the library functions.

Exit codes: 0 success, 1 the job ran but failed (e.g. some documents could not be read),
2 bad usage or bad input (a malformed file, a missing model).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from kgbuild.errors import KgBuildError
from kgbuild.pipeline import DocumentExtraction
from kgbuild.records import Example
from kgbuild.settings import DEFAULT_BASE_MODEL

app = typer.Typer(help="Turn a text corpus into an RDF knowledge graph.", no_args_is_help=True, add_completion=False)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command("train")
def train_command(
    data: Annotated[Path, typer.Option("--data", help="Training file (CoNLL04 JSON/JSONL or Re-DocRED JSON).")],
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    dev: Annotated[Path | None, typer.Option("--dev", help="Dev file for early stopping.")] = None,
    holdout: Annotated[int, typer.Option(help="Without --dev: hold out the last N training examples as dev.")] = 0,
    base_model: Annotated[
        str, typer.Option(help="Base encoder: the packaged default or a local BERT directory.")
    ] = DEFAULT_BASE_MODEL,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    batch_size: Annotated[int, typer.Option(help="Examples per step.")] = 8,
    encoder_lr: Annotated[float, typer.Option(help="Encoder learning rate (x10 with --lora).")] = 1e-4,
    head_lr: Annotated[float, typer.Option(help="Head learning rate.")] = 5e-4,
    patience: Annotated[int, typer.Option(help="Stop after this many epochs without a dev gain.")] = 8,
    max_span_width: Annotated[int, typer.Option(help="Longest entity span, in words.")] = 10,
    metric: Annotated[str, typer.Option(help="Dev metric: auto, end_to_end or gold_entities.")] = "auto",
    lora: Annotated[bool, typer.Option("--lora", help="Train LoRA adapters instead of the whole encoder.")] = False,
    lora_rank: Annotated[int, typer.Option(help="LoRA rank with --lora.")] = 16,
    threads: Annotated[int, typer.Option(help="Torch threads (0: torch's default).")] = 0,
    name: Annotated[str, typer.Option(help="Model name recorded in its config and provenance.")] = "",
    type_constraints: Annotated[
        bool, typer.Option(help="Predict relations only between entity types seen with them in training.")
    ] = True,
) -> None:
    """Fine-tune the joint entity and relation extractor."""
    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.model import ExtractorConfig
    from kgbuild.extraction.train import TrainSettings, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        settings = TrainSettings(
            epochs=epochs,
            batch_size=batch_size,
            encoder_lr=encoder_lr,
            head_lr=head_lr,
            patience=patience,
            seed=seed,
            metric=metric,
            threads=threads or None,
        )
        examples, dev_examples = _dev_split(read_examples(data), dev, holdout)
        config = ExtractorConfig(
            (),
            (),
            base_model=base_model,
            max_span_width=max_span_width,
            lora_rank=lora_rank if lora else 0,
            name=name or out.name,
        )
        metrics = train(examples, dev_examples, out, config, settings, type_constraints=type_constraints)
    except (KgBuildError, ValueError) as error:
        raise _fail(str(error)) from None
    dev_report = metrics["dev"]
    typer.echo(
        json.dumps(
            {
                "model": str(out),
                "best_epoch": metrics["best_epoch"],
                "train_seconds": metrics["train_seconds"],
                "dev_relations_end_to_end": dev_report["relations_end_to_end"]["micro"],
                "dev_relations_gold_entities": dev_report["relations_gold_entities"]["micro"],
                "dev_entities": dev_report["entities"]["micro"],
            }
        )
    )


@app.command("calibrate")
def calibrate_command(
    model: Annotated[Path, typer.Option("--model", help="Model directory to calibrate in place.")],
    data: Annotated[Path, typer.Option("--data", help="The training file the model was trained on.")],
    dev: Annotated[Path | None, typer.Option("--dev", help="Dev file.")] = None,
    holdout: Annotated[int, typer.Option(help="Without --dev: the last N training examples are dev.")] = 0,
    metric: Annotated[str, typer.Option(help="Dev metric: auto, end_to_end or gold_entities.")] = "auto",
    type_constraints: Annotated[
        bool, typer.Option(help="Predict relations only between entity types seen with them in training.")
    ] = True,
) -> None:
    """Fit a trained model's relation threshold and type signatures on dev data (train does this too)."""
    from kgbuild.extraction.calibrate import calibrate
    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.extraction.model import write_config
    from kgbuild.extraction.train import is_document_level

    try:
        examples = read_examples(data)
        examples, dev_examples = _dev_split(examples, dev, holdout)
        extractor = RelationExtractor.load(model)
        if metric == "auto":
            metric = "gold_entities" if is_document_level(examples) else "end_to_end"
        report = calibrate(extractor, examples, dev_examples, metric, type_constraints)
        write_config(model, extractor.config, {"calibration": report})
    except (KgBuildError, ValueError) as error:
        raise _fail(str(error)) from None
    typer.echo(json.dumps(report))


def _dev_split(examples: list[Example], dev: Path | None, holdout: int) -> tuple[list[Example], list[Example]]:
    """Return training and dev examples: from --dev, or the last --holdout training examples."""
    from kgbuild.extraction.datasets import read_examples

    if dev is not None:
        return examples, read_examples(dev)
    if 0 < holdout < len(examples):
        return examples[:-holdout], examples[-holdout:]
    raise _fail(f"give --dev, or --holdout between 1 and {len(examples) - 1}")


@app.command("evaluate")
def evaluate_command(
    model: Annotated[str, typer.Option("--model", help="conll04, wikidata or a model directory.")],
    data: Annotated[Path, typer.Option("--data", help="Test file (CoNLL04 JSON/JSONL or Re-DocRED JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    batch_size: Annotated[int, typer.Option(help="Texts per batch.")] = 32,
) -> None:
    """Score a model: entities and relations, end to end and with gold entities."""
    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.evaluate import evaluate
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.settings import resolve_model_dir

    try:
        examples = read_examples(data)
        extractor = RelationExtractor.load(resolve_model_dir(model))
        report = evaluate(extractor, examples, batch_size=batch_size)
    except (KgBuildError, ValueError) as error:
        raise _fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(report))
        return
    for section in ("entities", "relations_end_to_end", "relations_gold_entities"):
        micro, macro = report[section]["micro"], report[section]["macro"]
        typer.echo(
            f"{section:<24} micro P {micro['precision']:6.2f} R {micro['recall']:6.2f} F1 {micro['f1']:6.2f}"
            f"   macro F1 {macro['f1']:6.2f}"
        )


@app.command("extract")
def extract_command(
    corpus: Annotated[Path, typer.Argument(help="A folder of .txt/.md files, a .jsonl or a .csv file.")],
    model: Annotated[str, typer.Option("--model", help="wikidata, conll04 or a model directory.")] = "wikidata",
    out: Annotated[Path | None, typer.Option("--out", help="Write the knowledge graph here (graph.trig).")] = None,
    min_confidence: Annotated[float, typer.Option(help="Keep relations at least this confident.")] = 0.5,
    batch_size: Annotated[int, typer.Option(help="Documents per batch.")] = 32,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the summary.")] = False,
) -> None:
    """Extract entities and relations from a corpus into an RDF graph; print what was found."""
    import time
    from collections.abc import Iterator

    from rdflib import Dataset

    from kgbuild.corpus import CorpusProblem, read_corpus
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.parsing import SpacyParser
    from kgbuild.pipeline import BuildSummary, extract_documents, write_graph
    from kgbuild.rdf.graph import entity_nodes
    from kgbuild.records import Document
    from kgbuild.settings import resolve_model_dir

    problems: list[CorpusProblem] = []

    def documents() -> Iterator[Document]:
        for item in read_corpus(corpus):
            if isinstance(item, CorpusProblem):
                problems.append(item)
                typer.echo(f"skipped {item.source}: {item.reason}", err=True)
            else:
                yield item

    started = time.monotonic()
    dataset = Dataset()
    summary = BuildSummary()
    try:
        directory = resolve_model_dir(model)
        extractor = RelationExtractor.load(directory)
        name = extractor.config.name or directory.name
        results = extract_documents(documents(), extractor, SpacyParser(), batch_size=batch_size)
        for result in write_graph(results, dataset, name, extractor.config.version, summary, min_confidence):
            if not quiet:
                _print_findings(result, min_confidence)
    except (KgBuildError, ValueError) as error:
        raise _fail(str(error)) from None
    if out is not None:
        _write_atomically(out / "graph.trig", dataset.serialize(format="trig"))
    typer.echo(
        f"\n{summary.documents} documents, {len(entity_nodes(dataset))} entities, {summary.triples} triples"
        f" (confidence >= {min_confidence}, mean {summary.mean_confidence:.2f}),"
        f" {summary.rejected} rejected by domain/range, {len(problems)} documents skipped,"
        f" {time.monotonic() - started:.1f} s" + (f"; graph: {out / 'graph.trig'}" if out else "")
    )
    if problems:
        raise typer.Exit(1)


def _print_findings(result: DocumentExtraction, min_confidence: float) -> None:
    from kgbuild.pipeline import found_relations

    title = result.parsed.document.title or result.parsed.document.id
    typer.echo(f"\n{title}  ({len(result.extraction.entities)} entities)")
    for relation in found_relations(result):
        if relation.confidence >= min_confidence:
            typer.echo(
                f"  {relation.head} [{relation.head_type}] --{relation.label_name}--> "
                f"{relation.tail} [{relation.tail_type}]  {relation.confidence:.2f}"
            )


def _write_atomically(path: Path, content: str) -> None:
    """Write `content` to `path` so that a reader sees the old file or the new one, never a part."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as handle:
        handle.write(content)
    os.replace(handle.name, path)
