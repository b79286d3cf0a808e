"""The ``kgsearch`` command line: thin Typer wrappers over `kgsearch`'s library functions.

Exit codes: 0 success, 2 bad usage or bad input (a missing or stale index, a malformed question file).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from kgbuild import Fields, KgBuildError
from kgbuild.cli_options import IdField, KgDir, TextField, TitleField, fail
from kgbuild.settings import DEFAULT_BASE_MODEL
from kgsearch.errors import KgSearchError

app = typer.Typer(help="Search a knowledge graph built by kgbuild.", no_args_is_help=True, add_completion=False)

METHODS = ("fused", "graph", "graph-no-relations", "dense", "bm25")


@app.command("version")
def version_command() -> None:
    """Print the installed version."""
    from importlib.metadata import version

    typer.echo(version("kgbuild"))


@app.command("index")
def index_command(
    kg_dir: KgDir,
    corpus: Annotated[Path, typer.Option("--corpus", help="The corpus the graph was built from.")],
    encoder: Annotated[
        str, typer.Option(help="Bi-encoder: a directory from kgsearch train, the base model, or any local BERT.")
    ] = DEFAULT_BASE_MODEL,
    settings: Annotated[Path | None, typer.Option(help="JSON file of search settings to store.")] = None,
    threads: Annotated[int, typer.Option(help="Torch threads (0: torch's default).")] = 0,
    ann: Annotated[
        str,
        typer.Option(
            help="Passage vector search: exact, hnsw (approximate, FAISS), or auto (hnsw from 200,000 passages)."
        ),
    ] = "auto",
    precision: Annotated[
        str,
        typer.Option(
            help="Encoder arithmetic for passages and names: auto (bf16 where the CPU has it natively), fp32, bf16."
        ),
    ] = "auto",
    id_field: IdField = "id",
    text_field: TextField = "text",
    title_field: TitleField = "title",
) -> None:
    """Build the search index beside the graph: passage and name vectors, BM25, the entity-passage graph."""
    from kgsearch.encoder import load_encoder
    from kgsearch.index import build_index

    try:
        _threads(threads)
        chosen = _settings(settings)
        encoder_ref = str(Path(encoder).resolve()) if Path(encoder).exists() else encoder
        fields = Fields(id_field, text_field, title_field)
        manifest = build_index(kg_dir, corpus, load_encoder(encoder), encoder_ref, chosen, fields, ann, precision)
    except (KgSearchError, KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    typer.echo(
        f"indexed {manifest.passages} passages, {manifest.entities} entities, "
        f"edges {dict(manifest.edges)}, {manifest.ann} vector search, {manifest.precision} vectors, "
        f"in {manifest.build_seconds} s "
        f"-> {kg_dir / 'search'}"
    )
    for problem in manifest.unreadable_passages:
        typer.echo(f"skipped: {problem}", err=True)


@app.command("query")
def query_command(
    kg_dir: KgDir,
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int, typer.Option("-k", help="Number of hits.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    where: Annotated[
        str | None, typer.Option(help="SPARQL graph pattern binding ?passage; only matching passages are ranked.")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds the --where pattern may run (in a worker process stopped at the limit).")
    ] = 10.0,
) -> None:
    """Answer a question: ranked passages, each with its scores and the path that explains it."""
    from kgbuild import QueryRunner
    from kgsearch.search import Searcher

    try:
        searcher = Searcher.open(kg_dir, threads=1)
        if where:
            limit = len(searcher.index.passages) + 1
            with QueryRunner(kg_dir, workers=1, timeout=timeout, row_limit=limit, queue=0) as runner:
                result = searcher.search(question, k=k, where=where, runner=runner)
        else:
            result = searcher.search(question, k=k)
    except (KgSearchError, KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(asdict(result), ensure_ascii=False))
        return
    for note in result.notes:
        typer.echo(f"note: {note}")
    linked = ", ".join(f"{m.text!r} -> {m.label} ({m.how})" for m in result.mentions) or "nothing"
    typer.echo(f"linked: {linked}; relation cues: {', '.join(result.relation_cues) or 'none'}\n")
    for hit in result.hits:
        typer.echo(
            f"{hit.rank:>2}. {hit.passage.title or hit.passage.id}  [{hit.passage.id}]  score {hit.score:.3f} "
            f"(graph {hit.graph_score:.4f}, dense {_score(hit.dense_score)}, bm25 {hit.lexical_score:.2f})"
        )
        for hop in hit.path:
            typer.echo("      " + _describe(hop))
        if hit.note:
            typer.echo(f"      {hit.note}")
        typer.echo(f"      {hit.passage.text[:160]}{'...' if len(hit.passage.text) > 160 else ''}")


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"  # None: not computed, the settings give it no weight


def _describe(hop: Any) -> str:
    if hop.kind == "mention":
        return f"question {hop.source_label!r} -> {hop.target_label} <{hop.target}> (seed share {hop.contribution:.2f})"
    if hop.kind == "relation":
        return (
            f"{hop.source_label} --{hop.predicate_label}--> {hop.target_label} "
            f"(confidence {hop.confidence:.2f}, p {hop.contribution:.2f}) \u201c{hop.sentence}\u201d"
        )
    if hop.kind == "text":
        return (
            f"{hop.source_label} --named after {hop.predicate_label!r}--> {hop.target_label} "
            f"(restart share {hop.contribution:.2f}) \u201c{hop.sentence}\u201d"
        )
    return f"{hop.source_label} --{hop.kind}--> {hop.target_label} (p {hop.contribution:.2f})"


@app.command("evaluate")
def evaluate_command(
    kg_dir: KgDir,
    questions: Annotated[Path, typer.Option("--questions", help="JSON Lines: id, question, gold passage ids.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    method: Annotated[str, typer.Option(help=f"One of {', '.join(METHODS)}.")] = "fused",
    ks: Annotated[str, typer.Option(help="Comma-separated k of Recall@k.")] = "1,2,5,10",
    first: Annotated[int, typer.Option(help="Skip this many questions first (e.g. the tuning split).")] = 0,
    limit: Annotated[int, typer.Option(help="Evaluate at most this many questions (0: all).")] = 0,
) -> None:
    """Score retrieval: Recall@k and nDCG@10, overall and per question type."""
    from kgsearch.evaluate import evaluate_rankings, read_questions
    from kgsearch.search import Searcher

    try:
        cutoffs = tuple(int(k) for k in ks.split(","))
        if method not in METHODS or any(k <= 0 for k in cutoffs):
            raise ValueError(f"--method must be one of {', '.join(METHODS)} and --ks positive; got {method!r}, {ks!r}")
        chosen = read_questions(questions)[first:]
        chosen = chosen[:limit] if limit else chosen
        searcher = method_searcher(Searcher.open(kg_dir), method)
        depth = max(max(cutoffs), 10)
        report = evaluate_rankings(
            chosen, lambda q: [h.passage.id for h in searcher.search(q.question, k=depth, explain=False).hits], cutoffs
        )
    except (KgSearchError, KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps({"method": method, **report}))
        return
    for group, scores in report.items():
        typer.echo(f"{group:<20} " + "  ".join(f"{name} {value:.2f}" for name, value in scores.items()))


def method_searcher(searcher: Any, method: str) -> Any:
    """Return the searcher restricted to one signal (an ablation) or the fused system."""
    if method == "graph":
        return searcher.with_settings(dense_weight=0.0, lexical_weight=0.0, graph_weight=1.0)
    if method == "graph-no-relations":
        return searcher.with_settings(dense_weight=0.0, lexical_weight=0.0, graph_weight=1.0, use_relations=False)
    if method == "dense":
        return searcher.with_settings(dense_weight=1.0, lexical_weight=0.0, graph_weight=0.0)
    if method == "bm25":
        return searcher.with_settings(dense_weight=0.0, lexical_weight=1.0, graph_weight=0.0)
    return searcher


@app.command("beir")
def beir_command(
    folder: Annotated[Path, typer.Argument(help="A BEIR folder: queries.jsonl and qrels/SPLIT.tsv.")],
    out: Annotated[Path, typer.Option("--out", help="Questions file to write (JSON Lines).")],
    split: Annotated[str, typer.Option(help="The qrels split.")] = "test",
) -> None:
    """Convert a BEIR folder's queries and judgements into a questions file for evaluate."""
    from kgsearch.evaluate import beir_to_questions

    try:
        count = beir_to_questions(folder, split, out)
    except KgSearchError as error:
        raise fail(str(error)) from None
    typer.echo(f"wrote {count} questions -> {out}")


@app.command("pairs")
def pairs_command(
    kg_dir: KgDir,
    out: Annotated[Path, typer.Option("--out", help="Pairs file to write (JSON Lines).")],
    min_confidence: Annotated[float, typer.Option(help="Use triples at least this confident.")] = 0.7,
    per_document: Annotated[int, typer.Option(help="At most this many questions per passage.")] = 4,
) -> None:
    """Generate retriever training pairs from the graph: templated questions answered by the triple's passage."""
    from kgbuild import read_facts
    from kgsearch.pairs import graph_pairs, write_pairs

    try:
        pairs = graph_pairs(read_facts(kg_dir), min_confidence, per_document)
    except KgBuildError as error:
        raise fail(str(error)) from None
    write_pairs(pairs, out)
    typer.echo(f"wrote {len(pairs)} pairs -> {out}")


@app.command("train")
def train_command(
    pairs: Annotated[Path, typer.Option("--pairs", help="Pairs or questions file (JSON Lines).")],
    corpus: Annotated[Path, typer.Option("--corpus", help="The corpus holding the pairs' passages.")],
    out: Annotated[Path, typer.Option("--out", help="Encoder directory to write.")],
    base_model: Annotated[str, typer.Option(help="Encoder to start from.")] = DEFAULT_BASE_MODEL,
    epochs: Annotated[int, typer.Option(help="Epochs.")] = 2,
    batch_size: Annotated[int, typer.Option(help="Pairs per step (the in-batch candidates).")] = 32,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate.")] = 2e-5,
    hard_negatives: Annotated[bool, typer.Option(help="Add a BM25 hard negative per query.")] = True,
    max_length: Annotated[int, typer.Option(help="Word pieces of a passage.")] = 256,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    threads: Annotated[int, typer.Option(help="Torch threads (0: torch's default).")] = 0,
    id_field: IdField = "id",
    text_field: TextField = "text",
    title_field: TitleField = "title",
) -> None:
    """Fine-tune the bi-encoder with the in-batch softmax loss and BM25 hard negatives."""
    from kgsearch.pairs import read_pairs
    from kgsearch.records import Passage
    from kgsearch.text import passage_text, read_passages
    from kgsearch.train import RetrieverTrainSettings, train_retriever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        settings = RetrieverTrainSettings(
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            hard_negatives=hard_negatives,
            max_length=max_length,
            seed=seed,
            threads=threads or None,
        )
        documents, _ = read_passages(corpus, Fields(id_field, text_field, title_field))
        texts = {d.id: passage_text(Passage(d.id, d.title, d.text, "")) for d in documents}
        record = train_retriever(read_pairs(pairs), texts, out, base_model, settings)
    except (KgSearchError, KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    typer.echo(json.dumps({"encoder": str(out), **record["training"]}))


def _settings(path: Path | None) -> Any:
    from kgsearch.settings import SearchSettings

    if path is None:
        return SearchSettings()
    try:
        return SearchSettings.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read search settings ({error})") from None


def _threads(threads: int) -> None:
    if threads < 0:
        raise ValueError(f"--threads must be >= 0, got {threads}")
    if threads:
        import torch

        torch.set_num_threads(threads)
