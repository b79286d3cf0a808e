"""The SPARQL endpoint over HTTP (push to a real store: test_push.py)."""

import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDFS

from kgbuild.rdf.endpoint import SparqlEndpoint, negotiate, serve

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


@pytest.fixture()
def endpoint_url(dataset):
    server = serve(SparqlEndpoint(dataset, timeout=5, max_rows=20), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sparql"
    server.shutdown()
    server.server_close()


def test_endpoint_answers_get_and_post_with_content_negotiation(endpoint_url):
    query = "SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 3"
    status, media, body = _get(endpoint_url + "?" + urllib.parse.urlencode({"query": query}))
    assert status == 200 and media == "application/sparql-results+json"
    assert len(json.loads(body)["results"]["bindings"]) == 3
    status, media, body = _get(endpoint_url, "text/csv", query.encode(), "application/sparql-query")
    assert status == 200 and media == "text/csv" and body.splitlines()[0].strip() == "s"
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
    status, _, _ = _get(endpoint_url + "?query=" + urllib.parse.quote("SELEKT nothing"))
    assert status == 400


def test_negotiation_prefers_quality_then_order():
    choices = {"text/csv": "csv", "application/sparql-results+json": "json"}
    assert negotiate("text/html, text/csv;q=0.5, application/sparql-results+json", choices, "x") == (
        "application/sparql-results+json"
    )
    assert negotiate("", choices, "application/sparql-results+json") == "application/sparql-results+json"


def test_service_smuggled_past_rdflibs_parser_is_still_refused():
    from kgbuild.rdf.store import check_read_only

    for query in (
        "SELECT * WHERE { # x\rSERVICE <http://127.0.0.1:9/cr> {?a ?b ?c}\n}",
        'SELECT * WHERE { BIND(CONCAT("A\\u0022,") AS ?x) SERVICE <http://127.0.0.1:9/x> {?a ?b ?c} '
        'BIND(CONCAT(",\\u0022D") AS ?y) }',
    ):
        with pytest.raises(ValueError, match="SERVICE is refused"):
            check_read_only(query)


def test_tsv_results_and_a_busy_endpoint_turns_queries_away():
    import threading

    release = threading.Event()

    class SlowDataset:
        def query(self, query):
            release.wait(timeout=10)
            return Dataset().query("SELECT ?x WHERE { VALUES ?x { <urn:a> 1 } }")

    endpoint = SparqlEndpoint(SlowDataset(), timeout=0.2, max_rows=5, workers=1)
    assert endpoint.answer("SELECT * WHERE { ?s ?p ?o }", "")[0] == 503  # timed out, still running
    status, _, body = endpoint.answer("SELECT * WHERE { ?s ?p ?o }", "")
    assert status == 503 and b"busy" in body
    release.set()
    time.sleep(0.3)
    status, media, body = endpoint.answer("SELECT * WHERE { ?s ?p ?o }", "text/tab-separated-values")
    assert (status, media) == (200, "text/tab-separated-values")
    assert body.decode().splitlines() == ["?x", "<urn:a>", '"1"^^<http://www.w3.org/2001/XMLSchema#integer>']
