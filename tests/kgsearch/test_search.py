import json
from pathlib import Path

import numpy as np
import pytest

from kgsearch.cues import evidence_words
from kgsearch.encoder import HashingEncoder
from kgsearch.errors import QueryError, SearchIndexError
from kgsearch.index import load_index
from kgsearch.restart import TextCues, restart
from kgsearch.search import NO_LINK_NOTE, Searcher
from kgsearch.settings import SearchSettings

QUESTION = "Who is the director of Polish Wedding?"


def _ids(result):  # type: ignore[no-untyped-def]
    return [hit.passage.id for hit in result.hits]


def test_two_hop_answer_is_found_by_the_graph_and_missed_by_dense_alone(searcher: Searcher) -> None:
    dense = searcher.with_settings(graph_weight=0.0, dense_weight=1.0).search(QUESTION, k=2)
    graph = searcher.with_settings(graph_weight=1.0, dense_weight=0.0).search(QUESTION, k=2)
    assert "theresa-connelly" not in _ids(dense)  # shares no word with the question
    assert set(_ids(graph)) == {"polish-wedding", "theresa-connelly"}  # the film and its director


def test_the_hop_the_question_names_is_the_one_the_walk_follows(searcher: Searcher) -> None:
    graph = searcher.with_settings(dense_weight=0.0)
    asked_director = graph.search("Who is the director of Polish Wedding?", k=3)
    asked_cast = graph.search("Who is the cast member starring in Polish Wedding?", k=3)
    assert asked_director.relation_cues == ("P57",)
    assert "theresa-connelly" in _ids(asked_director)[:2] and "lena-olin" not in _ids(asked_director)[:2]
    assert "lena-olin" in _ids(asked_cast)[:2] and "theresa-connelly" not in _ids(asked_cast)[:2]


def test_without_relation_edges_the_bridge_passage_is_not_reached(searcher: Searcher) -> None:
    ablated = searcher.with_settings(dense_weight=0.0, use_relations=False).search(QUESTION, k=5)
    with_relations = searcher.with_settings(dense_weight=0.0).search(QUESTION, k=5)
    score = {hit.passage.id: hit.graph_score for hit in ablated.hits}
    assert {hit.passage.id: hit.graph_score for hit in with_relations.hits}["theresa-connelly"] > score.get(
        "theresa-connelly", 0.0
    )


def test_a_hit_is_explained_by_mention_entity_triple_passage(searcher: Searcher) -> None:
    result = searcher.search(QUESTION, k=5)
    hit = next(h for h in result.hits if h.passage.id == "theresa-connelly")
    kinds = [hop.kind for hop in hit.path]
    assert kinds[0] == "mention" and "relation" in kinds and kinds[-1] == "title"
    relation = next(hop for hop in hit.path if hop.kind == "relation")
    assert relation.predicate == "http://www.wikidata.org/prop/direct/P57"
    assert relation.predicate_label == "director"
    assert relation.confidence == pytest.approx(0.93)
    assert "directed by Theresa Connelly" in relation.sentence
    assert relation.sentence_document.endswith("doc/polish-wedding")
    assert all(0 < hop.contribution <= 1 for hop in hit.path)
    assert hit.path[-1].target == hit.passage.iri


def test_a_weight_of_zero_reduces_fusion_to_one_signal(searcher: Searcher) -> None:
    dense_only = searcher.with_settings(graph_weight=0.0, dense_weight=1.0, lexical_weight=0.0).search(QUESTION, k=5)
    assert [h.score for h in dense_only.hits] == sorted((h.score for h in dense_only.hits), reverse=True)
    order_by_dense = sorted(dense_only.hits, key=lambda h: -h.dense_score)
    assert _ids(dense_only) == [h.passage.id for h in order_by_dense]
    graph_only = searcher.with_settings(graph_weight=1.0, dense_weight=0.0, lexical_weight=0.0).search(QUESTION, k=5)
    assert _ids(graph_only) == [h.passage.id for h in sorted(graph_only.hits, key=lambda h: -h.graph_score)]
    bm25_only = searcher.with_settings(graph_weight=0.0, dense_weight=0.0, lexical_weight=1.0).search(QUESTION, k=5)
    assert _ids(bm25_only) == [h.passage.id for h in sorted(bm25_only.hits, key=lambda h: -h.lexical_score)]


def test_question_without_linkable_entity_falls_back_to_dense_and_says_so(searcher: Searcher) -> None:
    result = searcher.search("who is honoured at weddings", k=2)
    assert result.mentions == ()
    assert NO_LINK_NOTE in result.notes
    assert _ids(result)[0] == "wedding-customs"
    assert all(hit.graph_score == 0.0 for hit in result.hits)


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   ", "empty"), ("x" * 10_000, "10000 characters")],
)
def test_bad_questions_get_clear_errors(searcher: Searcher, question: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        searcher.search(question)


def test_k_must_be_positive(searcher: Searcher) -> None:
    with pytest.raises(QueryError, match="k must be > 0, got 0"):
        searcher.search(QUESTION, k=0)


def test_where_pattern_restricts_the_candidates(searcher: Searcher) -> None:
    where = "?passage schema:about ?person . ?person a kg:Person"
    result = searcher.search(QUESTION, k=5, where=where)
    assert set(_ids(result)) == {"theresa-connelly", "lena-olin"}


def test_a_where_pattern_in_a_runner_matches_as_here_and_is_stopped_at_its_time_limit(
    searcher: Searcher, indexed_kg: Path
) -> None:
    import time

    from kgbuild import QueryRunner

    where = "?passage schema:about ?person . ?person a kg:Person"
    slow = "?passage a kg:Document . ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l"
    with QueryRunner(indexed_kg, workers=1, timeout=1.0, row_limit=100, queue=0) as runner:
        assert set(_ids(searcher.search(QUESTION, k=5, where=where, runner=runner))) == {
            "theresa-connelly",
            "lena-olin",
        }
        started = time.monotonic()
        with pytest.raises(QueryError, match=r"--where pattern .*time limit"):
            searcher.search(QUESTION, k=5, where=slow, runner=runner)
        assert time.monotonic() - started < 8
    cut = pytest.raises(QueryError, match="more than 1 passages match; the runner's row limit cut them")
    with QueryRunner(indexed_kg, workers=1, timeout=5.0, row_limit=1, queue=0) as runner, cut:
        searcher.search(QUESTION, k=5, where=where, runner=runner)


def test_a_where_pattern_may_name_a_service_in_a_literal(searcher: Searcher) -> None:
    where = '?passage a kg:Document . OPTIONAL { ?passage ?p "Secret Service" }'
    assert len(searcher.search(QUESTION, k=5, where=where).hits) == 5


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("?x a kg:Person", "must bind \\?passage"),
        ("?passage a kg:Document . FILTER(", "syntax"),
        ("?passage a kg:Document } ; INSERT DATA { <a:b> <a:b> <a:b> }", "refused|syntax|update"),
        ("SERVICE <http://example.org/sparql> { ?passage ?p ?o }", "SERVICE"),
        # rdflib's parser rejects this sub-select after the PREFIX lines: never run either way
        ("{ SELECT ?passage WHERE { SERVICE <http://127.0.0.1:9/x> { ?passage ?p ?o } } }", "refused|syntax"),
        ("?passage a kg:Document FILTER EXISTS { SERVICE <http://127.0.0.1:9/x> { ?passage ?p ?o } }", "SERVICE"),
    ],
)
def test_malformed_or_unsafe_where_patterns_are_refused(searcher: Searcher, where: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        searcher.search(QUESTION, where=where)


def test_missing_index_says_how_to_build_it(search_kg: Path) -> None:
    with pytest.raises(SearchIndexError, match="kgsearch index"):
        load_index(search_kg)


def test_stale_index_says_how_to_rebuild(indexed_kg: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "kg"
    shutil.copytree(indexed_kg, copy)
    document = next((copy / "documents").glob("*.nq"))
    document.write_text(document.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(SearchIndexError, match=r"changed since the index was built \(or .*\); rebuild: kgsearch index"):
        load_index(copy)


def test_index_records_what_it_holds(indexed_kg: Path) -> None:
    manifest = json.loads((indexed_kg / "search" / "manifest.json").read_text())
    index = load_index(indexed_kg)
    assert manifest["passages"] == len(index.passages) == 5
    assert manifest["edges"]["relation"] == 6
    assert manifest["edges"]["title"] == 4  # "Wedding customs" names no entity of its own title
    assert index.passage_vectors.shape == (5, 64)
    np.testing.assert_allclose(np.linalg.norm(index.passage_vectors, axis=1), 1.0, rtol=1e-5)


def test_graph_exports_to_networkx(searcher: Searcher) -> None:
    graph = searcher.index.graph.to_networkx()
    relation_edges = [d for _, _, d in graph.edges(data=True) if d["kind"] == "relation"]
    assert len(relation_edges) == 6
    assert {d["predicate"].rsplit("/", 1)[-1] for d in relation_edges} == {"P57", "P161", "P25", "P551", "P26", "P131"}


def test_linked_mentions_end_on_a_word(searcher: Searcher) -> None:
    result = searcher.search("Who directed Polish Wedding?", k=1)
    assert {m.text for m in result.mentions} == {"Polish Wedding"}  # the passage by its title, the entity by label
    possessive = searcher.search("Who is Theresa Connelly's mother?", k=1)
    assert {m.text for m in possessive.mentions} == {"Theresa Connelly"}


def test_a_cached_walk_matrix_gives_the_same_ranking_and_follows_each_cue(searcher: Searcher) -> None:
    graph = searcher.with_settings(dense_weight=0.0)
    first = graph.search("Who is the director of Polish Wedding?", k=3)
    graph.search("Who is the cast member starring in Polish Wedding?", k=3)  # another cue, another matrix
    again = graph.search("Who is the director of Polish Wedding?", k=3)
    assert [(h.passage.id, h.score) for h in again.hits] == [(h.passage.id, h.score) for h in first.hits]
    assert len(graph._transitions) == 4  # each cue's matrix, by row (explanations) and by column (the walk)


def test_a_thresholded_walk_ranks_as_the_exact_one_and_spreads_only_from_nodes_that_hold_mass(
    searcher: Searcher,
) -> None:
    import numpy as np

    question = "Who is the director of Polish Wedding?"
    exact = searcher.with_settings(walk_threshold=0.0).search(question, k=5)
    local = searcher.with_settings(walk_threshold=1e-5).search(question, k=5)
    assert [h.passage.id for h in local.hits] == [h.passage.id for h in exact.hits]
    np.testing.assert_allclose([h.score for h in local.hits], [h.score for h in exact.hits], rtol=1e-3)
    graph = searcher.index.graph
    transition = searcher._transition((100.0, 3.0, 1.0, 0.3, 3.0), ())
    seeds = np.zeros(graph.size)
    seeds[0] = 1.0
    one_step = graph.pagerank(transition.tocsc(), seeds, 0.9, iterations=1, threshold=0.5)
    assert np.count_nonzero(one_step[1:]) == np.count_nonzero(transition[:, 0].toarray())  # the seed spread
    stuck = graph.pagerank(transition.tocsc(), seeds, 0.9, iterations=3, threshold=2.0)  # nothing holds that much
    np.testing.assert_allclose(stuck, seeds)
    with pytest.raises(ValueError, match="walk_threshold must be >= 0"):
        SearchSettings(walk_threshold=-1.0)


def test_walk_iterations_must_be_positive() -> None:
    from kgsearch.settings import SearchSettings

    with pytest.raises(ValueError, match="walk_iterations"):
        SearchSettings(walk_iterations=0)


class _CountingEncoder(HashingEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts, kind="passage", batch_size=64):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return super().encode(texts, kind, batch_size)


def test_the_encoder_runs_only_where_the_dense_score_counts(searcher: Searcher) -> None:
    encoder = _CountingEncoder()
    walk = Searcher(searcher.index, encoder, searcher.settings, nlp=False).with_settings(
        dense_weight=0.0, dense_prior=0.0, titled_dense_prior=0.0
    )
    graph_only = walk.search(QUESTION, k=3)
    assert encoder.texts == []
    assert all(hit.dense_score is None for hit in graph_only.hits)
    fused = walk.with_settings(dense_weight=0.5)
    scored = fused.search(QUESTION, k=3)
    assert encoder.texts == [QUESTION]
    assert all(isinstance(hit.dense_score, float) for hit in scored.hits)
    # a reading made without dense scores, ranked under settings that weigh them, is scored on demand
    later = fused.rank(walk.read(QUESTION), k=3)
    assert [(h.passage.id, h.score, h.dense_score) for h in later.hits] == [
        (h.passage.id, h.score, h.dense_score) for h in scored.hits
    ]
    assert walk.search("who is honoured at weddings", k=1).hits[0].dense_score is not None  # the fallback


def test_warm_up_runs_the_encoder_and_a_search_before_the_first_question(searcher: Searcher) -> None:
    encoder = _CountingEncoder()
    warmed = Searcher(searcher.index, encoder, searcher.settings, nlp=False)
    warmed.warm_up()
    assert encoder.texts[0] == "warm up"
    assert warmed._transitions  # a walk ran: its transition matrix is built and kept


def test_the_dense_prior_follows_the_share_of_seed_weight_linked_by_titles(searcher: Searcher) -> None:
    from dataclasses import replace

    mentions = list(searcher.read(QUESTION).mentions)
    assert mentions
    dense = np.linspace(0.0, 1.0, searcher.index.graph.passages)
    mixed = searcher.with_settings(dense_prior=0.4, titled_dense_prior=0.1, cue_seed=0.0, prior_top=3)
    passages = searcher.index.graph.passages

    def dense_share(how: str) -> float:
        linked = [replace(m, how=how) for m in mentions]
        _, personalization, _ = restart(mixed.index.graph, mixed.settings, linked, dense, frozenset())
        seeded = {mixed.index.graph.index[m.node] for m in linked}
        return sum(personalization[i] for i in np.argsort(-dense)[:3] if i not in seeded and i < passages)

    assert dense_share("label") == pytest.approx(0.4)
    assert dense_share("title") == pytest.approx(0.1)
    assert dense_share("short title") == pytest.approx(0.1)


def test_a_settings_file_from_before_the_titled_prior_keeps_one_prior_for_all() -> None:
    old = SearchSettings.from_json({"dense_prior": 0.4, "prior_top": 3})
    assert old.titled_dense_prior == 0.4
    assert SearchSettings.from_json({"dense_prior": 0.4, "titled_dense_prior": 0.0}).titled_dense_prior == 0.0
    with pytest.raises(ValueError, match="titled_dense_prior must be in"):
        SearchSettings(titled_dense_prior=1.5)


def test_the_default_settings_are_the_tuned_file() -> None:
    tuned = json.loads((Path(__file__).parents[2] / "bench/settings/default.json").read_text())
    assert SearchSettings.from_json(tuned) == SearchSettings()
    assert tuned["titled_dense_prior"] < tuned["dense_prior"]  # a question naming its passages leans on the walk


def test_a_hop_stated_in_text_is_followed_where_the_relation_edge_is_missing(searcher: Searcher) -> None:
    graph = searcher.index.graph
    passage = next(i for i, p in enumerate(searcher.index.passages) if p.id == "polish-wedding")
    named = TextCues(searcher.index).named_near(passage, evidence_words(("P57",)))
    assert [graph.nodes[node].label for node in named] == ["Theresa Connelly"]  # "directed by Theresa Connelly"
    assert TextCues(searcher.index).named_near(passage, evidence_words(("P50",))) == {}  # no "written" in it
    ablated = searcher.with_settings(dense_weight=0.0, use_relations=False)
    before = {
        h.passage.id: h.graph_score for h in ablated.with_settings(text_cue_weight=0.0).search(QUESTION, k=5).hits
    }
    after = {h.passage.id: h.graph_score for h in ablated.with_settings(text_cue_weight=1.0).search(QUESTION, k=5).hits}
    assert after["theresa-connelly"] > before.get("theresa-connelly", 0.0)
    assert after.get("lena-olin", 0.0) <= before.get("lena-olin", 0.0)  # named in the passage, not after a cue
    text = next(h for h in ablated.search(QUESTION, k=5).hits if h.passage.id == "theresa-connelly").path
    assert [hop.kind for hop in text] == ["mention", "text", "title"]  # question -> its passage -> ... -> hit
    assert text[1].predicate_label == "directed" and text[1].target_label == "Theresa Connelly"
    assert text[1].sentence == "Polish Wedding is a 1998 comedy film directed by Theresa Connelly."


@pytest.fixture()
def namesakes(tmp_path: Path) -> Searcher:
    """Edsel Ford's passage, his namesake the poet's, and his father's; Edsel's father edge extracted."""
    from kgbuild import KnowledgeGraphDir, SpacyParser, build_knowledge_graph, read_corpus
    from kgsearch.index import build_index
    from tests.kgsearch.conftest import ScriptedExtractor

    corpus = tmp_path / "corpus.jsonl"
    passages = [
        ("edsel", "Edsel Ford", "Edsel Ford was the son of Henry Ford."),
        ("poet", "Edsel Ford (poet)", "Edsel Ford was an American poet."),
        ("henry", "Henry Ford", "Henry Ford was an American industrialist."),
    ]
    corpus.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in passages))
    edsel = {
        "entities": [["Edsel Ford", "PER"], ["Henry Ford", "PER"]],
        "relations": [["Edsel Ford", "P22", "Henry Ford", 0.9]],
    }
    script = {
        "edsel": edsel,
        "poet": {"entities": [["Edsel Ford", "PER"], ["American", "MISC"]], "relations": []},
        "henry": {"entities": [["Henry Ford", "PER"], ["American", "MISC"]], "relations": []},
    }
    kg = tmp_path / "kg"
    build_knowledge_graph(
        read_corpus(corpus), KnowledgeGraphDir(kg, create=True), ScriptedExtractor(script), SpacyParser(), "s", "1"
    )
    build_index(kg, corpus, HashingEncoder(), "hashing")
    return Searcher(load_index(kg), HashingEncoder(), nlp=False).with_settings(
        dense_prior=0.5, titled_dense_prior=0.5, prior_top=3
    )


def _restart_mass(searcher: Searcher, question: str, dense: dict[str, float], **settings: float) -> dict[str, float]:
    order = [p.id for p in searcher.index.passages]
    run = searcher.with_settings(**settings)
    mentions = list(run.read(question).mentions)
    _, personalization, _ = restart(
        run.index.graph, run.settings, mentions, np.array([dense[i] for i in order]), frozenset()
    )
    assert personalization.sum() == pytest.approx(1.0)
    return {passage: float(personalization[i]) for i, passage in enumerate(order)}


def test_a_namesake_s_passage_keeps_namesake_prior_of_its_dense_share_and_the_rest_goes_to_the_whole_restart(
    namesakes: Searcher,
) -> None:
    question, dense = "Who is Edsel Ford's father?", {"edsel": 0.5, "poet": 0.9, "henry": 0.4}
    assert {m.label for m in namesakes.read(question).mentions} == {"Edsel Ford"}
    before = _restart_mass(namesakes, question, dense, namesake_prior=1.0)
    after = _restart_mass(namesakes, question, dense, namesake_prior=0.3)
    assert before["poet"] > 0.2 > before["henry"]  # it repeats the name: the dense prior puts it first
    kept = 1 - 0.7 * before["poet"]
    assert after["poet"] == pytest.approx(0.3 * before["poet"] / kept)
    for passage in ("edsel", "henry"):  # the rest of the restart grows in proportion
        assert after[passage] == pytest.approx(before[passage] / kept)
    assert _restart_mass(namesakes, question, dense, namesake_prior=0.0)["poet"] == 0.0

    from dataclasses import replace

    read = namesakes.read(question)
    order = [p.id for p in namesakes.index.passages]
    read = replace(read, dense=np.array([{"edsel": 0.5, "poet": 0.9, "henry": 0.4}[i] for i in order]))
    ranked = {
        factor: [h.passage.id for h in namesakes.with_settings(namesake_prior=factor).rank(read, 3).hits]
        for factor in (1.0, 0.0)
    }
    assert ranked[1.0][0] == "poet"  # the namesake first, above the passage the question names
    assert set(ranked[0.0][:2]) == {"edsel", "henry"}  # the question's passage and the father it asks for
    assert ranked[0.0][2] == "poet"
    with pytest.raises(ValueError, match="namesake_prior must be in"):
        SearchSettings(namesake_prior=1.5)


def test_a_passage_the_question_links_is_never_a_namesake_s(namesakes: Searcher) -> None:
    question = "Was Edsel Ford (poet) a namesake of Edsel Ford?"
    assert {m.label for m in namesakes.read(question).mentions} >= {"Edsel Ford", "Edsel Ford (poet)"}
    dense = {"edsel": 0.5, "poet": 0.9, "henry": 0.4}
    assert _restart_mass(namesakes, question, dense, namesake_prior=0.0) == pytest.approx(
        _restart_mass(namesakes, question, dense, namesake_prior=1.0)
    )
