"""The read-only SPARQL runner: refusal from the parsed query, every form, and a time limit that stops queries."""

import threading
import time
from pathlib import Path

import pytest

from kgbuild.errors import KgBuildError, QueryBusyError, QueryRefusedError, QuerySyntaxError, QueryTimeoutError
from kgbuild.rdf.query import check_read_only
from kgbuild.rdf.results import write
from kgbuild.rdf.runner import QueryRunner, run_query

from .conftest import SLOW_QUERY, write_tiny_kg


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }",
        "SELECT * WHERE { { SELECT ?s WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } } } }",
        "ASK { ?s ?p ?o FILTER EXISTS { SERVICE SILENT <http://127.0.0.1:9/x> { ?s ?p ?o } } }",
        # Oxigraph ends a comment at a carriage return, rdflib does not
        "SELECT * WHERE { # x\rSERVICE <http://127.0.0.1:9/cr> {?a ?b ?c}\n}",
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "LOAD <file:///etc/passwd>",
    ],
)
def test_updates_service_and_load_are_refused_from_the_parsed_query(query: str) -> None:
    with pytest.raises(QueryRefusedError):
        check_read_only(query)


def test_escapes_read_one_way_by_both_parsers_so_service_hidden_in_a_literal_is_not_called() -> None:
    import pyoxigraph

    # Oxigraph alone reads \u0022 inside a literal as a quote character (and calls the service);
    # rdflib expands it first, as SPARQL's grammar says, and sees the SERVICE inside a literal.
    query = (
        'SELECT * WHERE { BIND(CONCAT("A\\u0022,") AS ?x) SERVICE <http://127.0.0.1:9/x> {?a ?b ?c} '
        'BIND(CONCAT(",\\u0022D") AS ?y) }'
    )
    with pytest.raises(OSError, match="port 9"):
        list(pyoxigraph.Store().query(query))
    checked = check_read_only(query)
    (solution,) = list(pyoxigraph.Store().query(checked.text))  # the checked text is what a worker evaluates
    assert "SERVICE" in solution["y"].value


def test_service_as_a_word_in_a_literal_an_iri_or_a_variable_is_fine() -> None:
    for query in (
        'SELECT ?s WHERE { ?s ?p "Secret Service" }',
        "SELECT ?service WHERE { ?service <https://example.org/service> ?o }",
    ):
        assert check_read_only(query).form == "SELECT"


def test_errors_are_in_the_package_tree() -> None:
    with pytest.raises(QuerySyntaxError, match="SPARQL syntax error"):
        check_read_only("SELEKT * WHERE { ?s ?p ?o }")
    assert issubclass(QueryRefusedError, KgBuildError) and issubclass(QueryTimeoutError, KgBuildError)


def test_parsing_from_many_threads_at_once_keeps_working() -> None:
    queries = [f"SELECT (COUNT(*) AS ?n{i}) WHERE {{ ?s ?p ?o FILTER(?o != {i}) }}" for i in range(16)]
    failures: list[BaseException] = []

    def parse(query: str) -> None:
        try:
            for _ in range(5):
                check_read_only(query)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=parse, args=(q,)) for q in queries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert check_read_only("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").form == "SELECT"


@pytest.fixture(scope="module")
def runner(tiny_kg: Path):
    with QueryRunner(tiny_kg, workers=2, timeout=2.0, row_limit=10, queue=4) as runner:
        yield runner


def test_every_query_form_over_the_union_of_the_named_graphs(runner: QueryRunner) -> None:
    found = runner.run('SELECT ?s WHERE { ?s ?p "Secret Service" }')
    assert found.form == "SELECT" and len(found.rows) == 3 and not found.cut
    assert runner.run("ASK { ?s ?p ?o }").answer is True
    assert runner.run('ASK { ?s ?p "nothing" }').answer is False
    described = runner.run("DESCRIBE <https://example.org/kg/entity/e0_0>")
    assert described.form == "DESCRIBE" and len(described.rows) == 2
    constructed = runner.run("CONSTRUCT WHERE { ?s ?p ?o }")
    assert constructed.form == "CONSTRUCT" and constructed.cut and len(constructed.rows) == 10
    assert "first 10 rows" in constructed.note
    graphs = runner.run("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert len(graphs.rows) == 3  # GRAPH ?g still reaches each document's graph
    assert write(runner.run("ASK { ?s ?p ?o }"), "csv") == "_askResult\r\ntrue\r\n"


def test_a_slow_query_is_stopped_while_others_are_answered(runner: QueryRunner) -> None:
    outcome: list[BaseException] = []
    slow = threading.Thread(target=lambda: _record(outcome, runner, SLOW_QUERY))
    slow.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert runner.run("ASK { ?s ?p ?o }").answer is True
    assert time.monotonic() - started < 2
    slow.join()
    assert isinstance(outcome[0], QueryTimeoutError) and "2 s time limit" in str(outcome[0])


def test_parsing_counts_against_the_time_limit(runner: QueryRunner) -> None:
    values = ", ".join(f'"value {i}"' for i in range(30_000))  # 400 kB: rdflib's parser needs far longer than 2 s
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError):
        runner.run(f"SELECT * WHERE {{ ?s ?p ?o FILTER(?o IN ({values})) }}")
    assert time.monotonic() - started < 4
    assert runner.run("ASK { ?s ?p ?o }").answer is True


def _record(outcome: list[BaseException], runner: QueryRunner, query: str) -> None:
    try:
        runner.run(query)
    except BaseException as error:
        outcome.append(error)


def test_beyond_the_pool_and_the_queue_queries_are_refused_at_once(tmp_path: Path) -> None:
    with QueryRunner(write_tiny_kg(tmp_path / "kg"), workers=1, timeout=1.5, queue=0) as runner:
        outcome: list[BaseException] = []
        slow = threading.Thread(target=lambda: _record(outcome, runner, SLOW_QUERY))
        slow.start()
        time.sleep(0.3)
        started = time.monotonic()
        with pytest.raises(QueryBusyError, match="busy"):
            runner.run("ASK { ?s ?p ?o }")
        assert time.monotonic() - started < 0.5
        slow.join()


def _tree(pids: list[int]) -> tuple[int, int, float]:
    """RSS (kB), threads and CPU seconds of these processes, from /proc."""
    import os

    rss = threads = 0
    cpu = 0.0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        rss += int(status.split("VmRSS:")[1].split()[0])
        threads += int(status.split("Threads:")[1].split()[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, threads, cpu


def _settled(runner: QueryRunner, workers: int) -> list[int]:
    for _ in range(200):
        pids = runner.worker_pids()
        if len(pids) == workers and len(runner._idle) == workers:
            return pids
        time.sleep(0.05)
    raise AssertionError("the pool did not come back to full size")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
@pytest.mark.parametrize("through", ["runner", "endpoint"])
def test_after_five_slow_queries_threads_memory_and_cpu_return_to_baseline(tmp_path: Path, through: str) -> None:
    import os
    import urllib.error
    import urllib.parse
    import urllib.request

    from kgbuild.rdf.endpoint import EndpointServer

    with QueryRunner(write_tiny_kg(tmp_path / "kg"), workers=2, timeout=0.5) as runner:
        server = EndpointServer(runner, port=0)
        server.start()

        def ask(query: str) -> None:
            if through == "runner":
                runner.run(query)
                return
            try:
                urllib.request.urlopen(server.url + "?" + urllib.parse.urlencode({"query": query}), timeout=10).read()
            except urllib.error.HTTPError as error:
                assert error.code == 504 and b"time limit" in error.read()
                raise QueryTimeoutError("504") from None

        try:
            ask("ASK { ?s ?p ?o }")
            me = [os.getpid()]
            before = _tree(me + _settled(runner, 2))
            killed = []
            for _ in range(5):
                killed += runner.worker_pids()
                with pytest.raises(QueryTimeoutError):
                    ask(SLOW_QUERY)
            after_pids = _settled(runner, 2)
            time.sleep(0.5)
            rss, threads, cpu = _tree(me + after_pids)
            time.sleep(1.0)
            _, _, cpu_later = _tree(me + after_pids)
            assert not [p for p in killed if p not in after_pids and Path(f"/proc/{p}").exists()]  # all stopped
            assert threads <= before[1] * 1.1, (before, threads)
            assert rss <= before[0] * 1.1, (before, rss)
            assert cpu_later - cpu < 0.1  # nothing keeps computing: under a tenth of a core
            ask("ASK { ?s ?p ?o }")
        finally:
            server.stop()


def test_run_query_answers_once(tiny_kg: Path) -> None:
    assert run_query(tiny_kg, "ASK { ?s ?p ?o }").answer is True


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_workers_end_when_their_parent_is_killed_even_in_a_query(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    kg = write_tiny_kg(tmp_path / "kg")
    script = (
        "import sys, threading\n"
        "from kgbuild.rdf.runner import QueryRunner\n"
        f"runner = QueryRunner({str(kg)!r}, workers=2, timeout=60)\n"
        "print(*runner.worker_pids(), flush=True)\n"
        f"runner.run({SLOW_QUERY!r})\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    workers = parent.stdout.readline().split()
    assert len(workers) == 2
    time.sleep(0.5)  # one worker is now deep in the slow query
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(40):
        if not [pid for pid in workers if Path(f"/proc/{pid}").exists()]:
            break
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
