"""`kgbuild push` against a real Oxigraph server: a mirror of the export, idempotent, resumable."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from rdflib import PROV, XSD, Dataset, Literal, URIRef
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.errors import RemoteStoreError
from kgbuild.rdf.graph import ModelInfo, document_nquads
from kgbuild.rdf.iris import IriMinter
from kgbuild.rdf.remote import _Checkpoint, checkpoint_path, push
from kgbuild.rdf.store import KnowledgeGraphDir, export_text
from kgbuild.records import Extraction, PredictedEntity, Span
from kgbuild.resolution import resolve_document
from tests.records import parsed_document

OXIGRAPH = shutil.which("oxigraph", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
pytestmark = pytest.mark.skipif(OXIGRAPH is None, reason="the oxigraph server (pip install oxigraph) is missing")
RESOURCE = "https://w3id.org/kgbuild/resource/"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An `oxigraph serve` process on a free port of 127.0.0.1, over an on-disk location kept across restarts."""

    def __init__(self, location: Path):
        self.location, self.port, self.process = location, _free_port(), None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, read_only=False):
        command = "serve-read-only" if read_only else "serve"
        self.process = subprocess.Popen(
            [OXIGRAPH, command, "--location", str(self.location), "--bind", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(200):
            try:
                urllib.request.urlopen(self.base + "/query?query=ASK%7B%7D", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("oxigraph did not start")

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def quads(self):
        """Every quad the server holds, as N-Quads lines."""
        request = urllib.request.Request(self.base + "/store", headers={"Accept": "application/n-quads"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return _quads(response.read().decode("utf-8"))


def _quads(text):
    """The quads of an N-Quads text as a store holds them: typed values in canonical form ("Z", not "+00:00")."""
    import pyoxigraph

    store = pyoxigraph.Store()
    store.load(text.encode("utf-8"), format=pyoxigraph.RdfFormat.N_QUADS)
    return {str(quad) for quad in store}


@pytest.fixture()
def server(tmp_path):
    server = Server(tmp_path / "remote").start()
    yield server
    server.kill()


def _write(kg, doc_id, text, title, spans):
    parsed = parsed_document(text, title, doc_id)
    entities = tuple(PredictedEntity((Span(start, end),), "PER", 0.9) for start, end in spans)
    resolved = resolve_document(parsed, Extraction(parsed.text, entities, ()))
    kg.write_document(doc_id, doc_id + title, document_nquads(resolved, IriMinter(), ModelInfo("test", "1"), 0.0)[0])


@pytest.fixture()
def kg(tmp_path):
    """Four documents whose "Ann Lee" and "Bo Ek" the store merges (a resolution graph), and a run record."""
    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    _write(kg, "a", "Ann Lee ( born 1950 ) sang .", "Ann Lee (singer)", [(0, 2)])
    _write(kg, "b", "Ann Lee met Bo Ek in Rome .", "Bo Ek", [(0, 2), (3, 5)])
    _write(kg, "c", "Ann Lee and Bo Ek sang .", "", [(0, 2), (3, 5)])
    _write(kg, "d", "Bo Ek left .", "", [(0, 2)])
    run = Dataset()
    note = Literal('a run\u2028with "odd"\x0c\r\nbreaks\té')
    record = run.graph(URIRef(RESOURCE + "run/r1"))
    record.add((URIRef(RESOURCE + "run/r1"), URIRef(RESOURCE + "note"), note))
    when = Literal("2026-12-04T19:07:19+00:00", datatype=XSD.dateTime)  # rdflib's export writes this form
    record.add((URIRef(RESOURCE + "run/r1"), PROV.startedAtTime, when))
    kg.write_run("r1", run.serialize(format="nquads"))
    return kg


def _export(kg):
    return _quads(export_text(kg.dataset(), "nquads")[0])


@pytest.mark.parametrize(("mode", "no_transaction"), [("quads", False), ("quads", True), ("update", False)])
def test_push_mirrors_the_export_and_a_second_push_sends_nothing(kg, server, mode, no_transaction):
    target = server.base + ("/store" if mode == "quads" else "/update")
    checkpoint = checkpoint_path(kg.path, target)
    report = push(kg.store(), target, checkpoint, mode, chunk_size=5, no_transaction=no_transaction)
    export = _export(kg)
    assert any(f"<{RESOURCE}graph/resolution>" in quad for quad in export)  # the store's own graph goes too
    assert server.quads() == export
    assert (report.quads, report.total_quads, report.added) == (len(export), len(export), 6)
    assert report.requests == -(-len(export) // 5)  # many graphs to a request, 5 quads each
    again = push(kg.store(), target, checkpoint, mode, chunk_size=5)
    assert (again.quads, again.requests, again.unchanged, again.total_quads) == (0, 0, 6, len(export))
    assert server.quads() == export


def test_a_changed_or_removed_document_is_replaced_or_deleted_and_others_graphs_stay(kg, server):
    target = server.base + "/store"
    checkpoint = checkpoint_path(kg.path, target)
    foreign = '<urn:x> <urn:y> "kept" <urn:someone-else> .\n'
    urllib.request.urlopen(
        urllib.request.Request(target, foreign.encode(), {"Content-Type": "application/n-quads"}), timeout=10
    ).read()
    push(kg.store(), target, checkpoint, chunk_size=4)
    _write(kg, "b", "Ann Lee met Cy Od in Oslo .", "Cy Od", [(0, 2), (3, 5)])  # changed
    kg.remove_document("a")  # the title passage: "Ann Lee" in c no longer merges into "Ann Lee (singer)"
    report = push(kg.store(), target, checkpoint, chunk_size=4)
    # replaced: b, and c, whose file did not change but whose graph in the store did (no merge to rewrite);
    # deleted: a, and the resolution graph, which has no merge left to record
    assert (report.replaced, report.deleted) == (2, 2)
    remote = server.quads()
    assert remote == _export(kg) | _quads(foreign)
    assert not any(f"<{RESOURCE}doc/a>" in quad or f"<{RESOURCE}graph/resolution>" in quad for quad in remote)
    assert not any('"Bo Ek"' in quad and f"<{RESOURCE}doc/b>" in quad for quad in remote)  # b's old content


def test_a_push_cut_short_by_a_killed_server_finishes_after_a_restart_without_stale_graphs(kg, server):
    target = server.base + "/store"
    checkpoint = checkpoint_path(kg.path, target)

    def kill_after_two(requests):
        if requests == 2:
            server.kill()

    with pytest.raises(RemoteStoreError, match=rf"127\.0\.0\.1:{server.port}/store"):
        push(kg.store(), target, checkpoint, chunk_size=5, retries=1, backoff=0.01, on_request=kill_after_two)
    state = json.loads(checkpoint.read_text())
    assert f"{RESOURCE}doc/a" in state["pending"]  # sent in part when the server died
    kg.remove_document("a")  # and gone locally before the next push
    server.start()
    report = push(kg.store(), target, checkpoint, chunk_size=5)
    assert report.deleted == 1
    assert server.quads() == _export(kg)
    assert not any(f"<{RESOURCE}doc/a>" in quad for quad in server.quads())


def test_a_graph_deleted_just_before_a_kill_comes_back_when_its_document_does(kg, server):
    target = server.base + "/store"
    checkpoint = checkpoint_path(kg.path, target)
    push(kg.store(), target, checkpoint)
    kept = (kg.path / "documents" / kg.document_file("d").name).read_text()
    kg.remove_document("d")
    _write(kg, "c", "Cy Od sang .", "", [(0, 2)])  # a second request to fail
    with pytest.raises(RemoteStoreError):  # the DELETE goes through, then the server dies
        push(kg.store(), target, checkpoint, retries=0, on_request=lambda _: server.kill())
    kg.document_file("d").write_text(kept)  # the same document again, the same graph
    server.start()
    push(kg.store(), target, checkpoint)
    assert server.quads() == _export(kg)


def test_retries_with_backoff_ride_out_a_server_restart(kg, server):
    target = server.base + "/store"

    def restart_after_three(requests):
        if requests == 3:
            server.kill()
            threading.Timer(0.3, server.start).start()

    report = push(
        kg.store(), target, checkpoint_path(kg.path, target), chunk_size=5, retries=8, backoff=0.05,
        on_request=restart_after_three,
    )  # fmt: skip
    assert report.retries >= 1
    assert server.quads() == _export(kg)


def test_a_store_refusing_writes_fails_clearly_keeps_the_checkpoint_and_a_rerun_finishes(kg, server):
    target = server.base + "/store"
    runner = CliRunner()
    assert runner.invoke(app, ["push", str(kg.path), "--endpoint", target, "--chunk-size", "6"]).exit_code == 0
    checkpoint = checkpoint_path(kg.path, target)
    before = json.loads(checkpoint.read_text())
    _write(kg, "d", "Cy Od left .", "", [(0, 2)])
    server.kill()
    server.start(read_only=True)
    result = runner.invoke(app, ["push", str(kg.path), "--endpoint", target])
    assert result.exit_code == 1
    assert f"{target}?graph=" in result.output and "refused" in result.output and "HTTP 403" in result.output
    after = json.loads(checkpoint.read_text())  # what was pushed stays; d, which the PUT was to replace, is unknown
    d = f"{RESOURCE}doc/d"
    assert after["pushed"] == {key: digest for key, digest in before["pushed"].items() if key != d}
    assert after["pending"] == {d: ""}
    server.kill()
    server.start()
    result = runner.invoke(app, ["push", str(kg.path), "--endpoint", target])
    assert result.exit_code == 0, result.output
    assert "1 replaced" in result.output
    assert server.quads() == _export(kg)


def test_an_unreachable_store_is_a_clear_error_and_bad_options_are_usage_errors(kg):
    target = f"http://127.0.0.1:{_free_port()}/store"
    with pytest.raises(RemoteStoreError, match=rf"{target}: .*gave up after 3 attempts"):
        push(kg.store(), target, checkpoint_path(kg.path, target), retries=2, backoff=0.01)
    result = CliRunner().invoke(app, ["push", str(kg.path), "--endpoint", target, "--retries", "0"])
    assert result.exit_code == 1 and target in result.output and "run the same command again" in result.output
    for options in (["--endpoint", "ftp://x/store"], ["--endpoint", target, "--chunk-size", "0"]):
        result = CliRunner().invoke(app, ["push", str(kg.path), *options])
        assert result.exit_code == 2, result.output


def test_a_second_push_to_the_same_store_waits_for_none_and_says_so(kg):
    target = f"http://127.0.0.1:{_free_port()}/store"
    checkpoint = checkpoint_path(kg.path, target)
    with _Checkpoint.open(checkpoint, target), pytest.raises(RemoteStoreError, match="another push"):
        push(kg.store(), target, checkpoint)


def test_the_default_graph_is_mirrored_and_deleted_too(server, tmp_path):
    import pyoxigraph

    store = pyoxigraph.Store()
    triple = pyoxigraph.Quad(pyoxigraph.NamedNode("urn:s"), pyoxigraph.NamedNode("urn:p"), pyoxigraph.Literal("o"))
    named = pyoxigraph.Quad(triple.subject, triple.predicate, triple.object, pyoxigraph.NamedNode("urn:g"))
    store.extend([triple, named])
    assert push(store, server.base + "/update", None, "update").total_quads == 2
    assert server.quads() == {str(triple), str(named)}
    checkpoint = tmp_path / "checkpoint.json"
    assert push(store, server.base + "/store", checkpoint).added == 2
    store.remove(triple)
    assert push(store, server.base + "/store", checkpoint).deleted == 1
    assert server.quads() == {str(named)}


def test_a_broken_checkpoint_names_its_file(kg):
    from kgbuild.errors import DataFormatError

    target = f"http://127.0.0.1:{_free_port()}/store"
    checkpoint = checkpoint_path(kg.path, target)
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_text('{"pushed": [')
    with pytest.raises(DataFormatError, match=rf"{checkpoint}: not a push checkpoint .*--full"):
        push(kg.store(), target, checkpoint)
    result = CliRunner().invoke(app, ["push", str(kg.path), "--endpoint", target])
    assert result.exit_code == 2 and str(checkpoint) in result.output
