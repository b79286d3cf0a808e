"""The ``kgbuild`` command line: thin Typer wrappers over the library functions.

Exit codes: 0 success, 1 the job ran but failed (e.g. some documents could not be read),
2 bad usage or bad input (a malformed file, a missing model).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from kgbuild.cli_options import IdField, KgDir, TextField, TitleField, fail
from kgbuild.errors import KgBuildError
from kgbuild.pipeline import DocumentGraph
from kgbuild.records import Example
from kgbuild.settings import DEFAULT_BASE_MODEL

app = typer.Typer(help="Turn a text corpus into an RDF knowledge graph.", no_args_is_help=True, add_completion=False)


# Options shared by train and calibrate.
DevFile = Annotated[Path | None, typer.Option("--dev", help="Dev file for early stopping and calibration.")]
Holdout = Annotated[int, typer.Option(help="Without --dev: hold out the last N training examples as dev.")]
Metric = Annotated[str, typer.Option(help="Dev metric: auto, end_to_end, gold_entities or mean (of the two).")]
TypeConstraints = Annotated[
    bool, typer.Option(help="Predict relations only between entity types seen with them in training.")
]


@app.command("train")
def train_command(
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Training file (CoNLL04 JSON/JSONL or Re-DocRED JSON); repeat to join several."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Model directory to write.")] = None,
    dev: DevFile = None,
    holdout: Holdout = 0,
    no_dev: Annotated[
        bool,
        typer.Option(
            "--no-dev",
            help="Train exactly --epochs on all the data and keep the last weights: the final model once "
            "the recipe was chosen on dev (no early stopping, learned threshold).",
        ),
    ] = False,
    base_model: Annotated[
        str,
        typer.Option(help="Base encoder: the packaged default, all-mpnet-base-v2, or a local BERT/MPNet directory."),
    ] = DEFAULT_BASE_MODEL,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    batch_size: Annotated[int, typer.Option(help="Examples per step.")] = 8,
    encoder_lr: Annotated[float, typer.Option(help="Encoder learning rate (x10 with --lora).")] = 1e-4,
    head_lr: Annotated[float, typer.Option(help="Head learning rate.")] = 5e-4,
    patience: Annotated[int, typer.Option(help="Stop after this many epochs without a dev gain.")] = 8,
    max_span_width: Annotated[int, typer.Option(help="Longest entity span, in words.")] = 10,
    max_length: Annotated[int, typer.Option(help="Encoder window in word pieces, special tokens included.")] = 512,
    metric: Metric = "auto",
    lora: Annotated[bool, typer.Option("--lora", help="Train LoRA adapters instead of the whole encoder.")] = False,
    lora_rank: Annotated[int, typer.Option(help="LoRA rank with --lora.")] = 16,
    train_layers: Annotated[
        int, typer.Option(help="Fine-tune only the top N encoder layers, the rest frozen (0: all).")
    ] = 0,
    cache_frozen: Annotated[
        str,
        typer.Option(
            help="With --train-layers: run the frozen lower layers once (eval mode: no dropout in them), keep "
            "their states in OUT.training/ as float32 or float16, and train the top layers from them (off: "
            "run them every step)."
        ),
    ] = "off",
    pair_features: Annotated[
        str, typer.Option(help="Relation-head inputs: attention, or attention+between (adds between-mention context).")
    ] = "attention+between",
    threads: Annotated[int, typer.Option(help="Torch threads (0: torch's default).")] = 0,
    name: Annotated[str, typer.Option(help="Model name recorded in its config and provenance.")] = "",
    type_constraints: TypeConstraints = True,
    ema: Annotated[
        float, typer.Option(help="Keep and score a moving average of the weights with this decay per step (0: off).")
    ] = 0.0,
    init: Annotated[
        Path | None,
        typer.Option(
            help="Continue training this model directory (its labels and encoder) instead of starting from "
            "--base-model: e.g. a shipped model on more annotated documents."
        ),
    ] = None,
    teacher: Annotated[
        Path | None,
        typer.Option(
            help="Distil this trained model (e.g. an MPNet extractor) into the one trained here: its span and "
            "relation scores are soft targets next to the gold labels, and the student keeps its labels."
        ),
    ] = None,
    unlabelled: Annotated[
        list[Path] | None,
        typer.Option(
            help="With --teacher: a corpus (JSON Lines, CSV or folder) the teacher labels for the student; repeat."
        ),
    ] = None,
    unlabelled_limit: Annotated[int, typer.Option(help="At most this many documents of each corpus (0: all).")] = 0,
    distil_weight: Annotated[float, typer.Option(help="Weight of the teacher's soft targets.")] = 1.0,
    temperature: Annotated[float, typer.Option(help="Distillation temperature.")] = 2.0,
    gold_floor: Annotated[
        float | None,
        typer.Option(
            help="With --teacher: raise the teacher's margin for a gold relation to at least this (logits), so "
            "that its soft targets never argue against the gold labels (unset: the teacher's as they are)."
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue the interrupted run that trains this model directory after its last finished epoch, "
            "with that run's arguments (other options are not needed, --threads may change)."
        ),
    ] = None,
) -> None:
    """Fine-tune the joint entity and relation extractor (checkpointed every epoch; see --resume)."""
    from kgbuild.extraction.checkpoint import read_run_arguments

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    arguments = {k: v for k, v in locals().items() if k not in ("resume", "read_run_arguments")}
    try:
        if resume is not None:
            if data or (out is not None and out.resolve() != resume.resolve()):
                raise fail("--resume takes the interrupted run's own arguments: give it without --data and --out")
            saved = read_run_arguments(resume)
            arguments = {**saved, "threads": threads or saved.get("threads", 0)}
        elif not data or out is None:
            raise fail("give --data and --out (or --resume OUT_DIR to continue an interrupted run)")
        metrics = _train(arguments, resume=resume is not None)
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    summary = {"model": str(arguments["out"]), "best_epoch": metrics["best_epoch"]}
    summary["train_seconds"] = metrics["train_seconds"]
    if dev_report := metrics["dev"]:
        summary |= {
            "dev_relations_end_to_end": dev_report["relations_end_to_end"]["micro"],
            "dev_relations_gold_entities": dev_report["relations_gold_entities"]["micro"],
            "dev_entities": dev_report["entities"]["micro"],
        }
    typer.echo(json.dumps(summary))


def _optional_path(value: str | Path | None) -> Path | None:
    return Path(value) if value is not None else None


def _train(arguments: dict[str, Any], resume: bool) -> dict[str, Any]:
    """Train from the train command's arguments (as given, or as an interrupted run recorded them)."""
    from kgbuild.extraction.model import ExtractorConfig
    from kgbuild.extraction.train import Distillation, TrainSettings, train

    a = {
        "teacher": None,
        "unlabelled": None,
        "unlabelled_limit": 0,
        "distil_weight": 1.0,
        "temperature": 2.0,
        "gold_floor": None,
        "cache_frozen": "off",
        **arguments,
    }
    settings = TrainSettings(
        epochs=a["epochs"],
        batch_size=a["batch_size"],
        encoder_lr=a["encoder_lr"],
        head_lr=a["head_lr"],
        patience=a["patience"],
        seed=a["seed"],
        metric=a["metric"],
        threads=a["threads"] or None,
        ema=a["ema"],
        cache_frozen="" if a["cache_frozen"] == "off" else a["cache_frozen"],
    )
    if a["no_dev"] and (a["dev"] is not None or a["holdout"]):
        raise fail("--no-dev excludes --dev and --holdout")
    examples = _read_files(a["data"])
    dev_file = _optional_path(a["dev"])
    examples, dev_examples = (examples, []) if a["no_dev"] else _dev_split(examples, dev_file, a["holdout"])
    out = Path(a["out"])
    config = ExtractorConfig(
        (),
        (),
        base_model=a["base_model"],
        max_length=a["max_length"],
        max_span_width=a["max_span_width"],
        lora_rank=a["lora_rank"] if a["lora"] else 0,
        train_layers=a["train_layers"],
        pair_features=a["pair_features"],
        name=a["name"] or out.name,
    )
    soft_targets, distillation, labelled = None, None, len(examples)
    if a["teacher"] is not None:
        distillation = Distillation(a["distil_weight"], a["temperature"], a["gold_floor"])
        examples, soft_targets, config = _teacher_targets(a, examples, config, resume)
    # Paths made absolute, so that --resume from another directory reads the same files.
    record = {k: str(Path(v).resolve()) if isinstance(v, Path) else v for k, v in a.items()}
    record["data"] = [str(Path(file).resolve()) for file in a["data"]]
    record["unlabelled"] = [str(Path(file).resolve()) for file in a["unlabelled"] or ()]
    return train(
        examples,
        dev_examples,
        out,
        config,
        settings,
        type_constraints=a["type_constraints"],
        init=_optional_path(a["init"]),
        resume=resume,
        run_arguments=record,
        soft_targets=soft_targets,
        distillation=distillation,
        pseudo_labelled=len(examples) - labelled,
    )


def _teacher_targets(
    a: dict[str, Any], examples: list[Example], config: Any, resume: bool
) -> tuple[list[Example], Any, Any]:
    """Label the unlabelled corpora with the teacher and score every training text with it, once.

    The result is cached beside the run's state (``OUT.training/teacher.pt``), so that a resumed run
    does not read everything with the teacher again.
    """
    from dataclasses import replace

    from kgbuild.extraction.checkpoint import state_dir
    from kgbuild.extraction.distil import load_targets, pseudo_label, save_targets, teach, unlabelled_texts
    from kgbuild.extraction.extractor import RelationExtractor

    cache = state_dir(a["out"]) / "teacher.pt"
    teacher = RelationExtractor.load(Path(a["teacher"]))
    labels = teacher.config
    config = replace(
        config,
        entity_types=labels.entity_types,
        relation_types=labels.relation_types,
        max_span_width=labels.max_span_width,
    )
    if resume and cache.is_file():
        pseudo, targets = load_targets(cache)
        return [*examples, *pseudo[len(examples) :]], targets, config
    texts = unlabelled_texts(a["unlabelled"] or (), a["unlabelled_limit"])
    pseudo = pseudo_label(teacher, texts)
    everything = [*examples, *pseudo]
    targets = teach(teacher, everything)
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_targets(cache, everything, targets)
    return everything, targets, config


@app.command("calibrate")
def calibrate_command(
    model: Annotated[Path, typer.Option("--model", help="Model directory to calibrate in place.")],
    data: Annotated[
        list[Path], typer.Option("--data", help="The training file the model was trained on; repeat to join several.")
    ],
    dev: DevFile = None,
    holdout: Holdout = 0,
    metric: Metric = "auto",
    type_constraints: TypeConstraints = True,
) -> None:
    """Fit a trained model's relation threshold and type signatures on dev data (train does this too)."""
    from kgbuild.extraction.calibrate import calibrate
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.extraction.model import write_config
    from kgbuild.extraction.train import is_document_level

    try:
        examples = _read_files(data)
        examples, dev_examples = _dev_split(examples, dev, holdout)
        extractor = RelationExtractor.load(model)
        if metric == "auto":
            metric = "gold_entities" if is_document_level(examples) else "end_to_end"
        report = calibrate(extractor, examples, dev_examples, metric, type_constraints)
        write_config(model, extractor.config, {"calibration": report})
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    typer.echo(json.dumps(report))


def _read_files(files: list[Path]) -> list[Example]:
    """Read the examples of several training files, in order (train and calibrate join them the same way)."""
    from kgbuild.extraction.datasets import read_examples

    return [example for file in files for example in read_examples(file)]


def _dev_split(examples: list[Example], dev: Path | None, holdout: int) -> tuple[list[Example], list[Example]]:
    """Return training and dev examples: from --dev, or the last --holdout training examples."""
    from kgbuild.extraction.datasets import read_examples

    if dev is not None:
        return examples, read_examples(dev)
    if 0 < holdout < len(examples):
        return examples[:-holdout], examples[-holdout:]
    raise fail(f"give --dev, or --holdout between 1 and {len(examples) - 1}")


@app.command("evaluate")
def evaluate_command(
    model: Annotated[str, typer.Option("--model", help="conll04, wikidata, wikidata-all or a model directory.")],
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
        raise fail(str(error)) from None
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
    out: Annotated[Path, typer.Option("--out", help="Knowledge-graph directory to create or update.")],
    model: Annotated[
        str, typer.Option("--model", help="wikidata, wikidata-all, conll04 or a model directory.")
    ] = "wikidata",
    min_confidence: Annotated[float, typer.Option(help="Keep relations at least this confident.")] = 0.5,
    batch_size: Annotated[int, typer.Option(help="Documents per batch.")] = 32,
    workers: Annotated[
        int,
        typer.Option(
            help="CPU threads for the model, per process with --processes, per actor with --engine ray "
            "(0: torch's default; with --processes or Ray: 1)."
        ),
    ] = 0,
    processes: Annotated[
        int,
        typer.Option(
            help="With --engine local: worker processes, each with its own model (about 0.6 GB); 1 extracts in "
            "this process; 0: one per core (at most 4) once the corpus has more than 256 documents to extract."
        ),
    ] = 0,
    show: Annotated[int, typer.Option(help="Print this many of the most confident triples at the end.")] = 15,
    alias_threshold: Annotated[
        float | None,
        typer.Option(
            help="Merge spelling variants across documents whose names' base-encoder cosine reaches this "
            "(above 1: never); kept in KG_DIR for later builds. Default: the directory's setting, else 0.9."
        ),
    ] = None,
    id_field: IdField = "id",
    text_field: TextField = "text",
    title_field: TitleField = "title",
    engine: Annotated[
        str, typer.Option(help="local: this process; ray: an actor pool on a Ray cluster (pip install kgbuild[ray]).")
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="With --engine ray: the cluster's HOST:PORT (default: start Ray here).")
    ] = None,
    actors: Annotated[int, typer.Option(help="With --engine ray: actors, each with its own model.")] = 2,
    actor_cpus: Annotated[
        float, typer.Option(help="With --engine ray: CPUs each actor declares (fractional leaves Ray Data a CPU).")
    ] = 0.5,
) -> None:
    """Extract a corpus into an RDF knowledge graph: resumable, incremental, one named graph per document."""
    import time

    from kgbuild.corpus import Fields
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.parsing import SpacyParser
    from kgbuild.pipeline import BuildReport, Engine, build_knowledge_graph
    from kgbuild.rdf.graph import graph_summary, top_triples
    from kgbuild.rdf.store import KnowledgeGraphDir
    from kgbuild.settings import resolve_model_dir

    if (
        workers < 0
        or processes < 0
        or batch_size <= 0
        or not 0.0 <= min_confidence <= 1.0
        or not (alias_threshold or 0.0) >= 0
    ):
        raise fail(
            f"need --workers >= 0, --processes >= 0, --batch-size > 0, --min-confidence in [0, 1] and "
            f"--alias-threshold >= 0; got {workers}, {processes}, {batch_size}, {min_confidence}, {alias_threshold}"
        )
    if engine not in ("local", "ray"):
        raise fail(f"--engine must be local or ray, got {engine!r}")
    if engine == "local" and address is not None:
        raise fail(f"--address {address} needs --engine ray")
    if engine == "ray" and processes > 1:
        raise fail(f"--processes {processes} is for --engine local; Ray's workers are --actors")
    started = time.monotonic()
    progress = _Progress()
    try:
        items = _first_checked(corpus, Fields(id_field, text_field, title_field))  # before anything is written
        if workers:
            import torch

            torch.set_num_threads(workers)
        directory = resolve_model_dir(model)
        extractor = RelationExtractor.load(directory)
        parser = SpacyParser()
        other_engine: Engine | None = None
        if engine == "ray":
            from kgbuild.ray_engine import RayEngine

            threads = workers or max(1, int(actor_cpus))
            other_engine = RayEngine(str(directory.resolve()), address, actors, batch_size, actor_cpus, threads)
        elif processes != 1:
            from kgbuild.process_engine import ProcessEngine, auto_processes, local_unless_large

            pool = ProcessEngine(str(directory.resolve()), processes or auto_processes(), batch_size, workers or 1)
            other_engine = pool if processes else local_unless_large(pool, extractor, parser)
        kg = KnowledgeGraphDir(out, create=True)
        if alias_threshold is not None:
            kg.configure_resolution(alias_threshold=alias_threshold)
        report: BuildReport = build_knowledge_graph(
            items, kg, extractor, parser,
            extractor.config.name or directory.name,
            extractor.version, min_confidence, batch_size, on_document=progress.update, corpus=str(corpus.resolve()),
            engine=other_engine,
        )  # fmt: skip
        progress.close()
        dataset = kg.dataset()
        summary = graph_summary(dataset)
        best = top_triples(dataset, show)
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    for line in best:
        typer.echo(line)
    elapsed = time.monotonic() - started
    typer.echo(
        f"\n{report.documents} documents extracted ({report.sentences} sentences, "
        f"{report.sentences / elapsed:.1f} sentences/s), {report.skipped_unchanged} unchanged, "
        f"{len(report.failed)} failed; {report.rejected} triples rejected by domain/range\n"
        f"graph: {summary.entities} entities, {summary.triples} triples, "
        f"duplicate-entity rate {100 * summary.duplicate_entity_rate:.2f}% "
        f"({summary.merged_across_documents} nodes merged across documents), "
        f"provenance coverage {100 * summary.provenance_coverage:.1f}%, "
        f"mean confidence {summary.mean_confidence:.2f}, {elapsed:.1f} s -> {out}"
    )
    if report.failed:
        typer.echo("failed:\n  " + "\n  ".join(report.failed), err=True)
        raise typer.Exit(1)


def _first_checked(corpus: Path, fields: Any) -> Iterator[Any]:
    """Read the corpus, failing now if it is missing or holds nothing: no output folder is made for it.

    Raises:
        InputTextError: the corpus does not exist, is no corpus, or holds no document at all.

    """
    from itertools import chain

    from kgbuild.corpus import read_corpus
    from kgbuild.errors import InputTextError

    items = read_corpus(corpus, fields)
    first = next(items, None)
    if first is None:
        raise InputTextError(f"{corpus}: no documents (an empty file, or no .txt or .md files in the folder)")
    return chain([first], items)


class _Progress:
    """A progress bar on a terminal; a line every 100 documents otherwise."""

    def __init__(self) -> None:
        import time

        from tqdm import tqdm

        self.started = time.monotonic()
        self.bar = tqdm(unit="doc", disable=not sys.stderr.isatty(), desc="extract")

    def update(self, graph: DocumentGraph, report: Any) -> None:
        import time

        rate = report.sentences / max(time.monotonic() - self.started, 1e-9)
        self.bar.update(1)
        self.bar.set_postfix(sentences_per_s=f"{rate:.1f}", triples=report.triples)
        if self.bar.disable and report.documents % 100 == 0:
            typer.echo(f"{report.documents} documents, {rate:.1f} sentences/s, {report.triples} triples", err=True)

    def close(self) -> None:
        self.bar.close()


@app.command("remove")
def remove_command(
    kg_dir: KgDir,
    document_id: Annotated[str, typer.Argument(help="Id of the document to remove.")],
) -> None:
    """Remove a document and every triple that only it supported."""
    from kgbuild.rdf.store import KnowledgeGraphDir

    try:
        kg = KnowledgeGraphDir(kg_dir)
        if not kg.remove_document(document_id):
            raise fail(f"{kg_dir}: no document {document_id!r}")
        kg.dataset()  # rebuild the store now, not at the next query
    except KgBuildError as error:
        raise fail(str(error)) from None
    typer.echo(f"removed {document_id}")


@app.command("export")
def export_command(
    kg_dir: KgDir,
    format: Annotated[str, typer.Option("--format", help="trig, nquads, turtle, ntriples or jsonld.")] = "trig",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
) -> None:
    """Export the graph; Turtle and N-Triples hold one graph, so they get the union of all named graphs."""
    from kgbuild.rdf.store import KnowledgeGraphDir, export_text, write_atomically

    try:
        text, note = export_text(KnowledgeGraphDir(kg_dir).dataset(), format)
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    if note:
        typer.echo(note, err=True)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        write_atomically(out, text)
    except OSError as error:
        raise fail(f"{out}: cannot write ({error.strerror})") from None


@app.command("sparql")
def sparql_command(
    kg_dir: KgDir,
    query: Annotated[str, typer.Argument(help="A SPARQL query, or a file holding one.")],
    format: Annotated[
        str, typer.Option("--format", help="table, json or csv (CONSTRUCT/DESCRIBE: table is N-Triples, json JSON-LD).")
    ] = "table",
    timeout: Annotated[float, typer.Option(help="Seconds the query may run (it is stopped then).")] = 60.0,
    max_rows: Annotated[int, typer.Option(help="Most result rows (or triples) printed.")] = 10_000,
) -> None:
    """Run a read-only SPARQL query over the graph; the default graph is the union of the named graphs."""
    from kgbuild.rdf.results import write
    from kgbuild.rdf.runner import run_query

    if format not in ("table", "json", "csv"):
        raise fail(f"--format must be table, json or csv, got {format!r}")
    try:
        text = Path(query).read_text(encoding="utf-8") if Path(query).is_file() else query
    except (OSError, UnicodeDecodeError):  # a long inline query is no file name
        text = query
    try:
        result = run_query(kg_dir, text, timeout, max_rows)
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    graph = result.form in ("CONSTRUCT", "DESCRIBE")
    typer.echo(write(result, "jsonld" if graph and format == "json" else format), nl=False)
    if result.note:
        typer.echo(result.note, err=True)


@app.command("validate")
def validate_command(kg_dir: KgDir) -> None:
    """Check the graph against the SHACL shapes; exit 0 when it conforms, 1 when it does not."""
    from kgbuild.rdf.store import KnowledgeGraphDir
    from kgbuild.rdf.validate import validate

    try:
        conforms, report = validate(KnowledgeGraphDir(kg_dir).dataset())
    except KgBuildError as error:
        raise fail(str(error)) from None
    typer.echo(report)
    if not conforms:
        raise typer.Exit(1)


@app.command("serve")
def serve_command(
    kg_dir: KgDir,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 7878,
    timeout: Annotated[float, typer.Option(help="Seconds a query may run (it is stopped then).")] = 10.0,
    max_rows: Annotated[int, typer.Option(help="Most result rows (or triples) a query may return.")] = 10_000,
    workers: Annotated[int, typer.Option(help="Queries evaluated at once (one process each).")] = 4,
    queue: Annotated[int, typer.Option(help="Queries that may wait for a worker; more get 503.")] = 64,
) -> None:
    """Serve a read-only SPARQL 1.1 Protocol endpoint at http://127.0.0.1:PORT/sparql.

    The default graph is the union of the named graphs; the endpoint follows changes to KG_DIR.
    """
    from kgbuild.rdf.endpoint import EndpointServer
    from kgbuild.rdf.runner import QueryRunner

    try:
        runner = QueryRunner(kg_dir, workers=workers, timeout=timeout, row_limit=max_rows, queue=queue)
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    try:
        server = EndpointServer(runner, port, close_runner=True)
    except OSError as error:
        runner.close()
        raise fail(f"port {port}: {error}") from None
    typer.echo(f"SPARQL endpoint: {server.url} (read-only; Ctrl-C stops)")
    try:
        server.serve_forever()
    finally:
        runner.close()


@app.command("push")
def push_command(
    kg_dir: KgDir,
    endpoint: Annotated[str, typer.Option("--endpoint", help="Graph Store (quads) or SPARQL Update URL.")],
    mode: Annotated[str, typer.Option(help="quads (Graph Store Protocol) or update (SPARQL Update).")] = "quads",
    chunk_size: Annotated[int, typer.Option("--chunk-size", "--batch-size", help="Most quads a request.")] = 50_000,
    retries: Annotated[int, typer.Option(help="Repeat a failed request up to N times, waiting 0.5 s, 1 s, 2 s...")] = 5,
    timeout: Annotated[float, typer.Option(help="Seconds a request may take.")] = 120.0,
    full: Annotated[bool, typer.Option("--full", help="Replace every graph, ignoring the checkpoint.")] = False,
    no_transaction: Annotated[
        bool, typer.Option("--no-transaction", help="Oxigraph only: bulk-load new graphs outside a transaction.")
    ] = False,
) -> None:
    """Mirror the graph into a remote SPARQL 1.1 store: only changed graphs are sent, removed ones deleted.

    Resumable: a checkpoint in KG_DIR/push/ records what the store holds, so after a failure the same
    command finishes the job.
    """
    from kgbuild.errors import RemoteStoreError
    from kgbuild.rdf.remote import checkpoint_path, push
    from kgbuild.rdf.store import KnowledgeGraphDir

    try:
        kg = KnowledgeGraphDir(kg_dir)
        checkpoint = checkpoint_path(kg.path, endpoint)
        report = push(
            kg.store(), endpoint, checkpoint, mode, chunk_size,
            timeout=timeout, retries=retries, full=full, version=kg.stamp(), no_transaction=no_transaction,
        )  # fmt: skip
    except RemoteStoreError as error:
        raise fail(f"{error}\nnothing is lost: run the same command again to finish ({checkpoint})", code=1) from None
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    typer.echo(
        f"pushed {report.quads} quads in {report.requests} requests ({report.retries} retried) to {endpoint}: "
        f"{report.added} graphs added, {report.replaced} replaced, {report.deleted} deleted, "
        f"{report.unchanged} unchanged; the store mirrors {report.total_quads} quads ({report.seconds:.1f} s)"
    )
