"""The requests a push makes: Graph Store Protocol or SPARQL Update, over one retried HTTP connection.

Both protocols take the same four steps, each idempotent so that a retried request is harmless:
``add`` (triples of many graphs the store holds nothing of), ``replace`` (a graph's content, or the
first part of it), ``append`` (the rest of a large graph) and ``delete``. Graph content is N-Triples
lines, each ending with a newline; the default graph is the key ``""``.
"""

from __future__ import annotations

import http.client
import time
import urllib.parse
from collections.abc import Callable

from kgbuild.errors import RemoteStoreError

DEFAULT_GRAPH = ""  # the default graph's key
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF = 30.0  # seconds: the longest wait between two attempts


def _graph_term(key: str) -> bytes:
    return b"" if key == DEFAULT_GRAPH else f"<{key}> ".encode()


class GraphStoreProtocol:
    """The SPARQL 1.1 Graph Store HTTP Protocol, plus N-Quads POSTed to the store for bulk adds."""

    def __init__(self, client: HttpClient, no_transaction: bool = False):
        self.client = client
        # Oxigraph's parameter: load with its bulk loader, not in one transaction (readers may see part of it).
        self.add_query = "no_transaction" if no_transaction else ""

    def _target(self, key: str) -> str:
        return "default" if key == DEFAULT_GRAPH else "graph=" + urllib.parse.quote(key, safe="")

    def add(self, chunk: list[tuple[str, list[bytes]]]) -> None:
        """POST the triples of several graphs to the store as N-Quads."""
        body = b"".join(line[:-2] + _graph_term(key) + b".\n" for key, lines in chunk for line in lines)
        self.client.send("POST", self.add_query, body, "application/n-quads")

    def replace(self, key: str, lines: list[bytes]) -> None:
        """PUT a graph's triples: they replace whatever it held."""
        self.client.send("PUT", self._target(key), b"".join(lines), "application/n-triples")

    def append(self, key: str, lines: list[bytes]) -> None:
        """POST more triples to a graph."""
        self.client.send("POST", self._target(key), b"".join(lines), "application/n-triples")

    def delete(self, key: str) -> None:
        """DELETE a graph; one the store does not hold (404) is already gone."""
        self.client.send("DELETE", self._target(key), b"", None, missing_ok=True)


class UpdateProtocol:
    """The same steps as SPARQL 1.1 Update requests."""

    def __init__(self, client: HttpClient):
        self.client = client

    def _send(self, text: bytes) -> None:
        self.client.send("POST", "", text, "application/sparql-update")

    def add(self, chunk: list[tuple[str, list[bytes]]]) -> None:
        """``INSERT DATA`` the triples of several graphs."""
        self._send(b"INSERT DATA {\n" + b"".join(_block(key, lines) for key, lines in chunk) + b"}")

    def replace(self, key: str, lines: list[bytes]) -> None:
        """``DROP SILENT GRAPH`` then ``INSERT DATA``, in one request (one transaction where the store has them)."""
        self._send(_drop(key) + b" ;\nINSERT DATA {\n" + _block(key, lines) + b"}")

    def append(self, key: str, lines: list[bytes]) -> None:
        """``INSERT DATA`` more triples into a graph."""
        self.add([(key, lines)])

    def delete(self, key: str) -> None:
        """``DROP SILENT GRAPH``: a graph the store does not hold is no error."""
        self._send(_drop(key))


def _block(key: str, lines: list[bytes]) -> bytes:
    """Triples inside ``INSERT DATA``: in their named graph's block, or bare for the default graph."""
    triples = b"".join(lines)
    return triples if key == DEFAULT_GRAPH else b"GRAPH <" + key.encode() + b"> {\n" + triples + b"}\n"


def _drop(key: str) -> bytes:
    return b"CLEAR SILENT DEFAULT" if key == DEFAULT_GRAPH else b"DROP SILENT GRAPH <" + key.encode() + b">"


class HttpClient:
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
            if status == 413:
                problem += f" (a request of {len(body):,} bytes is too large: lower --chunk-size)"
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
        """Drop the connection; the next request opens a new one."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
