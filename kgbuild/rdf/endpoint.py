"""A read-only SPARQL 1.1 Protocol endpoint over a knowledge graph: Starlette on uvicorn, on the loopback interface.

GET and POST (form-encoded or ``application/sparql-query``), with content negotiation: SPARQL
JSON/XML/CSV/TSV results for SELECT and ASK, Turtle/N-Triples/JSON-LD for CONSTRUCT and DESCRIBE,
and 406 when the Accept header names nothing that fits. Queries run in a `QueryRunner` (worker
processes with a time limit that stops them: 504; a bounded queue: 503 with ``Retry-After`` beyond it).
The default graph is the union of the named graphs; ``GRAPH ?g`` still reaches each document's graph.

The HTTP layer bounds what one client can hold: connections (uvicorn answers 503 beyond them), the
time to send a request's head and body, and the body's size.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from kgbuild.errors import (
    QueryBusyError,
    QueryError,
    QueryFailedError,
    QueryRefusedError,
    QuerySyntaxError,
    QueryTimeoutError,
)
from kgbuild.rdf.results import GRAPH_TYPES, RESULT_TYPES, media_types, write
from kgbuild.rdf.runner import QueryRunner

STATUS = {
    QuerySyntaxError: HTTPStatus.BAD_REQUEST,
    QueryRefusedError: HTTPStatus.FORBIDDEN,
    QueryTimeoutError: HTTPStatus.GATEWAY_TIMEOUT,  # its worker (the upstream) was stopped; 503 means busy
    QueryBusyError: HTTPStatus.SERVICE_UNAVAILABLE,
    QueryFailedError: HTTPStatus.INTERNAL_SERVER_ERROR,
}
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>kgbuild SPARQL endpoint</title></head><body>
<h1>kgbuild SPARQL endpoint</h1>
<p>A read-only <a href="https://www.w3.org/TR/sparql11-protocol/">SPARQL 1.1 Protocol</a> endpoint at
<code>/sparql</code> (GET <code>?query=</code>, or POST form-encoded or <code>application/sparql-query</code>).</p>
<p>The <b>default graph is the union of the named graphs</b>: <code>SELECT * WHERE { ?s ?p ?o }</code> reads
every document's triples. <code>GRAPH ?g { ... }</code> still reaches each document's own graph.</p>
<p>Updates, <code>SERVICE</code> and <code>LOAD</code> are refused. A query may run {timeout:g} s and return
{rows} rows (more is answered 413: add a <code>LIMIT</code>).</p>
</body></html>
"""
_TEXT = "text/plain; charset=utf-8"


class _BodyTooLargeError(Exception):
    pass


def negotiate(accept: str, choices: dict[str, str]) -> str | None:
    """Pick the first media type of an Accept header that `choices` offers (by q, then order).

    An empty header or a wildcard gets the first choice; None when nothing fits.
    """
    if not accept.strip():
        return next(iter(choices))
    ranked = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = next(
            (float(p[2:]) for p in params if p.startswith("q=") and p[2:].replace(".", "", 1).isdigit()), 1.0
        )
        if quality > 0:
            ranked.append((-quality, position, media.lower()))
    for _, _, media in sorted(ranked):
        if media in choices:
            return media
        if media == "*/*":
            return next(iter(choices))
        if media.endswith("/*"):
            fitting = [choice for choice in choices if choice.startswith(media[:-1])]
            if fitting:
                return fitting[0]
    return None


def create_app(
    runner: QueryRunner, max_body: int = 1 << 20, body_timeout: float = 10.0, close_runner: bool = False
) -> Any:
    """Build the Starlette application answering queries with `runner` (closed at shutdown if `close_runner`)."""
    import contextlib
    from collections.abc import AsyncIterator

    import anyio
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    retry_after = str(max(1, math.ceil(runner.timeout / 2)))
    page = PAGE.replace("{timeout:g}", f"{runner.timeout:g}").replace("{rows}", str(runner.row_limit))

    def text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return Response(message + "\n", status, headers, media_type=_TEXT)

    async def answer(query: str, accept: str) -> Response:
        try:
            result = await runner.run_async(query)
        except QueryError as error:
            headers = {"Retry-After": retry_after} if isinstance(error, QueryBusyError) else None
            return text(STATUS.get(type(error), HTTPStatus.BAD_REQUEST), str(error), headers)
        choices = media_types(result)  # Accept was checked before: this form fits it
        media = negotiate(accept, choices)
        if media is None:
            return text(HTTPStatus.NOT_ACCEPTABLE, f"a {result.form} result is served as {', '.join(choices)}")
        if result.cut:
            return text(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"more than {runner.row_limit} rows: add a LIMIT")
        if len(result.rows) > 1000:  # writing thousands of rows takes milliseconds: not on the event loop
            return Response(await anyio.to_thread.run_sync(write, result, choices[media]), media_type=media)
        return Response(write(result, choices[media]), media_type=media)

    async def sparql(request: Request) -> Response:
        params = {key: request.query_params.getlist(key) for key in request.query_params}
        body_query = None
        if request.method == "POST":
            try:
                body = await asyncio.wait_for(_read_body(request, max_body), body_timeout)
            except TimeoutError:
                message = f"the request body took more than {body_timeout:g} s"
                return text(HTTPStatus.REQUEST_TIMEOUT, message, {"Connection": "close"})
            except _BodyTooLargeError:
                message = f"the request body is over {max_body} bytes"
                return text(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, message, {"Connection": "close"})
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media == "application/x-www-form-urlencoded":
                params = parse_qs(body.decode("utf-8", "replace"))
            elif media == "application/sparql-query":
                body_query = body.decode("utf-8", "replace")
            elif media == "application/sparql-update":
                params = {"update": [""]}
            else:
                return text(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"unsupported request content type {media!r}")
        if "update" in params:
            return text(HTTPStatus.FORBIDDEN, "updates are refused: this endpoint is read-only")
        queries = params.get("query", []) + ([body_query] if body_query is not None else [])
        if not queries and request.url.path == "/":
            return HTMLResponse(page)
        if len(queries) != 1:
            return text(HTTPStatus.BAD_REQUEST, "give exactly one query")
        accept = request.headers.get("accept", "")
        if negotiate(accept, RESULT_TYPES) is None and negotiate(accept, GRAPH_TYPES) is None:
            offered = ", ".join([*RESULT_TYPES, *GRAPH_TYPES])
            return text(HTTPStatus.NOT_ACCEPTABLE, f"no result can be served as {accept!r}; offered: {offered}")
        return await answer(queries[0], accept)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:  # uvicorn re-raises SIGTERM after shutting down: the workers must be stopped before
            if close_runner:
                runner.close()

    routes = [Route("/sparql", sparql, methods=["GET", "POST"]), Route("/", sparql, methods=["GET", "POST"])]
    return Starlette(routes=routes, lifespan=lifespan)


async def _read_body(request: Any, max_body: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise _BodyTooLargeError
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise _BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _timed_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """Return uvicorn's HTTP/1.1 protocol, closing a connection that sends no complete request head in time."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.loop.call_later(header_timeout, self._close_if_silent)

        def _close_if_silent(self) -> None:
            if self.cycle is None and not self.transport.is_closing():
                self.transport.close()

    return TimedH11Protocol


class EndpointServer:
    """The endpoint's HTTP server on a socket bound at creation (port 0: any free port).

    Args:
        runner: answers the queries.
        max_connections: open connections at most; uvicorn answers 503 beyond.
        header_timeout: seconds a new connection may take to send its request head.
        body_timeout: seconds a request may take to send its body.
        max_body: largest request body, in bytes (413 beyond).
        close_runner: close the runner when the server shuts down (Ctrl-C, SIGTERM).

    """

    def __init__(
        self,
        runner: QueryRunner,
        port: int = 7878,
        host: str = "127.0.0.1",
        max_connections: int = 256,
        header_timeout: float = 10.0,
        body_timeout: float = 10.0,
        max_body: int = 1 << 20,
        close_runner: bool = False,
    ):
        import uvicorn

        self.runner = runner
        self.socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError:
            self.socket.close()
            raise
        self.socket.listen(512)
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://{host}:{self.port}/sparql"
        config = uvicorn.Config(
            create_app(runner, max_body, body_timeout, close_runner), lifespan="on", log_level="warning",
            limit_concurrency=max_connections, timeout_keep_alive=5, backlog=512,
            http=_timed_protocol(header_timeout),
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C) or `stop`."""
        self.server.run(sockets=[self.socket])

    def start(self) -> None:
        """Serve from a background thread; return once the server accepts connections."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        while not self.server.started and self._thread.is_alive():
            threading.Event().wait(0.02)

    def stop(self) -> None:
        """Stop serving and close the socket (the runner is the caller's to close)."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.socket.close()
