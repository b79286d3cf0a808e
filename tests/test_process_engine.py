"""The process engine: worker processes build the local engine's graph; a failing or dying worker is reported."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from kgbuild import Document, KnowledgeGraphDir, SpacyParser, WorkerError, build_knowledge_graph
from kgbuild.process_engine import ProcessEngine

SENTENCES = [
    "Betsy Ross was born in Philadelphia.",
    "Rome is in Lazio.",
    "Mikhail Shevtsov works for ITAR-TASS.",
    "Naples is in Campania.",
    "Bruno Pusterla works for the Italian Agricultural Confederation.",
]
BATCH = 2  # windows of 16 documents, so the 40 make three: both workers take one, then one takes the third
DOCUMENTS = [Document(f"d{i:02d}", " ".join(SENTENCES[i % 5 :] + SENTENCES[: i % 5]), f"T{i}") for i in range(40)]


def _build(kg_path: Path, model_dir: str, engine: ProcessEngine | None = None, documents=DOCUMENTS):  # type: ignore[no-untyped-def]
    from kgbuild.extraction.extractor import RelationExtractor

    kg = KnowledgeGraphDir(kg_path, create=True)
    kg.configure_resolution(name_encoder="hashing")
    extractor = RelationExtractor.load(model_dir)
    return build_knowledge_graph(
        documents, kg, extractor, SpacyParser(), "tiny", extractor.version, min_confidence=0.0, batch_size=BATCH,
        engine=engine,
    )  # fmt: skip


def _document_files(kg_path: Path) -> dict[str, str]:
    return {file.name: file.read_text(encoding="utf-8") for file in (kg_path / "documents").glob("*.nq")}


def _store_quads(kg_path: Path) -> set[str]:
    store = KnowledgeGraphDir(kg_path).store()
    return {str(quad) for quad in store if "/run/" not in str(quad.graph_name)}


@pytest.fixture(scope="module")
def local_kg(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local engine's graph with one torch thread, the workers' setting (threads move the last float digits)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = tmp_path_factory.mktemp("local") / "kg"
        report = _build(path, tiny_model)
    finally:
        torch.set_num_threads(threads)
    assert report.documents == len(DOCUMENTS) and report.triples > 0
    return path


def test_two_worker_processes_build_the_local_engines_graph(local_kg, tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    report = _build(tmp_path / "kg", tiny_model, ProcessEngine(tiny_model, processes=2, batch_size=BATCH))
    assert report.documents == len(DOCUMENTS) and not report.failed
    assert _document_files(tmp_path / "kg") == _document_files(local_kg)  # byte for byte
    assert _store_quads(tmp_path / "kg") == _store_quads(local_kg)


def test_a_worker_killed_mid_run_fails_clearly_and_a_rerun_finishes(local_kg, tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    import multiprocessing

    def kill_first_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            children = multiprocessing.active_children()
            if children and any((tmp_path / "kg" / "documents").glob("*.nq")):
                os.kill(children[0].pid, signal.SIGKILL)  # type: ignore[arg-type]
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_first_worker, daemon=True)
    killer.start()
    with pytest.raises(WorkerError, match=r"worker process \d of 2 died.*written so far are kept.*rerun"):
        _build(tmp_path / "kg", tiny_model, ProcessEngine(tiny_model, processes=2, batch_size=BATCH))
    killer.join(timeout=10)
    written = _document_files(tmp_path / "kg")
    assert 0 < len(written) < len(DOCUMENTS)
    assert not list((tmp_path / "kg" / "documents").glob(".*.partial"))
    assert not multiprocessing.active_children()  # the other worker was stopped too
    report = _build(tmp_path / "kg", tiny_model, ProcessEngine(tiny_model, processes=2, batch_size=BATCH))
    assert (report.documents, report.skipped_unchanged) == (len(DOCUMENTS) - len(written), len(written))
    assert _document_files(tmp_path / "kg") == _document_files(local_kg)


def test_a_worker_that_cannot_load_the_model_fails_the_run_with_the_reason(tmp_path):  # type: ignore[no-untyped-def]
    engine = ProcessEngine(str(tmp_path / "no-model"), processes=2, batch_size=BATCH)
    from kgbuild.pipeline import GraphSettings

    with pytest.raises(WorkerError, match=r"a worker process failed \(.*no-model.*\).*rerun"):
        list(engine(DOCUMENTS[:3], GraphSettings("tiny", "1", 0.5, "http://example.org/")))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="processes, batch_size and threads must be >= 1"):
        ProcessEngine("model", processes=0)


class RecordingPool:
    """A stand-in for the worker pool: records the documents it is given and builds nothing."""

    batch_size = BATCH

    def __init__(self) -> None:
        self.given: list[str] = []

    def __call__(self, documents, settings):  # type: ignore[no-untyped-def]
        self.given = [document.id for document in documents]
        yield from ()


def test_auto_mode_builds_one_window_here_and_a_larger_corpus_in_workers(tiny_model):  # type: ignore[no-untyped-def]
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.pipeline import GraphSettings
    from kgbuild.process_engine import auto_processes, local_unless_large

    settings = GraphSettings("tiny", "1", 0.0, "http://example.org/")
    pool = RecordingPool()
    engine = local_unless_large(pool, RelationExtractor.load(tiny_model), SpacyParser())  # type: ignore[arg-type]
    window = DOCUMENTS[: BATCH * 8]
    assert [graph.document_id for graph in engine(window, settings)] == [d.id for d in window]
    assert pool.given == []
    assert list(engine(DOCUMENTS, settings)) == []
    assert pool.given == [d.id for d in DOCUMENTS]  # every document, the peeked window first
    assert 1 <= auto_processes() <= 4
