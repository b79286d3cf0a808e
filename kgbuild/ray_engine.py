"""The Ray engine: each document's graph built by an actor pool on a Ray cluster, written by this process.

Ray Data holds the pending documents (read by `kgbuild.corpus` and filtered by `build_knowledge_graph`,
so both engines see the same documents) in blocks of one window each: the local engine's windows of
`batch_size * WINDOW_BATCHES` documents, in corpus order. `map_batches` over `GraphActor`, a callable class
(each actor loads the model once), runs `kgbuild.pipeline.document_graphs` on a whole block, so an actor
sorts and batches a window exactly as the local engine does and both write the same bytes (a batch padded
differently moves confidences in their last float digits). The actor yields each extractor batch's graphs as
soon as they are built, and this process writes them as they arrive, so a killed run loses the batches in
flight and its rerun skips every document already written. Ray restarts an actor that dies with its node and
retries its window (the documents it had already sent are not written twice); a cluster left with no CPU for
any actor is reported (`ClusterError`), not waited on forever.

Actors declare fractional CPUs (0.5 by default): on a 2-core machine a pool of two 1-CPU actors left
Ray Data no CPU for its other tasks and stalled. `import ray` happens only when the engine runs.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from kgbuild.errors import ClusterError
from kgbuild.pipeline import WINDOW_BATCHES, DocumentGraph, GraphSettings, document_graphs, load_graph_builder
from kgbuild.records import Document

SLICE_WINDOWS = 40  # windows of pending documents per Ray dataset: the driver never holds a whole large corpus
GRAPH_FIELDS = ("document_id", "nquads", "sentences", "triples", "rejected")
POLL_SECONDS = 0.5  # how often the driver checks the cluster while it waits for a batch
CONNECT_SECONDS = 5.0  # a Ray address that accepts no TCP connection within this is unreachable


@dataclass(frozen=True, slots=True)
class RayEngine:
    """Build document graphs on Ray; pass it as `build_knowledge_graph(..., engine=RayEngine(...))`.

    Args:
        model_dir: the extractor's directory, at the same path on every node.
        address: a running cluster (``HOST:PORT``, ``auto`` or ``ray://...``); None starts Ray here.
        actors: actors in the pool, each with its own copy of the model.
        batch_size: the extractor's batch, as in `build_knowledge_graph`: the same value gives the same bytes.
        actor_cpus: CPUs each actor declares to Ray; fractional so Ray Data keeps a CPU for its tasks.
        threads: torch threads in each actor.
        stall_seconds: give up after the cluster has had no CPU for an actor this long.

    """

    model_dir: str
    address: str | None = None
    actors: int = 2
    batch_size: int = 32
    actor_cpus: float = 0.5
    threads: int = 1
    spacy_model: str | None = None
    stall_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.actors < 1 or self.batch_size < 1 or self.threads < 1:
            raise ValueError(
                f"actors, batch_size and threads must be >= 1, got {self.actors}, {self.batch_size}, {self.threads}"
            )
        if not self.actor_cpus > 0 or not self.stall_seconds > 0:
            raise ValueError(f"actor_cpus and stall_seconds must be > 0, got {self.actor_cpus}, {self.stall_seconds}")

    def __call__(self, documents: Iterable[Document], settings: GraphSettings) -> Generator[DocumentGraph, None, None]:
        """Yield the graph of every document, in the order their batches finish.

        Raises:
            ClusterError: the cluster cannot be reached, a batch failed for good, or no CPU is left.

        """
        try:
            import ray
        except ImportError:
            raise ClusterError("the Ray engine needs Ray: pip install 'kgbuild[ray]'") from None
        pending = iter(documents)
        window = self.batch_size * WINDOW_BATCHES
        started_here = False
        seen: set[str] = set()  # a window retried after its actor died sends its first batches again
        try:
            while part := list(islice(pending, window * SLICE_WINDOWS)):
                started_here = started_here or _connect(self.address)
                windows = [part[first : first + window] for first in range(0, len(part), window)]
                for graph in self._graphs(windows, settings):
                    if graph.document_id not in seen:
                        seen.add(graph.document_id)
                        yield graph
        finally:
            if started_here:
                ray.shutdown()

    def _graphs(self, windows: list[list[Document]], settings: GraphSettings) -> Generator[DocumentGraph, None, None]:
        """Run each window of documents as one row of its own block, so an actor batches it as the local engine does."""
        import ray

        # One row per window, built here: `from_items` runs no task (`from_arrow` needs a CPU for each table).
        rows = [{"window": json.dumps([[d.id, d.text, d.title, d.metadata] for d in window])} for window in windows]
        graphs = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            GraphActor,
            fn_constructor_args=(self.model_dir, self.spacy_model, settings, self.batch_size, self.threads),
            batch_size=1,  # one window
            batch_format="pyarrow",
            concurrency=self.actors,
            num_cpus=self.actor_cpus,
        )
        # Bounded: a driver slower than the cluster holds Ray Data back rather than a growing backlog here.
        arrived: queue.Queue[dict[str, Any] | BaseException | None] = queue.Queue(maxsize=self.batch_size)
        stop = threading.Event()
        threading.Thread(target=_consume, args=(graphs, arrived, stop), daemon=True).start()
        try:
            yield from self._arrivals(arrived)
        finally:
            stop.set()  # a run given up on stops at its next batch rather than working on unseen

    def _arrivals(
        self, arrived: queue.Queue[dict[str, Any] | BaseException | None]
    ) -> Generator[DocumentGraph, None, None]:
        without_cpu = 0.0
        while True:
            try:
                row = arrived.get(timeout=POLL_SECONDS)
            except queue.Empty:
                without_cpu = 0.0 if _cluster_cpus() >= self.actor_cpus else without_cpu + POLL_SECONDS
                if without_cpu >= self.stall_seconds:
                    raise ClusterError(
                        f"the Ray cluster ({self.address or 'local'}) has had no CPU for an actor for "
                        f"{self.stall_seconds:.0f} s: every worker is gone; the documents written so far are kept, "
                        "rerun the same command once workers are back"
                    ) from None
                continue
            if row is None:
                return
            if isinstance(row, BaseException):
                reason = str(row).strip().splitlines()[-1] if str(row).strip() else type(row).__name__
                raise ClusterError(
                    f"the Ray run failed ({reason}); the documents written so far are kept, rerun to finish"
                ) from row
            yield DocumentGraph(**row)


class GraphActor:
    """A Ray Data callable class: loads the model once, then builds the graphs of each batch of documents."""

    def __init__(self, model_dir: str, spacy_model: str | None, settings: GraphSettings, batch_size: int, threads: int):
        self.extractor, self.parser = load_graph_builder(model_dir, spacy_model, threads)
        self.settings = settings
        self.batch_size = batch_size

    def __call__(self, windows: Any) -> Iterator[Any]:
        """Map a pyarrow table of one window of documents to pyarrow tables of their graphs, one per extractor batch."""
        import pyarrow

        documents = [
            Document(doc_id, text, title, tuple((str(key), str(value)) for key, value in metadata))
            for row in windows.to_pylist()
            for doc_id, text, title, metadata in json.loads(row["window"])
        ]
        graphs = document_graphs(documents, self.extractor, self.parser, self.settings, self.batch_size)
        while batch := list(islice(graphs, self.batch_size)):  # handed on as soon as each batch is extracted
            yield pyarrow.Table.from_pylist([{name: getattr(g, name) for name in GRAPH_FIELDS} for g in batch])


def _consume(graphs: Any, arrived: queue.Queue[dict[str, Any] | BaseException | None], stop: threading.Event) -> None:
    """Hand each row of `graphs` to the driver's thread as soon as its batch is done; then None or the error."""
    try:
        for row in graphs.iter_rows():
            if not _hand_on(row, arrived, stop):
                return  # leaving the iterator shuts the dataset's execution down
        _hand_on(None, arrived, stop)
    except BaseException as error:  # handed to the driver's thread, which raises it
        _hand_on(error, arrived, stop)


def _hand_on(
    row: dict[str, Any] | BaseException | None,
    arrived: queue.Queue[dict[str, Any] | BaseException | None],
    stop: threading.Event,
) -> bool:
    """Put `row` in the queue once there is room; return False when the driver gave up first."""
    while not stop.is_set():
        try:
            arrived.put(row, timeout=POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _connect(address: str | None) -> bool:
    """Connect to `address` (None: start Ray here); return whether this call started the connection.

    Raises:
        ClusterError: nothing answers at `address`, or Ray refuses it.

    """
    import ray

    if ray.is_initialized():
        return False
    if address and address not in ("auto", "local") and "://" not in address:
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_SECONDS).close()
        except (OSError, ValueError) as error:
            raise ClusterError(
                f"cannot reach a Ray cluster at {address!r} ({error}); start one there with `ray start --head` "
                "or give --address HOST:PORT of its head node"
            ) from None
    started = time.monotonic()
    try:
        if address is None:
            ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ClusterError(f"cannot join the Ray cluster at {address!r}: {error}") from None
    logging.getLogger(__name__).info("joined Ray in %.1f s", time.monotonic() - started)
    return True


def _cluster_cpus() -> float:
    """CPUs of the cluster's live nodes, used or not."""
    import ray

    cpus: float = ray.cluster_resources().get("CPU", 0.0)  # type: ignore[no-untyped-call]
    return cpus
