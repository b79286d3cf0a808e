"""Mirror a knowledge graph into a remote SPARQL 1.1 store: chunked, retried, resumable.

Each graph of the local store (a document's named graph, the resolution graph, each run's
provenance) is one unit. A graph the remote store does not hold yet goes out in bulk requests of
many graphs (N-Quads POSTed to the store); a graph whose content changed is replaced (Graph Store
Protocol ``PUT ?graph=IRI``, then ``POST ?graph=IRI`` for the rest of a large graph); a graph gone
locally (``kgbuild remove``) is deleted (``DELETE ?graph=IRI``). With ``mode="update"`` the same
steps are SPARQL Update requests (``INSERT DATA``, ``DROP SILENT GRAPH``); see `kgbuild.rdf.protocols`.
Each graph is read once: its digest decides whether it goes, then its lines go out.

A checkpoint file records the digest of each graph the store holds, and the graphs a request may
have left there only in part. It is written atomically before any request that could leave content
the checkpoint does not know of, so a push cut short anywhere (a kill, a store restarting, a store
refusing writes) loses nothing and the same command finishes the job; a second push sends nothing
(and, given the local graph's version, reads nothing).
Graphs the checkpoint never named (someone else's) are left alone. Every request is idempotent
(adding a quad twice keeps one), so a retried request is harmless. Graph content is sent as
N-Triples/N-Quads text; the graph holds no blank nodes (every IRI is minted), whose labels would not
survive across requests.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgbuild.errors import RemoteStoreError
from kgbuild.rdf.protocols import DEFAULT_GRAPH, GraphStoreProtocol, HttpClient, UpdateProtocol

if TYPE_CHECKING:
    from concurrent.futures import Future

MODES = ("quads", "update")
CHECKPOINT_EVERY = 2.0  # seconds between checkpoint writes that only record finished work


@dataclass(frozen=True, slots=True)
class PushReport:
    """What one push did.

    Attributes:
        quads: quads sent by this push (0 when the store already mirrored the graph).
        total_quads: quads of the local graph, which the store now holds.
        added, replaced, deleted, unchanged: graphs in each state (``unchanged``: not sent again).
        requests: HTTP requests that succeeded; ``retries``: attempts that failed and were repeated.

    """

    endpoint: str
    quads: int
    total_quads: int
    added: int
    replaced: int
    deleted: int
    unchanged: int
    requests: int
    retries: int
    seconds: float


def checkpoint_path(kg_dir: str | Path, endpoint: str) -> Path:
    """Where a knowledge-graph directory keeps its checkpoint for pushes to `endpoint`."""
    return Path(kg_dir) / "push" / f"{hashlib.sha256(endpoint.encode('utf-8')).hexdigest()[:16]}.json"


def push(
    store: Any,
    endpoint: str,
    checkpoint: str | Path | None = None,
    mode: str = "quads",
    chunk_size: int = 50_000,
    *,
    timeout: float = 120.0,
    retries: int = 5,
    backoff: float = 0.5,
    full: bool = False,
    version: str | None = None,
    no_transaction: bool = False,
    on_request: Callable[[int], None] | None = None,
) -> PushReport:
    """Make the graphs at `endpoint` equal the local store's (a `pyoxigraph.Store`), sending only what changed.

    Args:
        endpoint: with ``mode="quads"`` a Graph Store Protocol endpoint that also takes N-Quads
            (Oxigraph's ``/store``, Fuseki's dataset URL); with ``mode="update"`` a SPARQL Update endpoint.
        checkpoint: the checkpoint file (see `checkpoint_path`); None keeps none, so every push sends all.
        chunk_size: most quads a request carries.
        retries: attempts repeated after a failed connection, a timeout, or HTTP 408/429/5xx, waiting
            `backoff` seconds and doubling each time (at most 30 s).
        full: forget the checkpoint and replace every graph (after the store lost its data).
        version: a digest of the local graph (`KnowledgeGraphDir.stamp`): when the last push of this
            version finished, nothing is read or sent.
        no_transaction: bulk adds ask an Oxigraph server to load them with its bulk loader rather
            than in a transaction (faster; a request cut short leaves part, which the checkpoint allows for).
        on_request: called with the number of requests done after each one (progress, tests).

    Raises:
        ValueError: an unknown mode, a bad chunk size, retry count or URL.
        RemoteStoreError: the store refused a request (HTTP 4xx) or could not be reached after every
            retry; the message names the URL. The checkpoint stays valid: pushing again finishes.

    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if chunk_size <= 0 or retries < 0 or backoff < 0 or timeout <= 0:
        raise ValueError(
            f"need chunk_size > 0, retries >= 0, backoff >= 0 and timeout > 0; got {chunk_size}, {retries}, "
            f"{backoff}, {timeout}"
        )
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
    started = time.monotonic()
    client = HttpClient(endpoint, timeout, retries, backoff, on_request)
    protocol = GraphStoreProtocol(client, no_transaction) if mode == "quads" else UpdateProtocol(client)
    with _Checkpoint.open(checkpoint, endpoint) as state:
        if full:  # the store may hold anything of these graphs: replace them all
            state.unknown(list(state.pushed))
        if version is not None and version == state.version and not state.pending:
            return PushReport(endpoint, 0, state.quads, 0, 0, 0, len(state.pushed), 0, 0, time.monotonic() - started)
        keys = _graph_keys(store)
        known = state.pushed | state.pending
        gone = sorted(set(known) - set(keys))
        # Before a request changes a graph the checkpoint holds, it is marked unknown (pending, no digest):
        # if the request is lost, the next push replaces the graph even should its content be back as before.
        state.unknown(gone)
        state.version = None  # a push under way: no version is mirrored until it finishes
        state.save(force=True)
        total = added = replaced = 0
        with _Sender(state) as sender:
            for key in gone:
                sender.submit(partial(protocol.delete, key), partial(state.forget, key))
            batch = _Batch(protocol, state, chunk_size, sender)
            for key in keys:  # one read of each graph: its digest decides, then its lines go out
                lines = _lines(store, key)
                digest = _digest(lines)
                total += len(lines)
                if state.pushed.get(key) == digest:
                    continue
                # A pending graph with unchanged content holds part of it: adding it all again completes it.
                if key not in known or state.pending.get(key) == digest:
                    batch.add(key, digest, lines)
                    added += 1
                    continue
                replaced += 1
                if state.pending.get(key) != "":
                    state.unknown([key])
                    state.save(force=True)
                for first in range(0, len(lines), chunk_size):
                    step = protocol.append if first else protocol.replace
                    last = first + chunk_size >= len(lines)
                    sender.submit(partial(step, key, lines[first : first + chunk_size]), None, len(lines) * last)
                sender.then(partial(state.done, key, digest))
            batch.flush()
        state.version, state.quads = version, total
        state.save(force=True)
    return PushReport(
        endpoint, sender.sent, total, added, replaced, len(gone), len(keys) - added - replaced,
        client.requests, client.retries, time.monotonic() - started,
    )  # fmt: skip


class _Sender:
    """Send one request at a time from a background thread, so that reading the next graph overlaps it.

    What a request's success means for the checkpoint (`then`) runs on the calling thread, once the
    request is known to have succeeded; a failed request raises there, at the next `submit` or at the end.
    """

    def __init__(self, state: _Checkpoint):
        from concurrent.futures import ThreadPoolExecutor

        self.state, self.pool = state, ThreadPoolExecutor(1, thread_name_prefix="push")
        self.flight: tuple[Future[None], list[Callable[[], None]], int] | None = None
        self.sent = 0

    def __enter__(self) -> _Sender:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            if kind is None:
                self.wait()
        finally:
            self.pool.shutdown(wait=True)

    def submit(self, request: Callable[[], None], then: Callable[[], None] | None = None, quads: int = 0) -> None:
        """Send `request` once the one in flight succeeded; `quads` counts toward what was sent."""
        self.wait()
        self.flight = (self.pool.submit(request), [then] if then else [], quads)

    def then(self, step: Callable[[], None]) -> None:
        """Run `step` once the request in flight succeeded."""
        if self.flight is None:
            step()
        else:
            self.flight[1].append(step)

    def wait(self) -> None:
        if self.flight is None:
            return
        future, steps, quads = self.flight
        self.flight = None
        future.result()
        self.sent += quads
        for step in steps:
            step()
        self.state.save()


class _Batch:
    """Graphs the store holds nothing of, sent many to a request.

    Each request's graphs are marked pending in the checkpoint, with their digest, before it leaves:
    if it never finishes, the next push adds them again when their content is unchanged (the store
    holds part of it) and replaces them when it changed.
    """

    def __init__(self, protocol: GraphStoreProtocol | UpdateProtocol, state: _Checkpoint, size: int, sender: _Sender):
        self.protocol, self.state, self.size, self.sender = protocol, state, size, sender
        self.chunk: list[tuple[str, list[bytes]]] = []
        self.digests: dict[str, str] = {}
        self.finished: list[str] = []
        self.room = size

    def add(self, key: str, digest: str, lines: list[bytes]) -> None:
        """Queue a graph's lines, sending each chunk that fills up."""
        self.digests[key] = digest
        while lines:
            part, lines = lines[: self.room], lines[self.room :]
            self.chunk.append((key, part))
            self.room -= len(part)
            if not lines:
                self.finished.append(key)
            if not self.room:
                self.flush()

    def flush(self) -> None:
        """Send the queued chunk, its graphs marked pending first."""
        if not self.chunk:
            return
        self.state.pending.update((key, self.digests[key]) for key, _ in self.chunk)
        self.state.save(force=True)
        done = [(key, self.digests.pop(key)) for key in self.finished]
        self.sender.submit(
            partial(self.protocol.add, list(self.chunk)), partial(self._done, done), self.size - self.room
        )
        self.chunk.clear()
        self.finished.clear()
        self.room = self.size

    def _done(self, graphs: list[tuple[str, str]]) -> None:
        for key, digest in graphs:
            self.state.done(key, digest)


def _graph_keys(store: Any) -> list[str]:
    """Every non-empty graph: the default graph (key ``""``) first if it holds anything, then IRIs in order."""
    import pyoxigraph

    keys = []
    for name in store.named_graphs():
        if not isinstance(name, pyoxigraph.NamedNode):
            raise ValueError(f"a graph named by a blank node cannot be pushed (no IRI to address it): {name}")
        keys.append(name.value)
    default = next(iter(store.quads_for_pattern(None, None, None, pyoxigraph.DefaultGraph())), None)
    return [DEFAULT_GRAPH] * (default is not None) + sorted(keys)


def _lines(store: Any, key: str) -> list[bytes]:
    """One graph's triples as N-Triples lines, each ending with a newline."""
    import pyoxigraph

    name = pyoxigraph.DefaultGraph() if key == DEFAULT_GRAPH else pyoxigraph.NamedNode(key)
    text: bytes = store.dump(format=pyoxigraph.RdfFormat.N_TRIPLES, from_graph=name)
    return [line + b"\n" for line in text.split(b"\n") if line]  # literals escape every line break


def _digest(lines: list[bytes]) -> str:
    """Digest of a graph's content, whatever the order of its triples."""
    return hashlib.sha256(b"".join(sorted(lines))).hexdigest()


class _Checkpoint:
    """What the remote store holds.

    ``pushed``: digests of the graphs it holds; ``pending``: graphs it may hold in part; ``version``
    and ``quads``: the local graph the last finished push mirrored.
    """

    def __init__(self, path: Path | None, endpoint: str, record: dict[str, Any]):
        self.path, self.endpoint = path, endpoint
        self.pushed: dict[str, str] = record["pushed"]
        self.pending: dict[str, str] = record["pending"]
        self.version: str | None = record.get("version")
        self.quads: int = record.get("quads", 0)
        self.saved = time.monotonic()

    @classmethod
    @contextmanager
    def open(cls, path: str | Path | None, endpoint: str) -> Iterator[_Checkpoint]:
        """Read the checkpoint under an exclusive lock (one push at a time to a store), or start an empty one.

        Raises:
            RemoteStoreError: another push to this store from this directory is running.
            DataFormatError: the file is not a checkpoint (names it).

        """
        if path is None:
            yield cls(None, endpoint, {"pushed": {}, "pending": {}})
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with (path.parent / f".{path.name}.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RemoteStoreError(f"{endpoint}: another push to this store is running ({path})") from None
            yield cls(path, endpoint, _read_checkpoint(path, endpoint))

    def done(self, key: str, digest: str) -> None:
        self.pushed[key] = digest
        self.pending.pop(key, None)

    def unknown(self, keys: list[str]) -> None:
        """Record that the store may hold anything of these graphs."""
        for key in keys:
            self.pushed.pop(key, None)
            self.pending[key] = ""

    def forget(self, key: str) -> None:
        self.pushed.pop(key, None)
        self.pending.pop(key, None)

    def save(self, force: bool = False) -> None:
        """Write the checkpoint atomically; unless forced, at most every few seconds (it only records finished work)."""
        from kgbuild.rdf.store import write_atomically

        if self.path is None or not (force or time.monotonic() - self.saved >= CHECKPOINT_EVERY):
            return
        record: dict[str, Any] = {"endpoint": self.endpoint, "version": self.version, "quads": self.quads}
        record |= {"pushed": self.pushed, "pending": self.pending}
        write_atomically(self.path, json.dumps(record, sort_keys=True) + "\n")
        self.saved = time.monotonic()


def _read_checkpoint(path: Path, endpoint: str) -> dict[str, Any]:
    from kgbuild.errors import DataFormatError

    if not path.is_file():
        return {"pushed": {}, "pending": {}}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not all(isinstance(record[name], dict) for name in ("pushed", "pending")):
            raise TypeError("pushed and pending must be objects")
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise DataFormatError(f"{path}: not a push checkpoint ({error}); delete it and push with --full") from None
    if record.get("endpoint") != endpoint:
        raise DataFormatError(f"{path}: a checkpoint for {record.get('endpoint')!r}, not {endpoint!r}")
    return dict(record)
