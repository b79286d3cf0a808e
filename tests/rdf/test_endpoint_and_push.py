"""The SPARQL endpoint over HTTP (push to a real store: test_push.py)."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDFS

from kgbuild.rdf.endpoint import EndpointServer, negotiate
from kgbuild.rdf.runner import QueryRunner

from .conftest import SLOW_QUERY, write_tiny_kg

G = URIRef("https://example.org/kg/doc/a")


@pytest.fixture()
def dataset():
    data = Dataset()
    graph = data.graph(G)
    for i in range(30):
        graph.add((URIRef(f"https://example.org/kg/entity/e{i}"), RDFS.label, Literal(f"entity {i}\nwith a newline")))
    return data


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, accept="application/sparql-results+json", data=None, content_type=None):
    headers = {"Accept": accept, **({"Content-Type": content_type} if content_type else {})}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


@pytest.fixture(scope="module")
def endpoint_url(tiny_kg):
    with QueryRunner(tiny_kg, workers=2, timeout=5, row_limit=20) as runner:
        server = EndpointServer(runner, port=0, header_timeout=0.5, body_timeout=0.5, max_body=10_000)
        server.start()
        yield server.url
        server.stop()


def test_endpoint_answers_get_and_post_with_content_negotiation(endpoint_url):
    query = "SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 3"
    status, media, body = _get(endpoint_url + "?" + urllib.parse.urlencode({"query": query}))
    assert status == 200 and media == "application/sparql-results+json"
    assert len(json.loads(body)["results"]["bindings"]) == 3
    status, media, body = _get(endpoint_url, "text/csv", query.encode(), "application/sparql-query")
    assert status == 200 and media.startswith("text/csv") and body.splitlines()[0].strip() == "s"
    form = urllib.parse.urlencode({"query": "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 2"})
    status, media, body = _get(
        endpoint_url, "application/n-triples", form.encode(), "application/x-www-form-urlencoded"
    )
    assert status == 200 and media == "application/n-triples" and body.count(" .\n") == 2


def test_endpoint_refuses_updates_service_load_and_enforces_the_row_limit(endpoint_url):
    for query in (
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "LOAD <file:///etc/passwd>",
        "SELECT * WHERE { SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }",
    ):
        status, _, body = _get(endpoint_url + "?" + urllib.parse.urlencode({"query": query}))
        assert status == 403, (query, body)
    status, _, _ = _get(endpoint_url, data=b"update=DROP+ALL", content_type="application/x-www-form-urlencoded")
    assert status == 403
    status, _, body = _get(endpoint_url + "?query=" + urllib.parse.quote("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"))
    assert status == 413 and "more than 20 rows" in body
    status, _, body = _get(endpoint_url + "?query=" + urllib.parse.quote("SELEKT nothing"))
    assert status == 400 and "syntax" in body


def test_negotiation_prefers_quality_then_order():
    choices = {"text/csv": "csv", "application/sparql-results+json": "json"}
    assert negotiate("text/html, text/csv;q=0.5, application/sparql-results+json", choices) == (
        "application/sparql-results+json"
    )
    assert negotiate("", choices) == "text/csv"
    assert negotiate("text/*;q=0.2, application/xml", choices) == "text/csv"
    assert negotiate("text/turtle", choices) is None


def _query(url, query, accept="application/sparql-results+json"):
    return _get(url + "?" + urllib.parse.urlencode({"query": query}), accept)


def test_every_form_and_the_union_default_graph(endpoint_url):
    status, _, body = _query(endpoint_url, "SELECT * WHERE { ?s ?p ?o } LIMIT 5")
    assert status == 200 and len(json.loads(body)["results"]["bindings"]) == 5  # the union, not an empty graph
    status, _, body = _query(endpoint_url, 'SELECT ?s WHERE { ?s ?p "Secret Service" }')
    assert status == 200 and len(json.loads(body)["results"]["bindings"]) == 3
    status, media, body = _query(endpoint_url, "ASK { ?s ?p ?o }")
    assert (status, json.loads(body)["boolean"]) == (200, True)
    status, media, body = _query(endpoint_url, "ASK { ?s ?p ?o }", "text/csv")
    assert status == 200 and media.startswith("text/csv") and body.split() == ["_askResult", "true"]
    status, media, body = _query(endpoint_url, "DESCRIBE <https://example.org/kg/entity/e0_0>", "text/turtle")
    assert status == 200 and media.startswith("text/turtle") and "Secret Service" in body
    status, media, body = _query(endpoint_url, "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2", "application/ld+json")
    assert status == 200 and len(json.loads(body)) == 2
    status, _, body = _query(endpoint_url, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1", "text/turtle")
    assert status == 406 and "application/sparql-results+json" in body
    status, _, body = _query(endpoint_url, "ASK { ?s ?p ?o }", "image/png")
    assert status == 406 and "offered" in body
    status, media, body = _query(
        endpoint_url, "SELECT ?x WHERE { VALUES ?x { <urn:a> 1 } }", "text/tab-separated-values"
    )
    assert (status, media) == (200, "text/tab-separated-values; charset=utf-8")
    assert body.splitlines() == ["?x", "<urn:a>", '"1"^^<http://www.w3.org/2001/XMLSchema#integer>']


def test_the_page_says_the_default_graph_is_the_union(endpoint_url):
    status, media, body = _get(endpoint_url.removesuffix("sparql"), "text/html")
    assert status == 200 and media.startswith("text/html") and "union of the named graphs" in body


def _raw(url, request: bytes, wait: float = 5.0) -> bytes:
    host, port = urllib.parse.urlparse(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


@pytest.mark.parametrize("length", [b"abc", b"-5"])
def test_a_malformed_content_length_gets_a_reply(endpoint_url, length):
    reply = _raw(endpoint_url, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\nASK{}")
    assert reply.startswith(b"HTTP/1.1 400")


def test_silent_connections_slow_bodies_and_large_bodies_are_cut_off(endpoint_url):
    started = time.monotonic()
    assert _raw(endpoint_url, b"") == b""  # nothing sent: closed after the header timeout
    assert _raw(endpoint_url, b"GET /sparql HTTP/1.1\r\nHost:") == b""  # half a request head
    assert time.monotonic() - started < 3
    slow_body = (
        b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nContent-Length: 50\r\n\r\n"
    )
    assert _raw(endpoint_url, slow_body + b"ASK").startswith(b"HTTP/1.1 408")
    status, _, body = _get(endpoint_url, data=b"#" * 20_000 + b"\nASK {}", content_type="application/sparql-query")
    assert status == 413 and "10000 bytes" in body


def test_concurrent_first_requests_to_a_fresh_server_all_succeed(tmp_path):
    queries = [f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER(?o != {i}) }}" for i in range(8)]
    with QueryRunner(write_tiny_kg(tmp_path / "kg"), workers=2, timeout=5) as runner:
        server = EndpointServer(runner, port=0)
        server.start()
        try:
            answers: list[int] = []
            threads = [
                threading.Thread(target=lambda q=q: answers.append(_query(server.url, q)[0])) for q in queries * 2
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert answers == [200] * 16
        finally:
            server.stop()


def test_beyond_the_queue_the_endpoint_answers_503_with_retry_after(tmp_path):
    with QueryRunner(write_tiny_kg(tmp_path / "kg"), workers=1, timeout=1.5, queue=0) as runner:
        server = EndpointServer(runner, port=0)
        server.start()
        try:
            slow = threading.Thread(target=_query, args=(server.url, SLOW_QUERY))
            slow.start()
            time.sleep(0.3)
            request = urllib.request.Request(server.url + "?query=ASK%7B%7D")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=5)
            assert refused.value.code == 503 and refused.value.headers["Retry-After"]
            slow.join()
            status, _, body = _query(server.url, SLOW_QUERY)
            assert status == 504 and "time limit" in body
            assert _query(server.url, "ASK { ?s ?p ?o }")[0] == 200  # its worker was replaced
        finally:
            server.stop()


def test_a_running_endpoint_sees_a_removed_document(tmp_path):
    from kgbuild.rdf.store import KnowledgeGraphDir

    kg = write_tiny_kg(tmp_path / "kg")
    count = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    with QueryRunner(kg, workers=1, timeout=5) as runner:
        server = EndpointServer(runner, port=0)
        server.start()
        try:
            assert json.loads(_query(server.url, count)[2])["results"]["bindings"][0]["n"]["value"] == "3"
            assert KnowledgeGraphDir(kg).remove_document("d1")
            time.sleep(1.1)  # the runner looks at the directory once a second at most
            assert json.loads(_query(server.url, count)[2])["results"]["bindings"][0]["n"]["value"] == "2"
            status, _, body = _query(server.url, "ASK { <https://example.org/kg/entity/e1_0> ?p ?o }")
            assert (status, json.loads(body)["boolean"]) == (200, False)
        finally:
            server.stop()


def test_the_endpoint_answers_its_page_while_the_store_rebuilds(tmp_path):
    kg = write_tiny_kg(tmp_path / "kg")
    with QueryRunner(kg, workers=1, timeout=5) as runner:
        server = EndpointServer(runner, port=0)
        server.start()
        rebuild = runner.kg.store

        def slow_rebuild():  # type: ignore[no-untyped-def]
            time.sleep(3)
            return rebuild()

        runner.kg.store = slow_rebuild  # type: ignore[method-assign]
        try:
            from kgbuild.rdf.store import KnowledgeGraphDir

            assert KnowledgeGraphDir(kg).remove_document("d1")
            time.sleep(1.1)  # the runner looks at the directory once a second at most
            answered = []
            query = threading.Thread(target=lambda: answered.append(_query(server.url, "ASK { ?s ?p ?o }")[0]))
            query.start()
            time.sleep(0.5)  # that query's look found the change: the rebuild is under way
            started = time.monotonic()
            assert _get(server.url.removesuffix("sparql"), accept="text/html")[0] == 200
            assert time.monotonic() - started < 1.5  # served during the 3 s rebuild
            query.join(timeout=20)
            assert answered == [200]
        finally:
            server.stop()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_kgbuild_serve_answers_and_stops_its_workers_when_stopped(tmp_path):
    kg = write_tiny_kg(tmp_path / "kg")
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "kgbuild",
        "serve",
        str(kg),
        "--port",
        str(port),
        "--workers",
        "2",
        "--timeout",
        "2",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert f"http://127.0.0.1:{port}/sparql" in server.stdout.readline()
        status, _, body = _query(f"http://127.0.0.1:{port}/sparql", 'SELECT ?s WHERE { ?s ?p "Secret Service" }')
        assert status == 200 and len(json.loads(body)["results"]["bindings"]) == 3
        workers = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(workers) == 2
        slow = threading.Thread(target=_query, args=(f"http://127.0.0.1:{port}/sparql", SLOW_QUERY))
        slow.start()
        time.sleep(0.5)
    finally:
        server.terminate()  # uvicorn shuts down, then re-raises SIGTERM
        assert server.wait(timeout=20) == -signal.SIGTERM
    time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]  # the one running a query too
    slow.join()


def test_connections_are_bounded(tiny_kg):
    with QueryRunner(tiny_kg, workers=1, timeout=5) as runner:
        server = EndpointServer(runner, port=0, max_connections=3, header_timeout=5)
        server.start()
        host, port = urllib.parse.urlparse(server.url).netloc.split(":")
        try:
            silent = [socket.create_connection((host, int(port))) for _ in range(3)]
            time.sleep(0.2)
            assert _query(server.url, "ASK { ?s ?p ?o }")[0] == 503  # uvicorn's answer beyond the bound
            for connection in silent:
                connection.close()
            time.sleep(0.2)
            assert _query(server.url, "ASK { ?s ?p ?o }")[0] == 200
        finally:
            server.stop()
