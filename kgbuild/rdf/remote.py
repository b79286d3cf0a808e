"""Mirror a knowledge graph into a remote SPARQL 1.1 store: chunked, retried, resumable.

Each graph of the local store (a document's named graph, the resolution graph, each run's
provenance) is one unit. A graph the remote store does not hold yet goes out in bulk requests of
many graphs (N-Quads POSTed to the store); a graph whose content changed is replaced (Graph Store
Protocol ``PUT ?graph=IRI``, then ``POST ?graph=IRI`` for the rest of a large graph); a graph gone
locally (``kgbuild remove``) is deleted (``DELETE ?graph=IRI``). With ``mode="update"`` the same
steps are SPARQL Update requests (``INSERT DATA``, ``DROP SILENT GRAPH``).

A checkpoint file records the digest of each graph the store holds, and the graphs a request may
have left there only in part. It is written atomically before any request that could leave content
the checkpoint does not know of, so a push cut short anywhere (a kill, a store restarting, a store
refusing writes) loses nothing and the same command finishes the job; a second push sends nothing.
Graphs the checkpoint never named (someone else's) are left alone. Every request is idempotent
(adding a quad twice keeps one), so a retried request is harmless. Graph content is sent as
N-Triples/N-Quads text; the graph holds no blank nodes (every IRI is minted), whose labels would not
survive across requests.
"""

from __future__ import annotations

import fcntl
import hashlib
import http.client
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgbuild.errors import RemoteStoreError

MODES = ("quads", "update")
DEFAULT_GRAPH = ""  # the checkpoint's key for the default graph
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF = 30.0  # seconds: the longest wait between two attempts
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
    client = _Client(endpoint, timeout, retries, backoff, on_request)
    protocol = _GraphStore(client) if mode == "quads" else _Update(client)
    with _Checkpoint.open(checkpoint, endpoint) as state:
        if full:  # the store may hold anything of these graphs: replace them all
            state.pending |= dict.fromkeys(state.pushed, "")
            state.pushed = {}
        local = {key: _digest(lines) for key, lines in _graphs(store)}
        total = sum(count for _, count in local.values())
        known = state.pushed | state.pending
        gone = sorted(key for key in known if key not in local)
        # A pending graph with unchanged content holds part of that content: adding all of it again completes it.
        new = [key for key in local if key not in known or state.pending.get(key) == local[key][0]]
        changed = [key for key in local if key in known and known[key] != local[key][0]]
        for key in gone:
            protocol.delete(key)
            state.forget(key)
            state.save()
        sent = 0
        for key in changed:
            for first, lines in _chunks(_lines(store, key), chunk_size):
                if first:
                    protocol.replace(key, lines)
                else:
                    protocol.append(key, lines)
                sent += len(lines)
            state.done(key, local[key][0])
            state.save()
        sent += _add(store, protocol, state, {key: local[key][0] for key in new}, chunk_size)
        state.save(force=True)
    return PushReport(
        endpoint, sent, total, len(new), len(changed), len(gone), len(local) - len(new) - len(changed),
        client.requests, client.retries, time.monotonic() - started,
    )  # fmt: skip


def _add(store: Any, protocol: _GraphStore | _Update, state: _Checkpoint, new: dict[str, str], size: int) -> int:
    """Send graphs the store holds nothing of, many to a request; return the quads sent.

    Each request's graphs are marked pending in the checkpoint, with their digest, before it leaves:
    if it never finishes, the next push adds them again when their content is unchanged (the store
    holds part of it) and replaces them when it changed.
    """
    chunk: list[tuple[str, list[bytes]]] = []
    finished: list[str] = []
    room, sent = size, 0

    def flush() -> None:
        nonlocal room, sent
        if not chunk:
            return
        state.pending.update((key, new[key]) for key, _ in chunk)
        state.save(force=True)
        protocol.add(chunk)
        sent += size - room
        for key in finished:
            state.done(key, new[key])
        chunk.clear()
        finished.clear()
        room = size

    for key in new:
        lines = _lines(store, key)
        while lines:
            part, lines = lines[:room], lines[room:]
            chunk.append((key, part))
            room -= len(part)
            if not lines:
                finished.append(key)
            if not room:
                flush()
    flush()
    return sent


def _graphs(store: Any) -> Iterator[tuple[str, list[bytes]]]:
    """Yield each non-empty graph's key and its N-Triples lines, default graph first, then by IRI."""
    import pyoxigraph

    keys = []
    for name in store.named_graphs():
        if not isinstance(name, pyoxigraph.NamedNode):
            raise ValueError(f"a graph named by a blank node cannot be pushed (no IRI to address it): {name}")
        keys.append(name.value)
    for key in [DEFAULT_GRAPH, *sorted(keys)]:
        lines = _lines(store, key)
        if lines:
            yield key, lines


def _lines(store: Any, key: str) -> list[bytes]:
    """One graph's triples as N-Triples lines, each ending with a newline."""
    import pyoxigraph

    name = pyoxigraph.DefaultGraph() if key == DEFAULT_GRAPH else pyoxigraph.NamedNode(key)
    text: bytes = store.dump(format=pyoxigraph.RdfFormat.N_TRIPLES, from_graph=name)
    return [line + b"\n" for line in text.split(b"\n") if line]  # literals escape every line break


def _digest(lines: list[bytes]) -> tuple[str, int]:
    """Digest of a graph's content, whatever the order of its triples; and how many there are."""
    return hashlib.sha256(b"".join(sorted(lines))).hexdigest(), len(lines)


def _chunks(lines: list[bytes], size: int) -> Iterator[tuple[bool, list[bytes]]]:
    """Split lines into requests of at most `size`; the flag marks the first."""
    for first in range(0, len(lines), size):
        yield first == 0, lines[first : first + size]


def _graph_term(key: str) -> bytes:
    return b"" if key == DEFAULT_GRAPH else f"<{key}> ".encode()


class _GraphStore:
    """The SPARQL 1.1 Graph Store HTTP Protocol, plus N-Quads POSTed to the store for bulk adds."""

    def __init__(self, client: _Client):
        self.client = client

    def _target(self, key: str) -> str:
        return "default" if key == DEFAULT_GRAPH else "graph=" + urllib.parse.quote(key, safe="")

    def add(self, chunk: list[tuple[str, list[bytes]]]) -> None:
        body = b"".join(line[:-2] + _graph_term(key) + b".\n" for key, lines in chunk for line in lines)
        self.client.send("POST", "", body, "application/n-quads")

    def replace(self, key: str, lines: list[bytes]) -> None:
        self.client.send("PUT", self._target(key), b"".join(lines), "application/n-triples")

    def append(self, key: str, lines: list[bytes]) -> None:
        self.client.send("POST", self._target(key), b"".join(lines), "application/n-triples")

    def delete(self, key: str) -> None:
        self.client.send("DELETE", self._target(key), b"", None, missing_ok=True)


class _Update:
    """The same steps as SPARQL 1.1 Update requests."""

    def __init__(self, client: _Client):
        self.client = client

    def _send(self, text: bytes) -> None:
        self.client.send("POST", "", text, "application/sparql-update")

    def add(self, chunk: list[tuple[str, list[bytes]]]) -> None:
        self._send(b"INSERT DATA {\n" + b"".join(_block(key, lines) for key, lines in chunk) + b"}")

    def replace(self, key: str, lines: list[bytes]) -> None:
        self._send(_drop(key) + b" ;\nINSERT DATA {\n" + _block(key, lines) + b"}")

    def append(self, key: str, lines: list[bytes]) -> None:
        self.add([(key, lines)])

    def delete(self, key: str) -> None:
        self._send(_drop(key))


def _block(key: str, lines: list[bytes]) -> bytes:
    """Triples inside ``INSERT DATA``: in their named graph's block, or bare for the default graph."""
    triples = b"".join(lines)
    return triples if key == DEFAULT_GRAPH else b"GRAPH <" + key.encode() + b"> {\n" + triples + b"}\n"


def _drop(key: str) -> bytes:
    return b"CLEAR SILENT DEFAULT" if key == DEFAULT_GRAPH else b"DROP SILENT GRAPH <" + key.encode() + b">"


class _Client:
    """HTTP requests over one kept-alive connection, retried with exponential backoff."""

    def __init__(
        self, endpoint: str, timeout: float, retries: int, backoff: float, on_request: Callable[[int], None] | None
    ):
        self.endpoint, self.timeout, self.attempts, self.backoff = endpoint, timeout, retries + 1, backoff
        self.on_request = on_request
        self.parts = urllib.parse.urlsplit(endpoint)
        self.connection: http.client.HTTPConnection | None = None
        self.requests = self.retries = 0

    def send(self, method: str, query: str, body: bytes, content_type: str | None, missing_ok: bool = False) -> None:
        """Send one request; 2xx (and 404 when `missing_ok`) is success.

        Raises:
            RemoteStoreError: HTTP 4xx other than 408/429, or every attempt failed.

        """
        parameters = "&".join(part for part in (self.parts.query, query) if part)
        path = (self.parts.path or "/") + (f"?{parameters}" if parameters else "")
        url = f"{self.parts.scheme}://{self.parts.netloc}{path}"
        headers = {"Content-Type": content_type} if content_type else {}
        problem = ""
        for attempt in range(self.attempts):
            if attempt:
                self.retries += 1
                time.sleep(min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF))
            try:
                status, reason, detail = self._request(method, path, body, headers)
            except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out
                self.close()
                problem = str(error) or type(error).__name__
                continue
            if 200 <= status < 300 or (missing_ok and status == 404):
                self.requests += 1
                if self.on_request is not None:
                    self.on_request(self.requests)
                return
            problem = f"HTTP {status} {reason}: {detail}".rstrip(": ")
            if status not in RETRY_STATUSES:
                raise RemoteStoreError(f"{url} refused the request ({method}): {problem}")
        raise RemoteStoreError(f"{url}: {problem} (gave up after {self.attempts} attempts)")

    def _request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
        if self.connection is None:
            kind = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
            self.connection = kind(self.parts.hostname or "", self.parts.port, timeout=self.timeout)
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        detail = response.read().decode("utf-8", "replace").strip()[:300]
        if response.will_close:
            self.close()
        return response.status, response.reason, detail

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class _Checkpoint:
    """What the remote store holds: ``pushed`` graph digests, and ``pending`` graphs perhaps held in part."""

    def __init__(self, path: Path | None, endpoint: str, pushed: dict[str, str], pending: dict[str, str]):
        self.path, self.endpoint, self.pushed, self.pending = path, endpoint, pushed, pending
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
            yield cls(None, endpoint, {}, {})
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with (path.parent / f".{path.name}.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RemoteStoreError(f"{endpoint}: another push to this store is running ({path})") from None
            yield cls(path, endpoint, *_read_checkpoint(path, endpoint))

    def done(self, key: str, digest: str) -> None:
        self.pushed[key] = digest
        self.pending.pop(key, None)

    def forget(self, key: str) -> None:
        self.pushed.pop(key, None)
        self.pending.pop(key, None)

    def save(self, force: bool = False) -> None:
        """Write the checkpoint atomically; unless forced, at most every few seconds (it only records finished work)."""
        from kgbuild.rdf.store import write_atomically

        if self.path is None or not (force or time.monotonic() - self.saved >= CHECKPOINT_EVERY):
            return
        record = {"endpoint": self.endpoint, "pushed": self.pushed, "pending": self.pending}
        write_atomically(self.path, json.dumps(record, sort_keys=True) + "\n")
        self.saved = time.monotonic()


def _read_checkpoint(path: Path, endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    from kgbuild.errors import DataFormatError

    if not path.is_file():
        return {}, {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        pushed, pending = dict(record["pushed"]), dict(record["pending"])
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise DataFormatError(f"{path}: not a push checkpoint ({error}); delete it and push with --full") from None
    if record.get("endpoint") != endpoint:
        raise DataFormatError(f"{path}: a checkpoint for {record.get('endpoint')!r}, not {endpoint!r}")
    return pushed, pending
