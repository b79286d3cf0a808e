"""The process engine: worker processes build the local engine's graph; a failing or dying worker is reported."""

from __future__ import annotations

import os
import signal
import struct
import threading
import time
from pathlib import Path

import pytest

from kgbuild import SpacyParser, WorkerError
from kgbuild.process_engine import ProcessEngine, _receive
from tests.engines import BATCH, build, document_files, documents, store_quads

DOCUMENTS = documents(40)


@pytest.fixture(scope="module")
def local_kg(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local engine's graph with one torch thread, the workers' setting (threads move the last float digits)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = tmp_path_factory.mktemp("local") / "kg"
        report = build(path, tiny_model, DOCUMENTS)
    finally:
        torch.set_num_threads(threads)
    assert report.documents == len(DOCUMENTS) and report.triples > 0
    return path


def test_two_worker_processes_build_the_local_engines_graph(local_kg, tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    report = build(tmp_path / "kg", tiny_model, DOCUMENTS, ProcessEngine(tiny_model, processes=2, batch_size=BATCH))
    assert report.documents == len(DOCUMENTS) and not report.failed
    assert document_files(tmp_path / "kg") == document_files(local_kg)  # byte for byte
    assert store_quads(tmp_path / "kg") == store_quads(local_kg)


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
        build(tmp_path / "kg", tiny_model, DOCUMENTS, ProcessEngine(tiny_model, processes=2, batch_size=BATCH))
    killer.join(timeout=10)
    written = document_files(tmp_path / "kg")
    assert 0 < len(written) < len(DOCUMENTS)
    assert not list((tmp_path / "kg" / "documents").glob(".*.partial"))
    assert not multiprocessing.active_children()  # the other worker was stopped too
    report = build(tmp_path / "kg", tiny_model, DOCUMENTS, ProcessEngine(tiny_model, processes=2, batch_size=BATCH))
    assert (report.documents, report.skipped_unchanged) == (len(DOCUMENTS) - len(written), len(written))
    assert document_files(tmp_path / "kg") == document_files(local_kg)


def test_a_pipe_that_ends_inside_a_message_reads_as_its_workers_death():
    """A worker killed while it sends a batch cuts the message short: `recv` raises OSError, not EOFError."""
    import multiprocessing

    class Dead:  # a worker process that has ended, as `_died` reads it
        exitcode = -9

        def join(self, timeout: float) -> None:
            pass

    reader, writer = multiprocessing.Pipe(duplex=False)
    writer.send(("done", None))
    os.write(writer.fileno(), struct.pack("!i", 1000) + b"cut short")  # a header for 1000 bytes, then 9
    writer.close()
    assert _receive(reader, [Dead()], 0) == ("done", None)
    with pytest.raises(WorkerError, match=r"worker process 1 of 1 died \(exit code -9\).*rerun") as died:
        _receive(reader, [Dead()], 0)
    assert isinstance(died.value.__cause__, OSError)
    reader, writer = multiprocessing.Pipe(duplex=False)
    writer.close()  # ended between messages
    with pytest.raises(WorkerError, match="worker process 1 of 1 died") as died:
        _receive(reader, [Dead()], 0)
    assert isinstance(died.value.__cause__, EOFError)


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


def test_workers_do_not_run_the_parents_main_script(tiny_model, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A Streamlit script or a test runner as __main__ (spawn would run it again in each worker)."""
    import sys
    import types

    script = tmp_path / "main_script.py"
    script.write_text("raise SystemExit('the main script ran in a worker')\n", encoding="utf-8")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    report = build(
        tmp_path / "kg", tiny_model, DOCUMENTS[:20], ProcessEngine(tiny_model, processes=2, batch_size=BATCH)
    )
    assert report.documents == 20 and not report.failed
    assert sys.modules["__main__"] is main
