"""The Streamlit app through streamlit.testing's AppTest, over the tiny indexed graph."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parent.parent.parent / "app.py")


@pytest.fixture()
def app(indexed_kg: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("KGSEARCH_KG", str(indexed_kg))
    test = AppTest.from_file(APP, default_timeout=60)
    test.run()
    assert not test.exception, test.exception
    return test


def _search(app: AppTest, question: str) -> AppTest:
    app.text_input(key="question").input(question)
    next(b for b in app.button if b.label == "Search").click()  # the form's submit button
    return app.run()


def test_search_shows_ranked_hits_with_scores_and_an_explanation_graph(app: AppTest) -> None:
    app = _search(app, "Who is the director of Polish Wedding?")
    assert not app.exception
    titles = [h.value for h in app.subheader]
    assert any("Polish Wedding" in t for t in titles) and any("Theresa Connelly" in t for t in titles)
    assert {m.label for m in app.metric} >= {"fused", "graph", "dense"}
    assert app.get("graphviz_chart")
    assert any("directed by Theresa Connelly" in c.value for c in app.caption)


@pytest.mark.parametrize(("question", "message"), [("", "empty"), ("x" * 5000, "5000 characters")])
def test_bad_questions_get_a_message_not_a_trace(app: AppTest, question: str, message: str) -> None:
    app = _search(app, question)
    assert not app.exception
    assert any(message in w.value for w in app.warning)


def test_sparql_console_refuses_updates_and_reports_syntax_errors(app: AppTest) -> None:
    for query, message in (
        ("INSERT DATA { <a:b> <a:b> <a:b> }", "updates are refused"),
        ("SELECT * WHERE { ?s ?p }", "syntax"),
        ("SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }", "SERVICE"),
    ):
        app.text_area(key="sparql").input(query)
        app.button(key="run_query").click()
        app.run()
        assert not app.exception
        assert any(message in e.value for e in app.error), (query, [e.value for e in app.error])


def test_sparql_console_shows_results_as_a_table(app: AppTest) -> None:
    app.text_area(key="sparql").input(
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT ?l WHERE { ?e rdfs:label ?l }"
    )
    app.button(key="run_query").click()
    app.run()
    assert not app.exception
    assert app.dataframe and any(c.value == "20 rows." for c in app.caption)  # a label per document graph


def test_sparql_console_answers_ask_construct_and_a_literal_naming_a_service(app: AppTest) -> None:
    for query, caption in (
        ("ASK { ?s ?p ?o }", "ASK: true."),
        ('SELECT ?s WHERE { ?s ?p "Secret Service" }', "0 rows."),
        ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 3", "3 triples."),
        ("SELECT ?s ?o WHERE { ?s ?p ?o . ?a ?b ?c }", "1000 rows. Only the first 1000 rows are shown (row limit)"),
    ):
        app.text_area(key="sparql").input(query)
        app.button(key="run_query").click()
        app.run()
        assert not app.exception, query
        assert [c.value for c in app.caption if c.value.startswith(caption)], (query, [c.value for c in app.caption])


def test_entity_page_lists_triples_and_mentions(app: AppTest) -> None:
    app.text_input(key="entity_lookup").input("Theresa")
    app.run()
    assert not app.exception
    assert any(h.value == "Theresa Connelly" for h in app.header)
    assert any(c.value.startswith("https://w3id.org/kgbuild/resource/entity/") for c in app.code)


def test_overview_counts_and_downloads(app: AppTest) -> None:
    assert {m.label for m in app.metric} >= {"documents", "entities", "triples", "duplicate-entity rate"}
    assert next(m for m in app.metric if m.label == "documents").value == "5"


def test_a_directory_without_a_graph_gets_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGSEARCH_KG", str(tmp_path / "nowhere"))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    assert any("not a knowledge-graph directory" in e.value for e in app.error)
