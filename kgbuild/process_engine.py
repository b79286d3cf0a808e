"""The process engine: document graphs built by worker processes on this machine, written by this process.

One process with two torch threads keeps two cores only half busy: the extractor runs many small
operations, and spaCy, resolution and the N-Quads writer are single-threaded Python. N processes with
one thread each extract N windows at once. Each worker loads the model once and takes whole windows of
`batch_size * WINDOW_BATCHES` pending documents, which it sorts and batches exactly as the local engine
does (`kgbuild.pipeline.document_graphs`), so with the same torch thread count both engines write the
same bytes. A worker hands on each extractor batch's graphs as soon as they are built, so a killed run
loses the batches in flight, and its rerun skips every document already written.

Workers start with ``spawn`` (a fork of a process that has run torch can deadlock in its thread pool).
A worker that dies (killed, out of memory) ends the run with `WorkerError`; what was written stays.
Each worker sends on a pipe of its own whose only write end it holds, so its death reads here as the
pipe's end, even in the middle of a message; on a queue shared by all workers, a message cut short
by a killed worker left this process waiting for the rest of it forever.
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
import threading
import traceback
import types
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from multiprocessing.connection import wait
from typing import Any

from kgbuild.errors import WorkerError
from kgbuild.pipeline import (
    WINDOW_BATCHES,
    DocumentGraph,
    Engine,
    GraphSettings,
    document_graphs,
    load_graph_builder,
)
from kgbuild.records import Document

MAX_AUTO_PROCESSES = 4  # `auto_processes`: each worker holds its own model and spaCy (about 0.6 GB)
POLL_SECONDS = 0.5  # how often a process waiting for a message checks that the other side is alive
JOIN_SECONDS = 10.0  # how long a worker may take to leave after the run before it is terminated


@dataclass(frozen=True, slots=True)
class ProcessEngine:
    """Build document graphs in worker processes; pass it as `build_knowledge_graph(..., engine=ProcessEngine(...))`.

    Args:
        model_dir: the extractor's directory.
        processes: worker processes, each with its own copy of the model and of spaCy.
        batch_size: the extractor's batch, as in `build_knowledge_graph`: the same value gives the same bytes.
        threads: torch threads in each worker.
        spacy_model: the spaCy pipeline's name or path (None: the configured default).

    """

    model_dir: str
    processes: int = 2
    batch_size: int = 32
    threads: int = 1
    spacy_model: str | None = None

    def __post_init__(self) -> None:
        if self.processes < 1 or self.batch_size < 1 or self.threads < 1:
            raise ValueError(
                f"processes, batch_size and threads must be >= 1, got {self.processes}, {self.batch_size}, "
                f"{self.threads}"
            )

    def __call__(self, documents: Iterable[Document], settings: GraphSettings) -> Generator[DocumentGraph, None, None]:
        """Yield the graph of every document, in the order their batches finish.

        Raises:
            WorkerError: a worker failed on a document or died; the documents written so far are kept.

        """
        context = multiprocessing.get_context("spawn")
        tasks: Any = context.Queue()
        pipes = [context.Pipe(duplex=False) for _ in range(self.processes)]  # (this end, the worker's)
        arguments = (self.model_dir, self.spacy_model, settings, self.batch_size, self.threads)
        workers = [context.Process(target=_work, args=(tasks, sender, *arguments), daemon=True) for _, sender in pipes]
        with _bare_main():
            for worker in workers:
                worker.start()
        for _, sender in pipes:
            sender.close()  # the worker holds the only write end now: its death ends the pipe here
        readers = {reader: index for index, (reader, _) in enumerate(pipes)}  # -> its worker's index
        pending = iter(documents)
        window = self.batch_size * WINDOW_BATCHES
        in_flight = 0

        def feed() -> None:
            nonlocal in_flight
            if part := list(islice(pending, window)):
                tasks.put(part)
                in_flight += 1

        try:
            for _ in range(self.processes + 1):  # one window queued behind each busy worker
                feed()
            while in_flight:
                for ready in wait(list(readers), timeout=POLL_SECONDS):
                    reader: Any = ready
                    kind, payload = _receive(reader, workers, readers[reader])
                    if kind == "graphs":
                        yield from payload
                    elif kind == "done":
                        in_flight -= 1
                        feed()
                    else:
                        raise WorkerError(
                            f"a worker process failed ({payload}); the documents written so far are kept, "
                            "rerun the same command to finish"
                        )
        finally:
            for reader in readers:  # a worker still sending gets a broken pipe and leaves
                reader.close()
            _stop(workers, tasks)


def auto_processes() -> int:
    """One worker per core this process may use, at most `MAX_AUTO_PROCESSES`."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_AUTO_PROCESSES))


def local_unless_large(engine: ProcessEngine, extractor: Any, parser: Any) -> Engine:
    """Build in this process when the pending documents fit one window, else with `engine`'s workers.

    Starting workers costs each a model load (seconds); a corpus of one window would not repay it.
    The two paths differ only in torch threads (this process's against the workers'), which moves
    confidences in their last float digits (`tests/test_ray_engine.py` measures it).
    """

    def run(documents: Iterable[Document], settings: GraphSettings) -> Generator[DocumentGraph, None, None]:
        pending = iter(documents)
        window = engine.batch_size * WINDOW_BATCHES
        first = list(islice(pending, window + 1))
        if len(first) <= window:
            yield from document_graphs(first, extractor, parser, settings, engine.batch_size)
        else:
            yield from engine(chain(first, pending), settings)

    return run


def _work(
    tasks: Any, results: Any, model_dir: str, spacy_model: str | None, settings: GraphSettings, batch: int, threads: int
) -> None:
    """Run a worker: load the model once, then build each window's graphs, one message per extractor batch.

    A thread sends the messages on `results` (this worker's pipe), so the next batch is extracted
    while the last one is on its way, as a multiprocessing queue's feeder thread would.
    """
    outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(outbox, results), daemon=True)
    sender.start()
    try:
        extractor, parser = load_graph_builder(model_dir, spacy_model, threads)
        while (window := _next_window(tasks)) is not None:
            graphs = document_graphs(window, extractor, parser, settings, batch)
            while done := list(islice(graphs, batch)):
                outbox.put(("graphs", done))
            outbox.put(("done", None))
    except KeyboardInterrupt:
        return
    except BaseException as error:  # reported to the parent, which raises it with the run's context
        lines = traceback.format_exception_only(error)
        outbox.put(("error", lines[-1].strip() if lines else type(error).__name__))
    finally:
        outbox.put(None)
        sender.join()


def _next_window(tasks: Any) -> list[Document] | None:
    """Return the next window of documents; None at the run's end, or once this worker's parent has died.

    A parent killed (``kill -9``, out of memory) never says the run is over: without the check, its
    workers would wait for work for ever, each holding a model.
    """
    parent = multiprocessing.parent_process()
    while True:
        try:
            window: list[Document] | None = tasks.get(timeout=POLL_SECONDS)
            return window
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return None


def _send_all(outbox: Any, results: Any) -> None:
    """Send a worker's messages in order until None; a closed pipe (the parent has gone) ends it."""
    while (message := outbox.get()) is not None:
        try:
            results.send(message)
        except OSError:
            return


@contextmanager
def _bare_main() -> Iterator[None]:
    """Start workers that do not run this process's main script again.

    ``spawn`` re-runs the parent's ``__main__`` file in each child (as ``__mp_main__``) unless it was
    started with ``-m``; a main that is not guarded, such as a Streamlit script or a test runner's, would
    then run (or fail) in every worker. The workers need only `_work`, found by its module's name.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _receive(reader: Any, workers: list[Any], index: int) -> Any:
    """Return the next message on worker `index`'s pipe; raise `WorkerError` once the pipe has ended.

    `Connection.recv` raises `EOFError` at a message's boundary but `OSError` inside one, where the
    worker was killed while it sent a batch's graphs. The error stays chained to the `WorkerError`.
    """
    try:
        return reader.recv()
    except (EOFError, OSError) as error:
        raise _died(workers, index) from error


def _died(workers: list[Any], index: int) -> WorkerError:
    """Return the error of a run whose worker `index` died (its pipe ended): its window would never finish."""
    worker = workers[index]
    worker.join(JOIN_SECONDS)  # its exit code
    return WorkerError(
        f"worker process {index + 1} of {len(workers)} died (exit code {worker.exitcode}); "
        "the documents written so far are kept, rerun the same command to finish"
    )


def _stop(workers: list[Any], tasks: Any) -> None:
    """Ask every worker to leave, then terminate any that has not within `JOIN_SECONDS`."""
    for worker in workers:
        if worker.is_alive():
            tasks.put(None)
    for worker in workers:
        worker.join(JOIN_SECONDS)
        if worker.is_alive():
            worker.terminate()
            worker.join()
    tasks.cancel_join_thread()
