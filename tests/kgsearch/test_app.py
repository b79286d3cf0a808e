"""The Streamlit app through streamlit.testing's AppTest, over the tiny indexed graph."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).parent.parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture()
def app(indexed_kg: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("KGSEARCH_KG", str(indexed_kg))
    test = AppTest.from_file(APP, default_timeout=60)
    test.run()
    assert not test.exception, test.exception
    return test


def _search(app: AppTest, question: str, where: str = "") -> AppTest:
    app.text_input(key="question").input(question)
    if where:
        app.text_area[0].input(where)
    next(b for b in app.button if b.label == "Search").click()  # the form's submit button
    return app.run()


def _titles(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if re.match(r"#### \d+\. ", m.value)]


def _markdown(app: AppTest, start: str) -> str:
    return next(line for m in app.markdown for line in m.value.split("  \n") if line.startswith(start))


def test_search_shows_ranked_hits_with_one_line_of_true_scores_and_a_path(app: AppTest) -> None:
    app = _search(app, "Who is the director of Polish Wedding?")
    assert not app.exception
    titles = _titles(app)
    assert any("Polish Wedding" in t for t in titles) and any("Theresa Connelly" in t for t in titles)
    scores = [c.value for c in app.caption if c.value.startswith("walk mass")]
    assert len(scores) == len(titles) and all("dense cosine" in s and "BM25" in s for s in scores)
    assert not app.metric or {m.label for m in app.metric}.isdisjoint({"fused", "graph", "dense"})
    assert any("—director→" in m.value for m in app.markdown if m.value.startswith("Path: "))
    assert app.get("graphviz_chart")
    assert any("directed by Theresa Connelly" in c.value for c in app.caption)


def test_relation_cues_are_words_and_each_linked_mention_shows_once(app: AppTest) -> None:
    app = _search(app, "Who is the mother of the director of Polish Wedding?")
    cues = _markdown(app, "Relation cues:")
    assert "mother" in cues and "director" in cues and "child (reversed)" in cues
    assert not re.search(r"\bP\d+", cues)
    linked = _markdown(app, "Linked:")
    assert linked.count("**Polish Wedding**") == 1, linked


def test_an_overlong_question_is_cut_searched_and_said_so(app: AppTest) -> None:
    app = _search(app, "Who is the director of Polish Wedding? " + "very " * 1000)
    assert not app.exception
    assert any("5038 characters" in w.value and "at most 1000" in w.value for w in app.warning)
    assert any("Polish Wedding" in t for t in _titles(app))


def test_an_empty_question_gets_a_message_not_a_trace(app: AppTest) -> None:
    app = _search(app, "")
    assert not app.exception
    assert any("empty" in w.value for w in app.warning)


def test_a_pattern_that_matches_nothing_says_so_and_a_broken_one_names_what_was_typed(app: AppTest) -> None:
    app = _search(app, "Who is the director of Polish Wedding?", "?passage schema:about ?p . ?p a kg:Nothing")
    assert any("No passage matches the pattern" in i.value for i in app.info) and not _titles(app)
    app = _search(app, "Who is the director of Polish Wedding?", "?passage schema:about ?p . ?p a")
    [warning] = app.warning
    assert "'?passage schema:about ?p . ?p a'" in warning.value and "character" in warning.value
    assert "--where" not in warning.value and "SelectQuery" not in warning.value


def test_an_entity_button_keeps_the_results_and_shows_the_entity_under_the_hit(app: AppTest) -> None:
    app = _search(app, "Who is the director of Polish Wedding?")
    before = _titles(app)
    next(b for b in app.button if b.label == "Entity: Theresa Connelly").click()
    app.run()
    assert not app.exception
    assert _titles(app) == before
    assert any(s.value == "Theresa Connelly" for s in app.subheader)  # the card under the hit
    assert any(h.value == "Theresa Connelly" for h in app.header)  # and the Entity tab
    next(b for b in app.button if b.label == "Close").click()
    app.run()
    assert not any(s.value == "Theresa Connelly" for s in app.subheader) and _titles(app) == before


def test_open_on_a_neighbour_works_after_finding_an_entity(app: AppTest) -> None:
    app.text_input(key="entity_lookup").input("Theresa")
    app.run()
    assert [h.value for h in app.header] == ["Theresa Connelly"]
    assert any(c.value.startswith("https://w3id.org/kgbuild/resource/entity/") for c in app.code)
    app.selectbox(key="neighbour").set_value(next(o for o in app.selectbox(key="neighbour").options if "Detroit" in o))
    app.button(key="open_neighbour").click()
    app.run()
    assert not app.exception
    assert [h.value for h in app.header] == ["Detroit"]
    app.run()  # and it stays
    assert [h.value for h in app.header] == ["Detroit"]
    app.text_input(key="entity_lookup").input("Theresa Con")  # a new search finds again
    app.run()
    assert [h.value for h in app.header] == ["Theresa Connelly"]


def test_a_hit_through_very_common_entities_is_flagged(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _search(app, "Who is the director of Polish Wedding?")
    assert not any("very common" in w.value for w in app.warning)  # no entity of the tiny graph is common
    import kgsearch.present

    monkeypatch.setattr(kgsearch.present, "COMMON_PASSAGES", 1)
    app = _search(app, "Who is the director of Polish Wedding?")
    assert any("very common entities (" in w.value and "Theresa Connelly" in w.value for w in app.warning)


def test_long_passages_are_collapsed(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _search(app, "Who is the director of Polish Wedding?")
    assert not any(e.label == "Whole passage" for e in app.expander)
    import kgsearch.present

    monkeypatch.setattr(kgsearch.present, "PASSAGE_CHARS", 30)
    app = _search(app, "Who is the director of Polish Wedding?")
    assert any(e.label == "Whole passage" for e in app.expander)
    assert any(m.value.endswith(" …") for m in app.markdown)


def test_the_path_drawing_tells_entities_from_passages(app: AppTest) -> None:
    app = _search(app, "Who is the director of Polish Wedding?")
    drawings = [chart.proto.spec for chart in app.get("graphviz_chart")]
    assert any("shape=note" in d and "rounded,filled" in d for d in drawings)


def test_the_placeholder_question_is_in_the_sample(app: AppTest) -> None:
    sample = ROOT / "data" / "sample" / "questions.jsonl"
    questions = {json.loads(line)["question"] for line in sample.read_text(encoding="utf-8").splitlines()}
    assert app.text_input(key="question").proto.placeholder in questions


def test_sidebar_and_overview_count_the_same_triples(app: AppTest) -> None:
    sidebar = next(c.value for c in app.sidebar.caption if "triples" in c.value)
    overview = next(m.value for m in app.metric if m.label == "triples")
    assert re.search(rf"\b{overview} triples\b", sidebar), (sidebar, overview)


def test_triples_by_relation_are_sorted_by_count_with_whole_labels(app: AppTest) -> None:
    import pyarrow

    [chart] = [c for c in app.get("vega_lite_chart") if "relation" in c.proto.spec]
    spec = json.loads(chart.proto.spec)
    values = pyarrow.ipc.open_stream(chart.proto.data.data).read_all().to_pylist()
    assert [v["triples"] for v in values] == sorted((v["triples"] for v in values), reverse=True)
    assert {"director", "cast member", "spouse"} <= {v["relation"] for v in values}
    assert spec["encoding"]["y"]["sort"] == "-x" and spec["encoding"]["y"]["axis"]["labelLimit"] >= 300


def test_overview_counts_and_one_click_downloads(app: AppTest) -> None:
    assert {m.label for m in app.metric} >= {"documents", "entities", "triples", "duplicate-entity rate"}
    assert next(m for m in app.metric if m.label == "documents").value == "5"
    buttons = app.get("download_button")
    downloads = [e.proto.label for e in buttons]
    assert downloads == ["Download TriG", "Download N-Quads", "Download Turtle (union)", "Download JSON-LD"]
    assert all(e.proto.deferred_file_id for e in buttons)  # built on the click (then cached), not on every page
    assert not any(b.label.startswith("Prepare") for b in app.button)


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


def test_a_directory_without_a_graph_gets_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGSEARCH_KG", str(tmp_path / "nowhere"))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    assert any("not a knowledge-graph directory" in e.value for e in app.error)
