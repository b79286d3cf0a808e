"""Load a knowledge graph into a remote SPARQL 1.1 store, in bulk."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

MODES = ("quads", "update")


def _triples_by_graph(dataset: Any) -> Iterator[tuple[str, str]]:
    """Yield ``(graph IRI in angle brackets, N-Triples statement without its final dot)``, graph by graph."""
    from rdflib import Dataset, URIRef

    local = Dataset()
    for quad in dataset.quads((None, None, None, None)):
        local.add(quad)
    for graph in sorted(local.graphs(), key=lambda g: str(g.identifier)):
        if (
            not len(graph)
            or not isinstance(graph.identifier, URIRef)
            or graph.identifier == local.default_graph.identifier
        ):
            continue
        for line in sorted(graph.serialize(format="nt").split("\n")):
            if line.strip():
                yield f"<{graph.identifier}>", line.rstrip()[:-1].rstrip()


def _post(url: str, body: str, content_type: str, timeout: float) -> None:
    request = urllib.request.Request(
        url, data=body.encode("utf-8"), method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:300]
        raise ConnectionError(f"{url}: HTTP {error.code} {error.reason}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise ConnectionError(f"{url}: {getattr(error, 'reason', error)}") from None


def push(dataset: Any, endpoint: str, mode: str = "quads", batch_size: int = 50_000, timeout: float = 120.0) -> int:
    """Send every quad of `dataset` to `endpoint`; return how many were sent.

    Args:
        mode: ``quads`` POSTs N-Quads to a Graph Store Protocol endpoint that takes quads
            (Oxigraph's ``/store``, Fuseki's dataset URL); ``update`` POSTs SPARQL Update
            ``INSERT DATA`` requests to an update endpoint. Either way, `batch_size` quads a request.

    Raises:
        ValueError: an unknown mode or a bad batch size.
        ConnectionError: the store refused a request or could not be reached (names the URL).

    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, got {batch_size}")
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
    sent = 0
    chunk: list[tuple[str, str]] = []

    def flush() -> None:
        if not chunk:
            return
        if mode == "quads":
            _post(endpoint, "".join(f"{triple} {graph} .\n" for graph, triple in chunk), "application/n-quads", timeout)
        else:
            blocks = []
            for graph in dict.fromkeys(g for g, _ in chunk):
                triples = "".join(f"{triple} .\n" for g, triple in chunk if g == graph)
                blocks.append(f"GRAPH {graph} {{\n{triples}}}")
            _post(endpoint, "INSERT DATA {\n" + "\n".join(blocks) + "\n}", "application/sparql-update", timeout)
        chunk.clear()

    for graph, triple in _triples_by_graph(dataset):
        chunk.append((graph, triple))
        sent += 1
        if len(chunk) >= batch_size:
            flush()
    flush()
    return sent
