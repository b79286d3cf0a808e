"""The ``kgbuild`` command line: thin Typer wrappers over the library functions.

Exit codes: 0 success, 1 the job ran but failed (e.g. some documents could not be read),
2 bad usage or bad input (a malformed file, a missing model).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from kgbuild.cli_options import IdField, KgDir, TextField, TitleField, fail
from kgbuild.cli_train import calibrate_command, evaluate_command, train_command
from kgbuild.errors import KgBuildError
from kgbuild.pipeline import DocumentGraph

app = typer.Typer(help="Turn a text corpus into an RDF knowledge graph.", no_args_is_help=True, add_completion=False)
app.command("train")(train_command)
app.command("calibrate")(calibrate_command)
app.command("evaluate")(evaluate_command)


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
