"""How results read in the app: the plain functions of kgsearch.present and the explorer's counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild import GraphFacts, TripleFact
from kgsearch.explore import GraphExplorer
from kgsearch.present import (
    ENTITY,
    PASSAGE,
    QUESTION,
    chain,
    clip,
    common_entities,
    cue_names,
    explanation_dot,
    fit_question,
    mention_lines,
    path_steps,
    relation_chart,
    score_line,
    where_error,
)
from kgsearch.records import Hop, LinkedMention, Passage, SearchHit

WDT = "http://www.wikidata.org/prop/direct/"
MOTHER, CHILD_OF = "ent/mother", "ent/child"


def _hit(path: tuple[Hop, ...], score: float = 1.0, dense: float | None = 0.21) -> SearchHit:
    return SearchHit(1, Passage("p", "Margaret", "text", "doc/margaret"), score, 0.0123, dense, 3.2, path)


# "the mother of Theresa": linked to Theresa's passage by title, about Theresa, and Margaret reached
# backwards through "Margaret child Theresa", then Margaret's passage.
PATH = (
    Hop("mention", "question[4:11]", "doc/theresa", "Theresa", "Theresa Connelly", 1.0),
    Hop("title", "doc/theresa", CHILD_OF, "Theresa Connelly", "Theresa Connelly", 0.5),
    Hop("relation", CHILD_OF, MOTHER, "Theresa Connelly", "Margaret", 0.4, WDT + "P40", "child", 0.7, "s", "d", "st1"),
    Hop("mentioned_in", MOTHER, "doc/margaret", "Margaret", "Margaret", 0.3),
)
SUBJECTS = {"st1": MOTHER}  # Margaret child Theresa: the walk went from the object to the subject


def test_an_overlong_question_is_cut_at_a_word_and_said_so() -> None:
    question, note = fit_question("Who directed Polish Wedding? " + "word " * 300, limit=100)
    assert len(question) <= 100 and question.startswith("Who directed Polish Wedding?") and question.endswith("word")
    assert "1528 characters" in note and "at most 100" in note
    assert fit_question("  short?  ") == ("short?", "")


def test_scores_read_on_one_line_with_the_true_scores() -> None:
    line = score_line(_hit(()))
    assert "\n" not in line
    assert "walk mass 0.0123" in line and "dense cosine 0.210" in line and "BM25 3.20" in line and "fused 1.000" in line
    assert "dense cosine not computed" in score_line(_hit((), dense=None))


def test_relation_cues_are_named_in_words_with_their_direction() -> None:
    assert cue_names(("P25", "P57", "^P40")) == ["mother", "director", "child (reversed)"]
    assert cue_names(("P26", "^P26")) == ["spouse (either way)"]
    assert cue_names(()) == []


def test_each_linked_span_shows_once_with_each_node_once() -> None:
    mentions = [
        LinkedMention("Polish Wedding", 4, 18, "doc/pw", "Polish Wedding", "title", 1.0, 1.0),
        LinkedMention("Polish Wedding", 4, 18, "ent/pw", "Polish Wedding", "label", 1.0, 1.0),
        LinkedMention("Lena", 30, 34, "ent/lena", "Lena Olin", "embedding", 0.9, 0.5),
    ]
    assert mention_lines(mentions) == [
        "**Polish Wedding** → Polish Wedding (title, label)",
        "**Lena** → Lena Olin (embedding)",
    ]


def test_long_passages_are_clipped_at_a_sentence_and_short_ones_kept() -> None:
    text = "First sentence here. " * 30
    head, rest = clip(text, limit=100)
    assert head.endswith(".") and len(head) <= 100 and (head + " " + rest).split() == text.split()
    assert clip("Short.", limit=100) == ("Short.", "")


def test_a_path_reads_each_node_as_what_it_is_and_each_edge_the_right_way() -> None:
    steps = path_steps(_hit(PATH), SUBJECTS)
    assert [(s.source_kind, s.target_kind) for s in steps] == [
        (QUESTION, PASSAGE), (PASSAGE, ENTITY), (ENTITY, ENTITY), (ENTITY, PASSAGE),
    ]  # fmt: skip
    assert [(s.words, s.reverse) for s in steps] == [
        ("names", False), ("about", False), ("child", True), ("mentioned in", False),
    ]  # fmt: skip
    text = chain(steps)
    assert text == (
        "“Theresa” —names→ passage *Theresa Connelly* —about→ **Theresa Connelly** ←child— **Margaret** "
        "—mentioned in→ passage *Margaret*"
    )
    forward = path_steps(_hit(PATH), {"st1": CHILD_OF})  # "Theresa child Margaret": read forwards
    assert forward[2].reverse is False


def test_a_walk_from_a_passage_to_an_entity_it_mentions_points_the_mention_edge_back() -> None:
    path = (
        Hop("mention", "question[0:4]", "doc/film", "Film", "Film", 1.0),
        Hop("mentioned_in", "doc/film", "ent/berlin", "Film", "Berlin", 0.2),
        Hop("mentioned_in", "ent/berlin", "doc/margaret", "Berlin", "Margaret", 0.1),
    )
    steps = path_steps(_hit(path), {})
    assert [(s.target_kind, s.reverse) for s in steps] == [(PASSAGE, False), (ENTITY, True), (PASSAGE, False)]
    assert "passage *Film* ←mentioned in— **Berlin** —mentioned in→ passage *Margaret*" in chain(steps)


def test_a_hop_stated_in_text_reads_from_the_passage_with_its_cue_word() -> None:
    path = (
        Hop("mention", "question[0:12]", "ent/elliot", "Billy Elliot", "Billy Elliot", 0.5),
        Hop("title", "ent/elliot", "doc/elliot", "Billy Elliot", "Billy Elliot", 1.0),
        Hop("text", "doc/elliot", "ent/warbeck", "Billy Elliot", "Stephen Warbeck", 0.3, predicate_label="composed"),
        Hop("title", "ent/warbeck", "doc/warbeck", "Stephen Warbeck", "Stephen Warbeck", 0.9),
    )
    steps = path_steps(_hit(path), {})
    assert [(s.source_kind, s.target_kind) for s in steps][1:3] == [(ENTITY, PASSAGE), (PASSAGE, ENTITY)]
    assert "passage *Billy Elliot* —“composed” in its text→ **Stephen Warbeck**" in chain(steps)


def test_the_drawing_tells_passages_from_entities_and_wraps_long_labels() -> None:
    dot = explanation_dot(path_steps(_hit(PATH), SUBJECTS))
    assert '"doc/theresa" [label="Theresa Connelly", shape=note' in dot
    assert f'"{MOTHER}" [label="Margaret", shape=box' in dot
    assert f'"{CHILD_OF}" -> "{MOTHER}" [label="child", dir=back];' in dot
    long = (Hop("mention", "q", "doc/x", "x", "A very long passage title that would not fit a node", 1.0),)
    assert "A very long passage\\ntitle that would not\\nfit a node" in explanation_dot(path_steps(_hit(long), {}))


def test_hits_reached_only_through_very_common_entities_are_flagged() -> None:
    steps = path_steps(_hit(PATH), SUBJECTS)
    common = {CHILD_OF: 40, MOTHER: 35}
    assert common_entities(steps, common, passages=300) == ("Theresa Connelly", "Margaret")
    assert common_entities(steps, {CHILD_OF: 40, MOTHER: 2}, passages=300) == ()  # one rare entity on the way
    assert common_entities(steps, common, passages=100_000) == ()  # 40 of 100,000 passages is not common
    direct = (Hop("mention", "q", "doc/margaret", "Margaret", "Margaret", 1.0),)
    assert common_entities(path_steps(_hit(direct), {}), common, passages=300) == ()


def test_a_pattern_error_names_the_pattern_and_a_position_in_it() -> None:
    from kgsearch.where import WHERE_START

    pattern = "?passage schema:about ?p . ?p a"
    at = len(WHERE_START) + 27
    message = f"--where pattern {pattern!r}: SPARQL syntax error: Expected SelectQuery, found '?'  (at char {at}), "
    text = where_error(pattern, message + f"(line:1, col:{at + 1})")
    assert text.startswith(f"The pattern {pattern!r}") and "character 28 of the pattern (“?p a”)" in text
    assert "--where" not in text and "(at char" not in text and "col:" not in text


def test_the_relation_chart_sorts_by_count_and_keeps_whole_labels() -> None:
    spec = relation_chart([("located in the administrative territorial entity", 858), ("director", 192)])
    assert spec["encoding"]["y"]["sort"] == "-x"  # type: ignore[index]
    assert spec["encoding"]["y"]["axis"]["labelLimit"] >= 300  # type: ignore[index]


def _triple(statement: str, subject: str, document: str) -> TripleFact:
    return TripleFact(statement, subject, WDT + "P57", "ent/b", 0.9, document, "s", (0, 1), (2, 3))


def test_the_explorer_counts_a_triple_stated_twice_once(tmp_path: Path) -> None:
    triples = (_triple("s1", "ent/a", "d1"), _triple("s2", "ent/a", "d2"), _triple("s3", "ent/c", "d1"))
    facts = GraphFacts((), (), triples)
    explorer = GraphExplorer(tmp_path, facts)
    assert explorer.triple_count == 2 and len(explorer.facts.triples) == 3
    assert explorer.statement_subjects == {"s1": "ent/a", "s2": "ent/a", "s3": "ent/c"}


def test_the_explorer_counts_the_passages_of_each_entity(indexed_kg: Path) -> None:
    explorer = GraphExplorer(indexed_kg)
    counts = {explorer.entities[iri].label: n for iri, n in explorer.passage_counts.items()}
    assert counts["Theresa Connelly"] == 2 and counts["Michigan"] == 1


@pytest.mark.parametrize("question", ["What is the meaning of life?", "x" * 1000])
def test_questions_within_the_limit_are_searched_whole(question: str) -> None:
    assert fit_question(question) == (question, "")
