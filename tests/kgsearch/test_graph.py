import numpy as np
import pytest

from kgsearch.cues import evidence_words, parse_cue, relation_cues
from kgsearch.graph import MENTION, NAME, RELATION, TITLE, EdgeTable, Node, SearchGraph


def _family() -> SearchGraph:
    """Three people, each with a passage: the child's father, and the grandchild whose father is the child."""
    people = ("child", "father", "grandchild")
    nodes = [Node(f"passage/{p}", p, "passage") for p in people] + [Node(f"entity/{p}", p, "entity") for p in people]
    rows = [(i, i + 3, TITLE, 1.0, -1, -1) for i in range(3)]
    rows += [(3, 4, RELATION, 0.9, 0, 0), (5, 3, RELATION, 0.9, 0, 1)]  # child P22 father; grandchild P22 child
    return SearchGraph(nodes, 3, EdgeTable.from_rows(rows), ["http://www.wikidata.org/prop/direct/P22"])


def _walk(graph: SearchGraph, boost: dict[tuple[int, bool], float]) -> dict[str, float]:
    transition = graph.transition(graph.edge_weights((10.0, 1.0, 1.0, 1.0, 1.0), boost))
    seeds = np.zeros(graph.size)
    seeds[3] = 1.0  # the question names the child
    rank = graph.pagerank(transition, seeds, 0.85, 50)
    return {graph.nodes[i].label: float(rank[i]) for i in range(graph.passages)}


def test_a_cue_boosts_a_relation_in_the_direction_it_names() -> None:
    graph = _family()
    plain = _walk(graph, {})
    fathers = _walk(graph, {(0, True): 10.0})  # "the father of the child": subject -> object
    children = _walk(graph, {(0, False): 10.0})  # "the child of the child": object -> subject
    assert plain["father"] == pytest.approx(plain["grandchild"])
    assert fathers["father"] > 3 * fathers["grandchild"]
    assert children["grandchild"] > 3 * children["father"]


def test_typed_neighbours_follow_a_relation_one_way() -> None:
    graph = _family()
    assert [n for n, _ in graph.typed_neighbours(3, RELATION, frozenset({(0, True)}))] == [4]
    assert [n for n, _ in graph.typed_neighbours(3, RELATION, frozenset({(0, False)}))] == [5]
    assert sorted(n for n, _ in graph.typed_neighbours(3, RELATION)) == [4, 5]


def test_cues_name_the_direction_of_the_hop() -> None:
    assert relation_cues("Who is the father of Lothair II?") == ("P22", "^P40")
    assert relation_cues("Who is the child of the performer of song X?") == ("P175", "P40", "^P22", "^P25")
    assert relation_cues("Who is Lisbeth Palme's husband?") == ("P26", "^P26")  # symmetric: both ways
    assert parse_cue("^P40") == ("P40", False) and parse_cue("P57") == ("P57", True)


def test_a_hop_is_stated_in_text_with_the_words_of_either_direction() -> None:
    father = evidence_words(("P22", "^P40"))
    assert {"father", "son", "daughter"} <= father  # "X's father Y", "X was the son of Y"
    assert "married" not in father
    assert {"composed", "music"} <= evidence_words(("P86",))
    assert evidence_words(()) == frozenset()


def test_kinship_words_for_a_path_cue_its_first_hop_not_their_last_word() -> None:
    assert relation_cues("Who is the father-in-law of Mugain?") == ("P26", "^P26")  # the spouse's father
    assert relation_cues("Who is Godomar II's stepmother?") == ("P22", "^P40")  # the father's spouse
    assert relation_cues("Who is the paternal grandmother of X?") == ("P22", "^P40")
    assert relation_cues("Who is the maternal grandfather of X?") == ("P25", "^P40")
    assert relation_cues("Who is X's child-in-law?") == ("P40", "^P22", "^P25")
    assert relation_cues("Who is the uncle of X?") == ("P22", "P25", "^P40")
    assert relation_cues("Who is the grandfather of X?") == ("P22", "P25", "^P40")  # either parent
    assert relation_cues("Where was the director of X's stepson born?") == ("P26", "P57", "^P26")


def test_a_mention_is_named_by_the_passage_whose_title_entity_goes_by_its_label() -> None:
    from kgbuild import EntityFact
    from kgsearch.edges import name_edges
    from kgsearch.graph import NAME
    from kgsearch.records import Passage

    passages = [
        Passage("p0", "Eric XIV of Sweden", "Eric XIV was King of Sweden.", "doc/p0"),
        Passage("p1", "Sigrid of Sweden", "Sigrid was the daughter of King Eric XIV.", "doc/p1"),
    ]
    person = ("Person",)
    entities = (
        EntityFact("e/king", "Eric XIV of Sweden", ("Eric XIV", "Eric"), person, ("doc/p0",)),  # p0's subject
        EntityFact("e/mention", "Eric XIV", (), person, ("doc/p1",)),  # how p1 names him
        EntityFact("e/other", "Eric Bloodaxe", ("Eric",), person, ("doc/p1",)),  # an alias is no label
        EntityFact("e/date", "Eric XIV", (), ("Time",), ("doc/p1",)),  # values are never named
    )
    titles = EdgeTable.from_rows([(0, 2, TITLE, 1.0, -1, -1)])
    edges = name_edges(passages, entities, titles, offset=2)

    assert edges.kind.tolist() == [NAME]
    assert (edges.a.tolist(), edges.b.tolist(), edges.weight.tolist()) == ([0], [3], [1.0])


def test_the_edge_table_joins_selects_and_keeps_its_saved_columns() -> None:
    titles = EdgeTable.from_rows([(0, 1, TITLE, 1.0, -1, -1)])
    joined = titles.concat(EdgeTable.from_rows([(1, 2, RELATION, 0.5, 0, 3)]))

    assert len(joined) == 2 and joined.kind.tolist() == [TITLE, RELATION]
    assert joined.select(joined.kind == RELATION).triple.tolist() == [3]
    assert list(joined.columns()) == ["a", "b", "kind", "weight", "predicate", "triple"]  # the keys of edges.npz
    again = EdgeTable.from_columns(joined.columns())
    assert all(np.array_equal(again.columns()[name], column) for name, column in joined.columns().items())
    with pytest.raises(KeyError):
        EdgeTable.from_columns({"a": joined.a})


def test_a_subject_s_name_edges_to_namesakes_passages_weigh_what_namesake_says() -> None:
    titles = ("Edsel Ford", "Edsel Ford (poet)")
    nodes = [Node(f"passage/{i}", t, "passage") for i, t in enumerate(titles)]
    nodes += [Node("entity/edsel", "Edsel Ford", "entity"), Node("entity/poet", "Edsel Ford (poet)", "entity")]
    rows = [(0, 2, TITLE, 1.0, -1, -1), (1, 3, TITLE, 1.0, -1, -1), (1, 2, NAME, 1.0, -1, -1)]
    rows += [(0, 3, MENTION, 1.0, -1, -1)]  # the poet's name in Edsel's passage: not a name edge
    graph = SearchGraph(nodes, 2, EdgeTable.from_rows(rows), [])
    assert graph.namesake_edges.tolist() == [False, False, True, False]

    def poet_share(namesake: float) -> float:
        transition = graph.transition(graph.edge_weights((10.0, 1.0, 1.0, 1.0, 10.0), {}, namesake))
        seeds = np.zeros(graph.size)
        seeds[2] = 1.0  # the question names Edsel Ford
        rank = graph.pagerank(transition, seeds, 0.85, 50)
        return float(rank[1] / rank[0])

    assert poet_share(0.1) < poet_share(1.0) / 3
