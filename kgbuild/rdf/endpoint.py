"""A read-only SPARQL 1.1 Protocol endpoint over a knowledge graph, on the loopback interface.

GET and POST (form-encoded or ``application/sparql-query``), with content negotiation: SPARQL
JSON/XML/CSV/TSV results for SELECT and ASK, Turtle/N-Triples/JSON-LD for CONSTRUCT and DESCRIBE.
Updates, ``SERVICE`` and ``LOAD`` are refused (rdflib's engine would otherwise fetch URLs or read
local files for whoever sends a query); every query has a time limit and a result-row limit.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from kgbuild.rdf.store import check_read_only

RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld"}


def negotiate(accept: str, choices: dict[str, str], default: str) -> str:
    """Pick the first media type of an Accept header that `choices` offers (by q, then order)."""
    ranked = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = next(
            (float(p[2:]) for p in params if p.startswith("q=") and p[2:].replace(".", "", 1).isdigit()), 1.0
        )
        ranked.append((-quality, position, media))
    for _, _, media in sorted(ranked):
        if media in choices:
            return media
        if media in ("*/*", "application/*", "text/*"):
            return default
    return default


class SparqlEndpoint:
    """Answer read-only queries against one rdflib dataset, with limits."""

    def __init__(self, dataset: Any, timeout: float = 10.0, max_rows: int = 10_000, workers: int = 4):
        if timeout <= 0 or max_rows <= 0 or workers <= 0:
            raise ValueError(f"timeout, max_rows and workers must be > 0, got {timeout}, {max_rows}, {workers}")
        self.dataset = dataset
        self.timeout = timeout
        self.max_rows = max_rows
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        # A query past its time limit cannot be cancelled inside the store: it keeps its slot until
        # it ends, and when every slot is taken new queries are turned away at once.
        self.slots = threading.BoundedSemaphore(workers)

    def answer(self, query: str, accept: str) -> tuple[int, str, bytes]:
        """Return ``(HTTP status, content type, body)`` for a query."""
        try:
            check_read_only(query)
        except ValueError as error:
            status = HTTPStatus.FORBIDDEN if "refused" in str(error) else HTTPStatus.BAD_REQUEST
            return status, "text/plain; charset=utf-8", f"{error}\n".encode()
        if not self.slots.acquire(blocking=False):
            return HTTPStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", b"busy: too many queries running\n"
        future = self.pool.submit(self._run_in_slot, query, accept)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            return HTTPStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", b"query time limit exceeded\n"
        except Exception as error:  # an evaluation error belongs to the client's query
            return HTTPStatus.BAD_REQUEST, "text/plain; charset=utf-8", f"query failed: {error}\n".encode()

    def _run_in_slot(self, query: str, accept: str) -> tuple[int, str, bytes]:
        try:
            return self._run(query, accept)
        finally:
            self.slots.release()

    def _run(self, query: str, accept: str) -> tuple[int, str, bytes]:
        from rdflib.query import Result

        result = self.dataset.query(query)
        if result.type in ("CONSTRUCT", "DESCRIBE"):
            media = negotiate(accept, GRAPH_TYPES, "text/turtle")
            graph = result.graph
            if len(graph) > self.max_rows:
                return (
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    "text/plain",
                    f"more than {self.max_rows} triples\n".encode(),
                )
            return HTTPStatus.OK, media, graph.serialize(format=GRAPH_TYPES[media]).encode("utf-8")
        media = negotiate(accept, RESULT_TYPES, "application/sparql-results+json")
        if result.type == "SELECT":
            rows: list[Any] = []
            for row in result:
                if len(rows) == self.max_rows:
                    return (
                        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        "text/plain",
                        f"more than {self.max_rows} rows\n".encode(),
                    )
                rows.append(row)
            if RESULT_TYPES[media] == "tsv":
                return HTTPStatus.OK, media, _tsv(result.vars or [], rows).encode("utf-8")
            limited = Result("SELECT")
            limited.vars = result.vars
            limited.bindings = [dict(zip(result.vars or [], row, strict=True)) for row in rows]
            result = limited
        elif RESULT_TYPES[media] == "tsv":
            return HTTPStatus.OK, media, f"?_askResult\n{str(bool(result.askAnswer)).lower()}\n".encode()
        body = result.serialize(format=RESULT_TYPES[media])
        return HTTPStatus.OK, media, body if isinstance(body, bytes) else str(body).encode("utf-8")


def _tsv(variables: list[Any], rows: list[Any]) -> str:
    """SPARQL 1.1 TSV results: a header of ?variables, then each term in its Turtle form."""
    lines = ["\t".join(f"?{v}" for v in variables)]
    lines += ["\t".join("" if term is None else term.n3() for term in row) for row in rows]
    return "\n".join(lines) + "\n"


def make_handler(endpoint: SparqlEndpoint) -> type[BaseHTTPRequestHandler]:
    """Build the request handler class bound to `endpoint`."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "kgbuild-sparql"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
            pass

        def _reply(self, status: int, media: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self, params: dict[str, list[str]], body_query: str | None) -> None:
            if urlparse(self.path).path not in ("/sparql", "/"):
                self._reply(HTTPStatus.NOT_FOUND, "text/plain", b"the endpoint is /sparql\n")
                return
            if "update" in params:
                self._reply(HTTPStatus.FORBIDDEN, "text/plain", b"updates are refused: this endpoint is read-only\n")
                return
            queries = params.get("query", []) + ([body_query] if body_query is not None else [])
            if len(queries) != 1:
                self._reply(HTTPStatus.BAD_REQUEST, "text/plain", b"give exactly one query\n")
                return
            self._reply(*endpoint.answer(queries[0], self.headers.get("Accept", "")))

        def do_GET(self) -> None:
            self._handle(parse_qs(urlparse(self.path).query), None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            media = self.headers.get("Content-Type", "").split(";")[0].strip()
            if media == "application/x-www-form-urlencoded":
                self._handle(parse_qs(body), None)
            elif media == "application/sparql-query":
                self._handle(parse_qs(urlparse(self.path).query), body)
            elif media == "application/sparql-update":
                self._reply(HTTPStatus.FORBIDDEN, "text/plain", b"updates are refused: this endpoint is read-only\n")
            else:
                self._reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "text/plain", json.dumps(media).encode() + b"\n")

    return Handler


def serve(endpoint: SparqlEndpoint, port: int = 7878, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Create the HTTP server (call ``serve_forever`` on it); binds to loopback by default."""
    return ThreadingHTTPServer((host, port), make_handler(endpoint))
